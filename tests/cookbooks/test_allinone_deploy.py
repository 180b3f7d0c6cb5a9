"""`deployer create` of the shipped all-in-one template on one systemd test node, converged for
real, then used from the host with the real openstack client.

The whole production path: the deployer CLI -> the API -> the embedded Heat engine with our
plugins -> the deployment's Chef environment and its encrypted secrets on the Chef server
(goiardi) -> the worker's SSH bootstrap of the node -> chef-client (the stand-in, the one part
that is not the real thing) converging role[allinone] from the server's cookbooks.  The test
site values are environments/heat/allinone-fake.yaml: nova's fake virt driver and Open
vSwitch's userspace datapath.

What is not run here: instances do not boot (fake driver), so their ports are bound but stay
DOWN and no packet crosses OVN.
"""
from __future__ import annotations

import json
import re
import secrets
import shutil
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from deployer.db.models import EnvironmentSecrets
from tests.fixtures.waiting import wait_until
from tests.integration.deployment_helpers import delete_deployment, deployer, node_log, openstack

pytestmark = [pytest.mark.integration, pytest.mark.slow]

CONVERGE_TIMEOUT = 2400
UPDATED = re.compile(r"Chef Infra Client finished, (\d+)/(\d+) resources updated")


def updated_resources(log: str) -> list[str]:
    """The resource lines the doc formatter follows with '- <change>' lines."""
    lines = log.splitlines()
    return [line.strip() for line, after in zip(lines, lines[1:])
            if line.lstrip().startswith("* ") and after.lstrip().startswith("- ")]


def unit_report(node, *units: str) -> str:
    """Failed units and the named units' status and last journal lines, for a failure message."""
    return node.exec(f"systemctl --failed --no-legend; systemctl status --no-pager -n 30 {' '.join(units)}; "
                     f"journalctl --no-pager -n 40 -u {' -u '.join(units)}").stdout[-6000:]


@pytest.fixture(scope="module")
def allinone(undercloud, test_nodes_factory, tmp_path_factory):
    if not shutil.which("openstack") or not Path("/usr/bin/keystone-manage").exists():
        pytest.skip("Debian's OpenStack packages are not installed (scripts/install.sh)")
    node_set = test_nodes_factory(1)
    node = node_set.nodes()[0]
    name = f"aio-{uuid.uuid4().hex[:6]}"
    admin_password = secrets.token_urlsafe(18)
    created = deployer(
        undercloud, "create", name, "-t", "allinone", "-e", "allinone-fake", "--wait",
        "-p", f"NodeAddress={node.ip}", "-p", f"SshKeyFile={node.key_file}", "--secret", "AdminPassword",
        env={"DEPLOYER_SECRET_AdminPassword": admin_password}, timeout=CONVERGE_TIMEOUT)
    api = undercloud.api()
    try:
        assert created.returncode == 0, (created.stdout + created.stderr)[-6000:]
        environment = {"OS_AUTH_URL": f"http://{node.ip}:5000/v3", "OS_IDENTITY_API_VERSION": "3",
                       "OS_USERNAME": "admin", "OS_PASSWORD": admin_password,
                       "OS_PROJECT_NAME": "admin", "OS_USER_DOMAIN_NAME": "Default",
                       "OS_PROJECT_DOMAIN_NAME": "Default", "OS_REGION_NAME": "RegionOne"}
        yield {"name": name, "node": node, "env": environment, "created": created,
               "admin_password": admin_password}
    finally:
        try:
            for item in api.list_deployments(name=name)["deployments"]:
                delete_deployment(api, item["id"])
        finally:
            test_nodes_factory.discard(node_set)


def test_the_first_converge_runs_every_resource(undercloud, allinone):
    log = node_log(undercloud, allinone["name"], "allinone")
    assert "STAND-IN" in log
    first_updated = int(UPDATED.search(log).group(1))
    assert first_updated > 100
    for resource in ("execute[galera_new_cluster]", "execute[nova schema migrations]",
                     "execute[keystone-manage bootstrap]", "execute[register the OVN chassis]",
                     "service[neutron-server] action start", "service[nova-compute] action start"):
        assert resource in log, resource


def test_no_secret_leaves_the_deployment(undercloud, allinone):
    """The admin password and the generated secrets: not in the CLI output, the node log,
    the Heat events or resources, the Chef node or environment."""
    password = allinone["admin_password"]
    name = allinone["name"]
    texts = [allinone["created"].stdout, allinone["created"].stderr, node_log(undercloud, name, "allinone")]
    for command in (("show", name, "--json"), ("events", name), ("environments", name)):
        shown = deployer(undercloud, *command)
        assert shown.returncode == 0, shown.stderr
        texts.append(shown.stdout)
    heat = undercloud.heat()
    stack = heat.stacks.get(name)
    texts.append(json.dumps([e.to_dict() for e in heat.events.list(stack.id)]))
    texts.append(json.dumps([r.to_dict() for r in heat.resources.list(stack.id)]))
    chef = undercloud.chef()
    chef_node = chef.get_node("aio1")
    texts.append(json.dumps(chef_node))
    environment = chef.get_environment(name)
    texts.append(json.dumps(environment))
    bag = environment["override_attributes"]["deployer"]["secrets"]["data_bag"]
    stored = json.dumps([chef.get_item(bag, item) for item in chef.list_data_bag(bag)])
    texts.append(stored)
    for text in texts:
        assert password not in text
    assert '"cipher": "aes-256-gcm"' in stored
    secret_file = allinone["node"].exec("stat -c %a /etc/chef/encrypted_data_bag_secret").stdout.strip()
    assert secret_file == "600"


