"""The steps of a deployment: which nodes converge together, and after which.

The one place that answers "when does this node converge".  The plan, the
live progress, a template's node list and the status page all read it.

Heat starts a resource once everything it requires is complete.  So a node's
step is 1 + the highest step among the nodes it waits for, where "waits for" is
the stack's dependency graph as Heat builds it: the graph of a real (not
stored) Heat stack parsed in this process with our resource plugins, so
depends_on, get_resource/get_attr references and IBM::SCO::Node's own ``order``
edges (heat_plugins/sco_node.py) all count, written once, in Heat and in the
plugin.  Across stacks: a resource holding a nested stack (a template resource,
a ResourceGroup) starts its nested resources when its own requirements are
complete and completes when all of them are, so a node in a group after
``controller3`` waits for controller3 whatever its own ``order`` says.

Nodes are named by their definition path, ``computes/node`` for every member
of the group ``computes`` (members of one group converge in parallel; Heat's
``batch_create`` policy, which would serialise them, is not used by the
shipped templates and is refused here rather than drawn wrongly).
"""
from __future__ import annotations

import copy
import dataclasses
import functools
import json
import re
import threading
from typing import Any

from deployer.deployments.catalog import NODE_TYPE, nested_body

GROUP_TYPE = "OS::Heat::ResourceGroup"
_MEMBER = re.compile(r"^\d+$")       # a ResourceGroup member's resource name


class StepsError(ValueError):
    """The template's graph cannot be read (Heat's own message)."""


@dataclasses.dataclass(frozen=True)
class StepNode:
    resource: str                   # definition path: "controller1", "computes/node"
    step: int                       # 1-based
    order: int | None               # the node's ``order`` metadata, as written
    run_list: list[str] | None
    after: tuple[str, ...]          # definition paths of every node it waits for

    def view(self) -> dict:
        return {"resource": self.resource, "step": self.step, "order": self.order,
                "run_list": self.run_list, "after": list(self.after)}


def definition_path(path: str) -> str:
    """``computes/0/node`` -> ``computes/node``: a group member's definition."""
    return "/".join(part for part in path.split("/") if not _MEMBER.match(part))


def of_template(body: dict, files: dict[str, str], environment: dict | None = None,
                parameters: dict[str, Any] | None = None) -> list[StepNode]:
    """The template's nodes with their steps, by step then path.  ``parameters``
    (and the environment's) decide conditional resources; with None (a template
    read without values), or without a value a condition needs, every
    conditional resource counts."""
    key = json.dumps([body, files, environment or {}, parameters], sort_keys=True,
                     default=str)
    return list(_cached(key))


def groups(nodes: list[StepNode]) -> list[list[StepNode]]:
    """Nodes grouped by step, step 1 first."""
    found: dict[int, list[StepNode]] = {}
    for node in nodes:
        found.setdefault(node.step, []).append(node)
    return [found[step] for step in sorted(found)]


def step_of(nodes: list[StepNode], path: str) -> int | None:
    """The step of a node resource path (a group member's included), None if not a node."""
    wanted = definition_path(path)
    return next((node.step for node in nodes if node.resource == wanted), None)


# -- Heat's graph ---------------------------------------------------------------------

@functools.lru_cache(maxsize=64)
def _cached(key: str) -> tuple[StepNode, ...]:
    body, files, environment, parameters = json.loads(key)
    walker = _Walker(files, environment, parameters)
    walker.walk(body, "", frozenset())
    before = walker.before
    steps: dict[str, int] = {}

    def step(path: str) -> int:
        if path not in steps:
            steps[path] = 1 + max((step(other) for other in before[path]), default=0)
        return steps[path]

    nodes = [StepNode(path, step(path), walker.order[path], walker.run_lists[path],
                      tuple(sorted(before[path]))) for path in before]
    return tuple(sorted(nodes, key=lambda node: (node.step, node.resource)))


