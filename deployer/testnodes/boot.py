"""Booting nodes: systemd-nspawn runs the host image's systemd as the node's PID 1.

Choice: systemd-nspawn (Debian package systemd-container) rather than our own
namespaces, because it already sets up what systemd as a container's PID 1
needs (/dev with a console, read-only /sys and /proc/sys, the cgroup mounts of
this host's hybrid layout, the container handshake) and tears it down.  Each
node is started as

    unshare --mount --propagation slave  node-launcher.sh ...
      -> joins the node's cgroups (cgroups.py)
      -> private tmpfs on /run/systemd/nspawn (nspawn's lock and propagation
         dirs: nothing of it on the host, even after a SIGKILL)
      -> mounts the overlay: lower = the host's /, upper/work = the node's dirs
      -> exec systemd-nspawn --boot --network-namespace-path=/run/netns/<netns>
         --register=no --keep-unit (the host's PID 1 is not systemd)

so the overlay exists only in the launcher's mount namespace and disappears
with the node's last process: crash, stop and down leave no mount behind.
Slave propagation lets the host's ``ip netns del`` reach the copies of
/run/netns in that namespace, so no namespace of another set is pinned.
The node gets CAP_NET_ADMIN and a writable /proc/sys/net (addresses, VIPs,
network sysctls), as a server's root has.  A set's shared disk (nodeset.py)
is a block device node a unit in the node makes at boot (rootfs.py); nodes join
no devices cgroup, so they may open it.

A node is up when ``systemctl is-system-running --wait`` inside says running
(or degraded: the failed units are reported) and its sshd sends a banner.
Every node's systemd takes inotify instances from root's one budget, so
booting raises the host's fs.inotify limits when they are lower than what
30 and more nodes need (``ensure_inotify_room``).
"""
from __future__ import annotations

import os
import socket
import subprocess
import time
from pathlib import Path

from deployer.testnodes import cgroups
from deployer.testnodes.errors import TestNodesError
from deployer.testnodes.node import NODE_ENV, TestNode, tail

NSPAWN = "/usr/bin/systemd-nspawn"
NODE_LAUNCHER = r"""#!/bin/sh
# Test node launcher (deployer.testnodes): mounts the node's root, then becomes systemd-nspawn.
set -eu
node_dir=$1 machine=$2 host_name=$3 netns=$4 host_mnt_ns=$5
shift 5
if [ "$(readlink /proc/self/ns/mnt)" = "$host_mnt_ns" ]; then
    echo "node launcher: still in the caller's mount namespace; refusing to mount" >&2
    exit 1
fi
for procs in "$@"; do echo $$ > "$procs"; done
mkdir -p /run/systemd/nspawn
mount -t tmpfs -o mode=755,size=1m deployer-testnode /run/systemd/nspawn
mount -t overlay overlay -o "lowerdir=/,upperdir=$node_dir/upper,workdir=$node_dir/work" "$node_dir/root"
# A server's root can set its network sysctls: keep /proc/sys/net writable in the node.
export SYSTEMD_NSPAWN_API_VFS_WRITABLE=network
exec @NSPAWN@ --quiet --boot --directory="$node_dir/root" \
    --machine="$machine" --hostname="$host_name" \
    --network-namespace-path="/run/netns/$netns" --capability=CAP_NET_ADMIN \
    --register=no --keep-unit --link-journal=no --console=read-only
"""
RETRY_INTERVAL = 0.1
# Every node's systemd, journald, logind and dbus take inotify instances from root's one
# per-user budget (128 by default): 30 nodes exhaust it and systemd fails to boot.
# Raised, never lowered, to values common on container hosts.
INOTIFY_FLOORS = {"max_user_instances": 8192, "max_user_watches": 524288}


def ensure_inotify_room() -> None:
    """Raise root's inotify limits (host-wide sysctls) to the floors above if they are lower."""
    for name, floor in INOTIFY_FLOORS.items():
        knob = Path("/proc/sys/fs/inotify", name)
        if int(knob.read_text()) < floor:
            knob.write_text(f"{floor}\n")


def write_launcher(path: Path) -> None:
    """The launcher as a file, so process listings show its path rather than its text."""
    path.write_text(NODE_LAUNCHER.replace("@NSPAWN@", NSPAWN))
    os.chmod(path, 0o755)