def test_every_api_listens_on_the_node_address_only(allinone):
    node = allinone["node"]
    listening = node.exec("ss -Hltn").stdout
    for port in (5000, 9292, 8778, 8774, 8775, 6080, 9696, 8776, 6641, 6642, 3306, 5672):
        addresses = {line.split()[3].rsplit(":", 1)[0] for line in listening.splitlines()
                     if line.split()[3].rsplit(":", 1)[1] == str(port)}
        assert addresses == {node.ip}, f"port {port}: {addresses}"


def test_the_cloud_works_through_the_openstack_client(allinone, tmp_path):
    env = allinone["env"]
    assert openstack(env, "token", "issue")["expires"]
    assert {e["Type"] for e in openstack(env, "catalog", "list")} == \
        {"identity", "image", "placement", "compute", "network", "volumev3"}
    image_file = tmp_path / "tiny.img"
    image_file.write_bytes(secrets.token_bytes(1 << 20))
    openstack(env, "image", "create", "--disk-format", "raw", "--container-format", "bare",
              "--file", str(image_file), "tiny")
    assert [(i["Name"], i["Status"]) for i in openstack(env, "image", "list")] == [("tiny", "active")]

    def services_up():
        compute = {s["Binary"]: s["State"] for s in openstack(env, "compute", "service", "list")}
        volume = {s["Binary"]: s["State"] for s in openstack(env, "volume", "service", "list")}
        return compute == {"nova-scheduler": "up", "nova-conductor": "up", "nova-compute": "up"} and \
            volume.get("cinder-scheduler") == "up"
    # A freshly restarted service reports within its report_interval (10 s).
    wait_until(services_up, 120, "nova and cinder services up", interval=3)

    def agents():
        return {a["Agent Type"]: a["Alive"] for a in openstack(env, "network", "agent", "list")}
    # The metadata agent registers in the OVN southbound DB once it is up; on a loaded
    # machine its start (imports, first OVSDB sync) takes longer than nova's report.
    wait_until(agents, 120, "both OVN agents alive", interval=3,
               until=lambda seen: seen == {"OVN Controller agent": True, "OVN Metadata agent": True},
               diagnose=lambda: unit_report(allinone["node"], "neutron-ovn-metadata-agent", "ovn-controller"))

    network = openstack(env, "network", "create", "net1")
    openstack(env, "subnet", "create", "--network", "net1", "--subnet-range", "192.168.60.0/24", "sub1")
    openstack(env, "flavor", "create", "--ram", "64", "--disk", "1", "--vcpus", "1", "m1.tiny")
    server = openstack(env, "server", "create", "--image", "tiny", "--flavor", "m1.tiny", "--network", "net1",
                       "--wait", "vm1", timeout=300)
    assert server["status"] == "ACTIVE"
    [port] = openstack(env, "port", "list", "--server", "vm1")
    shown = openstack(env, "port", "show", port["ID"])
    assert shown["network_id"] == network["id"]
    assert (shown["binding_host_id"], shown["binding_vif_type"]) == ("aio1", "ovs"), "bound to the OVN chassis"


# What a why-run may not touch on the node: the services' and the Chef client's own files.
WATCHED = ("/etc/nova", "/etc/keystone", "/etc/glance", "/etc/placement", "/etc/neutron", "/etc/cinder",
           "/etc/haproxy", "/etc/keepalived", "/etc/mysql", "/etc/rabbitmq", "/etc/chef",
           "/etc/systemd/system", "/etc/apache2", "/etc/default", "/etc/openvswitch")


def node_state(node, units: list[str]) -> tuple[str, str]:
    """(sha256 of every file under WATCHED, the units' main PID and start time)."""
    files = node.exec(f"find {' '.join(WATCHED)} -xdev -type f -print0 2>/dev/null | sort -z "
                      f"| xargs -0 sha256sum").stdout
    shown = node.exec("systemctl show -p Id,MainPID,ActiveEnterTimestampMonotonic "
                      + " ".join(units)).stdout if units else ""
    return files, shown


