"""Chef environment templates: site parameters with placeholders.

A template is a Chef environment JSON document (environments/chef/<name>.json)
whose values may hold placeholders, filled per stack from the stack's
parameters/outputs before the environment is uploaded:

* the origin document's bare form: a string value that is exactly an
  UPPER_SNAKE token with at least one underscore (``"ENABLE_DEBUG"``); the
  whole value is replaced, keeping the type of the supplied value (a number,
  boolean, list or map stays one);
* the embedded form ``${NAME}`` inside a longer string
  (``"http://${VIP_ADDR}:5000"``), replaced by the value's text.

Only values are templated, never keys.  Every placeholder must be supplied:
an unfilled one is an error that names it and where it is, raised before any
node is touched.
"""
from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Iterator, Mapping

from deployer.chef import names

BARE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
EMBEDDED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class EnvironmentTemplateError(ValueError):
    """The template or its values are wrong; the message names what and where."""


class UnfilledPlaceholders(EnvironmentTemplateError):
    def __init__(self, missing: dict[str, list[str]]):
        self.missing = missing
        where = "; ".join(f"{name} (at {', '.join(paths)})" for name, paths in sorted(missing.items()))
        super().__init__(f"unfilled placeholders: {where}")


def _walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Yield (placeholder, json-path) for every placeholder in ``value``."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]")
    elif isinstance(value, str):
        if BARE.match(value):
            yield value, path
        else:
            for match in EMBEDDED.finditer(value):
                yield match.group(1), path


def placeholders(document: Any) -> dict[str, list[str]]:
    """Placeholder name -> the JSON paths where it appears."""
    found: dict[str, list[str]] = {}
    for name, path in _walk(document, "$"):
        found.setdefault(name, []).append(path)
    return found


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def fill(document: Any, values: Mapping[str, Any]) -> Any:
    """A copy of ``document`` with every placeholder replaced from ``values``."""
    missing = {name: paths for name, paths in placeholders(document).items() if name not in values}
    if missing:
        raise UnfilledPlaceholders(missing)

    def substitute(value: Any) -> Any:
        if isinstance(value, dict):
            return {key: substitute(item) for key, item in value.items()}
        if isinstance(value, list):
            return [substitute(item) for item in value]
        if isinstance(value, str):
            if BARE.match(value):
                return copy.deepcopy(values[value])
            return EMBEDDED.sub(lambda m: _as_text(values[m.group(1)]), value)
        return value

    return substitute(document)


def environment_name(raw: str) -> str:
    """A Chef-safe environment name derived from e.g. a stack name."""
    try:
        return names.environment_name_from(raw)
    except ValueError as exc:
        raise EnvironmentTemplateError(str(exc)) from None


class EnvironmentTemplates:
    """The Chef environment templates shipped in one directory."""

    def __init__(self, directory: str | Path):
        self.directory = Path(directory)

    def names(self) -> list[str]:
        return sorted(path.stem for path in self.directory.glob("*.json"))

    def load(self, name: str) -> dict:
        if not names.is_environment_name(name):
            raise EnvironmentTemplateError(f"template: invalid environment template name {name!r}")
        path = self.directory / f"{name}.json"
        try:
            document = json.loads(path.read_text())
        except FileNotFoundError:
            raise EnvironmentTemplateError(
                f"template: no Chef environment template named {name!r} "
                f"(known: {', '.join(self.names()) or 'none'})") from None
        except json.JSONDecodeError as exc:
            raise EnvironmentTemplateError(f"template {name!r}: invalid JSON: {exc}") from None
        if not isinstance(document, dict):
            raise EnvironmentTemplateError(f"template {name!r}: must be a JSON object")
        return document

    def render(self, template: str, name: str, values: Mapping[str, Any]) -> dict:
        """The Chef environment ``name`` from ``template`` with ``values`` filled in."""
        if not names.is_environment_name(name):
            raise EnvironmentTemplateError(f"name: invalid Chef environment name {name!r}")
        document = fill(self.load(template), values)
        document.update(name=name, json_class="Chef::Environment", chef_type="environment")
        for section in ("default_attributes", "override_attributes", "cookbook_versions"):
            document.setdefault(section, {})
            if not isinstance(document[section], dict):
                raise EnvironmentTemplateError(f"template {template!r}: {section} must be an object")
        document.setdefault("description", f"rendered from environment template {template}")
        return document
