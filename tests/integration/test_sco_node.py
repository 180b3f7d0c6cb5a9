"""IBM::SCO::Node inside the real Heat engine, with the real Chef server and test nodes.

Everything is real except chef-client, replaced on the nodes by the stand-in
(tests/standin/chef-client), which authenticates with the node's own key,
expands the run-list through the server's roles, asks the depsolver and saves
the node.
"""
from __future__ import annotations

import json
import uuid
from datetime import datetime

import pytest
from heatclient import exc as heat_exc

from tests.fixtures.waiting import wait_stack, wait_until

pytestmark = [pytest.mark.integration]

STACK_TIMEOUT = 240


def _origin_cfn(nodes, *, template="sco-test", converge_seconds=0) -> dict:
    """A template in the origin document's CFN style, one resource per (name, node, runlist, order)."""
    resources = {}
    for name, node, run_list, order, password in nodes:
        resources[name] = {
            "Type": "IBM::SCO::Node",
            "Properties": {"Address": node.ip, "User": "root", "Password": password,
                           "KeyFile": ""},
            "Metadata": {"chef-runlist": run_list, "order": order},
        }
    return {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            "EnableOSDebug": {"Description": "Enable OpenStack debug mode", "Type": "String",
                              "Default": "false"},
            "NetworkManager": {"Description": "Network manager type of OpenStack", "Type": "String",
                               "Default": "nova.network.manager.VlanManager"},
            "ChefEnvironmentTemplate": {"Type": "String", "Default": template},
            "ConvergeSeconds": {"Type": "Number", "Default": converge_seconds},
        },
        "Resources": resources,
        "Outputs": {
            "ENABLE_DEBUG": {"Value": {"Ref": "EnableOSDebug"}},
            "NETWORK_MANAGER": {"Value": {"Ref": "NetworkManager"}},
            "CONVERGE_SECONDS": {"Value": {"Ref": "ConvergeSeconds"}},
        },
    }


def _hot_group(nodes, *, converge_seconds, values_override=None) -> dict:
    values = {"ENABLE_DEBUG": "false", "NETWORK_MANAGER": "nova.network.manager.FlatDHCPManager",
              "CONVERGE_SECONDS": converge_seconds}
    if values_override is not None:
        values = values_override
    resources = {"site": {"type": "IBM::SCO::ChefEnvironment",
                          "properties": {"template": "sco-test", "values": values}}}
    for name, node, run_list, order in nodes:
        resources[name] = {
            "type": "IBM::SCO::Node",
            "properties": {"Address": node.ip, "KeyFile": node.key_file,
                           "HostKeyFingerprint": node.host_key_fingerprint,
                           "ChefEnvironment": {"get_resource": "site"}},
            "metadata": {"chef-runlist": run_list, "order": order},
        }
    return {"heat_template_version": "2021-04-16", "resources": resources,
            "parameters": {"admin_password": {"type": "string", "hidden": True, "default": "x"}}}


def _wait(heat, stack_id):
    return wait_stack(heat, stack_id, STACK_TIMEOUT, interval=1)


def _create(heat, template, name=None, parameters=None):
    name = name or f"sco-{uuid.uuid4().hex[:8]}"
    created = heat.stacks.create(stack_name=name, template=template, parameters=parameters or {})
    return name, _wait(heat, created["stack"]["id"])


def _delete(heat, stack):
    heat.stacks.delete(stack.id)
    current = wait_stack(heat, stack.id, STACK_TIMEOUT, gone_ok=True, interval=1)
    if current is not None and current.stack_status == "DELETE_FAILED":
        raise AssertionError(f"delete failed: {current.stack_status_reason}")


def _runs_by_node(api, stack_id) -> dict[str, list[dict]]:
    runs: dict[str, list[dict]] = {}
    for run in api.list_runs(stack_id=stack_id)["runs"]:
        runs.setdefault(run["resource_name"], []).append(run)
    for items in runs.values():
        items.sort(key=lambda r: r["created_at"])
    return runs


