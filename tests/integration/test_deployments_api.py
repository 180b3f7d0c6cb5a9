"""The deployments API over HTTP against the real under-cloud: gunicorn + worker,
the real Heat with our plugins, goiardi, and test nodes converged by the
chef-client stand-in.

Templates: the shipped ones, plus the tests' own from
tests/integration/content/hot_templates (sco-test-three: three test nodes in
two orders; sco-test-unfilled / sco-test-cfn-partial: a Chef environment
placeholder without a value, in the HOT and the CFN form).
"""
from __future__ import annotations

import json
import uuid

import pytest
import requests

from deployer.chef.errors import ChefNotFound
from deployer.client import DeployerAPIError
from tests.fixtures.waiting import wait_until
from tests.integration.deployment_helpers import delete_deployment, node_parameters

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

SECRET = f"Hidden-{uuid.uuid4().hex[:12]}"
FLOW_TIMEOUT = 240


def _name(prefix: str = "dep") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _problem(call) -> DeployerAPIError:
    with pytest.raises(DeployerAPIError) as info:
        call()
    return info.value


def _no_trace(undercloud, name: str) -> None:
    """No deployment row (live or deleted), no Heat stack and no Chef environment named ``name``."""
    api = undercloud.api()
    for status in (None, "deleted"):
        assert api.list_deployments(name=name, status=status)["deployments"] == []
    assert [s.stack_name for s in undercloud.heat().stacks.list(filters={"name": name})] == []
    with pytest.raises(ChefNotFound):
        undercloud.chef().get_environment(name)


def _wait(api, deployment_id: str, done, timeout: float = FLOW_TIMEOUT) -> dict:
    return wait_until(lambda: api.get_deployment(deployment_id), timeout,
                      f"deployment {deployment_id} there", until=done, interval=0.5)


# -- catalog ---------------------------------------------------------------------------

def test_catalog_reads_templates_through_heat(undercloud):
    api = undercloud.api()
    listed = {t["name"]: t for t in api.list_templates()}
    assert listed["allinone"]["format"] == "hot" and listed["allinone-cfn"]["format"] == "cfn"
    assert "nested/compute_node" not in listed and "compute_node" not in listed

    hot = api.get_template("allinone")
    params = hot["parameters"]
    assert params["SshPassword"]["hidden"] is True and params["NodeName"]["hidden"] is False
    assert params["NodeAddress"]["required"] is True
    assert {"custom_constraint": "ip_addr",
            "description": "must be an IPv4 or IPv6 address"} in params["NodeAddress"]["constraints"]
    assert params["SshPort"]["type"] == "number" and params["SshPort"]["default"] == 22
    assert {"range": {"min": 1, "max": 65535}} in params["SshPort"]["constraints"]
    assert [g["label"] for g in hot["parameter_groups"]] == ["server", "site"]
    assert hot["nodes"] == [{"resource": "allinone", "step": 1, "order": 1,
                             "run_list": ["role[allinone]"], "after": []}]
    assert hot["heat_environments"] == ["allinone"]
    assert "keystone_url" in hot["outputs"]

    cfn = api.get_template("active-passive-cfn")
    assert cfn["parameters"]["SshPassword"]["hidden"] is True
    assert [(n["resource"], n["step"], n["order"]) for n in cfn["nodes"]] == [
        ("control", 1, 1), ("standby", 2, 2)]
    assert cfn["heat_environments"] == ["active-passive"]
    nested = api.get_template("active-active")
    # order 1 in its nested template, but the group depends_on controller3: step 4
    assert {"resource": "computes/node", "step": 4, "order": 1, "run_list": ["role[compute]"],
            "after": ["controller1", "controller2", "controller3"]} in nested["nodes"]

    error = _problem(lambda: api.get_template("no-such-template"))
    assert error.status == 404 and "template" in error.errors
    roles = {r["name"]: r for r in api.list_roles()}
    assert roles["primary"]["run_list"] == ["recipe[deployer_roles::primary]"]
    assert api.get_role("compute")["description"]
    assert _problem(lambda: api.get_role("nope")).status == 404


# -- parameter sets ----------------------------------------------------------------------

