"""What a deployment would do, read from Heat's stack preview (nothing is created).

- the resources with their types and resolved properties (secrets redacted);
- the Chef environment the nodes would converge in: for HOT, rendered from the
  IBM::SCO::ChefEnvironment resource's resolved ``values``; for the origin's
  CFN form, from the outputs whose names are placeholders of the template the
  nodes name (EnvironmentTemplate, else the ChefEnvironmentTemplate parameter);
- the nodes by step (deployer/deployments/steps.py): the nodes of one step
  converge in parallel, each after the nodes it waits for in Heat's graph.

The same rules decide whether a deployment may be created: an unknown
environment template, a placeholder without a value or a value for no
placeholder is refused here, before any stack exists; so is a node running a
shipped role in an environment without the controllers list every shipped role
reads (the origin's environment has none).
"""
from __future__ import annotations

import re
from typing import Any, Iterator

from deployer.chef import names
from deployer.chef.environment_template import (
    EnvironmentTemplateError, EnvironmentTemplates, UnfilledPlaceholders, environment_name,
    placeholders)
from deployer.deployments import steps
from deployer.deployments.catalog import CHEF_ENVIRONMENT_TYPE, NODE_TYPE
from deployer.deployments.secrets import redact_value
from deployer.errors import Unprocessable

# What IBM::SCO::Node renders when neither the node nor the stack names a template
# (heat_plugins.common [deployer] default_environment_template).
DEFAULT_ENVIRONMENT_TEMPLATE = "origin"
ENVIRONMENT_TEMPLATE_PARAMETER = "ChefEnvironmentTemplate"


def flatten(resources: list) -> Iterator[dict]:
    """Heat nests a nested stack's preview resources as lists; walk them all."""
    for item in resources:
        if isinstance(item, list):
            yield from flatten(item)
        elif isinstance(item, dict):
            yield item


# A nested stack is named after the resource holding it: "<parent stack>-<resource>-<short id>"
# (heat.engine.resource.Resource.physical_resource_name; short ids are 12 base32 letters).
_NESTED_NAME = re.compile(r"^(.+?)-[a-z2-7]{12}(?:-(.*))?$")


def resource_path(resource: dict, stack_name: str) -> str:
    """``name`` for a top-level resource, ``<resource>/.../<name>`` for a nested one
    (``computes/0/node``: the path the progress shows too)."""
    owner = resource.get("stack_name") or stack_name
    if owner == stack_name:
        return resource["resource_name"]
    rest = owner[len(stack_name) + 1:] if owner.startswith(stack_name + "-") else owner
    parts = []
    while rest:
        match = _NESTED_NAME.match(rest)
        if match is None:       # not a name Heat made: keep it whole
            parts.append(rest)
            break
        parts.append(match.group(1))
        rest = match.group(2) or ""
    return "/".join([*parts, resource["resource_name"]])


def step_groups(resources: list[dict], stack_name: str,
                template_steps: list[steps.StepNode]) -> list[list[dict]]:
    """The previewed nodes by step (each group's nodes converge in parallel)."""
    groups: dict[int | None, list[dict]] = {}
    for resource in resources:
        if resource.get("resource_type") != NODE_TYPE:
            continue
        path = resource_path(resource, stack_name)
        try:
            order = names.order_of(resource.get("metadata"))
        except ValueError as error:     # Heat validates it first; this is belt and braces
            raise Unprocessable(f"{path}: Metadata {error}", field="template") from None
        attributes = resource.get("attributes") or {}
        step = steps.step_of(template_steps, path)
        groups.setdefault(step, []).append({
            "resource": path,
            "address": (resource.get("properties") or {}).get("Address"),
            "run_list": attributes.get("run_list") or [],
            "order": order,
            "step": step,
        })
    return [sorted(groups[step], key=lambda node: node["resource"])
            for step in sorted(groups, key=names.order_sort_key)]


