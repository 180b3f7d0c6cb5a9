"""Test nodes against the real kernel, systemd and sshd: boot, logins, a fresh server's units,
isolation from the host, every fault verb, teardown, reaping."""
from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import paramiko
import pytest

from deployer.cli.main import main as deployer_main
from deployer.testnodes import TestNodes, TestNodesError, cgroups
from deployer.testnodes.image import host_service_links
from deployer.testnodes.registry import Registry
from deployer.undercloud.process import pid_alive
from tests.fixtures.nodes import STATE_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.timeout(120)]


def ssh(node, *, password: str | None = None, key_filename: str | None = None,
        timeout: float = 5.0) -> paramiko.SSHClient:
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(node.ip, port=node.port, username=node.username, password=password,
                   key_filename=key_filename, look_for_keys=False, allow_agent=False,
                   timeout=timeout, banner_timeout=timeout, auth_timeout=timeout)
    return client


def run(client: paramiko.SSHClient, command: str) -> str:
    _, stdout, stderr = client.exec_command(command, timeout=10)
    out = stdout.read().decode()
    assert stdout.channel.recv_exit_status() == 0, stderr.read().decode()
    return out


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def ip_lines(*args: str) -> str:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=True).stdout


def leftovers(node_set: TestNodes) -> list[str]:
    """Everything of the set still visible on the host."""
    found = [f"netns {line.split()[0]}" for line in ip_lines("netns", "list").splitlines()
             if line.startswith(f"{node_set.prefix}-")]
    found += [f"link {line.split()[0]}" for line in ip_lines("-br", "link").splitlines()
              if line.startswith((f"{node_set.prefix}-", node_set.bridge))]
    found += [f"mount {line.split()[4]}" for line in Path("/proc/self/mountinfo").read_text().splitlines()
              if line.split()[4].startswith(str(node_set.state_dir))]
    for hierarchy in cgroups.HIERARCHIES:
        parent = cgroups.CGROUP_ROOT / hierarchy / cgroups.PARENT
        if parent.exists():
            found += [f"cgroup {group}" for group in parent.iterdir() if group.is_dir()
                      and group.name.startswith(f"{node_set.prefix}-")]
    found += [f"process {pid} ({comm(pid)})" for pid in nspawn_pids(node_set)]
    found += [f"mount of {node_set.state_dir} seen by process {pid}"
              for pid in pids_mounting(node_set.state_dir)]
    if node_set.state_dir.exists():
        found.append(f"dir {node_set.state_dir}")
    return found


def nspawn_pids(node_set: TestNodes) -> list[int]:
    """systemd-nspawn processes of this set still alive (found by their --machine argument)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(arg.startswith(f"--machine={node_set.prefix}-node".encode()) for arg in argv):
            found.append(int(entry.name))
    return found


def pids_mounting(state_dir: Path) -> list[int]:
    """Processes in whose mount namespace something is mounted from or on ``state_dir``
    (a node's root overlay lives only in its launcher's namespace)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if str(state_dir) in (entry / "mountinfo").read_text():
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


def test_three_nodes_run_systemd_and_accept_password_and_keys(test_nodes):
    nodes = test_nodes.nodes()
    assert [n.name for n in nodes] == ["node1", "node2", "node3"]
    assert test_nodes.failed_units == {}
    hostnames = set()
    for node in nodes:
        for credentials in ({"password": node.password}, {"key_filename": node.key_file},
                            {"key_filename": node.rsa_key_file}):
            client = ssh(node, **credentials)
            try:
                server_key = client.get_transport().get_remote_server_key()
                assert server_key.get_name() == "ssh-ed25519"
                assert server_key.fingerprint == node.host_key_fingerprint
                hostname = run(client, "hostname").strip()
                assert hostname == node.name
                assert run(client, "id -un").strip() == "root"
                assert run(client, "systemctl is-system-running").strip() == "running"
                assert run(client, "ps -p 1 -o comm=").strip() == "systemd"
                assert run(client, "systemctl is-active ssh.service").strip() == "active"
            finally:
                client.close()
        hostnames.add(hostname)
        assert comm(node.pid()) == "systemd" and comm(node.launcher_pid()) == "systemd-nspawn"
    assert len(hostnames) == 3
    assert len({n.host_key_fingerprint for n in nodes}) == 3