class _Walker:
    """Walks a template and its nested templates, collecting for every node the
    nodes it waits for (transitively, so ``before`` is closed)."""

    def __init__(self, files: dict[str, str], environment: dict, parameters: dict | None):
        self.files = files
        self.environment = environment
        self.parameters = parameters
        self.before: dict[str, frozenset[str]] = {}
        self.order: dict[str, int | None] = {}
        self.run_lists: dict[str, list[str] | None] = {}

    def walk(self, body: dict, prefix: str, inherited: frozenset[str]) -> frozenset[str]:
        """Walks one stack whose resources start after ``inherited``; returns its nodes."""
        from heat.engine.resources.template_resource import TemplateResource

        from deployer.chef import names

        # A nested stack's values come from its parent's properties: not known here.
        stack = _heat_stack(body, self.files, self.environment,
                            None if prefix else self.parameters)
        graph = stack.dependencies
        definitions = body.get("resources", body.get("Resources")) or {}
        waits: dict[str, frozenset[str]] = {}     # resource name -> nodes it waits for
        holds: dict[str, frozenset[str]] = {}     # resource name -> nodes it contains

        def visit(resource) -> None:
            if resource.name in waits:
                return
            wait = set(inherited)
            for required in graph.requires(resource):
                visit(required)
                wait |= waits[required.name] | holds[required.name]
            waits[resource.name] = frozenset(wait)
            path = f"{prefix}{resource.name}"
            definition = definitions.get(resource.name) or {}
            if resource.type() == NODE_TYPE:
                self.before[path] = frozenset(wait)
                self.order[path], self.run_lists[path] = names.static_node(
                    definition.get("metadata", definition.get("Metadata")))
                holds[resource.name] = frozenset({path})
                return
            # A template resource's type may be an environment alias of its file.
            kind = resource.type()
            if isinstance(resource, TemplateResource):
                kind = resource.template_url
            holds[resource.name] = self._nested(kind, definition, path, frozenset(wait))

        for resource in stack.resources.values():
            visit(resource)
        return frozenset().union(*holds.values()) if holds else frozenset()

    def _nested(self, kind: str, definition: dict, path: str,
                wait: frozenset[str]) -> frozenset[str]:
        if kind == GROUP_TYPE and "batch_create" in (definition.get("update_policy") or {}):
            raise StepsError(f"{path}: batch_create serialises the group's members; "
                             f"steps of such a group are not supported")
        body = nested_body(kind, definition, self.files)
        if body is None:
            return frozenset()
        return self.walk(body, f"{path}/", wait)


_HEAT_LOADING = threading.Lock()


def _heat_resources_loaded() -> None:
    """Heat loads its resource plugins on first use, and not thread-safely: two API
    threads planning at once saw half-imported modules (AttributeError from Heat's
    plugin loader, a 500).  The first load happens under a lock; later calls return."""
    from heat.engine import resources
    with _HEAT_LOADING:
        resources.initialise()


def _heat_stack(body: dict, files: dict[str, str], environment: dict,
                parameters: dict | None):
    """An unstored Heat stack of ``body`` in this process, with our plugins' types;
    ``parameters`` None: every conditional resource present."""
    from heat.common import context, exception
    from heat.engine import environment as heat_environment, stack, template

    _heat_resources_loaded()
    env_dict = copy.deepcopy(environment)
    env_dict["parameters"] = {**(env_dict.get("parameters") or {}), **(parameters or {})}
    env = heat_environment.Environment(env_dict)
    for name, cls in _plugin_types().items():
        env.register_class(name, cls)
    ctx = context.RequestContext(user_id="steps", project_id="steps", is_admin=True)
    built = None
    if parameters is not None:
        built = stack.Stack(ctx, "steps", template.Template(body, files=files, env=env))
        try:
            built.resources     # evaluates conditions: may need a parameter without a value
        except exception.HeatException:
            built = None
    if built is None:
        built = stack.Stack(ctx, "steps", template.Template(
            _unconditional(body), files=files, env=env))
    try:
        built.dependencies
    except exception.HeatException as error:
        raise StepsError(str(error)) from None
    return built


def _unconditional(body: dict) -> dict:
    """``body`` with every resource present (its conditions are not decidable yet)."""
    stripped = copy.deepcopy(body)
    for key in ("conditions", "Conditions"):
        stripped.pop(key, None)
    for definition in (stripped.get("resources", stripped.get("Resources")) or {}).values():
        if isinstance(definition, dict):
            definition.pop("condition", None)
            definition.pop("Condition", None)
    return stripped


@functools.cache
def _plugin_types() -> dict[str, type]:
    """Our resource types as heat-engine loads them (heat_plugins/), so their own
    add_dependencies (IBM::SCO::Node's ``order``) builds the graph."""
    from heat_plugins import chef_environment, sco_node
    mapping: dict[str, type] = {}
    for module in (sco_node, chef_environment):
        mapping.update(module.available_resource_mapping())
    return mapping

