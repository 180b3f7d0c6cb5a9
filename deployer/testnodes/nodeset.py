"""A set of test nodes: build it, describe it, break it on purpose, tear it down.

Naming, for prefix ``tn`` and subnet ``10.251.0``: bridge ``tnbr0`` with
10.251.0.1/24 in the root namespace; node K is netns ``tn-nodeK`` with
10.251.0.(10+K) on its ``eth0``, whose peer is ``tn-vK`` on the bridge; its
machine and cgroup name is also ``tn-nodeK``.  Nodes have no default route,
so they reach only the host and each other.  ``nodes.json`` in the state
directory is written before anything is created, so ``down`` can always find
what a (possibly half-built) set consists of.

Faults: crash = SIGKILL of the node's systemd from the parent PID namespace,
which kills every process of the node at once (its disk, the upper layer, is
kept); stop = SIGRTMIN+4 to its systemd, a clean ``poweroff``; pause/resume =
cgroup freezer; link-down/up = the host-side veth.

Shared disk (``up(..., shared_disk="/dev/vdb")``): one sparse image file in
the state directory, attached to a loop device on the host and made a device
node at that path in every node at boot (rootfs.add_shared_disk says why not
a bind mount), as a SAN LUN all servers see.  Nothing arbitrates
it: whoever mounts it must make sure only one node does (Pacemaker's
Filesystem resource in the active/passive topology).  The nodes share the
host's kernel, so two mounts of it are one superblock and a node's crash
unmounts its file system cleanly: what a real server's power cut does to a
mounted SAN disk is not reproduced.  ``down`` detaches the loop device.
"""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from pathlib import Path

from deployer.testnodes import cgroups, keys, network
from deployer.testnodes.boot import NSPAWN, ensure_inotify_room, launch, wait_booted, write_launcher
from deployer.testnodes.errors import TestNodesError
from deployer.testnodes.image import HostImage
from deployer.testnodes.node import TestNode
from deployer.testnodes.rootfs import add_shared_disk, prepare_root

NODES_FILE = "nodes.json"
LAUNCHER_FILE = "node-launcher.sh"
SSHD = "/usr/sbin/sshd"
POWEROFF = signal.SIGRTMIN + 4     # systemd's "poweroff" signal
MAX_NODES = 244                      # .11 .. .254
PREFIX_RE = re.compile(r"[a-z][a-z0-9]{0,9}")   # "<prefix>-vNNN" must fit in 15 chars
SUBNET_RE = re.compile(r"(\d{1,3})\.(\d{1,3})\.(\d{1,3})")
SHARED_DISK_IMAGE = "shared-disk.img"
SHARED_DISK_PATH_RE = re.compile(r"/dev/[A-Za-z0-9_][A-Za-z0-9_.-]*")


