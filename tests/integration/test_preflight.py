"""Preflight on systemd test nodes, through the real API of the embedded under-cloud (real
Heat preview, goiardi, SSH): the shipped active-active template on four nodes.  Each
failure is reported by ``plan`` (naming the node or VIP and what to fix) and refuses
``create`` before anything exists: no stack, no deployment or VIP row, no Chef object.
Light: nothing converges."""
from __future__ import annotations

import json
import sqlite3
import uuid
from pathlib import Path

import pytest

from deployer.client import DeployerAPIError
from tests.fixtures.nodes import STATE_ROOT as TEST_NODE_STATE_ROOT
from tests.integration.deployment_helpers import delete_deployment, deployer

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

TEMPLATE = "active-active"


@pytest.fixture(scope="module")
def nodes(test_nodes_factory):
    node_set = test_nodes_factory(4)
    yield node_set.nodes()
    test_nodes_factory.discard(node_set)


def subnet(nodes) -> str:
    return nodes[0].ip.rsplit(".", 1)[0]


def body(nodes, name: str, **parameters) -> dict:
    """An active-active request for the four nodes (VIPs .200/.201, VRIDs 51/52)."""
    suffix = name.rsplit("-", 1)[-1]
    values = {f"Controller{i}Address": node.ip for i, node in enumerate(nodes[:3], 1)}
    values.update({f"Controller{i}Name": f"ctl{i}-{suffix}" for i in (1, 2, 3)},
                  ComputeAddresses=nodes[3].ip, ComputeNamePrefix=f"compute-{suffix}",
                  SshKeyFile=nodes[0].key_file, ApiVipAddress=f"{subnet(nodes)}.200",
                  DbVipAddress=f"{subnet(nodes)}.201")
    values.update(parameters)
    return {"name": name, "template": TEMPLATE, "parameters": values,
            "heat_environments": ["active-active-fake"]}


def fresh_name() -> str:
    return f"pf-{uuid.uuid4().hex[:6]}"


def checks(plan: dict, resource: str) -> dict[str, dict]:
    node = next(n for n in plan["preflight"]["nodes"] if n["resource"] == resource)
    return {check["name"]: check for check in node["checks"]}


def vip_checks(plan: dict, name: str) -> dict[str, dict]:
    vip = next(v for v in plan["preflight"]["vips"] if v["name"] == name)
    return {check["name"]: check for check in vip["checks"]}


def refused_create(api, request: dict, status: int) -> DeployerAPIError:
    with pytest.raises(DeployerAPIError) as refused:
        api.create_deployment(request)
    assert refused.value.status == status, refused.value.problem
    return refused.value


def assert_nothing_created(cfg, heat, chef, request: dict) -> None:
    """No stack, no deployment or VIP row, no Chef environment, node or client."""
    name = request["name"]
    assert [s for s in heat.stacks.list(filters={"name": name}, show_deleted=True)] == []
    database = sqlite3.connect(cfg.database_url.removeprefix("sqlite:///"))
    try:
        assert database.execute("select count(*) from deployments where name = ?",
                                (name,)).fetchone() == (0,)
        addresses = [request["parameters"]["ApiVipAddress"], request["parameters"]["DbVipAddress"]]
        assert database.execute(
            "select count(*) from vip_claims v join deployments d on d.id = v.deployment_id "
            "where d.name = ? or v.address in (?, ?) and d.state != 'deleted'",
            (name, *addresses)).fetchone() == (0,)
    finally:
        database.close()
    assert name not in chef.list_environments()
    node_names = [request["parameters"][f"Controller{i}Name"] for i in (1, 2, 3)]
    assert not set(node_names) & set(chef.list_nodes())
    for node_name in node_names:
        assert not chef.client_exists(node_name)


def test_reachable_nodes_pass_every_check_with_their_host_keys(undercloud, nodes):
    api = undercloud.api()
    plan = api.plan_deployment(body(nodes, fresh_name()))
    report = plan["preflight"]
    assert report["status"] == "passed", report
    by_resource = {n["resource"]: n for n in report["nodes"]}
    assert set(by_resource) == {"controller1", "controller2", "controller3", "computes-0/node"}
    for node, resource in zip(nodes, ["controller1", "controller2", "controller3",
                                      "computes-0/node"]):
        assert by_resource[resource]["host_key_fingerprint"] == node.host_key_fingerprint
        found = checks(plan, resource)
        assert {"ssh", "platform", "chef_server", "packages"} <= set(found)
        assert "Debian GNU/Linux 12" in found["platform"]["detail"]
    assert "keepalived" not in checks(plan, "computes-0/node")["packages"]["detail"]
    # The config lint of what each node would write (glance's file store options are
    # deprecated: a warning, which passes).
    for resource in by_resource:
        assert checks(plan, resource)["config"]["status"] in ("passed", "warning"), resource
    assert "nova.conf" in checks(plan, "computes-0/node")["config"]["detail"]
    assert [(v["name"], v["vrid"], v["segment"]) for v in report["vips"]] == [
        ("api", 51, f"{subnet(nodes)}.0/24"), ("db", 52, f"{subnet(nodes)}.0/24")]
    assert vip_checks(plan, "api")["vip_free"]["status"] == "passed"
    # The CLI prints the same report.
    request = body(nodes, fresh_name())
    shown = deployer(undercloud, "plan", request["name"], "-t", TEMPLATE, "-e",
                     "active-active-fake", *[arg for key, value in request["parameters"].items()
                                             for arg in ("-p", f"{key}={value}")])
    assert shown.returncode == 0, shown.stderr
    assert "preflight: passed" in shown.stdout
    assert f"host key {nodes[0].host_key_fingerprint}" in shown.stdout
    assert "config:" in shown.stdout


