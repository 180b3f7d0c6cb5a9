"""deployer/lint over what the cookbooks render for each topology (through the
tests/chef_render harness, from the shipped Chef environment templates and roles):
no option any service ignores, no cross-layer timeout mismatch; and the lint does
fail on an injected unknown option and an injected timeout mismatch.  Then the same
as the plan runs it (deployer.preflight.config): per planned node, from its run-list."""
from __future__ import annotations

from pathlib import Path

import pytest

from deployer import lint
from deployer.lint import options, timeouts
from deployer.preflight import config, gate
from deployer.preflight.report import FAILED, PASSED, SKIPPED, WARNING, Check
from tests.chef_render import COOKBOOKS_DIR, render
from tests.cookbooks.conftest import CONTROLLERS, SECRETS, controller_node
from tests.cookbooks.test_openstack_config import (AIO_NODE, COMPUTE_NODE, CONF_FILES,
                                                   aa_environment, aio_environment, role)
from tests.cookbooks.test_pacemaker_config import AP_NODES, ap_environment

OPENSTACK = [*CONF_FILES.values(), "ml2_conf.ini"]
COMPUTE = ["nova.conf", "nova-compute.conf", "neutron_ovn_metadata_agent.ini"]
HA = [("deployer_haproxy", "haproxy.cfg"), ("deployer_keepalived", "keepalived.conf")]
# topology -> [(role, node, cookbook, template)]: every file the topology's nodes read
TOPOLOGIES = {
    "active-active": (aa_environment, [
        *(("controller", controller_node(0), "deployer_openstack", t) for t in OPENSTACK),
        *(("controller", controller_node(0), c, t) for c, t in
          [*HA, ("deployer_galera", "galera.cnf")]),
        *(("compute", COMPUTE_NODE, "deployer_compute", t) for t in COMPUTE)]),
    "active-passive": (ap_environment, [
        *(("primary", AP_NODES[0], "deployer_openstack", t) for t in OPENSTACK),
        *(("primary", AP_NODES[0], "deployer_compute", t) for t in COMPUTE[1:])]),
    "allinone": (aio_environment, [
        *(("allinone", AIO_NODE, "deployer_openstack", t) for t in OPENSTACK),
        *(("allinone", AIO_NODE, "deployer_compute", t) for t in COMPUTE[1:])]),
}


def rendered(topology: str, override_attributes: dict | None = None) -> dict[str, str]:
    make_environment, files = TOPOLOGIES[topology]
    environment = make_environment()
    if override_attributes:
        environment["override_attributes"] = override_attributes
    return {template: render(cookbook, template, node=node, role=role(role_name),
                             environment=environment, secrets=SECRETS)
            for role_name, node, cookbook, template in files}


def _schema_or_skip():
    if not Path(options.DEBIAN_PYTHON).exists() or not Path("/usr/bin/nova-manage").exists():
        pytest.skip("Debian's OpenStack packages are not installed (scripts/install.sh)")


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_every_topology_lints_clean(topology):
    _schema_or_skip()
    findings = lint.lint(rendered(topology))
    errors = [str(f) for f in findings if f.severity == lint.ERROR]
    assert not errors, "\n".join(errors)


def test_an_unknown_rabbit_option_is_an_error_naming_file_and_option():
    """openstack-helm's rabbit_quorum_queues: oslo.messaging knows only rabbit_quorum_queue."""
    _schema_or_skip()
    files = rendered("active-active")
    files["nova.conf"] = files["nova.conf"].replace(
        "[oslo_messaging_rabbit]\n", "[oslo_messaging_rabbit]\nrabbit_quorum_queues = true\n", 1)
    errors = [f for f in lint.lint(files) if f.severity == lint.ERROR]
    assert [(f.file, f.where) for f in errors] == [
        ("nova.conf", "[oslo_messaging_rabbit] rabbit_quorum_queues")]
    assert "ignores it" in errors[0].message


def test_a_deprecated_name_is_a_warning_naming_its_replacement():
    _schema_or_skip()
    files = {"nova.conf": "[DEFAULT]\nrabbit_ha_queues = true\n"}
    found = options.check(files)
    assert [(f.severity, f.message) for f in found] == [
        (lint.WARNING, "deprecated name: use [oslo_messaging_rabbit] rabbit_ha_queues")]


def test_a_recycle_time_longer_than_haproxy_idle_timeout_is_an_error_with_its_failure():
    files = rendered("active-active")
    files["nova.conf"] = files["nova.conf"].replace(
        "[database]\n", "[database]\nconnection_recycle_time = 7200\n", 1)
    errors = [f for f in timeouts.check(files) if f.severity == lint.ERROR]
    assert errors and {f.file for f in errors} == {"nova.conf"}
    assert all("connection_recycle_time = 7200" in f.where for f in errors)
    assert "closes connections idle for 5400 s" in errors[0].message
    assert "Lost connection to MySQL server" in errors[0].message


def test_heartbeats_slower_than_a_rabbitmq_listener_timeout_are_an_error():
    haproxy = ("defaults\n    timeout client 30s\n    timeout server 30s\n"
               "listen rabbitmq\n    bind 10.0.0.100:5672\n"
               "    server a 10.0.0.1:5672 check inter 2000 rise 2 fall 5\n")
    conf = "[DEFAULT]\ntransport_url = rabbit://n:p@10.0.0.100:5672/\n"
    found = timeouts.check({"haproxy.cfg": haproxy, "nova.conf": conf})
    assert [f.severity for f in found] == [lint.ERROR]
    assert "heartbeat_timeout_threshold = 60" in found[0].where
    assert "MessagingTimeout" in found[0].message
    fixed = conf + "[oslo_messaging_rabbit]\nheartbeat_timeout_threshold = 20\n"
    assert timeouts.check({"haproxy.cfg": haproxy, "nova.conf": fixed}) == []