def test_each_node_has_its_own_cpu_group_so_nodes_share_the_cores_as_machines(test_nodes):
    """A booting node's 40-odd services compete with the other nodes as one machine, not
    process by process (cgroups.py says what that starved), and the parent weighs one share
    per node, so each node counts as one busy process against the host's."""
    nodes = test_nodes.nodes()
    for node in nodes:
        services = [pid for pid in node.processes() if comm(pid) in ("systemd", "sshd", "systemd-journal")]
        assert services, node.name
        for pid in services:
            groups = dict(line.split(":", 2)[1:] for line in Path(f"/proc/{pid}/cgroup").read_text().splitlines())
            assert groups["cpu"] == f"/deployer-testnodes/{node.unit}", (node.name, comm(pid), groups["cpu"])
    parent = cgroups.CGROUP_ROOT / cgroups.CPU / cgroups.PARENT
    groups = [entry for entry in parent.iterdir() if entry.is_dir()]
    assert len(groups) >= len(nodes)
    assert int((parent / "cpu.shares").read_text()) == cgroups.DEFAULT_SHARES * len(groups)


def test_a_node_boots_like_a_fresh_server_without_the_hosts_services(test_nodes):
    node1, node2, node3 = test_nodes.nodes()
    links = host_service_links()
    host_services = {Path(link).name for link in links if link.endswith((".service", ".socket"))}
    assert {"mariadb.service", "rabbitmq-server.service", "corosync.service"} <= host_services
    assert not {"ssh.service", "sshd.service"} & host_services
    running = node1.exec("systemctl list-units --state=running --plain --no-legend").stdout
    running_units = {line.split()[0] for line in running.splitlines() if line.strip()}
    assert {"ssh.service", "systemd-journald.service", "dbus.service",
            "systemd-logind.service"} <= running_units
    assert not running_units & host_services, running
    states = node1.exec(["systemctl", "is-enabled", *sorted(host_services)]).stdout.split()
    assert set(states) <= {"disabled", "static", ""}, dict(zip(sorted(host_services), states))
    for timer in ("apt-daily.timer", "logrotate.timer"):   # the base system's timers stay enabled
        assert node1.exec(["systemctl", "is-enabled", timer]).stdout.strip() == "enabled", timer
    host_daemons = {"mariadbd", "beam.smp", "epmd", "postgres", "haproxy", "keepalived",
                    "corosync", "pacemakerd", "goiardi"}
    for node in (node1, node2, node3):
        assert not {comm(pid) for pid in node.processes()} & host_daemons

    # A unit started in one node runs there only, under that node's systemd.
    assert node1.exec("systemctl start haproxy").returncode == 0, node1.journal_tail()
    assert node1.exec("systemctl is-active haproxy").stdout.strip() == "active"
    main_pid = int(node1.exec("systemctl show -p MainPID --value haproxy").stdout)
    assert main_pid > 1
    assert "haproxy" in {comm(pid) for pid in node1.processes()}
    for other in (node2, node3):
        assert other.exec("systemctl is-active haproxy").stdout.strip() == "inactive"
        assert "haproxy" not in {comm(pid) for pid in other.processes()}
    node1.exec("systemctl stop haproxy")


def test_the_hosts_state_is_out_of_sight(test_nodes):
    node = test_nodes.get(1)
    listing = node.exec("ls -A /").stdout.split()
    for private in ("work", "old_root"):
        assert private not in listing
    hidden = ["/var/lib/deployer", "/etc/deployer", str(test_nodes.state_dir),
              str(test_nodes.state_dir.parent), "/usr/sbin/policy-rc.d", __file__]
    for path in hidden:
        assert node.exec(["test", "-e", path]).returncode != 0, f"the node sees {path}"
    host_keys = node.exec("ls /etc/ssh").stdout.split()
    assert [k for k in host_keys if k.startswith("ssh_host_")] == [
        "ssh_host_ed25519_key", "ssh_host_ed25519_key.pub"]
    assert node.read_file("/etc/ssh/ssh_host_ed25519_key.pub") != \
        Path("/etc/ssh/ssh_host_ed25519_key.pub").read_text()
    assert node.exec("ls -A /root /home /opt /srv /mnt").stdout.split() == [
        "/home:", "/mnt:", "/opt:", "/root:", ".ssh", "/srv:"]
    # What the node writes stays in its upper layer, never on the host's disk.
    node.exec("echo node-only > /var/lib/upper-probe")
    assert (node.upper_dir / "var/lib/upper-probe").read_text() == "node-only\n"
    assert not Path("/var/lib/upper-probe").exists()