def _render(templates: EnvironmentTemplates, template: str, name: str,
            values: dict[str, Any], *, strict: bool) -> dict:
    """Render, mapping failures onto 422s that name the placeholder.

    ``strict``: a value for no placeholder is an error too (the HOT map is
    written for one template; CFN outputs may serve other purposes).
    """
    try:
        document = templates.load(template)
    except EnvironmentTemplateError as error:
        raise Unprocessable(str(error), field="chef_environment.template") from None
    if strict:
        unknown = sorted(set(values) - set(placeholders(document)))
        if unknown:
            raise Unprocessable(
                f"values for no placeholder of Chef environment template {template!r}: "
                f"{', '.join(unknown)}",
                errors={f"chef_environment.{n}": ["unknown placeholder"] for n in unknown})
    try:
        return templates.render(template, name, values)
    except UnfilledPlaceholders as error:
        raise Unprocessable(
            f"Chef environment template {template!r}: {error}",
            errors={f"chef_environment.{n}": ["unfilled placeholder"]
                    for n in sorted(error.missing)}) from None
    except EnvironmentTemplateError as error:
        raise Unprocessable(str(error), field="chef_environment") from None


def chef_environment(preview: dict, resources: list[dict], stack_name: str,
                     templates: EnvironmentTemplates) -> dict | None:
    """The rendered Chef environment of the previewed stack (None: the nodes name an
    existing environment, or there are no nodes)."""
    for resource in resources:
        if resource.get("resource_type") == CHEF_ENVIRONMENT_TYPE:
            props = resource.get("properties") or {}
            name = props.get("name") or environment_name(stack_name)
            return _render(templates, props.get("template") or "", name,
                           props.get("values") or {}, strict=True)
    nodes = [r for r in resources if r.get("resource_type") == NODE_TYPE]
    rendering = [n for n in nodes if not (n.get("properties") or {}).get("ChefEnvironment")]
    if not rendering:
        return None
    parameters = preview.get("parameters") or {}
    template = ((rendering[0].get("properties") or {}).get("EnvironmentTemplate")
                or parameters.get(ENVIRONMENT_TEMPLATE_PARAMETER) or DEFAULT_ENVIRONMENT_TEMPLATE)
    try:
        wanted = placeholders(templates.load(template))
    except EnvironmentTemplateError as error:
        raise Unprocessable(str(error), field="chef_environment.template") from None
    outputs = {output["output_key"]: output.get("output_value")
               for output in preview.get("outputs") or ()}
    values = {name: outputs[name] for name in wanted if name in outputs}
    return _render(templates, template, environment_name(stack_name), values, strict=False)


def build(preview: dict, stack_name: str, templates: EnvironmentTemplates,
          secrets: list[str], parameters: dict[str, Any], template_steps: list[steps.StepNode],
          *, preview_name: str | None = None) -> dict:
    """The plan document; raises Unprocessable for a Chef environment that cannot be rendered.
    ``template_steps``: steps.of_template of the previewed template and values;
    ``preview_name``: the name Heat previewed the stack under, when not ``stack_name``."""
    previewed = preview_name or stack_name
    resources = list(flatten(preview.get("resources") or []))
    environment = chef_environment(preview, resources, stack_name, templates)
    stack_preview = [{"resource": resource_path(r, previewed), "type": r.get("resource_type"),
                      "properties": r.get("properties") or {}, "metadata": r.get("metadata") or {}}
                     for r in resources]
    return redact_value({
        "stack_name": stack_name,
        "parameters": parameters,
        "stack_preview": stack_preview,
        "chef_environment": environment,
        "steps": step_groups(resources, previewed, template_steps),
    }, secrets)


CONTROLLERS_PATH = ("deployer", "cluster", "controllers")


def _controllers(environment: dict) -> Any:
    for section in ("override_attributes", "default_attributes"):   # override wins
        value = environment.get(section) or {}
        for key in CONTROLLERS_PATH:
            value = value.get(key) if isinstance(value, dict) else None
        if value is not None:
            return value
    return None


def check_cluster_facts(document: dict, shipped_roles: set[str]) -> None:
    """Refuse a plan whose nodes run a shipped role in a rendered environment that gives
    no controllers list: recipe[deployer_common], first in every shipped role, stops the
    converge on it, so say it here, naming the node and the role, before anything exists."""
    environment = document.get("chef_environment")
    if environment is None or _controllers(environment):
        return                  # an existing environment is the site's; or the list is there
    for group in document["steps"]:
        for node in group:
            for item in node["run_list"]:
                kind, name = names.parse_run_list_item(item)
                if kind == "role" and name in shipped_roles:
                    raise Unprocessable(
                        f"Chef environment {environment.get('name')!r} sets no "
                        f"{'.'.join(CONTROLLERS_PATH)}, which {item} on node {node['resource']} "
                        f"needs (every shipped role reads the controllers list): use a template "
                        f"whose environment lists the controllers (allinone, active-active, "
                        f"active-passive) or add the list to the environment template",
                        field="chef_environment")