def _ts(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


@pytest.fixture
def heat(undercloud):
    return undercloud.heat()


def test_two_nodes_converge_in_order_and_get_the_stack_environment(undercloud, heat, test_nodes_factory):
    first_node, second_node = test_nodes_factory(2).nodes()
    template = _origin_cfn([
        # listed in reverse: the order metadata, not the template order, sequences them
        ("standby", second_node, "role[sco-test-second]", 2, second_node.password),
        ("control", first_node, "role[sco-test-first]", 1, first_node.password),
    ], converge_seconds=1)
    name, stack = _create(undercloud.heat(), template, parameters={"EnableOSDebug": "true"})
    try:
        assert stack.stack_status == "CREATE_COMPLETE", stack.stack_status_reason
        runs = _runs_by_node(undercloud.api(), stack.id)
        control, standby = runs["control"][-1], runs["standby"][-1]
        assert _ts(standby["started_at"]) >= _ts(control["finished_at"])

        chef = undercloud.chef()
        env = chef.get_environment(name)
        assert env["default_attributes"]["orchestration"]["debug"] == "true"
        assert env["default_attributes"]["network"]["network_manager"].endswith("VlanManager")
        for resource, node, role in (("control", first_node, "sco-test-first"),
                                     ("standby", second_node, "sco-test-second")):
            chef_node = chef.get_node(f"{name}-{resource}")
            assert chef_node["run_list"] == [f"role[{role}]"]
            assert chef_node["chef_environment"] == name
            assert chef_node["automatic"]["ipaddress"] == node.ip
            assert heat.resources.get(stack.id, resource).attributes["deploy_status_code"] == 0
        client_rb = first_node.read_file("/etc/chef/client.rb")
        assert "node_name" in client_rb and f"{name}-control" in client_rb
    finally:
        _delete(heat, stack)


def test_equal_order_nodes_run_in_parallel(undercloud, heat, test_nodes_factory):
    nodes = test_nodes_factory(3).nodes()
    template = _hot_group([(f"compute{i}", node, ["role[sco-test-compute]"], 1)
                           for i, node in enumerate(nodes)], converge_seconds=4)
    name, stack = _create(heat, template)
    try:
        assert stack.stack_status == "CREATE_COMPLETE", stack.stack_status_reason
        runs = [items[-1] for items in _runs_by_node(undercloud.api(), stack.id).values()]
        assert len(runs) == 3
        latest_start = max(_ts(r["started_at"]) for r in runs)
        earliest_finish = min(_ts(r["finished_at"]) for r in runs)
        assert latest_start < earliest_finish, "equal-order runs did not overlap"
    finally:
        _delete(heat, stack)


def test_wrong_password_fails_with_clear_reason_and_no_chef_node(undercloud, heat, test_nodes_factory):
    node = test_nodes_factory(1).nodes()[0]
    template = _origin_cfn([("control", node, "role[sco-test-first]", 1, "not-the-password")])
    name, stack = _create(heat, template)
    try:
        assert stack.stack_status == "CREATE_FAILED"
        reason = stack.stack_status_reason
        assert f"{name}-control" in reason and "connect" in reason, reason
        assert "not-the-password" not in reason
        chef = undercloud.chef()
        assert not chef.node_exists(f"{name}-control")
        assert not chef.client_exists(f"{name}-control")
    finally:
        _delete(heat, stack)


def test_run_list_update_reconverges_only_that_node(undercloud, heat, test_nodes_factory):
    a, b = test_nodes_factory(2).nodes()
    before = _hot_group([("a", a, "role[sco-test-first]", 1), ("b", b, "role[sco-test-second]", 2)],
                        converge_seconds=0)
    name, stack = _create(heat, before)
    try:
        assert stack.stack_status == "CREATE_COMPLETE", stack.stack_status_reason
        after = json.loads(json.dumps(before))
        after["resources"]["b"]["metadata"]["chef-runlist"] = "role[sco-test-second],recipe[sco_test]"
        heat.stacks.update(stack.id, template=after, existing=False)
        updated = _wait(heat, stack.id)
        assert updated.stack_status == "UPDATE_COMPLETE", updated.stack_status_reason
        runs = _runs_by_node(undercloud.api(), stack.id)
        assert len(runs["a"]) == 1 and len(runs["b"]) == 2
        chef = undercloud.chef()
        assert chef.get_node(f"{name}-b")["run_list"] == ["role[sco-test-second]", "recipe[sco_test]"]
        assert heat.resources.metadata(stack.id, "b")["chef-runlist"].endswith("recipe[sco_test]")
        clients = [c for c in chef.get("/clients") if c.startswith(f"{name}-")]
        assert sorted(clients) == [f"{name}-a", f"{name}-b"]  # re-run re-keyed, no duplicate
    finally:
        _delete(heat, stack)


def test_delete_removes_nodes_clients_and_environment(undercloud, heat, test_nodes_factory):
    a, b = test_nodes_factory(2).nodes()
    template = _origin_cfn([("control", a, "role[sco-test-first]", 1, a.password),
                            ("standby", b, "role[sco-test-second]", 2, b.password)])
    name, stack = _create(heat, template)
    assert stack.stack_status == "CREATE_COMPLETE", stack.stack_status_reason
    _delete(heat, stack)
    chef = undercloud.chef()
    for resource in ("control", "standby"):
        assert not chef.node_exists(f"{name}-{resource}")
        assert not chef.client_exists(f"{name}-{resource}")
    from deployer.chef.errors import ChefNotFound
    with pytest.raises(ChefNotFound):
        chef.get_environment(name)


def test_unfilled_placeholder_rejected_before_any_node_is_touched(undercloud, heat, test_nodes_factory):
    node = test_nodes_factory(1).nodes()[0]
    template = _hot_group([("a", node, "role[sco-test-first]", 1)], converge_seconds=0,
                          values_override={"ENABLE_DEBUG": "false"})
    with pytest.raises(heat_exc.HTTPBadRequest) as info:
        heat.stacks.create(stack_name=f"sco-{uuid.uuid4().hex[:8]}", template=template)
    assert "NETWORK_MANAGER" in str(info.value) and "CONVERGE_SECONDS" in str(info.value)
    assert node.exec("test -e /etc/chef/client.rb").returncode != 0


def test_password_never_shows_in_events_attributes_or_runs(undercloud, heat, test_nodes_factory):
    node = test_nodes_factory(1).nodes()[0]
    template = _origin_cfn([("control", node, "role[sco-test-first]", 1, node.password)])
    template["Parameters"]["NodePassword"] = {"Type": "String", "NoEcho": "true"}
    template["Resources"]["control"]["Properties"]["Password"] = {"Ref": "NodePassword"}
    name, stack = _create(heat, template, parameters={"NodePassword": node.password})
    try:
        assert stack.stack_status == "CREATE_COMPLETE", stack.stack_status_reason
        seen = [json.dumps(heat.stacks.get(stack.id).to_dict())]
        for event in heat.events.list(stack.id, nested_depth=0):
            seen.append(json.dumps(heat.events.get(stack.id, event.resource_name, event.id).to_dict()))
        seen.append(json.dumps(heat.resources.get(stack.id, "control").to_dict()))
        api = undercloud.api()
        for run in api.list_runs(stack_id=stack.id)["runs"]:
            seen.append(json.dumps(api.get_run(run["id"])))
            seen.append(json.dumps(api.run_log(run["id"])))
        for log in [*undercloud.cfg.log_dir.glob("*.log"), undercloud.manager.heat().log_file]:
            seen.append(log.read_text(errors="replace"))
        leaks = [text[:200] for text in seen if node.password in text]
        assert not leaks
    finally:
        _delete(heat, stack)


def test_cfn_output_missing_for_a_placeholder_is_rejected_up_front(undercloud, heat, test_nodes_factory):
    node = test_nodes_factory(1).nodes()[0]
    template = _origin_cfn([("control", node, "role[sco-test-first]", 1, node.password)])
    del template["Outputs"]["CONVERGE_SECONDS"]
    with pytest.raises(heat_exc.HTTPBadRequest) as info:
        heat.stacks.create(stack_name=f"sco-{uuid.uuid4().hex[:8]}", template=template)
    assert "CONVERGE_SECONDS" in str(info.value)
    assert node.exec("test -e /etc/chef/client.rb").returncode != 0


def test_delete_when_the_chef_node_is_already_gone(undercloud, heat, test_nodes_factory):
    node = test_nodes_factory(1).nodes()[0]
    template = _origin_cfn([("control", node, "role[sco-test-first]", 1, node.password)])
    name, stack = _create(heat, template)
    assert stack.stack_status == "CREATE_COMPLETE", stack.stack_status_reason
    chef = undercloud.chef()
    chef.delete_node(f"{name}-control")
    chef.delete_client(f"{name}-control")
    _delete(heat, stack)  # raises on DELETE_FAILED


def test_deleting_a_stack_mid_converge_cancels_the_run_and_cleans_chef(undercloud, heat,
                                                                       test_nodes_factory):
    node = test_nodes_factory(1).nodes()[0]
    template = _hot_group([("slow", node, "role[sco-test-first]", 1)], converge_seconds=120)
    name = f"sco-{uuid.uuid4().hex[:8]}"
    stack_id = heat.stacks.create(stack_name=name, template=template)["stack"]["id"]
    api = undercloud.api()
    run = wait_until(lambda: api.list_runs(stack_id=stack_id)["runs"], 90,
                     "the node run reached converge",
                     until=lambda runs: runs and runs[0]["phase"] == "converge", interval=0.5)[0]
    _delete(heat, heat.stacks.get(stack_id))
    # The worker stops the run at its next safe point (it closes the SSH channel).
    status = wait_until(lambda: api.get_run(run["id"])["status"], 30, "the run stopped",
                        until=lambda found: found != "running", interval=0.5)
    assert status == "cancelled"
    # ([c] keeps pgrep from matching the shell that runs it)
    assert node.exec("pgrep -f '[c]hef-client'").returncode != 0, "chef-client still runs on the node"
    assert not undercloud.chef().node_exists(f"{name}-slow")
    assert not undercloud.chef().client_exists(f"{name}-slow")