def test_wrong_password_is_refused(test_nodes):
    node1, node2, _ = test_nodes.nodes()
    with pytest.raises(paramiko.AuthenticationException):
        ssh(node1, password=node2.password)
    with pytest.raises(paramiko.AuthenticationException):
        ssh(node1, password="root")


def test_nodes_look_bare_and_keep_their_writes_to_themselves(test_nodes):
    node1, node2, _ = test_nodes.nodes()
    marker = f"/etc/chef/client-{test_nodes.prefix}.rb"
    client = ssh(node1, password=node1.password)
    try:
        assert run(client, "ls -A /opt /home").split() == ["/home:", "/opt:"]
        assert run(client, "ls -A /root").split() == [".ssh"]
        run(client, f"mkdir -p /etc/chef && echo 'node_name \"node1\"' > {marker}")
        run(client, "useradd -m deploy-probe && touch /opt/probe /usr/local/bin/probe")
    finally:
        client.close()
    assert node1.read_file(marker) == 'node_name "node1"\n'
    assert (node1.upper_dir / marker.lstrip("/")).read_text() == 'node_name "node1"\n'
    assert node1.exec("id deploy-probe").returncode == 0
    for path in (marker, "/opt/probe", "/usr/local/bin/probe"):
        assert node2.exec(["test", "-e", path]).returncode != 0, path
        assert not Path(path).exists(), f"{path} leaked to the host"
    assert node2.exec("id deploy-probe").returncode != 0
    for secret in (node1.key_file, str(node2.upper_dir / "etc/shadow"), str(node1.upper_dir)):
        assert node1.exec(["test", "-e", secret]).returncode != 0, f"node1 can see {secret}"
    assert subprocess.run(["id", "deploy-probe"], capture_output=True).returncode != 0
    with pytest.raises(FileNotFoundError):
        node2.read_file(marker)
    machine_ids = {node.read_file("/etc/machine-id") for node in test_nodes.nodes()}
    assert len(machine_ids) == 3 and Path("/etc/machine-id").read_text() not in machine_ids


def test_nodes_reach_each_other_but_not_another_set(test_nodes_factory, test_nodes):
    other = test_nodes_factory(1)
    try:
        assert (other.prefix, other.subnet) != (test_nodes.prefix, test_nodes.subnet)
        node1, node2, _ = test_nodes.nodes()
        probe = "timeout 3 bash -c 'exec 3<>/dev/tcp/{}/22'"
        assert node1.exec(probe.format(node2.ip)).returncode == 0
        assert node1.exec(probe.format(other.get(1).ip)).returncode != 0
    finally:
        test_nodes_factory.discard(other)


def test_crash_refuses_connections_and_start_keeps_the_disk(test_nodes):
    node = test_nodes.get(2)
    client = ssh(node, password=node.password)
    run(client, "echo kept > /var/lib/crash-probe && sync")
    old_pid = node.pid()
    node.exec("setsid sleep 600 >/dev/null 2>&1 </dev/null &")   # a command run from the host
    deadline = time.monotonic() + 5
    while "sleep" not in {comm(pid) for pid in node.processes()}:
        assert time.monotonic() < deadline, "the command run with exec is not among the node's processes"
        time.sleep(0.05)
    vip = node.ip.rsplit(".", 1)[0] + ".250"      # as keepalived or IPaddr2 would add one
    node.exec(f"ip addr add {vip}/24 dev eth0")
    before = node.processes()
    test_nodes.crash(2)
    assert node.processes() == [] and not any(comm(pid) for pid in before)
    # The VIP went with the node (no ARP answer for it while it is off); its own address stays.
    left = subprocess.run(["ip", "-n", node.netns, "-4", "-o", "addr", "show", "dev", "eth0"],
                          capture_output=True, text=True, check=True).stdout
    assert f"inet {node.ip}/24" in left and vip not in left, left
    deadline = time.monotonic() + 3
    while client.get_transport().is_active() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not client.get_transport().is_active(), "the open session survived the crash"
    client.close()
    assert node.state() == "stopped"
    started = time.monotonic()
    with pytest.raises(paramiko.ssh_exception.NoValidConnectionsError):
        ssh(node, password=node.password, timeout=3)
    assert time.monotonic() - started < 1.0, "a crashed node must refuse at once, not time out"
    test_nodes.start(2)
    assert node.pid() not in (None, old_pid)
    client = ssh(node, password=node.password)
    try:
        assert run(client, "cat /var/lib/crash-probe") == "kept\n"
        assert run(client, "systemctl is-system-running").strip() == "running"
        # The boot before was cut off: its journal ends without a shutdown.
        assert "Reached target poweroff.target" not in run(client, "journalctl -b -1 -q --no-pager")
    finally:
        client.close()