def test_parameter_sets_are_checked_by_heat_and_keep_secrets_sealed(undercloud):
    api = undercloud.api()
    name = _name("set")
    bad = _problem(lambda: api.create_parameter_set(
        name, "allinone", {"NetworkType": "nova-network"}))
    assert bad.status == 422 and list(bad.errors) == ["parameters.NetworkType"]
    bad = _problem(lambda: api.create_parameter_set(name, "allinone", {"NodeAddress": "x.y"}))
    assert bad.status == 422 and "parameters.NodeAddress" in bad.errors
    bad = _problem(lambda: api.create_parameter_set(name, "allinone", {"Bogus": 1}))
    assert bad.status == 422 and "parameters.Bogus" in bad.errors
    assert _problem(lambda: api.create_parameter_set(name, "nope", {})).status == 404
    assert name not in [s["name"] for s in api.list_parameter_sets()]

    created = api.create_parameter_set(name, "allinone", {
        "NetworkType": "ovn", "SshPassword": SECRET},
        description="site A")
    assert created["parameters"] == {"NetworkType": "ovn", "SshPassword": "******"}
    try:
        assert _problem(lambda: api.create_parameter_set(name, "allinone", {})).status == 409
        assert [s["name"] for s in api.list_parameter_sets(template="allinone")].count(name) == 1
        assert name not in [s["name"] for s in api.list_parameter_sets(template="allinone-cfn")]
        # Written back as read (redacted), the secret is kept; a new value replaces the other.
        updated = api.update_parameter_set(name, {**created["parameters"], "VipPrefix": 16})
        assert updated["parameters"]["VipPrefix"] == 16
        assert updated["parameters"]["SshPassword"] == "******"
        assert api.get_parameter_set(name) == updated
        plan = api.plan_deployment({"name": _name(), "template": "allinone",
                                    "parameter_set": name,
                                    "parameters": {"NodeAddress": "192.0.2.7"}})
        node = next(r for r in plan["stack_preview"] if r["resource"] == "allinone")
        assert node["properties"]["Password"] == "******"
        assert plan["chef_environment"]["default_attributes"]["deployer"]["vips"]["api"][
            "prefix"] == 16
        assert SECRET not in json.dumps(plan)
        database = (undercloud.cfg.api_dir / "deployer.sqlite").read_bytes()
        assert SECRET.encode() not in database
    finally:
        api.delete_parameter_set(name)
    assert _problem(lambda: api.get_parameter_set(name)).status == 404


# -- refusals ----------------------------------------------------------------------------------

@pytest.mark.parametrize("case", ["unknown-template", "missing-required", "constraint",
                                  "unknown-parameter", "unfilled-hot", "unfilled-cfn",
                                  "unknown-heat-environment", "unknown-parameter-set",
                                  "roles-without-controllers"])
def test_refused_deployments_leave_no_row_stack_or_environment(undercloud, case):
    name = _name("bad")
    body, status, field = {
        "unknown-template": ({"template": "no-such-template"}, 404, "template"),
        "missing-required": ({"template": "allinone"}, 422, "parameters.NodeAddress"),
        "constraint": ({"template": "allinone", "parameters": {
            "NodeAddress": "192.0.2.1", "NetworkType": "nova-network"}},
            422, "parameters.NetworkType"),
        "unknown-parameter": ({"template": "allinone", "parameters": {
            "NodeAddress": "192.0.2.1", "Bogus": "x"}}, 422, "parameters.Bogus"),
        "unfilled-hot": ({"template": "sco-test-unfilled",
                          "parameters": {"NodeAddress": "192.0.2.1"}},
                         422, "chef_environment.CONVERGE_SECONDS"),
        "unfilled-cfn": ({"template": "sco-test-cfn-partial",
                          "parameters": {"NodeAddress": "192.0.2.1"}},
                         422, "chef_environment.CONVERGE_SECONDS"),
        "unknown-heat-environment": ({"template": "allinone", "heat_environments": ["nope"],
                                      "parameters": {"NodeAddress": "192.0.2.1"}},
                                     404, "heat_environments"),
        "unknown-parameter-set": ({"template": "allinone", "parameter_set": "nope",
                                   "parameters": {"NodeAddress": "192.0.2.1"}},
                                  404, "parameter_set"),
        # The origin's environment lists no controllers, which every shipped role reads.
        "roles-without-controllers": ({"template": "origin-seed", "parameters": {
            "ControlAddress": "192.0.2.1", "StandbyAddress": "192.0.2.2", "NodePassword": "x"}},
            422, "chef_environment"),
    }[case]
    for call in (undercloud.api().plan_deployment, undercloud.api().create_deployment):
        error = _problem(lambda: call({"name": name, **body}))
        assert error.status == status, error.problem
        assert field in error.errors, error.problem
        assert error.problem["status"] == status and error.problem["request_id"]
        if case == "roles-without-controllers":
            assert "deployer.cluster.controllers" in error.problem["detail"]
            assert "role[primary] on node control" in error.problem["detail"], error.problem
    _no_trace(undercloud, name)


