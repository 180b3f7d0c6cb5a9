"""role[allinone] converged for real on one systemd test node, then used with the real openstack client.

The node is a Debian 12 server booting systemd (deployer/testnodes) whose packages are the host's
(scripts/install.sh installs Debian 12's OpenStack there).  The chef-client stand-in
(tests/standin) runs the shipped cookbooks, role and environment in local mode (-z: the chef-repo
layout read from disk) with the test Heat environment's values: nova's fake virt driver and Open
vSwitch's userspace datapath (environments/heat/allinone-fake.yaml).  Secrets are fresh per run.

What is not run here: the deployer's path to the node (Heat, the Chef server, SSH bootstrap) is the
integration tests' part; instances do not boot (fake driver), so their ports are bound but stay
DOWN and no packet crosses OVN.
"""
from __future__ import annotations

import base64
import io
import json
import re
import secrets
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest
import yaml

from deployer.chef.environment_template import EnvironmentTemplates
from tests.fixtures.waiting import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
STANDIN = REPO / "tests" / "standin" / "chef-client"
NODE_NAME = "aio1"
CLIENT_RB = """local_mode true
node_name '{node}'
cookbook_path ['/srv/chef-repo/cookbooks']
role_path '/srv/chef-repo/roles'
environment_path '/srv/chef-repo/environments'
data_bag_path '/srv/chef-repo/data_bags'
node_path '/srv/chef-repo/nodes'
file_cache_path '/var/cache/chef'
"""
# Small-node sizing (the defaults are the origin's production sizes).
FIRST_BOOT = {"run_list": ["role[allinone]"], "deployer": {
    "openstack": {"uwsgi": {"processes": 2}},
    "galera": {"tuning": {"innodb_buffer_pool_size": "128M", "key_buffer_size": "16M", "max_connections": 500}}}}
UPDATED = re.compile(r"Chef Infra Client finished, (\d+)/(\d+) resources updated")


def fernet_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def data_bag_items() -> dict[str, dict[str, str]]:
    """Every item deployer_common/README.md lists for role[allinone], with fresh values."""
    password = lambda: secrets.token_urlsafe(18)  # noqa: E731
    return {
        "db_passwords": {s: password() for s in ("keystone", "glance", "placement", "nova", "neutron", "cinder")},
        "mq_passwords": {s: password() for s in ("nova", "neutron", "cinder")},
        "service_passwords": {s: password() for s in ("glance", "placement", "nova", "neutron", "cinder")},
        "keystone": {"admin_password": password(),
                     **{f"{kind}_key_{i}": fernet_key() for kind in ("fernet", "credential") for i in (0, 1)}},
        "neutron": {"metadata_secret": password()},
        "rabbitmq": {"erlang_cookie": secrets.token_hex(16).upper()},
    }


