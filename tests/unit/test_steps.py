"""deployer/deployments/steps.py: steps from Heat's graph (parsed in this process with
our plugins), across nested stacks and groups.  tests/integration/test_steps_real_order.py
checks the same steps against the order a real heat-engine creates the nodes in."""
from __future__ import annotations

import pytest

from deployer.config import ContentSettings
from deployer.deployments import steps
from deployer.deployments.catalog import Catalog

NESTED = "file:///t/member.yaml"
MEMBER = """
heat_template_version: 2021-04-16
resources:
  node:
    type: IBM::SCO::Node
    properties: {Address: 192.0.2.9, Password: pw}
    metadata: {chef-runlist: "role[m]", order: 1}
"""


def _node(order: int, **extra) -> dict:
    return {"type": "IBM::SCO::Node", "properties": {"Address": "192.0.2.1", "Password": "pw"},
            "metadata": {"chef-runlist": "role[a]", "order": order}, **extra}


def _steps(resources: dict, files=None, values=None, top=None) -> dict[str, int]:
    body = {"heat_template_version": "2021-04-16", "resources": resources, **(top or {})}
    return {n.resource: n.step for n in steps.of_template(body, files or {}, parameters=values)}


def test_the_shipped_active_active_computes_come_after_controller3_whatever_their_order():
    source = Catalog(ContentSettings()).template("active-active")
    found = {n.resource: n for n in steps.of_template(source.body, source.files)}
    assert found["computes/node"].order == 1
    assert found["computes/node"].step == 4
    assert found["computes/node"].after == ("controller1", "controller2", "controller3")


def test_order_depends_on_and_references_all_make_steps():
    assert _steps({"a": _node(1), "b": _node(1), "c": _node(2)}) == {"a": 1, "b": 1, "c": 2}
    # depends_on through a resource that is no node
    assert _steps({"a": _node(1), "gate": {"type": "OS::Heat::None", "depends_on": ["a"]},
                   "b": _node(1, depends_on=["gate"])}) == {"a": 1, "b": 2}
    # a reference (get_attr) is a dependency too
    referencing = _node(1)
    referencing["properties"]["NodeName"] = {"get_attr": ["a", "node_name"]}
    assert _steps({"a": _node(1), "b": referencing}) == {"a": 1, "b": 2}


def test_a_node_after_a_group_waits_for_every_member_and_members_run_together():
    group = {"type": "OS::Heat::ResourceGroup",
             "properties": {"count": 3, "resource_def": {"type": "member.yaml"}}}
    found = _steps({"first": _node(1), "members": {**group, "depends_on": ["first"]},
                    "last": _node(1, depends_on=["members"])}, files={NESTED: MEMBER})
    assert found == {"first": 1, "members/node": 2, "last": 3}
    assert steps.step_of(steps.of_template(
        {"heat_template_version": "2021-04-16", "resources": {"members": group}},
        {NESTED: MEMBER}), "members/2/node") == 1


def test_conditions_follow_the_values_and_count_every_node_without_them():
    conditional = {"a": _node(1), "b": _node(2, condition="two")}
    top = {"parameters": {"N": {"type": "number"}},
           "conditions": {"two": {"equals": [{"get_param": "N"}, 2]}}}
    assert _steps(conditional, values={"N": 1}, top=top) == {"a": 1}
    assert _steps(conditional, values={"N": 2}, top=top) == {"a": 1, "b": 2}
    assert _steps(conditional, top=top) == {"a": 1, "b": 2}


def test_a_batch_created_group_is_refused_rather_than_drawn_wrongly():
    group = {"type": "OS::Heat::ResourceGroup", "update_policy": {"batch_create": {}},
             "properties": {"count": 2, "resource_def": {"type": "member.yaml"}}}
    with pytest.raises(steps.StepsError, match="batch_create"):
        _steps({"members": group}, files={NESTED: MEMBER})