class TestNodes:
    """Test nodes sharing one bridge, one subnet and one state directory."""
    __test__ = False   # not a pytest test class despite the name

    def __init__(self, state_dir: Path, prefix: str = "tn", subnet: str = "10.251.0",
                 password_fmt: str = "{name}-pw"):
        if not PREFIX_RE.fullmatch(prefix):
            raise TestNodesError(f"prefix: expected a lowercase letter then up to 9 lowercase "
                                 f"letters or digits, got {prefix!r}")
        match = SUBNET_RE.fullmatch(subnet)
        if not match or any(int(octet) > 255 for octet in match.groups()):
            raise TestNodesError(f"subnet: expected the first three octets of a /24 such as "
                                 f"10.251.0, got {subnet!r}")
        try:
            password_fmt.format(name="node1", index=1)
        except (KeyError, IndexError, ValueError):
            raise TestNodesError("password_fmt: may only use the fields {name} and {index}") from None
        self.state_dir = Path(state_dir).absolute()
        self.prefix, self.subnet, self.password_fmt = prefix, subnet, password_fmt
        self.bridge = f"{prefix}br0"
        self._shared_disk: str | None = None
        self._launchers: dict[str, subprocess.Popen] = {}
        self.failed_units: dict[str, list[str]] = {}   # degraded nodes of the last boot

    @classmethod
    def load(cls, state_dir: Path) -> "TestNodes":
        """The set recorded in ``state_dir``/nodes.json (prefix and subnet from the file)."""
        data = _read_nodes_file(Path(state_dir))
        if data is None:
            raise TestNodesError(f"state_dir: no test node set in {state_dir} (no {NODES_FILE})")
        return cls(state_dir, prefix=data["prefix"], subnet=data["subnet"])

    # --- description -----------------------------------------------------
    def nodes(self) -> list[TestNode]:
        """The nodes recorded in nodes.json ([] when the set is not up)."""
        data = _read_nodes_file(self.state_dir)
        if data is None:
            return []
        if (data["prefix"], data["subnet"]) != (self.prefix, self.subnet):
            raise TestNodesError(f"state_dir: {self.state_dir} holds set {data['prefix']!r} on "
                                 f"{data['subnet']}.0/24, not {self.prefix!r} on {self.subnet}.0/24")
        return [TestNode.from_dict(entry) for entry in data["nodes"]]

    def get(self, key: int | str) -> TestNode:
        """A node by index (1-based) or by name (``node2``)."""
        for node in self.nodes():
            if str(key) in (str(node.index), node.name):
                return node
        raise TestNodesError(f"node: no node {key!r} in set {self.prefix!r}")

    # --- lifecycle -------------------------------------------------------
    def up(self, count: int, timeout: float | None = None, shared_disk: str | None = None,
           shared_disk_mib: int = 1024) -> list[TestNode]:
        """Create ``count`` nodes, boot them together and wait until each one's systemd
        is running (or degraded: see ``failed_units``) and its sshd answers.

        ``timeout`` defaults to 30 s plus 2 s a node (2 cores boot them all).
        ``shared_disk`` (a path such as /dev/vdb) gives every node the same empty
        block device of ``shared_disk_mib`` MiB at that path (see the module's text).
        """
        if not isinstance(count, int) or not 1 <= count <= MAX_NODES:
            raise TestNodesError(f"count: expected 1..{MAX_NODES}, got {count!r}")
        if shared_disk is not None and not SHARED_DISK_PATH_RE.fullmatch(shared_disk):
            raise TestNodesError(f"shared_disk: expected a device path such as /dev/vdb, got {shared_disk!r}")
        if not isinstance(shared_disk_mib, int) or not 16 <= shared_disk_mib <= 65536:
            raise TestNodesError(f"shared_disk_mib: expected 16..65536, got {shared_disk_mib!r}")
        self._check_free()
        self.state_dir.mkdir(parents=True, exist_ok=True)
        try:
            os.chmod(self.state_dir, 0o700)
            self._ensure_overlay_capable_state_dir()
            self._shared_disk = shared_disk
            self._write_nodes_file([])    # marks the directory as a node set's from the start
            nodes = self._build(count)
            if shared_disk is not None:
                device = os.stat(self._attach_shared_disk(shared_disk_mib)).st_rdev
                for node in nodes:
                    add_shared_disk(node, shared_disk, os.major(device), os.minor(device))
            ensure_inotify_room()
            for node in nodes:
                self._launchers[node.name] = launch(node, self.state_dir / LAUNCHER_FILE)
            self.failed_units = wait_booted(nodes, self._launchers, _boot_timeout(timeout, count))
        except BaseException as exc:
            try:
                self.down()
            except TestNodesError as cleanup:
                exc.add_note(f"tearing the half-built set down also failed: {cleanup}")
            raise
        return nodes

    def down(self) -> None:
        """Kill every process of the set, delete its netns, links and state.

        Idempotent, and safe on a half-built set: what nodes.json lists and
        whatever carries this set's names is removed.
        """
        nodes = self._nodes_for_teardown()
        named = re.compile(rf"{self.prefix}-node\d+")
        netns_names = {n.netns for n in nodes} | set(network.list_netns(named))
        units = {n.unit for n in nodes} | set(cgroups.units(named))
        for launcher in self._launchers.values():
            launcher.kill()     # first: one may not have joined its node's cgroup yet
        for unit in sorted(units):
            self._kill_unit(unit)
        for netns in sorted(netns_names):
            self._kill_all(netns)
        for name in list(self._launchers):
            self._reap(name)    # an unreaped launcher keeps its cgroup busy
        for unit in sorted(units):
            cgroups.remove(unit)
        for netns in sorted(netns_names):
            network.delete_netns(netns)
        links = {n.host_veth for n in nodes} | set(
            network.list_links(re.compile(rf"{self.prefix}-v\d+"))) | {self.bridge}
        for link in sorted(links):
            network.delete_link(link)
        self._detach_shared_disk()
        self._remove_state_dir()

    # --- faults ----------------------------------------------------------
    def crash(self, index: int) -> None:
        """Power cut: SIGKILL the node's systemd; its whole PID namespace dies at once."""
        node = self.get(index)
        pid1 = node.pid()
        if pid1 is None:
            raise TestNodesError(f"{node.name} is not running (state {node.state()})")
        _signal(pid1, signal.SIGKILL)
        if cgroups.is_frozen(node.unit):
            cgroups.set_frozen(node.unit, False)   # a frozen task dies only once thawed
        self._wait_gone(node, timeout=10.0, what="the SIGKILL")
        network.own_address_only(node.netns, node.ip)

    def stop(self, index: int, timeout: float = 60.0) -> None:
        """Clean shutdown: systemd powers the node off; returns once all of it is gone."""
        self.power_off(index)
        self.wait_down(index, timeout)

    def power_off(self, index: int) -> None:
        """Start a clean shutdown and return at once (a failover is measured meanwhile)."""
        node = self.get(index)
        pid1 = node.pid()
        if pid1 is None:
            raise TestNodesError(f"{node.name} is not running (state {node.state()})")
        if cgroups.is_frozen(node.unit):
            cgroups.set_frozen(node.unit, False)
        _signal(pid1, POWEROFF)

    def wait_down(self, index: int, timeout: float = 60.0) -> None:
        """Wait until a node that was powered off has no process left."""
        node = self.get(index)
        self._wait_gone(node, timeout=timeout, what="poweroff")
        network.own_address_only(node.netns, node.ip)

    def start(self, index: int, timeout: float | None = None) -> TestNode:
        """Boot a crashed or stopped node again on the same disk (its upper layer)."""
        node = self.get(index)
        if not network.netns_exists(node.netns):
            raise TestNodesError(f"{node.name} has no network namespace; the set is not up")
        if node.pid() is None:
            self._wait_gone(node, timeout=10.0, what="its last boot")
            network.own_address_only(node.netns, node.ip)
            self._launchers[node.name] = launch(node, self.state_dir / LAUNCHER_FILE)
            failed = wait_booted([node], self._launchers, _boot_timeout(timeout, 1))
            self.failed_units.pop(node.name, None)
            self.failed_units.update(failed)
        return node

    def link_down(self, index: int) -> None:
        """Unplug the node's cable: its host-side veth goes down; packets are dropped silently."""
        network.set_link(self.get(index).host_veth, up=False)

    def link_up(self, index: int) -> None:
        network.set_link(self.get(index).host_veth, up=True)

    def pause(self, index: int) -> None:
        """Hung host: freeze every process of the node (the kernel still accepts TCP)."""
        node = self._running(index)
        cgroups.set_frozen(node.unit, True)

    def resume(self, index: int) -> None:
        node = self._running(index)
        cgroups.set_frozen(node.unit, False)

    # --- shared disk -----------------------------------------------------
    def shared_disk(self) -> dict | None:
        """{"path": in the nodes, "loop": the host's loop device} of the set's shared disk."""
        data = _read_nodes_file(self.state_dir) or {}
        path = data.get("shared_disk")
        if not path:
            return None
        loops = _loops_of(self.state_dir / SHARED_DISK_IMAGE)
        return {"path": path, "loop": loops[0] if loops else None}

    def _attach_shared_disk(self, size_mib: int) -> str:
        """The loop device the new image is attached to."""
        image = self.state_dir / SHARED_DISK_IMAGE
        with open(image, "wb") as handle:
            handle.truncate(size_mib << 20)     # sparse: only what the nodes write takes space
        return subprocess.run(["losetup", "--find", "--show", str(image)], check=True, capture_output=True,
                              text=True, timeout=30).stdout.strip()

    def _detach_shared_disk(self) -> None:
        """Detach every loop device backed by the set's image (after its nodes are gone)."""
        for loop in _loops_of(self.state_dir / SHARED_DISK_IMAGE):
            result = subprocess.run(["losetup", "--detach", loop], capture_output=True, text=True, timeout=30)
            if result.returncode != 0 and loop in _loops_of(self.state_dir / SHARED_DISK_IMAGE):
                raise TestNodesError(f"shared disk: losetup --detach {loop}: {result.stderr.strip()}")

    # --- internals -------------------------------------------------------
    def _check_free(self) -> None:
        if _read_nodes_file(self.state_dir) is not None:
            raise TestNodesError(f"state_dir: a node set is already recorded in {self.state_dir}; "
                                 f"run down first")
        named = re.compile(rf"{self.prefix}-node\d+")
        if network.link_exists(self.bridge) or network.list_netns(named) or cgroups.units(named):
            raise TestNodesError(f"prefix: {self.prefix!r} is in use (bridge {self.bridge}, "
                                 f"netns or cgroup {self.prefix}-node* exists)")
        if self.state_dir.exists() and any(self.state_dir.iterdir()):
            raise TestNodesError(f"state_dir: {self.state_dir} is not empty")
        used = [addr for addr in network.host_addresses() if addr.rsplit(".", 1)[0] == self.subnet]
        if used:
            raise TestNodesError(f"subnet: {self.subnet}.0/24 is in use on this host ({used[0]})")
        for binary, package in ((SSHD, "openssh-server"), (NSPAWN, "systemd-container")):
            if not os.access(binary, os.X_OK):
                raise TestNodesError(f"{binary} is not installed (apt-get install {package})")
        cgroups.check_layout()

    def _ensure_overlay_capable_state_dir(self) -> None:
        """An overlay upper dir cannot live on overlayfs (e.g. /tmp in a container):
        give the state a tmpfs of its own then."""
        if _mount_of(self.state_dir)[1] == "overlay":
            subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=700", "deployer-testnodes",
                            str(self.state_dir)], check=True, capture_output=True, timeout=30)

    def _build(self, count: int) -> list[TestNode]:
        client_ed25519 = self.state_dir / "id_ed25519"
        client_rsa = self.state_dir / "id_rsa"
        authorized = "".join(keys.write_keypair(path, kind) + "\n"
                             for path, kind in ((client_ed25519, "ed25519"), (client_rsa, "rsa")))
        nodes, host_keys = [], []
        for index in range(1, count + 1):
            name = f"node{index}"
            node_dir = self.state_dir / name
            node_dir.mkdir(mode=0o700)
            host_keys.append(keys.generate_keypair("ed25519"))
            nodes.append(TestNode(
                name=name, index=index, ip=f"{self.subnet}.{10 + index}",
                password=self.password_fmt.format(name=name, index=index),
                key_file=str(client_ed25519), rsa_key_file=str(client_rsa),
                host_key_fingerprint=keys.fingerprint(host_keys[-1][1]),
                netns=f"{self.prefix}-{name}", host_veth=f"{self.prefix}-v{index}",
                state_dir=node_dir, upper_dir=node_dir / "upper"))
        self._write_nodes_file(nodes)     # before any netns or link exists: down() finds them all
        write_launcher(self.state_dir / LAUNCHER_FILE)
        image = HostImage.scan(private_paths=[self.state_dir])
        hosts = _hosts_file(self.subnet, nodes)
        root_hashes = keys.sha512_crypt([n.password for n in nodes])
        for node, root_hash, (private, public) in zip(nodes, root_hashes, host_keys):
            prepare_root(node, image, root_hash=root_hash, host_key_private=private,
                         host_key_public=public, authorized_keys=authorized, hosts=hosts)
        network.create_links(self.bridge, self.subnet, [(n.netns, n.host_veth) for n in nodes])
        for node in nodes:
            network.configure_node_link(node.netns, node.ip)
        return nodes

    def _write_nodes_file(self, nodes: list[TestNode]) -> None:
        data = {"prefix": self.prefix, "subnet": self.subnet, "bridge": self.bridge,
                "nodes": [node.to_dict() for node in nodes]}
        if self._shared_disk:
            data["shared_disk"] = self._shared_disk
        path = self.state_dir / NODES_FILE
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)   # it holds passwords
        with os.fdopen(fd, "w") as handle:
            json.dump(data, handle, indent=2)

    def _nodes_for_teardown(self) -> list[TestNode]:
        """The recorded nodes; a set recorded under another prefix raises (not ours to remove)."""
        try:
            return self.nodes()
        except (ValueError, KeyError, TypeError):
            return []   # unreadable nodes.json: find the resources by name only

    def _kill_all(self, netns: str, timeout: float = 10.0) -> None:
        """SIGKILL everything in the netns until nothing is left (else netns del only hides it)."""
        deadline = time.monotonic() + timeout
        while pids := network.netns_pids(netns):
            if time.monotonic() > deadline:
                raise TestNodesError(f"processes {pids} in {netns} survive SIGKILL")
            for pid in pids:
                _signal(pid, signal.SIGKILL)
            time.sleep(0.02)

    def _kill_unit(self, unit: str, timeout: float = 10.0) -> None:
        """SIGKILL every process of a node's cgroup until none is left (thawing it first)."""
        deadline = time.monotonic() + timeout
        while pids := cgroups.pids(unit):
            if time.monotonic() > deadline:
                raise TestNodesError(f"processes {pids} of {unit} survive SIGKILL")
            for pid in pids:
                _signal(pid, signal.SIGKILL)
            if cgroups.is_frozen(unit):
                cgroups.set_frozen(unit, False)
            time.sleep(0.02)

    def _running(self, index: int) -> TestNode:
        node = self.get(index)
        if node.pid() is None:
            raise TestNodesError(f"{node.name} is not running (state {node.state()})")
        return node

    def _wait_gone(self, node: TestNode, timeout: float, what: str) -> None:
        """Wait until no process of the node is left (nspawn included, so its root is unmounted)."""
        deadline = time.monotonic() + timeout
        while pids := node.processes():
            if time.monotonic() > deadline:
                left = "; ".join(f"{pid} {_command_line(pid)}" for pid in pids[:8])
                raise TestNodesError(f"{node.name} still has processes {timeout:.0f} s after {what}: "
                                     f"{left}; last journal lines:\n{node.journal_tail()}")
            time.sleep(0.02)
        self._reap(node.name)

    def _reap(self, name: str) -> None:
        """Collect the exit status of a launcher we started (no zombie left behind)."""
        launcher = self._launchers.pop(name, None)
        if launcher is not None:
            try:
                launcher.wait(timeout=5)
            except subprocess.TimeoutExpired:
                launcher.kill()
                launcher.wait(timeout=5)

    def _remove_state_dir(self) -> None:
        if not self.state_dir.exists():
            return
        ours = (self.state_dir / NODES_FILE).exists() or not any(self.state_dir.iterdir())
        for mount_point in sorted(_mounts_under(self.state_dir), key=len, reverse=True):
            subprocess.run(["umount", mount_point], capture_output=True, timeout=30)
        remaining = _mounts_under(self.state_dir)
        if remaining:
            raise TestNodesError(f"state_dir: mounts remain under {self.state_dir} ({remaining[0]}); "
                                 f"not removing it")
        if not ours:
            raise TestNodesError(f"state_dir: {self.state_dir} holds no {NODES_FILE}; not removing "
                                 f"a directory that is not a test node set")
        result = subprocess.run(["rm", "-rf", "--one-file-system", "--", str(self.state_dir)],
                                capture_output=True, text=True, timeout=120)
        if result.returncode != 0:
            raise TestNodesError(f"rm -rf {self.state_dir} failed: {result.stderr.strip()}")