def test_stop_is_a_clean_poweroff_and_start_boots_again(test_nodes):
    node = test_nodes.get(1)
    node.exec("echo before-stop > /root/stop-probe")
    test_nodes.stop(1)
    assert node.state() == "stopped" and node.processes() == []
    with pytest.raises(paramiko.ssh_exception.NoValidConnectionsError):
        ssh(node, password=node.password, timeout=3)
    with pytest.raises(TestNodesError, match="not running"):
        test_nodes.stop(1)
    test_nodes.start(1)
    client = ssh(node, key_filename=node.key_file)
    try:
        assert run(client, "cat /root/stop-probe") == "before-stop\n"
        last_boot = run(client, "journalctl -b -1 -q --no-pager -o cat")
        assert "Reached target poweroff.target" in last_boot and "Journal stopped" in last_boot
    finally:
        client.close()


def test_a_failed_unit_is_reported_as_degraded(test_nodes):
    node = test_nodes.get(2)
    unit = "[Unit]\nDescription=always fails\n[Service]\nType=oneshot\nExecStart=/bin/false\n" \
           "[Install]\nWantedBy=multi-user.target\n"
    node.exec("cat > /etc/systemd/system/probe-fails.service && systemctl enable -q probe-fails",
              input=unit)
    test_nodes.stop(2)
    test_nodes.start(2)
    assert test_nodes.failed_units == {"node2": ["probe-fails.service"]}
    assert node.exec("systemctl is-system-running").stdout.strip() == "degraded"


def test_link_down_times_out_and_link_up_restores(test_nodes):
    node = test_nodes.get(3)
    test_nodes.link_down(3)
    assert node.state() == "running,link-down"
    started = time.monotonic()
    with pytest.raises((TimeoutError, socket.timeout)):
        ssh(node, password=node.password, timeout=1.5)
    assert time.monotonic() - started >= 1.4
    test_nodes.link_up(3)
    ssh(node, password=node.password).close()


def test_pause_hangs_the_banner_and_resume_recovers(test_nodes):
    node = test_nodes.get(1)
    test_nodes.pause(1)
    try:
        assert node.state() == "paused"
        started = time.monotonic()
        # The kernel completes the handshake; the banner never comes.  (paramiko then
        # reports the failed banner read as "No existing session" at auth time.)
        with pytest.raises(paramiko.SSHException, match="banner|No existing session"):
            ssh(node, password=node.password, timeout=1.5)
        assert time.monotonic() - started >= 1.4
    finally:
        test_nodes.resume(1)
    assert node.state() == "running"
    client = ssh(node, password=node.password)
    try:
        assert run(client, "systemctl is-system-running").strip() == "running"
    finally:
        client.close()


def test_down_leaves_no_netns_link_mount_process_or_state(test_nodes_factory):
    node_set = test_nodes_factory(3)
    pids, netns_names = [], [node.netns for node in node_set.nodes()]
    node_set.pause(3)      # frozen processes must go too
    for node in node_set.nodes():
        listed = ip_lines("netns", "pids", node.netns).split()
        assert listed, f"no processes in {node.netns}"
        pids += [int(pid) for pid in listed] + node.processes()
    assert len(leftovers(node_set)) >= 3 + 3 + 1 + 3 * 3 + 3
    test_nodes_factory.discard(node_set)
    assert leftovers(node_set) == []
    assert [pid for pid in pids if pid_alive(pid)] == []
    for netns in netns_names:
        assert subprocess.run(["ip", "netns", "pids", netns], capture_output=True).returncode != 0
    node_set.down()   # idempotent
    assert not (Registry().root / f"{node_set.prefix}.json").exists()


