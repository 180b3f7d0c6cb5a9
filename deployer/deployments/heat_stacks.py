"""What the deployments service asks of Heat, with Heat's refusals turned into
errors that name the field at fault.

Heat is the judge of parameters: ``stacks.validate`` gives every parameter's
schema and constraints (HOT and CFN alike), ``stacks.preview`` checks values
(missing, constraint violations, unknown names) and resolves properties and
outputs without creating anything.  Heat reports one problem at a time; the
message names the parameter, which is parsed out for ``errors``.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import re
import threading
from typing import Any, Iterator

from heatclient import exc as heat_exc
from keystoneauth1 import exceptions as ka_exceptions

from deployer.chef import names
from deployer.errors import Conflict, HeatFailure, HeatUnavailable, Unprocessable
from deployer.deployments.catalog import TemplateSource
from deployer.deployments.secrets import redact_text

PARAMETER_PROBLEMS = (
    (re.compile(r"The Parameter \((?P<name>[^)]+)\) was not provided"), "is required"),
    (re.compile(r"The Parameter \((?P<name>[^)]+)\) was not defined in template"),
     "is not a parameter of the template"),
    (re.compile(r"Parameter '(?P<name>[^']+)' is invalid"), None),
)
CHECKED_PARAMETER = "DeployerChecked"        # = heat_plugins.common.CHECKED_PARAMETER
HEAT_TYPES = {"String": "string", "Number": "number", "CommaDelimitedList": "comma_delimited_list",
              "Json": "json", "Boolean": "boolean"}
_ERROR_PREFIX = re.compile(r"^(ERROR: )+")


def _message(error: Exception) -> str:
    text = str(error).strip()
    return _ERROR_PREFIX.sub("", text).strip() or type(error).__name__


def refusal(message: str) -> Unprocessable:
    """A Heat 400 as a 422 naming the parameter (or placeholder) Heat complained about."""
    for pattern, what in PARAMETER_PROBLEMS:
        match = pattern.search(message)
        if match:
            name = match.group("name")
            return Unprocessable(message, errors={
                f"parameters.{name}": [f"{name} {what}" if what else message]})
    unfilled = names.parse_unfilled_placeholders(message)
    if unfilled:
        return Unprocessable(message, errors={
            f"chef_environment.{name}": ["unfilled placeholder"] for name in unfilled[1]})
    return Unprocessable(message, field="template")


@contextlib.contextmanager
def heat_errors(secrets: list[str] | tuple[str, ...] = ()) -> Iterator[None]:
    """Map heatclient failures; ``secrets`` are cut out of any message Heat echoes."""
    try:
        yield
    except heat_exc.HTTPBadRequest as error:
        raise refusal(redact_text(_message(error), secrets)) from None
    except heat_exc.HTTPConflict as error:
        raise Conflict(redact_text(_message(error), secrets), field="name") from None
    except (heat_exc.CommunicationError, ka_exceptions.ConnectionError) as error:
        raise HeatUnavailable(f"Heat is not reachable: {type(error).__name__}") from None
    except (heat_exc.HTTPException, ka_exceptions.HttpError) as error:
        raise HeatFailure(f"Heat failed: {redact_text(_message(error), secrets)}") from None


def _constraints(schema: dict) -> list[dict]:
    found: list[dict] = []
    if "AllowedValues" in schema:
        found.append({"allowed_values": schema["AllowedValues"]})
    if "AllowedPattern" in schema:
        found.append({"allowed_pattern": schema["AllowedPattern"]})
    if "MinValue" in schema or "MaxValue" in schema:
        found.append({"range": {key: schema[heat] for key, heat in (("min", "MinValue"),
                                                                      ("max", "MaxValue"))
                                if heat in schema}})
    if "MinLength" in schema or "MaxLength" in schema:
        found.append({"length": {key: schema[heat] for key, heat in (("min", "MinLength"),
                                                                       ("max", "MaxLength"))
                                 if heat in schema}})
    if "CustomConstraint" in schema:
        found.append({"custom_constraint": schema["CustomConstraint"]})
    description = schema.get("ConstraintDescription")
    if description:
        for constraint in found:
            constraint["description"] = description
    return found


def parameter_schema(validated: dict) -> dict[str, dict]:
    """Heat's validate output -> {name: {type, description, default, constraints, hidden, ...}}."""
    parameters = {}
    for name, schema in (validated.get("Parameters") or {}).items():
        parameters[name] = {
            "type": HEAT_TYPES.get(schema.get("Type"), str(schema.get("Type", "")).lower()),
            "description": schema.get("Description", ""),
            "label": schema.get("Label", name),
            "default": schema.get("Default"),
            "required": "Default" not in schema,
            "constraints": _constraints(schema),
            "hidden": str(schema.get("NoEcho", "false")).lower() == "true",
        }
    return parameters


class TemplateParameters:
    """Heat's view of a template's parameters, cached per template content
    (the catalog and every redaction need it; Heat answers in ~100 ms)."""

    _cache: dict[str, dict] = {}
    _lock = threading.Lock()

    @classmethod
    def of(cls, heat, source: TemplateSource) -> dict:
        """{"parameters": {...}, "parameter_groups": [...]} for ``source``."""
        key = hashlib.sha256(json.dumps([source.body, source.files], sort_keys=True,
                                        default=str).encode()).hexdigest()
        with cls._lock:
            if key in cls._cache:
                return cls._cache[key]
        with heat_errors():
            validated = heat.stacks.validate(template=source.body, files=source.files)
        info = {"parameters": parameter_schema(validated),
                "parameter_groups": validated.get("ParameterGroups") or []}
        with cls._lock:
            cls._cache[key] = info
        return info