def test_malformed_bodies_are_400_problems(undercloud):
    url = f"{undercloud.cfg.api.url}/v1/deployments"
    response = requests.post(url, data="{not json", timeout=10,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.headers["Content-Type"].startswith("application/problem+json")
    response = requests.post(url, json={"name": "1-starts-with-a-digit", "template": "allinone"},
                             timeout=10)
    assert response.status_code == 400 and "name" in response.json()["errors"]
    response = requests.post(url, json={"name": "x", "template": "allinone", "what": 1},
                             timeout=10)
    assert response.status_code == 400 and "what" in response.json()["errors"]


# -- plan ----------------------------------------------------------------------------------------

def test_plan_previews_everything_and_creates_nothing(undercloud, test_nodes_factory):
    nodes = test_nodes_factory(3).nodes()
    name = _name("plan")
    plan = undercloud.api().plan_deployment({
        "name": name, "template": "sco-test-three",
        "parameters": {**node_parameters(nodes, converge_seconds=3), "AdminPassword": SECRET}})
    assert plan["parameters"]["AdminPassword"] == "******"
    assert SECRET not in json.dumps(plan)
    groups = [[(n["resource"], n["address"], n["run_list"]) for n in group]
              for group in plan["steps"]]
    assert groups == [[("control", nodes[0].ip, ["role[sco-test-first]"])],
                      [("compute", nodes[2].ip, ["role[sco-test-compute]"]),
                       ("standby", nodes[1].ip, ["role[sco-test-second]"])]]
    environment = plan["chef_environment"]
    assert environment["name"] == name
    assert environment["default_attributes"]["standin"]["sleep"] == 3
    types = {r["resource"]: r["type"] for r in plan["stack_preview"]}
    assert types == {"site": "IBM::SCO::ChefEnvironment", "control": "IBM::SCO::Node",
                     "standby": "IBM::SCO::Node", "compute": "IBM::SCO::Node"}
    control = next(r for r in plan["stack_preview"] if r["resource"] == "control")
    assert control["properties"]["Address"] == nodes[0].ip
    _no_trace(undercloud, name)
    assert all(node.exec("test -e /etc/chef/client.rb").returncode != 0 for node in nodes)


# -- the whole life of a deployment ----------------------------------------------------------------

def _restart_api(undercloud) -> None:
    api_process = undercloud.manager.api()
    assert api_process.stop()
    assert not api_process.running()
    api_process.start()


def test_deployment_lifecycle_survives_an_api_restart(undercloud, test_nodes_factory):
    """create -> progress (phases) -> API restart mid-converge -> complete -> outputs,
    events, node logs -> update -> delete; the hidden value shows nowhere."""
    nodes = test_nodes_factory(3).nodes()
    api = undercloud.api()
    name = _name("life")
    parameters = {**node_parameters(nodes, converge_seconds=6), "AdminPassword": SECRET}
    created = api.create_deployment({"name": name, "template": "sco-test-three",
                                     "parameters": parameters})
    deployment_id = created["id"]
    try:
        assert created["state"] == "in_progress" and created["stack_id"]
        assert created["parameters"]["AdminPassword"] == "******"
        duplicate = _problem(lambda: api.create_deployment(
            {"name": name, "template": "sco-test-three", "parameters": parameters}))
        assert duplicate.status == 409 and "name" in duplicate.errors

        # Progress: a node shows its phase while the stand-in sleeps in converge.
        converging = _wait(api, deployment_id, lambda d: any(
            n["phase"] == "converge" and n["run_status"] == "running" for n in d["nodes"]))
        assert converging["state"] == "in_progress"
        assert converging["progress"]["nodes_total"] == 3
        _restart_api(undercloud)

        done = _wait(undercloud.api(), deployment_id, lambda d: d["state"] != "in_progress")
        assert (done["state"], done["stack_status"]) == ("complete", "CREATE_COMPLETE"), done
        assert done["progress"] == {"nodes_total": 3, "nodes_done": 3}
        by_resource = {n["resource"]: n for n in done["nodes"]}
        assert sorted(by_resource) == ["compute", "control", "standby"]
        for resource, node, order in (("control", nodes[0], 1), ("standby", nodes[1], 2),
                                      ("compute", nodes[2], 2)):
            view = by_resource[resource]
            assert (view["run_status"], view["order"], view["address"]) == (
                "succeeded", order, node.ip)
            assert view["node_name"] == f"{name}-{resource}"
            assert view["elapsed_seconds"] >= 6 and view["started_at"] and view["finished_at"]
        assert by_resource["standby"]["started_at"] >= by_resource["control"]["finished_at"]
        assert done["outputs"] == {"NETWORK_MANAGER": "nova.network.manager.FlatDHCPManager",
                                   "CONTROL_ADDRESS": nodes[0].ip}

        listed = api.list_deployments(name=name)["deployments"]
        assert [(d["id"], d["state"]) for d in listed] == [(deployment_id, "complete")]
        events = api.deployment_events(deployment_id)["events"]
        assert [e["resource"] for e in events][-1] == name          # the stack's own COMPLETE
        assert {"control", "standby", "compute", "site"} <= {e["resource"] for e in events}
        later = api.deployment_events(deployment_id, since=events[-2]["id"])["events"]
        assert later == events[-1:]
        log = api.node_log(deployment_id, "control")
        assert log["run_id"] == by_resource["control"]["run_id"] and log["run_status"] == "succeeded"
        assert "sco_test::first" in log["text"] or "role[sco-test-first]" in log["text"], log
        assert _problem(lambda: api.node_log(deployment_id, "nope")).status == 404

        # Update: the site's network manager changes the stack's Chef environment.
        api.update_deployment(deployment_id, parameters={
            "NetworkManager": "nova.network.manager.VlanManager", "AdminPassword": "******"})
        updated = _wait(api, deployment_id, lambda d: d["state"] != "in_progress")
        assert updated["stack_status"] == "UPDATE_COMPLETE", updated
        assert updated["outputs"]["NETWORK_MANAGER"] == "nova.network.manager.VlanManager"
        environment = undercloud.chef().get_environment(name)
        assert environment["default_attributes"]["network"]["network_manager"].endswith("Vlan"
                                                                                         "Manager")
        refused = _problem(lambda: api.update_deployment(
            deployment_id, parameters={"ConvergeSeconds": 500}))
        assert refused.status == 422 and "parameters.ConvergeSeconds" in refused.errors

        seen = [json.dumps(api.get_deployment(deployment_id)), json.dumps(listed),
                json.dumps(api.deployment_events(deployment_id)),
                *(json.dumps(api.node_log(deployment_id, r)) for r in by_resource)]
        seen += [log.read_text(errors="replace") for log in undercloud.cfg.log_dir.glob("*.log")]
        assert not [text[:200] for text in seen if SECRET in text]
    finally:
        delete_deployment(undercloud.api(), deployment_id)

    gone = api.get_deployment(deployment_id)
    assert gone["state"] == "deleted" and gone["deleted_at"]
    again = api.delete_deployment(deployment_id)
    assert again["state"] == "deleted"
    assert api.list_deployments(name=name)["deployments"] == []
    assert [d["id"] for d in api.list_deployments(name=name, status="deleted")["deployments"]] \
        == [deployment_id]
    with pytest.raises(ChefNotFound):
        undercloud.chef().get_environment(name)
    chef = undercloud.chef()
    assert not any(chef.node_exists(f"{name}-{r}") for r in ("control", "standby", "compute"))


def test_list_pages_and_refreshes_in_progress_deployments_with_heat(undercloud):
    """Deployments whose nodes cannot be reached fail; listing alone (one Heat list
    call, no GET of each) moves them from in_progress to failed."""
    api = undercloud.api()
    prefix = _name("page")
    unreachable = {"NodeAddresses": "127.0.0.1,127.0.0.1,127.0.0.1",
                   "NodeKeyFiles": "/nonexistent-key,/nonexistent-key,/nonexistent-key",
                   "NodeFingerprints": ",".join(["SHA256:" + "A" * 43] * 3)}
    ids = [api.create_deployment({"name": f"{prefix}-{i}", "template": "sco-test-three",
                                  "parameters": unreachable, "skip_preflight": True})["id"]
           for i in range(3)]
    try:
        listed = wait_until(
            lambda: {d["id"]: d for d in api.list_deployments(template="sco-test-three",
                                                               limit=500)["deployments"]
                     if d["id"] in ids},
            FLOW_TIMEOUT, "every deployment ended",
            until=lambda found: all(d["state"] != "in_progress" for d in found.values()),
            interval=1)
        assert {d["state"] for d in listed.values()} == {"failed"}
        assert all("control" in d["status_reason"] for d in listed.values()), listed
        failed = api.list_deployments(status="failed", limit=500)["deployments"]
        assert set(ids) <= {d["id"] for d in failed}
        assert api.list_deployments(status="CREATE_FAILED", name=f"{prefix}-1")[
            "deployments"][0]["id"] == ids[1]

        seen, marker = [], None
        while True:
            page = api.list_deployments(template="sco-test-three", limit=2, marker=marker)
            assert len(page["deployments"]) <= 2
            seen += [d["id"] for d in page["deployments"]]
            marker = page["next_marker"]
            if marker is None:
                break
        mine = [deployment_id for deployment_id in seen if deployment_id in ids]
        assert mine == list(reversed(ids))            # newest first, each exactly once
        assert len(seen) == len(set(seen))
        error = _problem(lambda: api.list_deployments(marker="no-such-id"))
        assert error.status == 400 and "marker" in error.errors
    finally:
        for deployment_id in ids:
            delete_deployment(api, deployment_id)


def test_node_names_belong_to_one_deployment(undercloud):
    """Two deployments of the same template with its default node name (aio1) used to
    collide silently (the second rekeyed the first's client).  Now the name is the
    first one's: plan and create of the second are 409s naming it, a reserved Chef
    name is a 403, and the first's node run carries its deployment (the credential
    the deployer handed its stack reached the node resource through Heat)."""
    from deployer.undercloud.process import free_port

    api = undercloud.api()
    closed = {"NodeAddress": "127.0.0.1", "SshPassword": SECRET, "SshPort": free_port()}
    first_name, second_name = _name("own-a"), _name("own-b")
    first = api.create_deployment({"name": first_name, "template": "allinone",
                                   "parameters": closed, "skip_preflight": True})
    try:
        second = {"name": second_name, "template": "allinone", "parameters": closed}
        for attempt in (api.plan_deployment, api.create_deployment):
            held = _problem(lambda: attempt(second))
            assert held.status == 409, held.problem
            assert held.errors == {"nodes.allinone": [
                f"node name aio1 belongs to deployment {first_name}"]}
            assert first["id"] in held.detail
        _no_trace(undercloud, second_name)
        reserved = _problem(lambda: api.plan_deployment(
            {**second, "parameters": {**closed, "NodeName": "chef-validator"}}))
        assert reserved.status == 403 and list(reserved.errors) == ["nodes.allinone"]
        # A direct run (admin, no credential) may not take the name either.
        direct = _problem(lambda: api.start_run({
            "node_name": "aio1", "run_list": ["role[allinone]"], "environment": "_default",
            "target": {"address": "127.0.0.1", "password": "x"}}))
        assert direct.status == 409 and first_name in direct.detail

        ended = _wait(api, first["id"], lambda d: d["state"] != "in_progress")
        assert ended["state"] == "failed"              # nothing listens on SshPort
        runs = api.list_runs(stack_id=first["stack_id"])["runs"]
        assert runs and {run["deployment_id"] for run in runs} == {first["id"]}
        assert {run["node_name"] for run in runs} == {"aio1"}
    finally:
        delete_deployment(undercloud.api(), first["id"])
    # Once the first is deleted, the name is free again.
    assert api.plan_deployment(second)["stack_name"] == second_name