def test_a_shared_disk_is_one_block_device_in_every_node_and_down_detaches_it(test_nodes_factory):
    """The active/passive topology's SAN disk: written on node1, read on node2 after node1
    crashed, still there when node1 boots again; down detaches the loop device."""
    node_set = test_nodes_factory(2, shared_disk="/dev/vdb", shared_disk_mib=32)
    try:
        node1, node2 = node_set.nodes()
        loop = node_set.shared_disk()["loop"]
        assert loop and loop.startswith("/dev/loop")
        major_minor = lambda node: node.exec("stat -c %t:%T /dev/vdb").stdout.strip()
        assert major_minor(node1) == major_minor(node2) != ""
        # A device node, not a mount point: Pacemaker's Filesystem agent unmounts every mount
        # naming the device at a stop of its group, which took a bind-mounted disk away.
        assert node1.exec("mountpoint -q /dev/vdb").returncode != 0
        assert node1.exec("mkfs.ext4 -q /dev/vdb && mkdir -p /mnt/d && mount /dev/vdb /mnt/d && "
                          "echo written-on-node1 > /mnt/d/f").returncode == 0
        node_set.crash(1)
        read = node2.exec("mkdir -p /mnt/d && mount /dev/vdb /mnt/d && cat /mnt/d/f && umount /mnt/d")
        assert read.stdout == "written-on-node1\n", read.stderr
        node_set.start(1)
        assert major_minor(node1) == major_minor(node2)
        assert node1.exec("mount /dev/vdb /mnt/d && cat /mnt/d/f && umount /mnt/d").stdout == "written-on-node1\n"
    finally:
        test_nodes_factory.discard(node_set)
    attached = subprocess.run(["losetup", "--list", "--noheadings", "--output", "NAME,BACK-FILE"],
                              capture_output=True, text=True).stdout
    assert str(node_set.state_dir) not in attached and leftovers(node_set) == []


def test_failed_up_tears_down_the_half_built_set(tmp_path):
    registry = Registry()
    lease = registry.allocate(STATE_ROOT)
    node_set = lease.node_set()
    try:
        with pytest.raises(TestNodesError, match="not ready within") as failure:
            node_set.up(2, timeout=0)
        assert "node1 (" in str(failure.value) and "last journal lines of node1" in str(failure.value)
        assert leftovers(node_set) == []
    finally:
        node_set.down()
        registry.release(lease)


def test_up_refuses_a_subnet_or_prefix_in_use(test_nodes, tmp_path):
    with pytest.raises(TestNodesError, match="subnet: .* is in use"):
        TestNodes(tmp_path / "a", prefix="xprobe", subnet=test_nodes.subnet).up(1)
    with pytest.raises(TestNodesError, match="prefix: .* is in use"):
        TestNodes(tmp_path / "b", prefix=test_nodes.prefix, subnet="10.251.99").up(1)
    with pytest.raises(TestNodesError, match="holds set"):
        TestNodes(test_nodes.state_dir, prefix="xprobe", subnet=test_nodes.subnet).down()
    assert test_nodes.get(1).state() == "running" and test_nodes.state_dir.exists()
    with pytest.raises(TestNodesError, match="subnet"):
        TestNodes(tmp_path / "c", subnet="10.251.300")
    with pytest.raises(TestNodesError, match="prefix"):
        TestNodes(tmp_path / "d", prefix="much-too-long-prefix")


def test_reaping_removes_sets_of_dead_owners_only(test_nodes):
    registry = Registry()
    owner = subprocess.Popen(["sleep", "600"])
    try:
        lease = registry.allocate(STATE_ROOT, owner_pid=owner.pid)
        orphan = lease.node_set()
        orphan.up(2)
    finally:
        owner.kill()
        owner.wait()
    try:
        assert registry.leases() and lease in registry.leases()
        reaped = registry.reap_dead()
        # A parallel session's reap_dead may have got it first; either way it must be gone.
        assert lease in reaped or lease not in registry.leases()
        assert leftovers(orphan) == []
        assert lease not in registry.leases()
        # The live session's own set is untouched.
        assert all(node.state() == "running" for node in test_nodes.nodes())
    finally:
        orphan.down()
        registry.release(lease)


