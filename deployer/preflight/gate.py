"""What plan, create and update call (deployer.deployments.service).

- plan: the report goes into the plan document (``preflight``) whatever it says;
- create: the VIP registry first (409 naming the other deployment), then the node
  checks unless skipped (422 problem+json naming each node and what to fix, the
  whole report under ``preflight``); ``claim`` holds the VIPs once the row exists;
- update: the VIP registry only (409), then ``claim`` replaces the deployment's VIPs.
"""
from __future__ import annotations

import dataclasses

from deployer.db.models import utcnow
from deployer.errors import Unprocessable
from deployer.preflight import config, packages, registry, run_list, runner, targets, vips
from deployer.preflight.report import WARNING, Report
from deployer.preflight.settings import Settings, content_dirs

KEEPALIVED_COOKBOOK = "deployer_keepalived"
NOT_CONFIGURED = "the deployer has no preflight settings here"


class PreflightFailed(Unprocessable):
    """A node or VIP of the plan fails a check; ``extensions`` adds the whole report to
    the problem+json body."""

    def __init__(self, report: Report):
        super().__init__(f"preflight failed, nothing was created: {report.summary()}",
                         errors=report.problems())
        self.extensions = {"preflight": report.to_dict()}


@dataclasses.dataclass
class Analysis:
    needs: dict[str, runner.NodeNeeds]     # by resource
    vips: list[vips.Vip]
    # by resource: (the plan's node, the cookbooks its run-list reaches, its expanded roles)
    reached: dict[str, tuple[dict, set[str], list[dict]]] = dataclasses.field(default_factory=dict)


def analyse(settings: Settings | None, document: dict) -> Analysis:
    """Each node's packages (its expanded run-list read in the cookbooks) and the plan's
    floating VIPs; no I/O beyond the content directories."""
    roles_dir, cookbooks_dir = content_dirs(settings)
    cookbooks = packages.load(cookbooks_dir)
    environment = document.get("chef_environment") or {}
    env_name = environment.get("name")
    needs, reached, per_node = {}, set(), {}
    for group in document.get("steps") or []:
        for node in group:
            expanded = run_list.expand(node.get("run_list") or [], roles_dir, env_name)
            layers = [environment.get("default_attributes") or {},
                      *(r.get("default_attributes") or {} for r in expanded.roles),
                      *(r.get("override_attributes") or {} for r in expanded.roles),
                      environment.get("override_attributes") or {}]
            derived = packages.derive(expanded.recipes, cookbooks, layers)
            reached |= derived.cookbooks
            per_node[node["resource"]] = (node, derived.cookbooks, expanded.roles)
            notes = [f"role {name} is not in the deployer's roles directory: its run-list is "
                     f"not expanded" for name in expanded.unknown_roles]
            notes += [f"recipe {name} is not in the deployer's cookbooks directory"
                      for name in derived.unknown_recipes]
            notes += [f"{where}: a package source the preflight cannot read"
                      for where in derived.unresolved]
            needs[node["resource"]] = runner.NodeNeeds(derived.packages, notes)
    addresses = {node.get("address") for group in document.get("steps") or []
                 for node in group if node.get("address")}
    found = vips.floating(document.get("chef_environment"), addresses,
                          vrrp=KEEPALIVED_COOKBOOK in reached)
    return Analysis(needs, found, per_node)


def _report(services, prepared, document: dict, analysis: Analysis, *, skip: bool,
            deployment_id: str | None = None) -> Report:
    taken = registry.collisions(services.session, analysis.vips, deployment_id)
    settings: Settings | None = services.preflight
    if skip or settings is None or prepared.preview is None:
        return runner.registry_only(analysis.vips, taken,
                                    "skipped on request" if skip else NOT_CONFIGURED)
    nodes = targets.planned(prepared.preview, document["stack_name"],
                            prepared.preview_name or document["stack_name"], prepared.values,
                            settings.policy, settings.connect_timeout)
    order = {node["resource"]: index for index, node in enumerate(
        n for group in document.get("steps") or [] for n in group)}
    nodes.sort(key=lambda node: order.get(node.resource, len(order)))
    # The Chef node names the preview gives (a controller finds itself by name in the
    # controllers list); a ResourceGroup member's is decided at converge time.
    named = {node.resource: node.node_name for node in nodes}
    reached = {resource: ({**node, "node_name": named.get(resource)}, cookbooks, roles)
               for resource, (node, cookbooks, roles) in analysis.reached.items()}
    linted = config.checks(config.render_all(reached, document.get("chef_environment"),
                                             settings.cookbooks_dir))
    needs = {resource: dataclasses.replace(need, config=linted.get(resource))
             for resource, need in analysis.needs.items()}
    return runner.run(nodes, needs, analysis.vips, taken, settings)


def for_plan(services, prepared, document: dict) -> dict:
    analysis = analyse(services.preflight, document)
    return _report(services, prepared, document, analysis,
                   skip=prepared.request.skip_preflight).to_dict()


def for_create(services, prepared, document: dict) -> tuple[list[vips.Vip], dict]:
    """(the VIPs to claim, what to record with the deployment); raises Conflict (VIPs of
    another deployment) or PreflightFailed before anything is created."""
    analysis = analyse(services.preflight, document)
    registry.refuse_collisions(services.session, analysis.vips)
    skip = prepared.request.skip_preflight
    report = _report(services, prepared, document, analysis, skip=skip)
    if report.status == "failed":
        raise PreflightFailed(report)
    return analysis.vips, record(report, skipped_by_request=skip)


def for_update(services, document: dict, deployment_id: str) -> list[vips.Vip]:
    analysis = analyse(services.preflight, document)
    registry.refuse_collisions(services.session, analysis.vips, deployment_id)
    return analysis.vips


def claim(services, deployment_id: str, held: list[vips.Vip]) -> None:
    registry.claim(services.session, deployment_id, held)


def record(report: Report, *, skipped_by_request: bool) -> dict:
    """What the deployment keeps of its preflight (no host detail, nothing secret)."""
    return {"status": report.status, "skipped_by_request": skipped_by_request,
            "checked_at": utcnow().isoformat(), "nodes": len(report.nodes),
            "warnings": [check.line() for node in report.nodes for check in node.checks
                         if check.status == WARNING]}
