"""deployer_pacemaker / deployer_drbd_mysql: corosync.conf, the CIB and the DRBD resource,
rendered through the harness and checked by the real tools.

- corosync.conf: `corosync -t` (needs the local host in the nodelist, so it runs in a
  throwaway UTS namespace whose hostname is the node's name);
- the CIB: `crm_verify --xml-file`, then `crm_simulate` to show where Pacemaker places the
  resources, that they fail over, and that stickiness keeps them from falling back;
- drbd.res: `drbdadm dump` (parser and semantic checks), and `drbdadm --dry-run up` as the
  node itself to see the commands DRBD would run.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from deployer.chef.environment_template import EnvironmentTemplates
from tests.chef_render import RenderError, render
from tests.cookbooks.conftest import CONTROLLERS, SECRETS, VIPS, controller_node, sample_environment
from tests.fixtures.common import require_root_and

REPO = Path(__file__).resolve().parents[2]
AP_ROLE = json.loads((REPO / "roles" / "primary.json").read_text())
AP_VALUES = {
    "ENABLE_DEBUG": "false", "NETWORK_TYPE": "ovn",
    "PRIMARY_NAME": "host10", "PRIMARY_ADDR": "10.81.25.10",
    "SECONDARY_NAME": "host20", "SECONDARY_ADDR": "10.81.25.20",
    "API_VIP_ADDR": "10.81.72.200", "DB_VIP_ADDR": "10.81.72.201", "VIP_PREFIX": 24,
    "VIP_INTERFACE": "eth0", "DRBD_DISK": "/dev/vg0/mysql", "DATA_BACKING": "drbd", "REGION_NAME": "RegionOne",
    "CLUSTER_NAME": "ap_pair", "CLUSTER_TOKEN": 3000,
}
AP_NODES = [{"name": "host10", "ipaddress": "10.81.25.10"}, {"name": "host20", "ipaddress": "10.81.25.20"}]


def ap_environment(**overrides) -> dict:
    return EnvironmentTemplates(REPO / "environments" / "chef").render(
        "active-passive", "ap-test", {**AP_VALUES, **overrides})


def render_ap(cookbook: str, template: str, node: dict | None = None, environment: dict | None = None) -> str:
    return render(cookbook, template, node=node or AP_NODES[0], role=AP_ROLE,
                  environment=environment or ap_environment(), secrets=SECRETS)


def render_aa(template: str, index: int = 0, environment: dict | None = None) -> str:
    return render("deployer_pacemaker", template, node=controller_node(index),
                  environment=environment or sample_environment(), secrets=SECRETS)


def run(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True, timeout=60,
                          env={**os.environ, **(env or {})})


def as_host(hostname: str, *args: str) -> subprocess.CompletedProcess:
    """Run a command in a new UTS namespace whose hostname is `hostname` (the node's view)."""
    return run("unshare", "--uts", "sh", "-c", 'hostname "$0" && exec "$@"', hostname, *args)


# --- corosync.conf -------------------------------------------------------------------------

def with_keyfile(environment: dict, tmp_path: Path) -> dict:
    """Point keyfile at a fresh key: corosync -t reads the knet key the totem section names."""
    keyfile = tmp_path / "authkey"
    keyfile.write_bytes(os.urandom(128))
    keyfile.chmod(0o400)
    environment["default_attributes"]["deployer"].setdefault("pacemaker", {})["authkey_path"] = str(keyfile)
    return environment


def corosync_test(tmp_path: Path, hostname: str, config: str) -> subprocess.CompletedProcess:
    require_root_and("unshare", "corosync")
    path = tmp_path / "corosync.conf"
    path.write_text(config)
    return as_host(hostname, "corosync", "-t", "-c", str(path))


@pytest.mark.parametrize("index", range(len(CONTROLLERS)))
def test_corosync_conf_of_three_controllers_passes_corosync_test(tmp_path, index):
    config = render_aa("corosync.conf", index, environment=with_keyfile(sample_environment(), tmp_path))
    result = corosync_test(tmp_path, CONTROLLERS[index]["name"], config)
    assert result.returncode == 0, result.stdout + result.stderr
    for position, member in enumerate(CONTROLLERS, start=1):
        assert f"ring0_addr: {member['address']}" in config
        assert f"name: {member['name']}\n    nodeid: {position}" in config
    assert "two_node" not in config, "two_node is only for 2-node clusters"


def test_corosync_conf_of_the_pair_sets_two_node(tmp_path):
    config = render_ap("deployer_pacemaker", "corosync.conf", environment=with_keyfile(ap_environment(), tmp_path))
    assert corosync_test(tmp_path, "host10", config).returncode == 0
    assert "two_node: 1" in config
    assert "cluster_name: ap_pair" in config
    assert "  token: 3000\n" in config


def test_the_pairs_token_timeout_is_the_template_parameter_and_is_checked(tmp_path):
    config = render_ap("deployer_pacemaker", "corosync.conf",
                       environment=with_keyfile(ap_environment(CLUSTER_TOKEN=1000), tmp_path))
    assert corosync_test(tmp_path, "host10", config).returncode == 0
    assert "  token: 1000\n" in config
    assert "token:" not in render_aa("corosync.conf"), "unset: corosync's default"
    with pytest.raises(RenderError, match=r"\['token'\] must be a number of ms"):
        render_ap("deployer_pacemaker", "corosync.conf", environment=ap_environment(CLUSTER_TOKEN=50))


def test_corosync_test_rejects_a_duplicate_node_id(tmp_path):
    """The check is real: a nodelist with a repeated id does not pass."""
    config = render_aa("corosync.conf", environment=with_keyfile(sample_environment(), tmp_path))
    config = config.replace("nodeid: 2", "nodeid: 1")
    result = corosync_test(tmp_path, CONTROLLERS[0]["name"], config)
    assert result.returncode != 0
    assert "appears twice" in result.stdout + result.stderr


def test_corosync_conf_names_a_bad_controller_entry():
    controllers = [dict(CONTROLLERS[0]), {"name": "ctl2", "address": "not-an-ip"}]
    with pytest.raises(RenderError, match=r"controllers'\]\[1\]\['address'\]"):
        render_aa("corosync.conf", environment=sample_environment(controllers=controllers))


# --- the CIB --------------------------------------------------------------------------------

def crm_verify(tmp_path: Path, cib: str, name: str = "cib.xml") -> subprocess.CompletedProcess:
    require_root_and("crm_verify")
    path = tmp_path / name
    path.write_text(cib)
    return run("crm_verify", "--xml-file", str(path), "-V")


def nvpairs(cib: str, xpath: str) -> dict[str, str]:
    root = ET.fromstring(cib.split("?>", 1)[1])
    return {nv.get("name"): nv.get("value") for nv in root.findall(f"{xpath}/nvpair")}


def test_scheduler_cib_passes_crm_verify_and_sets_the_origin_cluster_options(tmp_path):
    cib = render_aa("cib.xml")
    result = crm_verify(tmp_path, cib)
    assert result.returncode == 0, result.stdout + result.stderr
    options = nvpairs(cib, "./configuration/crm_config/cluster_property_set")
    assert options["stonith-enabled"] == "false"
    assert options["no-quorum-policy"] == "stop", "three controllers: a cut-off one stops its singletons"
    assert nvpairs(cib, "./configuration/rsc_defaults/meta_attributes")["resource-stickiness"] == "100"
    root = ET.fromstring(cib.split("?>", 1)[1])
    units = {p.get("type") for p in root.iter("primitive") if p.get("class") == "systemd"}
    assert {"nova-scheduler", "cinder-scheduler"} <= units
    for primitive in (p for p in root.iter("primitive") if p.get("class") == "systemd"):
        # Pacemaker's 20 s default start timeout banned nova-conductor from a node when a peer hung
        timeouts = {op.get("name"): op.get("timeout") for op in primitive.iter("op")}
        assert timeouts["start"] == timeouts["stop"] == "120s", primitive.get("id")
        meta = {nv.get("name"): nv.get("value") for nv in primitive.find("meta_attributes").iter("nvpair")}
        assert meta == {"failure-timeout": "120s", "multiple-active": "stop_unexpected"}
    assert root.find(".//clone") is None, "the DRBD MySQL group is only for the A/P pair"
    assert [n.get("uname") for n in root.iter("node")] == [c["name"] for c in CONTROLLERS]


def test_no_quorum_policy_is_the_origins_on_a_pair_stop_on_three_and_an_explicit_value_wins():
    assert nvpairs(render_ap("deployer_pacemaker", "cib.xml"),
                   "./configuration/crm_config/cluster_property_set")["no-quorum-policy"] == "ignore"
    def with_policy(value):
        environment = sample_environment()
        environment["default_attributes"]["deployer"]["pacemaker"] = {"no_quorum_policy": value}
        return environment
    assert nvpairs(render_aa("cib.xml", environment=with_policy("freeze")),
                   "./configuration/crm_config/cluster_property_set")["no-quorum-policy"] == "freeze"
    wrong = with_policy("suicide")
    with pytest.raises(RenderError, match=r"no_quorum_policy'\] must be one of ignore, stop"):
        render_aa("cib.xml", environment=wrong)


def test_active_passive_cib_passes_crm_verify_with_the_drbd_mysql_group(tmp_path):
    cib = render_ap("deployer_pacemaker", "cib.xml")
    result = crm_verify(tmp_path, cib)
    assert result.returncode == 0, result.stdout + result.stderr
    root = ET.fromstring(cib.split("?>", 1)[1])
    clone = root.find(".//clone[@id='ms_drbd_mysql']")
    assert clone.find("primitive").get("type") == "drbd" and clone.find("primitive").get("provider") == "linbit"
    assert nvpairs(cib, ".//clone[@id='ms_drbd_mysql']/meta_attributes")["promotable"] == "true"
    group = root.find(".//group[@id='mysql']")
    assert [p.get("id") for p in group.findall("primitive")] == ["fs_mysql", "ip_mysql", "mysqld"]
    assert nvpairs(cib, ".//primitive[@id='ip_mysql']/instance_attributes")["ip"] == AP_VALUES["DB_VIP_ADDR"]
    # Not Pacemaker's 20 s default: a mysqld start that times out bans MySQL from that node.
    def timeouts(primitive):
        return {op.get("name"): op.get("timeout") for op in root.findall(f".//primitive[@id='{primitive}']/operations/op")
                if op.get("name") in ("start", "stop")}
    assert timeouts("mysqld") == {"start": "120s", "stop": "120s"}
    assert timeouts("fs_mysql") == {"start": "60s", "stop": "60s"}
    assert nvpairs(cib, ".//group[@id='mysql']/meta_attributes")["failure-timeout"] == "120s"
    colocation = root.find(".//rsc_colocation")
    assert (colocation.get("rsc"), colocation.get("with-rsc"), colocation.get("with-rsc-role")) == \
        ("mysql", "ms_drbd_mysql", "Promoted")
    order = root.find(".//rsc_order")
    assert (order.get("first"), order.get("first-action"), order.get("then")) == ("ms_drbd_mysql", "promote", "mysql")


def test_on_a_shared_disk_the_group_mounts_the_disk_itself_without_drbd(tmp_path):
    """backing shared-disk (the test topology: no DRBD module): no promotable clone and no
    constraint on one; fs_mysql mounts the shared disk; crm_verify accepts it."""
    cib = render_ap("deployer_pacemaker", "cib.xml", environment=ap_environment(DATA_BACKING="shared-disk"))
    result = crm_verify(tmp_path, cib)
    assert result.returncode == 0, result.stdout + result.stderr
    root = ET.fromstring(cib.split("?>", 1)[1])
    assert root.find(".//clone") is None and root.find(".//rsc_colocation") is None
    # The only orders: the schedulers start after MySQL when both start at once (a failover).
    assert {(o.get("first"), o.get("then"), o.get("kind")) for o in root.findall(".//rsc_order")} == {
        ("mysql", f"p_{unit}", "Optional") for unit in ("nova-scheduler", "cinder-scheduler", "nova-conductor")}
    group = root.find(".//group[@id='mysql']")
    assert [p.get("id") for p in group.findall("primitive")] == ["fs_mysql", "ip_mysql", "mysqld"]
    assert nvpairs(cib, ".//primitive[@id='fs_mysql']/instance_attributes")["device"] == AP_VALUES["DRBD_DISK"]
    assert nvpairs(cib, ".//primitive[@id='ip_mysql']/instance_attributes")["ip"] == AP_VALUES["DB_VIP_ADDR"]


def test_an_unknown_data_backing_is_named():
    with pytest.raises(RenderError, match=r"\['backing'\] must be one of drbd, shared-disk"):
        render_ap("deployer_pacemaker", "cib.xml", environment=ap_environment(DATA_BACKING="nfs"))


CRM_MON = """<pacemaker-result><summary><current_dc present="true" name="node1"/></summary><resources>
  <resource id="p_nova-scheduler" resource_agent="systemd:nova-scheduler" role="Started" active="true"/>
  <resource id="p_cinder-scheduler" resource_agent="systemd:cinder-scheduler" role="Stopped" active="false"/>
</resources><failures>
  <failure op_key="p_nova-scheduler_start_0" node="node1" exitstatus="not installed"/>
</failures></pacemaker-result>"""


@pytest.mark.parametrize("resource, node, expected", [
    ("p_nova-scheduler", "node1", True),       # a failed start recorded here
    ("p_nova-scheduler", "node2", False),      # runs, nothing failed on node2
    ("p_cinder-scheduler", "node2", True),     # runs nowhere
    ("p_nova-conductor", "node2", True),       # not in the status at all
])
def test_scheduler_refresh_guard_reads_crm_mon(resource, node, expected):
    from tests.chef_render import call_helper
    assert call_helper("deployer_pacemaker", "DeployerPacemaker::Helpers.needs_refresh?",
                       CRM_MON, resource, node) is expected


def test_crm_verify_rejects_stonith_enabled_without_fencing_devices(tmp_path):
    """Why the origin disables STONITH: with it on and no fencing device nothing may start."""
    environment = sample_environment(default_attributes={"deployer": {
        "cluster": {"controllers": CONTROLLERS}, "vips": VIPS, "pacemaker": {"stonith_enabled": True}}})
    result = crm_verify(tmp_path, render_aa("cib.xml", environment=environment))
    assert result.returncode != 0
    assert "STONITH" in result.stderr


def test_crm_verify_rejects_a_constraint_on_a_missing_resource(tmp_path):
    cib = render_ap("deployer_pacemaker", "cib.xml").replace('with-rsc="ms_drbd_mysql"', 'with-rsc="ms_drbd_gone"')
    result = crm_verify(tmp_path, cib)
    assert result.returncode != 0
    assert "ms_drbd_gone" in result.stderr


def test_the_load_command_of_the_cib_resource_replaces_a_live_configuration(tmp_path):
    """deployer_pacemaker_cib loads the rendered file with cibadmin; run the same command
    against a file-backed CIB (CIB_file) that holds an older configuration."""
    require_root_and("cibadmin")
    rendered = tmp_path / "cib.xml"
    rendered.write_text(render_ap("deployer_pacemaker", "cib.xml"))
    live = tmp_path / "live.xml"
    live.write_text(render_aa("cib.xml"))  # a different, older cluster configuration
    result = run("cibadmin", "--replace", "--scope", "configuration", "--xml-file", str(rendered),
                 env={"CIB_file": str(live)})
    assert result.returncode == 0, result.stderr
    loaded = live.read_text()
    assert 'id="ms_drbd_mysql"' in loaded and 'uname="ctl1"' not in loaded
    assert crm_verify(tmp_path, loaded, "loaded.xml").returncode == 0


def test_drbd_mysql_group_needs_exactly_two_controllers():
    environment = sample_environment()
    with pytest.raises(RenderError, match="exactly 2 controllers"):
        render("deployer_pacemaker", "cib.xml", node=controller_node(0), role=AP_ROLE,
               environment=environment, secrets=SECRETS)


# --- Pacemaker's placement, failover and stickiness (crm_simulate on the rendered CIB) ------

class SimulatedCluster:
    """The rendered CIB driven by crm_simulate: nodes go up, fail and return."""

    def __init__(self, tmp_path: Path, cib: str):
        require_root_and("crm_simulate", "crm_mon", "crm_attribute")
        self.dir = tmp_path
        self.path = tmp_path / "sim-0.xml"
        self.path.write_text(cib)
        self.step = 0

    def simulate(self, *node_changes: str) -> None:
        """With quorum: these tests lose at most one of three nodes, or one of a two_node pair."""
        self.step += 1
        out = self.dir / f"sim-{self.step}.xml"
        result = run("crm_simulate", "--xml-file", str(self.path), *node_changes, "--quorum", "true",
                     "--simulate", "--save-output", str(out))
        assert result.returncode == 0, result.stdout + result.stderr
        self.path = out

    def rejoin(self, node: str) -> None:
        """A failed node comes back with an empty resource history, as the DC erases a lost
        node's status in a real cluster (crm_simulate alone keeps the old history)."""
        tree = ET.parse(self.path)
        for state in tree.getroot().findall(f"./status/node_state[@uname='{node}']"):
            for lrm in state.findall("lrm"):
                state.remove(lrm)
        tree.write(self.path)
        self.simulate("--node-up", node)

    def set_promotion_score(self, node: str, resource: str, score: int) -> None:
        """What ocf:linbit:drbd does on an UpToDate node (crm_master), which a simulation cannot run."""
        result = run("crm_attribute", "--node", node, "--name", f"master-{resource}", "--update", str(score),
                     "--lifetime", "reboot", env={"CIB_file": str(self.path)})
        assert result.returncode == 0, result.stderr

    def placement(self) -> dict[str, list[tuple[str, str]]]:
        """resource id -> [(node, role)] from crm_mon's XML view of the simulated cluster."""
        result = run("crm_mon", "--one-shot", "--output-as=xml", env={"CIB_file": str(self.path)})
        root = ET.fromstring(result.stdout)
        placed: dict[str, list[tuple[str, str]]] = {}
        for resource in root.iter("resource"):
            for node in resource.findall("node"):
                placed.setdefault(resource.get("id"), []).append((node.get("name"), resource.get("role")))
        return placed


def prefer(cib: str, resource: str, node: str, score: int) -> str:
    """Add a location preference (as an operator might) that stickiness must outweigh."""
    location = f'<rsc_location id="prefer-{resource}" rsc="{resource}" node="{node}" score="{score}"/>'
    return cib.replace("<constraints>", f"<constraints>\n      {location}", 1)


def test_schedulers_run_once_fail_over_and_do_not_fall_back(tmp_path):
    # A preference of 50 for ctl1: the scheduler starts there and, once it has failed over,
    # stickiness (100) must keep it where it is when ctl1 returns.
    cluster = SimulatedCluster(tmp_path, prefer(render_aa("cib.xml"), "p_nova-scheduler", CONTROLLERS[0]["name"], 50))
    names = [c["name"] for c in CONTROLLERS]
    cluster.simulate(*[arg for name in names for arg in ("--node-up", name)])
    cluster.simulate()
    placed = cluster.placement()
    for unit in ("p_nova-scheduler", "p_cinder-scheduler", "p_nova-conductor"):
        assert len(placed[unit]) == 1, f"{unit} must run on exactly one node: {placed[unit]}"
    host = placed["p_nova-scheduler"][0][0]
    assert host == CONTROLLERS[0]["name"]

    cluster.simulate("--node-fail", host)
    moved = cluster.placement()["p_nova-scheduler"]
    assert len(moved) == 1 and moved[0][0] != host
    new_host = moved[0][0]

    cluster.rejoin(host)
    cluster.simulate()
    assert cluster.placement()["p_nova-scheduler"] == [(new_host, "Started")], "stickiness: no fallback"


def test_drbd_mysql_group_follows_the_promoted_copy_and_stays_after_failback(tmp_path):
    cluster = SimulatedCluster(tmp_path, render_ap("deployer_pacemaker", "cib.xml"))
    cluster.simulate("--node-up", "host10", "--node-up", "host20")
    for node in ("host10", "host20"):
        cluster.set_promotion_score(node, "drbd_mysql", 100)
    cluster.simulate()
    placed = cluster.placement()
    promoted = [node for node, role in placed["drbd_mysql"] if role == "Promoted"]
    assert len(promoted) == 1
    for member in ("fs_mysql", "ip_mysql", "mysqld"):
        assert placed[member] == [(promoted[0], "Started")], f"{member} must sit with the promoted DRBD copy"

    cluster.simulate("--node-fail", promoted[0])
    survivor = "host20" if promoted[0] == "host10" else "host10"
    placed = cluster.placement()
    assert (survivor, "Promoted") in placed["drbd_mysql"]
    assert placed["mysqld"] == [(survivor, "Started")]

    cluster.rejoin(promoted[0])
    cluster.set_promotion_score(promoted[0], "drbd_mysql", 100)
    cluster.simulate()
    assert cluster.placement()["mysqld"] == [(survivor, "Started")], "stickiness: MySQL does not fall back"


# --- DRBD ------------------------------------------------------------------------------------

DRBDADM_84 = "/usr/lib/drbd/drbdadm-84"   # Debian 12's kernel module is DRBD 8.4.11 (F6)


def drbdadm(*args: str, hostname: str | None = None) -> subprocess.CompletedProcess:
    require_root_and(DRBDADM_84, "unshare")
    command = [DRBDADM_84, *args]
    return as_host(hostname, *command) if hostname else run(*command)


def test_drbd_resource_parses_and_comes_up_as_each_peer(tmp_path):
    for node in AP_NODES:
        config = render_ap("deployer_drbd_mysql", "drbd.res", node=node)
        path = tmp_path / f"{node['name']}.res"
        path.write_text(config)
        dump = drbdadm("-c", str(path), "dump")
        assert dump.returncode == 0, dump.stderr
        assert re.search(r"protocol\s+C;", dump.stdout) and re.search(r"meta-disk\s+internal;", dump.stdout)
        up = drbdadm("-c", str(path), "--dry-run", "up", "mysql", hostname=node["name"])
        assert up.returncode == 0, up.stderr
        peer = AP_NODES[1] if node is AP_NODES[0] else AP_NODES[0]
        assert f"connect mysql ipv4:{node['ipaddress']}:7788 ipv4:{peer['ipaddress']}:7788 --protocol=C" in up.stdout
        # S9: resource-level fencing through Pacemaker, since STONITH is off.
        assert "attach 0 /dev/vg0/mysql /dev/vg0/mysql internal --fencing=resource-only" in up.stdout
        assert "crm-fence-peer.sh" in dump.stdout and "crm-unfence-peer.sh" in dump.stdout


def test_the_verify_command_accepts_the_resource_and_refuses_drbd9_syntax(tmp_path):
    """deployer_drbd_mysql verifies a candidate with `drbdadm-84 -c <candidate> dump` (the parser of
    Debian 12's DRBD 8.4 kernel): the rendered file passes, the old DRBD 9 `node-id` does not (F6)."""
    candidate = tmp_path / "candidate.res"
    candidate.write_text(render_ap("deployer_drbd_mysql", "drbd.res"))
    assert drbdadm("-c", str(candidate), "dump").returncode == 0
    candidate.write_text(candidate.read_text().replace("    address", "    node-id 0;\n    address", 1))
    refused = drbdadm("-c", str(candidate), "dump")
    assert refused.returncode != 0 and "node-id" in refused.stderr


def test_active_passive_mariadb_listens_on_the_db_vip(tmp_path):
    """F7: Debian's 50-server.cnf binds 127.0.0.1, the services connect to the DB VIP; mariadbd parses the
    fragment (the cookbook's verify) and it wins over Debian's file, which sorts first."""
    require_root_and("mariadbd")
    path = tmp_path / "60-deployer.cnf"
    path.write_text(render_ap("deployer_drbd_mysql", "mysqld.cnf"))
    parsed = run("mariadbd", f"--defaults-file={path}", "--help", "--verbose")
    assert parsed.returncode == 0, parsed.stderr
    assert re.search(rf"^bind-address\s+{re.escape(AP_VALUES['DB_VIP_ADDR'])}$", parsed.stdout, re.M)


def test_drbdadm_rejects_two_peers_on_one_address(tmp_path):
    environment = ap_environment(SECONDARY_ADDR=AP_VALUES["PRIMARY_ADDR"])
    path = tmp_path / "mysql.res"
    path.write_text(render_ap("deployer_drbd_mysql", "drbd.res", environment=environment))
    result = drbdadm("-c", str(path), "dump")
    assert result.returncode != 0
    assert "conflicting use of IP" in result.stderr


def test_drbd_resource_names_bad_attributes():
    environment = ap_environment()
    environment["default_attributes"]["deployer"]["drbd_mysql"]["protocol"] = "Z"
    with pytest.raises(RenderError, match=r"\['protocol'\] must be A, B or C"):
        render_ap("deployer_drbd_mysql", "drbd.res", environment=environment)
    environment = ap_environment()
    del environment["default_attributes"]["deployer"]["drbd_mysql"]["disk"]
    with pytest.raises(RenderError, match=r"\['disk'\] is not set"):
        render_ap("deployer_drbd_mysql", "drbd.res", environment=environment)


def test_no_refresh_before_a_dc_is_elected():
    """On the first controller Pacemaker has just started: no DC, nothing probed, and
    crm_resource --refresh would fail the converge (it did, in the active-active run)."""
    from tests.chef_render import call_helper
    no_dc = CRM_MON.replace('present="true" name="node1"', 'present="false"')
    assert call_helper("deployer_pacemaker", "DeployerPacemaker::Helpers.needs_refresh?",
                       no_dc, "p_nova-conductor", "node2") is False