KILLED_OWNER = """
import sys, time
from pathlib import Path
from deployer.testnodes.registry import Registry
lease = Registry().allocate(Path(sys.argv[1]))
print(lease.prefix, flush=True)
lease.node_set().up(3)
print("up", flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("when", ["booting", "up"])
def test_a_killed_run_is_reaped_without_leftovers(test_nodes, when):
    """SIGKILL of the process that owns a set, while its nodes boot or once they are up."""
    owner = subprocess.Popen([sys.executable, "-c", KILLED_OWNER, str(STATE_ROOT)],
                             stdout=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
    try:
        prefix = owner.stdout.readline().strip()
        assert prefix, "the owner process failed before leasing a set"
        state_dir = STATE_ROOT / prefix
        if when == "up":
            assert owner.stdout.readline().strip() == "up"
        else:
            deadline = time.monotonic() + 30
            while not list(cgroups.units(re.compile(rf"{prefix}-node\d+"))):
                assert time.monotonic() < deadline, "no node started booting"
                time.sleep(0.01)
    finally:
        owner.kill()
        owner.wait()
        owner.stdout.close()
    registry = Registry()
    lease = next(lease for lease in registry.leases() if lease.prefix == prefix)
    orphan = TestNodes(state_dir, prefix=prefix, subnet=lease.subnet)
    try:
        assert leftovers(orphan), "the killed run left nothing to reap"
        registry.reap_dead()
        assert leftovers(orphan) == []
        assert lease not in registry.leases()
        assert all(node.state() == "running" for node in test_nodes.nodes())
    finally:
        orphan.down()
        registry.release(lease)


def test_state_on_overlayfs_moves_to_a_tmpfs(tmp_path):
    lower, upper, work, merged = (tmp_path / d for d in ("lower", "upper", "work", "merged"))
    for d in (lower, upper, work, merged):
        d.mkdir()
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o",
                    f"lowerdir={lower},upperdir={upper},workdir={work}", str(merged)], check=True)
    registry = Registry()
    lease = registry.allocate(merged)
    node_set = lease.node_set()
    try:
        node = node_set.up(1)[0]
        mounts = Path("/proc/self/mountinfo").read_text()
        assert f" {node_set.state_dir} " in mounts and "deployer-testnodes" in mounts
        ssh(node, password=node.password).close()
        node_set.down()
        assert leftovers(node_set) == []
    finally:
        node_set.down()
        registry.release(lease)
        subprocess.run(["umount", str(merged)], check=True)


def test_cli_drives_a_set(tmp_path, capsys):
    registry = Registry()
    lease = registry.allocate(STATE_ROOT)
    common = ["--state-dir", str(lease.state_dir)]
    try:
        assert deployer_main(["testnodes", "up", "2", "--prefix", lease.prefix,
                              "--subnet", lease.subnet, *common]) == 0
        out = capsys.readouterr().out
        node_set = TestNodes.load(lease.state_dir)
        for node in node_set.nodes():
            assert node.ip in out and node.host_key_fingerprint in out and node.password in out
        assert out.count(" running ") >= 2       # the SYSTEMD column: systemctl is-system-running
        assert deployer_main(["testnodes", "crash", *common, "2"]) == 0
        assert deployer_main(["testnodes", "status", *common]) == 3
        assert "stopped" in capsys.readouterr().out
        assert deployer_main(["testnodes", "start", *common, "node2"]) == 0
        assert deployer_main(["testnodes", "status", *common]) == 0
        assert deployer_main(["testnodes", "exec", *common, "2", "sh", "-c", "exit 7"]) == 7
        assert deployer_main(["testnodes", "stop", *common, "1"]) == 0
        assert "node1: stopped" in capsys.readouterr().out
        assert deployer_main(["testnodes", "pause", *common, "9"]) == 2
        assert "no node '9'" in capsys.readouterr().err
        assert deployer_main(["testnodes", "down", *common]) == 0
        assert leftovers(node_set) == []
    finally:
        TestNodes(lease.state_dir, prefix=lease.prefix, subnet=lease.subnet).down()
        registry.release(lease)