def hidden_names(heat, source: TemplateSource) -> set[str]:
    return {name for name, schema in TemplateParameters.of(heat, source)["parameters"].items()
            if schema["hidden"]}


def check_values(heat, source: TemplateSource, values: dict[str, Any],
                 secrets: list[str]) -> None:
    """Check ``values`` (possibly not all parameters) against the template's own
    parameter definitions: Heat previews a template holding only those parameters."""
    if not values:
        return
    section = "parameters" if source.format == "hot" else "Parameters"
    definitions = source.body.get(section) or {}
    unknown = sorted(set(values) - set(definitions))
    if unknown:
        raise Unprocessable(
            f"not parameters of template {source.name}: {', '.join(unknown)}",
            errors={f"parameters.{name}": [f"{name} is not a parameter of the template"]
                    for name in unknown})
    only = {name: definitions[name] for name in values}
    if source.format == "hot":
        body = {"heat_template_version": source.body["heat_template_version"],
                "parameters": only, "resources": {}}
    else:
        version_key = ("AWSTemplateFormatVersion" if "AWSTemplateFormatVersion" in source.body
                       else "HeatTemplateFormatVersion")
        body = {version_key: source.body[version_key], "Parameters": only, "Resources": {}}
    with heat_errors(secrets):
        heat.stacks.preview(stack_name="parameter-check", template=body, parameters=values)


def checked(environment: dict) -> dict:
    """``environment`` marked as checked by the deployer (heat_plugins.common
    .checked_by_deployer): the node and Chef environment resources then validate
    without calling back into the API whose request thread is waiting for Heat."""
    defaults = {**(environment.get("parameter_defaults") or {}), CHECKED_PARAMETER: True}
    return {**environment, "parameter_defaults": defaults}


def preview(heat, stack_name: str, source: TemplateSource, env_files: dict[str, str],
            environment: dict, parameters: dict[str, Any], secrets: list[str]) -> dict:
    with heat_errors(secrets):
        return heat.stacks.preview(stack_name=stack_name, template=source.body,
                                   files={**source.files, **env_files},
                                   environment=checked(environment),
                                   parameters=parameters).to_dict()


def create(heat, stack_name: str, source: TemplateSource, env_files: dict[str, str],
           environment: dict, parameters: dict[str, Any], secrets: list[str]) -> str:
    with heat_errors(secrets):
        created = heat.stacks.create(stack_name=stack_name, template=source.body,
                                     files={**source.files, **env_files},
                                     environment=checked(environment), parameters=parameters,
                                     disable_rollback=True)
    return created["stack"]["id"]


def update(heat, stack_id: str, source: TemplateSource, env_files: dict[str, str],
           environment: dict, parameters: dict[str, Any], secrets: list[str]) -> None:
    with heat_errors(secrets):
        heat.stacks.update(stack_id, template=source.body, files={**source.files, **env_files},
                           environment=checked(environment), parameters=parameters,
                           existing=False)


def delete(heat, stack_id: str) -> None:
    """Delete the stack; one that is already gone counts as deleted."""
    with heat_errors():
        try:
            heat.stacks.delete(stack_id)
        except heat_exc.HTTPNotFound:
            pass


def get(heat, stack_id: str, *, resolve_outputs: bool) -> dict | None:
    """The stack as Heat shows it, or None when Heat no longer knows it."""
    with heat_errors():
        try:
            return heat.stacks.get(stack_id, resolve_outputs=resolve_outputs).to_dict()
        except heat_exc.HTTPNotFound:
            return None


def statuses(heat, stack_ids: list[str]) -> dict[str, tuple[str, str]]:
    """{stack id: (stack_status, reason)} for ``stack_ids`` in one list call
    (deleted stacks included; an id Heat does not return is gone)."""
    if not stack_ids:
        return {}
    with heat_errors():
        stacks = heat.stacks.list(show_deleted=True, filters={"id": stack_ids})
        return {stack.id: (stack.stack_status, stack.stack_status_reason or "")
                for stack in stacks}


def resources(heat, stack_id: str, nested_depth: int = 5) -> list[dict]:
    with heat_errors():
        try:
            return [resource.to_dict()
                    for resource in heat.resources.list(stack_id, nested_depth=nested_depth)]
        except heat_exc.HTTPNotFound:
            return []


def events(heat, stack_id: str, nested_depth: int = 5) -> list[dict]:
    with heat_errors():
        try:
            found = heat.events.list(stack_id, nested_depth=nested_depth, sort_dir="asc")
        except heat_exc.HTTPNotFound:
            return []
    # Stable: events of one second keep Heat's own (creation) order.
    return sorted((event.to_dict() for event in found),
                  key=lambda event: event.get("event_time") or "")


def stack_id_of(resource: dict) -> str | None:
    """The id of the (possibly nested) stack a listed resource belongs to."""
    for link in resource.get("links") or ():
        if link.get("rel") == "stack":
            return link["href"].rstrip("/").rsplit("/", 1)[-1]
    return None