def chef_repo(address: str, items: dict) -> bytes:
    """The chef-repo the stand-in reads in local mode, as a tar.gz."""
    parameters = {**{k: v.get("default") for k, v in yaml.safe_load(
        (REPO / "hot_templates" / "allinone.yaml").read_text())["parameters"].items()}}
    for environment_file in ("allinone.yaml", "allinone-fake.yaml"):
        parameters.update(yaml.safe_load((REPO / "environments" / "heat" / environment_file).read_text())["parameter_defaults"])
    values = {"ENABLE_DEBUG": "false", "NETWORK_TYPE": parameters["NetworkType"], "NODE_NAME": NODE_NAME,
              "NODE_ADDR": address, "VIP_INTERFACE": "eth0", "VIP_PREFIX": 24, "REGION_NAME": "RegionOne",
              "COMPUTE_DRIVER": parameters["ComputeDriver"], "OVS_DATAPATH_TYPE": parameters["OvsDatapathType"]}
    environment = EnvironmentTemplates(REPO / "environments" / "chef").render("allinone", "aio", values)
    files = {
        "chef-repo/environments/aio.json": json.dumps(environment),
        "chef-repo/client.rb": CLIENT_RB.format(node=NODE_NAME),
        "chef-repo/first-boot.json": json.dumps(FIRST_BOOT),
        **{f"chef-repo/data_bags/deployer_secrets/{name}.json": json.dumps({"id": name, **item})
           for name, item in items.items()},
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for directory in ("cookbooks", "roles"):
            tar.add(REPO / directory, arcname=f"chef-repo/{directory}")
        tar.add(STANDIN, arcname="chef-repo/chef-client")
        for name, text in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(text.encode())
            tar.addfile(info, io.BytesIO(text.encode()))
    return buffer.getvalue()


def converge(node) -> tuple[str, int]:
    result = node.exec("cd /srv/chef-repo && ruby chef-client -z -c client.rb -E aio -j first-boot.json 2>&1",
                       timeout=1500)
    match = UPDATED.search(result.stdout)
    assert result.returncode == 0 and match, result.stdout[-6000:]
    return result.stdout, int(match.group(1))


@pytest.fixture(scope="module")
def allinone(test_nodes_factory):
    if not shutil.which("openstack") or not Path("/usr/bin/keystone-manage").exists():
        pytest.skip("Debian's OpenStack packages are not installed (scripts/install.sh)")
    node_set = test_nodes_factory(1)
    try:
        node = node_set.nodes()[0]
        items = data_bag_items()
        archive = base64.b64encode(chef_repo(node.ip, items)).decode()
        unpacked = node.exec("mkdir -p /srv && base64 -d | tar xz -C /srv", input=archive)
        assert unpacked.returncode == 0, unpacked.stderr
        first_log, first_updated = converge(node)
        environment = {"OS_AUTH_URL": f"http://{node.ip}:5000/v3", "OS_IDENTITY_API_VERSION": "3",
                       "OS_USERNAME": "admin", "OS_PASSWORD": items["keystone"]["admin_password"],
                       "OS_PROJECT_NAME": "admin", "OS_USER_DOMAIN_NAME": "Default",
                       "OS_PROJECT_DOMAIN_NAME": "Default", "OS_REGION_NAME": "RegionOne"}
        yield {"node": node, "first_log": first_log, "first_updated": first_updated, "env": environment}
    finally:
        test_nodes_factory.discard(node_set)


def openstack(env: dict, *args: str, timeout: float = 120) -> list | dict:
    result = subprocess.run(["openstack", *args, "-f", "json"], capture_output=True, text=True, timeout=timeout,
                            env={"PATH": "/usr/bin:/bin", **env})
    assert result.returncode == 0, f"openstack {' '.join(args)}: {result.stderr[-2000:]}"
    return json.loads(result.stdout)


def test_the_first_converge_runs_every_resource(allinone):
    log = allinone["first_log"]
    assert "STAND-IN" in log
    assert allinone["first_updated"] > 100
    for resource in ("execute[galera_new_cluster]", "execute[nova schema migrations]",
                     "execute[keystone-manage bootstrap]", "execute[register the OVN chassis]",
                     "service[neutron-server] action start", "service[nova-compute] action start"):
        assert resource in log, resource


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
    assert (shown["binding_host_id"], shown["binding_vif_type"]) == (NODE_NAME, "ovs"), "bound to the OVN chassis"


def updated_resources(log: str) -> list[str]:
    """The resource lines the doc formatter follows with '- <change>' lines."""
    lines = log.splitlines()
    return [line.strip() for line, after in zip(lines, lines[1:])
            if line.lstrip().startswith("* ") and after.lstrip().startswith("- ")]


def unit_report(node, *units: str) -> str:
    """Failed units and the named units' status and last journal lines, for a failure message."""
    names = " ".join(units)
    return node.exec(f"systemctl --failed --no-legend; systemctl status --no-pager -n 30 {names}; "
                     f"journalctl --no-pager -n 40 -u {' -u '.join(units)}").stdout[-6000:]


def test_a_second_converge_changes_nothing(allinone):
    log, updated = converge(allinone["node"])
    assert updated == 0, (updated_resources(log), allinone["node"].exec("systemctl --failed --no-legend").stdout)