def test_a_vip_that_moves_before_haproxy_sees_the_dead_backend_is_a_warning():
    """The shipped checks drop a dead backend before the VIP moves; the origin's do not."""
    assert [f for f in timeouts.check(rendered("active-active")) if f.file == "keepalived.conf"] == []
    origin = {"deployer": {"haproxy": {"check": {"inter": 2000, "rise": 2, "fall": 5}},
                           "keepalived": {"vrrp_version": 2, "advert_int": 1}}}
    files = rendered("active-active", origin)
    warnings = [f for f in timeouts.check(files) if f.file == "keepalived.conf"]
    assert warnings and all(f.severity == lint.WARNING for f in warnings)
    assert "the VIP moves in 3 s" in warnings[0].message and "after 10 s" in warnings[0].message


# --- the plan's lint: deployer.preflight.config on what each planned node would write --------

def plan_nodes(topology: str) -> list[dict]:
    """The plan's nodes of a topology (resource, address, node_name, run_list)."""
    if topology == "active-active":
        return [*({"resource": f"controller{i}", "address": c["address"], "node_name": c["name"],
                   "run_list": ["role[controller]"]} for i, c in enumerate(CONTROLLERS, 1)),
                {"resource": "computes-0/node", "address": COMPUTE_NODE["ipaddress"],
                 "node_name": COMPUTE_NODE["name"], "run_list": ["role[compute]"]}]
    if topology == "active-passive":
        return [{"resource": resource, "address": node["ipaddress"], "node_name": node["name"],
                 "run_list": [f"role[{resource}]"]}
                for resource, node in zip(("primary", "secondary"), AP_NODES)]
    return [{"resource": "allinone", "address": AIO_NODE["ipaddress"], "node_name": AIO_NODE["name"],
             "run_list": ["role[allinone]"]}]


def plan_lint(topology: str, override_attributes: dict | None = None) -> dict[str, Check]:
    make_environment, _ = TOPOLOGIES[topology]
    environment = make_environment()
    if override_attributes:
        environment["override_attributes"] = override_attributes
    document = {"chef_environment": environment, "steps": [plan_nodes(topology)]}
    analysis = gate.analyse(None, document)
    return config.checks(config.render_all(analysis.reached, environment, COOKBOOKS_DIR))


@pytest.mark.parametrize("topology", sorted(TOPOLOGIES))
def test_the_plan_lints_every_node_of_every_shipped_topology_without_an_error(topology):
    _schema_or_skip()
    found = plan_lint(topology)
    assert set(found) == {node["resource"] for node in plan_nodes(topology)}
    for resource, check in found.items():
        assert check.name == "config" and check.status in (PASSED, WARNING), (resource, check)
        assert "error" not in check.detail, (resource, check)


def test_the_plan_fails_every_node_that_would_write_an_unknown_option_naming_it():
    _schema_or_skip()
    injected = {"deployer": {"openstack": {"nova": {"conf": {
        "oslo_messaging_rabbit": {"rabbit_quorum_queues": True}}}}}}
    found = plan_lint("active-active", injected)
    for resource in ("controller1", "controller2", "controller3", "computes-0/node"):
        check = found[resource]             # the compute's nova.conf is the controllers' too
        assert check.status == FAILED, (resource, check)
        assert "nova.conf [oslo_messaging_rabbit] rabbit_quorum_queues: unknown option" in check.detail
        assert "Chef environment" in check.fix


def test_the_plan_fails_a_timeout_mismatch_across_layers():
    """oslo.db recycling pooled connections after HAProxy has closed them, set for one service."""
    _schema_or_skip()
    injected = {"deployer": {"openstack": {"cinder": {"conf": {
        "database": {"connection_recycle_time": 7200}}}}}}
    found = plan_lint("active-active", injected)
    check = found["controller1"]
    assert check.status == FAILED
    assert "cinder.conf [database] connection_recycle_time = 7200" in check.detail
    assert "Lost connection to MySQL server" in check.detail
    assert found["computes-0/node"].status in (PASSED, WARNING)     # no cinder.conf there


def test_a_file_the_converge_could_not_render_fails_naming_the_attribute():
    found = plan_lint("active-active", {"deployer": {"haproxy": {"services": {
        "keystone": {"balance": "fastest"}}}}})
    check = found["controller1"]
    assert check.status == FAILED and "cannot render haproxy.cfg" in check.detail
    assert "node['deployer']['haproxy']['services']['keystone']['balance'] must be one of" in check.detail
    assert found["computes-0/node"].status in (PASSED, WARNING)     # it writes no haproxy.cfg


def test_without_ruby_the_check_is_skipped_saying_why(monkeypatch):
    """A deployer host without Ruby cannot render: the check says so, and fails nothing."""
    monkeypatch.setenv("PATH", "/nonexistent")
    found = plan_lint("allinone")
    assert found["allinone"].status == SKIPPED
    assert "ruby is not installed" in found["allinone"].detail
