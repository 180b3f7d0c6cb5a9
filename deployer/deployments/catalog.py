"""The shipped content a deployment is made from: over-cloud templates
(hot_templates/), Heat environment files (environments/heat/) and Chef roles (roles/).

Files are read with heatclient's own loaders, so nested templates and files
referenced with get_file travel with the template exactly as with
``openstack stack create -t``.  A template's nodes and their steps are
steps.py's; what only Heat can know (parameter constraints, resolved values)
comes from Heat (see heat_stacks.py).
"""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from heatclient.common import environment_format, template_format as heat_template_format, template_utils

from deployer.config import ContentSettings
from deployer.errors import NotFound

NODE_TYPE = "IBM::SCO::Node"
CHEF_ENVIRONMENT_TYPE = "IBM::SCO::ChefEnvironment"
TEMPLATE_SUFFIXES = (".yaml", ".yml", ".json")


@dataclasses.dataclass(frozen=True)
class TemplateSource:
    """One over-cloud template as heatclient loads it."""
    name: str
    path: Path
    format: str                 # "hot" | "cfn"
    body: dict
    files: dict[str, str]       # nested templates and get_file contents, by URL

    @property
    def description(self) -> str:
        return str(self.body.get("description" if self.format == "hot" else "Description") or "")

    def resources(self) -> dict[str, dict]:
        return self.body.get("resources" if self.format == "hot" else "Resources") or {}

    def parameter_names(self) -> set[str]:
        return set(self._parameters())

    def required_parameters(self) -> set[str]:
        """Parameters without a default: a deployment must give them a value."""
        default = "default" if self.format == "hot" else "Default"
        return {name for name, schema in self._parameters().items()
                if not isinstance(schema, dict) or default not in schema}

    def _parameters(self) -> dict:
        return self.body.get("parameters" if self.format == "hot" else "Parameters") or {}


def template_format(body: Any) -> str | None:
    if not isinstance(body, dict):
        return None
    if "heat_template_version" in body:
        return "hot"
    if "AWSTemplateFormatVersion" in body or "HeatTemplateFormatVersion" in body:
        return "cfn"
    return None


def nested_body(kind: str, definition: dict, files: dict[str, str]) -> dict | None:
    """The template of a template resource or of a ResourceGroup's member, if shipped
    (``files`` as heatclient loads them: keyed by absolute URL)."""
    if kind == "OS::Heat::ResourceGroup":
        properties = definition.get("properties") or {}
        kind = ((properties.get("resource_def") or {}).get("type")) or ""
        if not isinstance(kind, str):
            return None
    for url, content in files.items():
        if kind and (url == kind or url.endswith("/" + kind)):
            try:
                body = heat_template_format.parse(content)
            except ValueError:
                return None
            return body if template_format(body) else None
    return None


class Catalog:
    """Templates, Heat environments and roles found in the configured content directories."""

    def __init__(self, content: ContentSettings):
        self.templates_dir = Path(content.hot_templates_dir)
        self.environments_dir = Path(content.heat_environments_dir)
        self.roles_dir = Path(content.roles_dir)

    # -- templates ------------------------------------------------------------

    def template_paths(self) -> dict[str, Path]:
        """Template name (file name without suffix) -> path; top level only
        (nested/ holds templates used by others, not deployable alone)."""
        if not self.templates_dir.is_dir():
            return {}
        return {path.stem: path for path in sorted(self.templates_dir.iterdir())
                if path.is_file() and path.suffix in TEMPLATE_SUFFIXES}

    def template(self, name: str, *, field: str = "template") -> TemplateSource:
        path = self.template_paths().get(name)
        if path is None:
            raise NotFound(f"no over-cloud template named {name!r} in {self.templates_dir}",
                           field=field)
        files, body = template_utils.get_template_contents(template_file=str(path))
        fmt = template_format(body)
        if fmt is None:
            raise NotFound(f"{path} is not a HOT or CFN template", field=field)
        return TemplateSource(name, path, fmt, body, files)

    def templates(self) -> list[TemplateSource]:
        found = []
        for name in self.template_paths():
            try:
                found.append(self.template(name))
            except (NotFound, ValueError):
                continue    # not a template (e.g. a README-like data file)
        return found

    # -- Heat environments ------------------------------------------------------

    def environment_paths(self) -> dict[str, Path]:
        if not self.environments_dir.is_dir():
            return {}
        return {path.stem: path for path in sorted(self.environments_dir.iterdir())
                if path.is_file() and path.suffix in (".yaml", ".yml", ".json")}

    def environments(self, names: list[str],
                     field: str = "heat_environments") -> tuple[dict[str, str], dict]:
        """(files, merged environment) of the named Heat environment files, in order."""
        paths = self.environment_paths()
        unknown = [name for name in names if name not in paths]
        if unknown:
            raise NotFound(f"no Heat environment named {', '.join(map(repr, unknown))} in "
                           f"{self.environments_dir} (known: {', '.join(paths) or 'none'})",
                           field=field)
        if not names:
            return {}, {}
        files, environment = template_utils.process_multiple_environments_and_files(
            env_paths=[str(paths[name]) for name in names])
        return files, environment

    def usable_environments(self, template: TemplateSource) -> list[str]:
        """Environment files that fit ``template``: their ``parameters`` are all
        declared by it (Heat refuses others) and they supply every parameter it
        requires (``parameter_defaults`` for other templates are ignored by Heat)."""
        declared, required = template.parameter_names(), template.required_parameters()
        usable = []
        for name, path in self.environment_paths().items():
            try:
                environment = environment_format.parse(path.read_text())
            except (OSError, ValueError):
                continue
            strict = set(environment.get("parameters") or {})
            given = strict | set(environment.get("parameter_defaults") or {})
            if strict <= declared and required <= given and given & declared:
                usable.append(name)
        return usable

    # -- roles ------------------------------------------------------------------

    def role_paths(self) -> dict[str, Path]:
        if not self.roles_dir.is_dir():
            return {}
        return {path.stem: path for path in sorted(self.roles_dir.glob("*.json"))}

    def role(self, name: str) -> dict:
        path = self.role_paths().get(name)
        if path is None:
            raise NotFound(f"no role named {name!r} in {self.roles_dir}", field="name")
        document = json.loads(path.read_text())
        return {"name": document.get("name", name),
                "description": document.get("description", ""),
                "run_list": document.get("run_list", []),
                "env_run_lists": document.get("env_run_lists", {}),
                "default_attributes": document.get("default_attributes", {}),
                "override_attributes": document.get("override_attributes", {})}

    def roles(self) -> list[dict]:
        return [self.role(name) for name in self.role_paths()]