def test_a_why_run_plan_of_a_changed_parameter_lists_the_files_and_changes_nothing(undercloud, allinone):
    """`deployer update NAME -p EnableOSDebug=true --plan`: a why-run of the node against a
    temporary Chef environment holding the update's parameters lists every OpenStack config
    file that would change (debug = True) and the services that would restart, and changes
    nothing: not a file on the node (checksums), no service (PIDs), not the Chef node, not the
    deployment's Chef environment, not the stack; the temporary environment is gone after."""
    node, name = allinone["node"], allinone["name"]
    api, chef, heat = undercloud.api(), undercloud.chef(), undercloud.heat()
    [listed] = api.list_deployments(name=name)["deployments"]
    running = [line.split()[0] for line in node.exec(
        "systemctl list-units --type=service --state=running --no-legend --plain").stdout.splitlines()]
    before = node_state(node, running)
    chef_node, environment = chef.get_node("aio1"), chef.get_environment(name)
    stack = heat.stacks.get(name).to_dict()
    deployment = api.get_deployment(listed["id"])

    planned = deployer(undercloud, "update", name, "-p", "EnableOSDebug=true", "--plan", timeout=900)
    assert planned.returncode == 0, (planned.stdout + planned.stderr)[-6000:]
    plan_id = re.search(r"why-run plan (\S+) of an update of", planned.stdout).group(1)
    plan = api.get_update_plan(listed["id"], plan_id)
    assert plan["status"] == "complete" and plan["environment_removed"], plan
    [aio] = plan["nodes"]
    assert (aio["node_name"], aio["status"]) == ("aio1", "succeeded"), aio
    paths = {found["path"] for found in aio["files"]}
    configs = {"/etc/nova/nova.conf", "/etc/keystone/keystone.conf", "/etc/glance/glance-api.conf",
               "/etc/placement/placement.conf", "/etc/neutron/neutron.conf", "/etc/cinder/cinder.conf"}
    assert configs <= paths, (sorted(paths), planned.stdout[-4000:])
    restarted = {service["name"] for service in aio["services"] if "restart" in service["actions"]}
    assert any(unit.startswith("nova") for unit in restarted), aio["services"]
    assert {f"{unit}.service" for unit in restarted} <= set(running), (restarted, running)
    assert aio["would_update"] and aio["would_update"] >= len(configs) + len(restarted)
    for path in configs:
        assert f"    {path}" in planned.stdout and "update content" in planned.stdout
    assert "would restart" in planned.stdout and "nothing was changed" in planned.stdout

    after = node_state(node, running)
    assert after[0] == before[0], "a file under /etc changed"
    assert after[1] == before[1], "a service was restarted or stopped"
    assert node.exec("grep -c '^debug = True' /etc/nova/nova.conf").stdout.strip() == "0"
    assert chef.get_node("aio1") == chef_node
    assert chef.get_environment(name) == environment
    assert not [env for env in chef.list_environments() if env.startswith("_whyrun-")]
    now = heat.stacks.get(name).to_dict()
    for key in ("stack_status", "updated_time", "parameters"):
        assert now.get(key) == stack.get(key), key
    again = api.get_deployment(listed["id"])
    assert (again["state"], again["parameters"]) == (deployment["state"], deployment["parameters"])
    # the node's own latest run is still its converge; the why-run is no run of the stack's
    assert "chef-client -W" not in node_log(undercloud, name, "allinone")


def test_an_update_with_no_change_converges_again_and_changes_nothing(undercloud, allinone):
    """`deployer update` giving a parameter its current value: the deployer's fresh
    DeployIdentifier converges the node again, and the converge finds everything in place.
    Open vSwitch restarts first (as at a reboot or an upgrade): the chassis keeps its name."""
    node = allinone["node"]
    restarted = node.exec("systemctl restart openvswitch-switch && "
                          "ovs-vsctl get Open_vSwitch . external_ids:system-id")
    assert restarted.stdout.strip().strip('"') == "aio1", restarted.stdout + restarted.stderr
    updated = deployer(undercloud, "update", allinone["name"], "-p", "RegionName=RegionOne", "--wait",
                       timeout=CONVERGE_TIMEOUT)
    assert updated.returncode == 0, (updated.stdout + updated.stderr)[-4000:]
    assert "UPDATE_COMPLETE" in updated.stdout, updated.stdout[-4000:]
    log = node_log(undercloud, allinone["name"], "allinone")
    match = UPDATED.search(log)
    assert match, log[-4000:]
    assert int(match.group(1)) == 0, (updated_resources(log), [line for line in log.splitlines() if "WARN" in line],
                                      allinone["node"].exec("systemctl --failed --no-legend").stdout)


def test_deleting_the_deployment_removes_its_secrets(undercloud, allinone):
    """Last: the deployment's delete takes the Chef node, environment and secrets bag with it,
    and the deployer's own copy of the secrets."""
    name = allinone["name"]
    chef = undercloud.chef()
    bag = chef.get_environment(name)["override_attributes"]["deployer"]["secrets"]["data_bag"]
    deleted = deployer(undercloud, "delete", name, "--wait", timeout=600)
    assert deleted.returncode == 0, (deleted.stdout + deleted.stderr)[-3000:]
    assert bag not in chef.list_data_bags()
    assert name not in chef.list_environments() and not chef.node_exists("aio1")
    engine = sa.create_engine(undercloud.cfg.database_url)
    try:
        with Session(engine) as session:
            assert session.get(EnvironmentSecrets, name) is None
    finally:
        engine.dispose()
