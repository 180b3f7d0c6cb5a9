"""The steps the deployer shows are the order in which Heat really creates the nodes.

For every shipped template (hot_templates/*.yaml, *.json) a stack is created
in the real Heat engine with our plugins, against the real deployer API and
worker and the real Chef server (goiardi); only the node runs are the test
executor ``steady`` (tests/fixtures/api_executors.py: every run, whatever its
run-list, spends a fixed time in converge and succeeds, no SSH).

What really happened is read from the runs Heat started: node B waited for
node A when B's run was created after A's run had finished.  The observed
step of a node is 1 + the highest observed step among the nodes it waited
for; it must equal steps.of_template's step (what plan, ``deployer templates``,
progress and the status page show) and the step the refresher gives the node
(stack_cache.node_entries), for every node.
"""
from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from deployer.deployments import steps
from deployer.deployments.catalog import Catalog
from deployer.deployments.stack_cache import node_entries
from deployer.config import ContentSettings
from tests.fixtures.waiting import wait_stack

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

STACK_TIMEOUT = 180


def _values(source) -> dict:
    """A value for every required parameter, and a password for the node logins."""
    addresses = (f"192.0.2.{n}" for n in range(10, 250))
    declared = source.body.get("parameters" if source.format == "hot" else "Parameters") or {}
    values = {}
    for name, schema in declared.items():
        kind = str(schema.get("type", schema.get("Type", ""))).lower()
        if name in source.required_parameters():
            values[name] = (f"{next(addresses)},{next(addresses)}"
                            if kind in ("comma_delimited_list", "commadelimitedlist")
                            else next(addresses))
        elif "password" in name.lower():
            values[name] = "pw-steps-1"
    return values


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def _observed_steps(runs: dict[str, dict]) -> dict[str, int]:
    """Each node's step as it happened: 1 + the highest among the nodes whose run had
    finished before its own was created."""
    found: dict[str, int] = {}

    def step(path: str) -> int:
        if path not in found:
            created = _time(runs[path]["created_at"])
            found[path] = 1 + max((step(other) for other, run in runs.items()
                                   if other != path and _time(run["finished_at"]) <= created),
                                  default=0)
        return found[path]

    for path in runs:
        step(path)
    return found


def _real_order(heat, api, name: str, source) -> tuple[dict[str, int], dict[str, int | None]]:
    """Create the stack and return (observed step, refresher's step) by node path."""
    created = heat.stacks.create(stack_name=name, template=source.body, files=source.files,
                                 parameters=_values(source))
    stack_id = created["stack"]["id"]
    try:
        stack = wait_stack(heat, stack_id, STACK_TIMEOUT, interval=1)
        assert stack.stack_status == "CREATE_COMPLETE", (source.name, stack.stack_status_reason)
        listed = [r.to_dict() for r in heat.resources.list(stack_id, nested_depth=5)]
        entries = node_entries(listed, stack_id, steps.of_template(source.body, source.files))
        runs = {}
        for entry in entries:
            stack_runs = api.list_runs(stack_id=entry["stack_id"])["runs"]
            mine = [r for r in stack_runs if r["resource_name"] == entry["resource_name"]]
            assert len(mine) == 1 and mine[0]["status"] == "succeeded", (entry, mine)
            runs[entry["resource"]] = mine[0]
        return _observed_steps(runs), {e["resource"]: e["step"] for e in entries}
    finally:
        heat.stacks.delete(stack_id)
        wait_stack(heat, stack_id, STACK_TIMEOUT, gone_ok=True, interval=1)


def test_every_shipped_template_converges_in_its_computed_steps(
        chef_server, deployer_api_factory, heat_factory):
    api = deployer_api_factory(executor="tests.fixtures.api_executors:steady",
                               chef_server=chef_server, run_workers=8)
    heat = heat_factory({"deployer": {"api_url": api.base_url}}).client
    catalog = Catalog(ContentSettings())
    templates = catalog.templates()
    assert {t.name for t in templates} >= {"allinone", "active-active", "active-passive",
                                           "origin-seed"}
    mismatches = {}
    for source in templates:
        planned = {node.resource: node.step for node in steps.of_template(
            source.body, source.files, parameters=_values(source))}
        observed, refreshed = _real_order(heat, api.client, f"steps-{uuid.uuid4().hex[:8]}",
                                          source)
        assert observed, f"{source.name}: no node ran"
        agree = ({steps.definition_path(path) for path in observed} == set(planned)
                 and all(planned[steps.definition_path(path)] == step == refreshed[path]
                         for path, step in observed.items()))
        if not agree:
            mismatches[source.name] = {"planned": planned, "observed": observed,
                                       "refresher": refreshed}
    assert not mismatches, mismatches