def _boot_timeout(timeout: float | None, count: int) -> float:
    return 30.0 + 2.0 * count if timeout is None else timeout


def _read_nodes_file(state_dir: Path) -> dict | None:
    try:
        return json.loads((state_dir / NODES_FILE).read_text())
    except FileNotFoundError:
        return None


def _loops_of(image: Path) -> list[str]:
    """The loop devices backed by ``image`` (losetup -j), in order."""
    if not image.exists():
        return []
    result = subprocess.run(["losetup", "--noheadings", "--output", "NAME", "--associated", str(image)],
                            capture_output=True, text=True, timeout=30)
    return result.stdout.split() if result.returncode == 0 else []


def _hosts_file(subnet: str, nodes: list[TestNode]) -> str:
    lines = ["127.0.0.1\tlocalhost", f"{subnet}.1\ttesthost"]
    lines += [f"{node.ip}\t{node.name}" for node in nodes]
    return "\n".join(lines) + "\n"


def _signal(pid: int, sig: signal.Signals) -> None:
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _command_line(pid: int) -> str:
    """What a process runs, for an error naming it ("(gone)" once it has exited)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(
            errors="replace").strip()[:120] or "(kernel thread)"
    except OSError:
        return "(gone)"


def _mountinfo() -> list[tuple[str, str]]:
    """(mount point, filesystem type) of every mount in our mount namespace."""
    mounts = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            before, after = line.split(" - ", 1)
            point = before.split()[4].encode().decode("unicode_escape")   # \040 for spaces
            mounts.append((point, after.split()[0]))
    return mounts


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path).rstrip("/")
    return [point for point, _ in _mountinfo() if point == prefix or point.startswith(prefix + "/")]


def _mount_of(path: Path) -> tuple[str, str]:
    """The mount (point, type) that holds ``path``."""
    resolved = str(path.resolve())
    best = ("/", "")
    for point, fstype in _mountinfo():
        if (resolved == point or resolved.startswith(point.rstrip("/") + "/")) and len(point) >= len(best[0]):
            best = (point, fstype)
    return best
