"""One test node: its description, its private root, its boot, and commands inside it.

A node is a network namespace plus mount, UTS, IPC and PID namespaces whose
PID 1 is its own ``sshd -D``.  Its /etc, /usr and /var are overlayfs mounts
(host directory below, the node's ``upper/<dir>`` above), so whatever a
bootstrap writes stays in the node and is readable on the host under
``upper_dir``.  /opt, /root, /home and /tmp are the node's own empty
directories, /run and /proc are fresh.  Nothing is mounted in the host's mount
namespace: every mount happens inside the node's own.
"""
from __future__ import annotations

import dataclasses
import os
import socket
import stat
import subprocess
import time
import uuid
from pathlib import Path

from deployer.testnodes import network
from deployer.testnodes.errors import TestNodesError

SSHD = "/usr/sbin/sshd"
OVERLAID_DIRS = ("etc", "usr", "var")
PRIVATE_DIRS = ("opt", "root", "home", "tmp")   # the node's own, bound by NODE_INIT
HOST_KEY = "ssh_host_ed25519_key"
NODE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8", "HOME": "/root"}

# The node's init, run by ``unshare`` as PID 1 of the new PID namespace.  The
# node directory is first bound under the fresh /run, so that overlaying /var
# or binding /tmp cannot hide it when the state dir lives below one of those.
NODE_INIT = r"""
#!/bin/sh
# Test node init (deployer.testnodes): PID 1 of the node until it execs sshd.
set -eu
node_dir=$1 host_name=$2 caller_mnt_ns=$3 set_dir=$4
if [ "$$" != 1 ] || [ "$(readlink /proc/self/ns/mnt)" = "$caller_mnt_ns" ]; then
    echo "node init: not PID 1 in a mount namespace of its own; refusing to mount" >&2
    exit 1
fi
echo "$host_name" > /proc/sys/kernel/hostname
mount -t tmpfs -o mode=755 tmpfs /run
mkdir /run/node
mount --bind "$node_dir" /run/node
for d in etc usr var; do
    mount -t overlay overlay -o "lowerdir=/$d,upperdir=/run/node/upper/$d,workdir=/run/node/work/$d" "/$d"
done
for d in opt root home tmp; do
    mount --bind "/run/node/$d" "/$d"
done
umount /run/node
rmdir /run/node
mount -t proc proc /proc
# Hide the set's state (client keys, the other nodes' disks) if the node can see it.
if [ -d "$set_dir" ]; then
    mount -t tmpfs -o size=4k,mode=700 tmpfs "$set_dir"
fi
mkdir -p /run/sshd /run/lock
exec /usr/sbin/sshd -D -e
"""

SSHD_CONFIG = """\
# Test node {name}: written by deployer.testnodes
Port 22
HostKey /etc/ssh/{host_key}
PermitRootLogin yes
PasswordAuthentication yes
PubkeyAuthentication yes
KbdInteractiveAuthentication no
UsePAM no
UseDNS no
PrintMotd no
AcceptEnv LANG LC_*
Subsystem sftp /usr/lib/openssh/sftp-server
"""


@dataclasses.dataclass
class TestNode:
    """How to reach one node, and where its state is on the host.

    ``key_file``/``rsa_key_file`` are strings so they can go straight to
    paramiko's ``key_filename``; ``upper_dir`` is the overlay upper layer, so
    the node's /etc/chef/client.rb is ``upper_dir / "etc/chef/client.rb"``.
    """
    __test__ = False   # not a pytest test class despite the name

    name: str
    index: int
    ip: str
    password: str = dataclasses.field(repr=False)
    key_file: str
    rsa_key_file: str
    host_key_fingerprint: str
    netns: str
    host_veth: str
    state_dir: Path
    upper_dir: Path
    port: int = 22
    username: str = "root"

    def to_dict(self) -> dict:
        data = dataclasses.asdict(self)
        data["state_dir"], data["upper_dir"] = str(self.state_dir), str(self.upper_dir)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TestNode":
        fields = {f.name for f in dataclasses.fields(cls)}
        node = cls(**{k: v for k, v in data.items() if k in fields})
        node.state_dir, node.upper_dir = Path(node.state_dir), Path(node.upper_dir)
        return node

    @property
    def console_log(self) -> Path:
        return self.state_dir / "console.log"

    # --- processes -------------------------------------------------------
    def pid(self) -> int | None:
        """Host PID of the node's PID 1 (its sshd), or None when it is not running."""
        for pid in network.netns_pids(self.netns):
            ns_pids = _status_field(pid, "NSpid").split()
            if len(ns_pids) > 1 and ns_pids[-1] == "1":
                return pid
        return None

    def launcher_pid(self) -> int | None:
        """The ``unshare`` process that holds the node; killing it kills the node."""
        pid1 = self.pid()
        ppid = _status_field(pid1, "PPid") if pid1 else ""
        return int(ppid) if ppid.isdigit() else None

    def state(self) -> str:
        """running, paused, stopped (netns kept, no PID 1) or absent; plus ``,link-down``."""
        if not network.netns_exists(self.netns):
            return "absent"
        pid1 = self.pid()
        if pid1 is None:
            state = "stopped"
        elif _status_field(pid1, "State").startswith("T"):
            state = "paused"
        else:
            state = "running"
        if not network.link_is_up(self.host_veth):
            state += ",link-down"
        return state

    # --- inside the node -------------------------------------------------
    def exec(self, cmd: str | list[str], *, timeout: float | None = 120.0, input: str | None = None,
             capture_output: bool = True) -> subprocess.CompletedProcess:
        """Run ``cmd`` (a shell string or an argv) inside all of the node's namespaces."""
        pid1 = self.pid()
        if pid1 is None:
            raise TestNodesError(f"{self.name} is not running (state {self.state()})")
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        return subprocess.run(
            ["nsenter", f"--target={pid1}", "--mount", "--uts", "--ipc", "--net", "--pid",
             "--root", "--wd", "--", *argv],
            input=input, text=True, capture_output=capture_output, timeout=timeout, env=NODE_ENV)

    def read_file(self, path: str) -> str:
        """Text of ``path`` as the node sees it (through its overlays)."""
        if not path.startswith("/"):
            raise TestNodesError(f"path: expected an absolute path, got {path!r}")
        result = self.exec(["cat", "--", path])
        if result.returncode != 0:
            if "No such file" in result.stderr:
                raise FileNotFoundError(f"{self.name}:{path}")
            raise TestNodesError(f"{self.name}: cat {path} failed: {result.stderr.strip()}")
        return result.stdout