def test_a_wrong_password_is_reported_on_every_node_and_nothing_is_created(undercloud, nodes):
    api, request = undercloud.api(), body(nodes, fresh_name(), SshKeyFile="",
                                          SshPassword="not-the-password")
    plan = api.plan_deployment(request)
    assert plan["preflight"]["status"] == "failed"
    for resource in ("controller1", "controller3", "computes-0/node"):
        ssh = checks(plan, resource)["ssh"]
        assert ssh["status"] == "failed" and "authentication failed" in ssh["detail"]
        assert "SshPassword" in ssh["fix"]
        assert checks(plan, resource)["packages"]["status"] == "skipped"
    assert "not-the-password" not in str(plan)
    refused = refused_create(api, request, 422)
    assert {"nodes.controller1", "nodes.controller2", "nodes.controller3",
            "nodes.computes-0/node"} <= set(refused.errors)
    assert refused.problem["preflight"]["status"] == "failed"
    assert "not-the-password" not in str(refused.problem)
    assert_nothing_created(undercloud.cfg, undercloud.heat(), undercloud.chef(), request)


def test_an_unreachable_node_is_named_and_nothing_is_created(undercloud, nodes):
    api = undercloud.api()
    request = body(nodes, fresh_name(), Controller3Address=f"{subnet(nodes)}.250")
    plan = api.plan_deployment(request)
    ssh = checks(plan, "controller3")["ssh"]
    assert ssh["status"] == "failed" and f"{subnet(nodes)}.250:22" in ssh["detail"]
    assert "power the server on" in ssh["fix"]
    assert checks(plan, "controller1")["ssh"]["status"] == "passed"
    refused = refused_create(api, request, 422)
    assert list(refused.errors) == ["nodes.controller3"]
    assert_nothing_created(undercloud.cfg, undercloud.heat(), undercloud.chef(), request)
    # --skip-preflight on the CLI is not needed to see it: the CLI prints the report.
    shown = deployer(undercloud, "create", request["name"], "-t", TEMPLATE, "-e",
                     "active-active-fake", *[arg for key, value in request["parameters"].items()
                                             for arg in ("-p", f"{key}={value}")])
    assert shown.returncode == 2
    assert "FAILED   ssh:" in shown.stderr and "nodes.controller3" in shown.stderr
    assert_nothing_created(undercloud.cfg, undercloud.heat(), undercloud.chef(), request)


def test_an_option_no_service_knows_fails_plan_and_create(undercloud, nodes):
    """The site admin's edit of the Chef environment template sets openstack-helm's
    rabbit_quorum_queues (oslo.messaging knows rabbit_quorum_queue): every node that would
    write nova.conf fails its config check, and create refuses before anything exists."""
    shipped = Path(undercloud.cfg.content.chef_environments_dir) / f"{TEMPLATE}.json"
    original = shipped.read_text()
    edited = json.loads(original)
    edited.setdefault("override_attributes", {}).setdefault("deployer", {})["openstack"] = {
        "nova": {"conf": {"oslo_messaging_rabbit": {"rabbit_quorum_queues": True}}}}
    try:
        shipped.write_text(json.dumps(edited))
        api, request = undercloud.api(), body(nodes, fresh_name())
        plan = api.plan_deployment(request)
        assert plan["preflight"]["status"] == "failed"
        for resource in ("controller1", "controller2", "controller3", "computes-0/node"):
            config = checks(plan, resource)["config"]
            assert config["status"] == "failed", (resource, config)
            assert "nova.conf [oslo_messaging_rabbit] rabbit_quorum_queues: unknown option" in \
                config["detail"]
        refused = refused_create(api, request, 422)
        assert set(refused.errors) == {"nodes.controller1", "nodes.controller2",
                                       "nodes.controller3", "nodes.computes-0/node"}
        assert_nothing_created(undercloud.cfg, undercloud.heat(), undercloud.chef(), request)
    finally:
        shipped.write_text(original)