def launch(node: TestNode, launcher: Path) -> subprocess.Popen:
    """Boot ``node`` (its netns and cgroups must exist); returns systemd-nspawn's process."""
    cgroups.create(node.unit)
    with open(node.console_log, "ab") as console:
        return subprocess.Popen(
            ["unshare", "--mount", "--propagation", "slave", "/bin/sh", str(launcher),
             str(node.state_dir), node.unit, node.name, node.netns, os.readlink("/proc/self/ns/mnt"),
             *cgroups.procs_files(node.unit)],
            stdin=subprocess.DEVNULL, stdout=console, stderr=console, env=NODE_ENV,
            start_new_session=True, close_fds=True)


class BootWatch:
    """Follows one node through its boot: systemd's verdict, then sshd's banner."""

    def __init__(self, node: TestNode, launcher: subprocess.Popen | None):
        self.node, self.launcher = node, launcher
        self.stage = "waiting for systemd"
        self.failed_units: list[str] = []
        self._probe: subprocess.Popen | None = None
        self._retry_at = 0.0

    def step(self) -> bool:
        """Advance without blocking; True once the node is up."""
        if self.launcher is not None and self.launcher.poll() is not None:
            raise TestNodesError(f"{self.node.name}: systemd-nspawn exited with status "
                                 f"{self.launcher.returncode} while booting; console:\n"
                                 f"{tail(self.node.console_log)}")
        if self.stage == "waiting for sshd":
            if _ssh_banner(self.node.ip, self.node.port):
                self.stage = "up"
            return self.stage == "up"
        if self._probe is None:
            self._start_probe()
        elif self._probe.poll() is not None:
            self._read_probe()
        return False

    def _start_probe(self) -> None:
        if time.monotonic() < self._retry_at:
            return
        try:
            argv = self.node.exec_argv(["systemctl", "is-system-running", "--wait"])
        except TestNodesError:      # PID 1 not there yet
            return
        self._probe = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.DEVNULL, text=True, env=NODE_ENV)

    def _read_probe(self) -> None:
        verdict = self._probe.stdout.read().strip()
        self._probe.stdout.close()
        self._probe = None
        if verdict == "running":
            self.stage = "waiting for sshd"
        elif verdict == "degraded":
            self.failed_units = self._failed_units()
            self.stage = "waiting for sshd"
        else:   # no bus yet (systemd just started), or shutting down: ask again
            self.stage = f"systemd says {verdict or 'nothing yet'}"
            self._retry_at = time.monotonic() + RETRY_INTERVAL

    def _failed_units(self) -> list[str]:
        result = self.node.exec(["systemctl", "list-units", "--failed", "--plain", "--no-legend"],
                                timeout=30)
        return [line.split()[0] for line in result.stdout.splitlines() if line.strip()]

    def close(self) -> None:
        if self._probe is not None:
            self._probe.kill()
            self._probe.wait()
            self._probe.stdout.close()
            self._probe = None


def wait_booted(nodes: list[TestNode], launchers: dict[str, subprocess.Popen],
                timeout: float) -> dict[str, list[str]]:
    """Wait until every node is up; returns the failed units of degraded nodes by node name.

    Fails fast when a node's nspawn exits, and names the nodes and the last
    journal lines when the time is up.
    """
    watches = {node.name: BootWatch(node, launchers.get(node.name)) for node in nodes}
    pending = dict(watches)
    deadline = time.monotonic() + timeout
    try:
        while pending:
            for name, watch in list(pending.items()):
                if watch.step():
                    del pending[name]
            if not pending:
                break
            if time.monotonic() > deadline:
                first = pending[min(pending, key=lambda n: watches[n].node.index)]
                stages = ", ".join(f"{n} ({w.stage})" for n, w in sorted(pending.items()))
                raise TestNodesError(f"not ready within {timeout:.0f} s: {stages}; last journal "
                                     f"lines of {first.node.name}:\n{first.node.journal_tail()}")
            time.sleep(0.02)
    finally:
        for watch in watches.values():
            watch.close()
    return {name: w.failed_units for name, w in watches.items() if w.failed_units}


def _ssh_banner(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5) as sock:
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False