def _status_field(pid: int, field: str) -> str:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


# --- building and booting ----------------------------------------------------

def prepare_root(node: TestNode, *, root_hash: str, host_key_private: bytes, host_key_public: str,
                 authorized_keys: str, hosts: str) -> None:
    """Lay out the node's directories and its identity in the /etc upper layer."""
    for sub in OVERLAID_DIRS:
        for layer in ("upper", "work"):
            _mkdir(node.state_dir / layer / sub, 0o755)
    for sub in PRIVATE_DIRS:
        _mkdir(node.state_dir / sub, 0o1777 if sub == "tmp" else 0o700 if sub == "root" else 0o755)
    ssh_dir = node.state_dir / "root" / ".ssh"
    _mkdir(ssh_dir, 0o700)
    _write(ssh_dir / "authorized_keys", authorized_keys, 0o600)

    etc = node.upper_dir / "etc"
    _write(etc / "hostname", f"{node.name}\n", 0o644)
    _write(etc / "hosts", hosts, 0o644)
    _write(etc / "machine-id", uuid.uuid4().hex + "\n", 0o444)
    _write_shadow(etc / "shadow", root_hash)
    etc_ssh = etc / "ssh"
    _mkdir(etc_ssh, 0o755)
    _write(etc_ssh / "sshd_config", SSHD_CONFIG.format(name=node.name, host_key=HOST_KEY), 0o644)
    (etc_ssh / HOST_KEY).write_bytes(host_key_private)
    os.chmod(etc_ssh / HOST_KEY, 0o600)
    _write(etc_ssh / f"{HOST_KEY}.pub", host_key_public + "\n", 0o644)
    # Hide the host's other host keys: a node must not present (or hold) the host's identity.
    for entry in Path("/etc/ssh").glob("ssh_host_*"):
        if not entry.name.startswith(HOST_KEY):
            os.mknod(etc_ssh / entry.name, stat.S_IFCHR, os.makedev(0, 0))   # overlay whiteout


def write_init(path: Path) -> None:
    """The node init as a file, so process listings show its path rather than its text."""
    _write(path, NODE_INIT.lstrip(), 0o755)


def launch(node: TestNode, init: Path) -> subprocess.Popen:
    """Boot the node with the init script ``init`` (its netns must exist); returns the launcher."""
    caller_mnt_ns = os.readlink("/proc/self/ns/mnt")
    with open(node.console_log, "ab") as console:
        return subprocess.Popen(
            ["ip", "netns", "exec", node.netns,
             "unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--kill-child",
             "--propagation", "slave",
             "/bin/sh", str(init), str(node.state_dir), node.name, caller_mnt_ns,
             str(node.state_dir.parent)],
            stdin=subprocess.DEVNULL, stdout=console, stderr=console, env=NODE_ENV,
            start_new_session=True, close_fds=True)


def wait_ssh(nodes: list[TestNode], launchers: dict[str, subprocess.Popen], timeout: float) -> None:
    """Wait until every node's sshd sends its banner; fail fast when a node dies."""
    pending = {node.name: node for node in nodes}
    deadline = time.monotonic() + timeout
    while pending:
        for name, node in list(pending.items()):
            launcher = launchers.get(name)
            if launcher is not None and launcher.poll() is not None:
                raise TestNodesError(f"{name} exited with status {launcher.returncode} while booting; "
                                     f"console:\n{_tail(node.console_log)}")
            if _ssh_banner(node.ip, node.port):
                del pending[name]
        if not pending:
            return
        if time.monotonic() > deadline:
            names = ", ".join(sorted(pending))
            raise TestNodesError(f"sshd of {names} not ready within {timeout:.0f} s; console of "
                                 f"{min(pending)}:\n{_tail(pending[min(pending)].console_log)}")
        time.sleep(0.02)


def _ssh_banner(ip: str, port: int) -> bool:
    try:
        with socket.create_connection((ip, port), timeout=0.5) as sock:
            return sock.recv(4).startswith(b"SSH-")
    except OSError:
        return False


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no console log)"


def _mkdir(path: Path, mode: int) -> None:
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, mode)


def _write(path: Path, text: str, mode: int) -> None:
    path.write_text(text)
    os.chmod(path, mode)


def _write_shadow(path: Path, root_hash: str) -> None:
    """The host's /etc/shadow with root's password replaced (the host's stays untouched)."""
    host = Path("/etc/shadow")
    lines, found = [], False
    for line in host.read_text().splitlines():
        fields = line.split(":")
        if fields[0] == "root" and len(fields) > 1:
            fields[1], found = root_hash, True
            line = ":".join(fields)
        lines.append(line)
    if not found:
        lines.insert(0, f"root:{root_hash}:19000:0:99999:7:::")
    path.write_text("\n".join(lines) + "\n")
    host_stat = host.stat()
    os.chown(path, host_stat.st_uid, host_stat.st_gid)
    os.chmod(path, stat.S_IMODE(host_stat.st_mode))