def test_a_vip_in_use_on_the_segment_is_reported(undercloud, nodes):
    """The host's own address on the nodes' bridge answers ARP for it."""
    api = undercloud.api()
    request = body(nodes, fresh_name(), ApiVipAddress=f"{subnet(nodes)}.1")
    plan = api.plan_deployment(request)
    free = vip_checks(plan, "api")["vip_free"]
    assert free["status"] == "failed" and "in use on the segment" in free["detail"]
    assert vip_checks(plan, "db")["vip_free"]["status"] == "passed"
    refused = refused_create(api, request, 422)
    assert list(refused.errors) == ["chef_environment.deployer.vips.api"]
    assert_nothing_created(undercloud.cfg, undercloud.heat(), undercloud.chef(), request)


def test_a_vrid_of_another_deployment_is_a_409_naming_it_until_that_one_is_deleted(
        undercloud, nodes):
    api = undercloud.api()
    # The holder: created without a preflight on addresses where no server answers
    # (its converge fails at once), holding VIPs .200/.201 with VRIDs 51/52.
    holder_request = body(nodes, fresh_name(), **{
        f"Controller{i}Address": f"{subnet(nodes)}.{240 + i}" for i in (1, 2, 3)},
        ComputeAddresses=f"{subnet(nodes)}.244")
    holder = api.create_deployment({**holder_request, "skip_preflight": True})
    try:
        assert holder["preflight"]["status"] == "skipped"
        assert holder["preflight"]["skipped_by_request"] is True
        request = body(nodes, fresh_name(), ApiVipAddress=f"{subnet(nodes)}.210",
                       DbVipAddress=f"{subnet(nodes)}.211")
        plan = api.plan_deployment(request)
        registry = vip_checks(plan, "api")["registry"]
        assert registry["status"] == "failed"
        assert f"VRID 51 on segment {subnet(nodes)}.0/24" in registry["detail"]
        assert holder_request["name"] in registry["detail"] and holder["id"] in registry["detail"]
        refused = refused_create(api, request, 409)
        assert set(refused.errors) == {"chef_environment.deployer.vips.api.virtual_router_id",
                                       "chef_environment.deployer.vips.db.virtual_router_id"}
        assert holder_request["name"] in refused.detail
        # The same VRIDs with the checks skipped: still refused (the registry is no probe).
        refused_create(api, {**request, "skip_preflight": True}, 409)
        assert_nothing_created(undercloud.cfg, undercloud.heat(), undercloud.chef(), request)
    finally:
        delete_deployment(api, holder["id"])
    # Deleted: its VIPs are free again.
    plan = api.plan_deployment(request)
    assert vip_checks(plan, "api")["registry"]["status"] == "passed"


def test_a_node_that_cannot_reach_a_loopback_bound_chef_server(undercloud, nodes, chef_server,
                                                                deployer_api_factory):
    """A second deployer on the same Heat whose embedded Chef server listens on loopback
    only (the default bind_host): nodes would be given this host's bridge address."""
    port = int(chef_server.url.rsplit(":", 1)[1])
    loopback = deployer_api_factory(extra={
        "heat": {"port": undercloud.cfg.heat.port},
        "chef": {"mode": "embedded", "bind_host": "127.0.0.1", "port": port},
        "bootstrap": {"key_dir": TEST_NODE_STATE_ROOT}})
    request = body(nodes, fresh_name())
    plan = loopback.client.plan_deployment(request)
    for resource in ("controller1", "computes-0/node"):
        found = checks(plan, resource)["chef_server"]
        assert found["status"] == "failed", found
        assert f"http://{subnet(nodes)}.1:{port}" in found["detail"]
        assert "connection refused" in found["detail"]
        assert "listens on 127.0.0.1 (loopback) only" in found["fix"]
        assert "[chef] bind_host = 0.0.0.0" in found["fix"]
    assert checks(plan, "controller1")["ssh"]["status"] == "passed"
    refused = refused_create(loopback.client, request, 422)
    assert "nodes.controller1" in refused.errors
    assert_nothing_created(loopback.cfg, undercloud.heat(), chef_server.admin(), request)


def test_a_package_the_node_cannot_install_is_named(undercloud, nodes):
    """The compute loses ovn-host and its APT lists: neither installed nor installable."""
    compute = nodes[3]
    done = compute.exec("dpkg --remove --force-depends ovn-host >/dev/null 2>&1; "
                        "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin; "
                        "apt-cache policy ovn-host")
    assert "Candidate: (none)" in done.stdout or not done.stdout.strip(), done.stdout
    api, request = undercloud.api(), body(nodes, fresh_name())
    plan = api.plan_deployment(request)
    found = checks(plan, "computes-0/node")["packages"]
    assert found["status"] == "failed" and found["detail"].endswith(": ovn-host"), found
    assert "APT source" in found["fix"]
    assert checks(plan, "controller1")["packages"]["status"] == "passed"
    refused = refused_create(api, request, 422)
    assert list(refused.errors) == ["nodes.computes-0/node"]
    assert_nothing_created(undercloud.cfg, undercloud.heat(), undercloud.chef(), request)
