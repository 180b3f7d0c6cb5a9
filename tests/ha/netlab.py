"""A private L2 segment of network namespaces for HA fault tests.

Layout (nothing is added to the root namespace): a switch namespace
``<prefix><pid>-sw`` holds bridge ``br0``; every host is a namespace
``<prefix><pid>-<name>`` whose ``eth0`` is a veth plugged into the bridge.  Each
lab is its own L2 segment, so labs of concurrent runs (distinct PIDs) may use
the same addresses; leftovers of dead runs are removed on the next start.  Daemons
run in a host's namespace *and* in a private mount namespace in which the
host's directories are bind-mounted over the real paths (``/etc/mysql``,
``/var/lib/mysql``, ``/run`` ...), so rendered configs are used unchanged at
the paths the cookbooks write them to.

Test code talks to hosts from threads that entered a namespace with setns(2)
(the network namespace is per thread), so clients measure from inside the lab.
"""
from __future__ import annotations

import ctypes
import os
import re
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Sequence

from deployer.undercloud.process import pid_alive
from tests.ha.waiting import wait_until

_CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


class LabError(Exception):
    """The lab could not be built or a command in it failed."""


def _ip(*args: str) -> None:
    result = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=20)
    if result.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {result.stderr.strip()}")


def enter_netns(netns: str) -> None:
    """Move the calling thread (only) into a network namespace."""
    with open(f"/run/netns/{netns}") as handle:
        if _libc.setns(handle.fileno(), _CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, f"setns({netns}): {os.strerror(err)}")


class NetnsThread(threading.Thread):
    """A daemon thread whose sockets live in ``netns`` (None: this process's own namespace);
    keeps the target's result or error."""

    def __init__(self, netns: str | None, target: Callable, *args, name: str | None = None):
        super().__init__(daemon=True, name=name or f"in-{netns or 'root'}")
        self._netns, self._target, self._args = netns, target, args
        self.result = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            if self._netns is not None:  # None: the namespace this process runs in
                enter_netns(self._netns)
            self.result = self._target(*self._args)
        except BaseException as exc:  # handed to the joining thread
            self.error = exc


def call_in_netns(netns: str | None, fn: Callable, *args, timeout: float = 60.0):
    """Run ``fn(*args)`` in a thread inside ``netns`` and return its result."""
    thread = NetnsThread(netns, fn, *args)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise TimeoutError(f"{getattr(fn, '__name__', fn)} in {netns} took over {timeout:.0f} s")
    if thread.error is not None:
        raise thread.error
    return thread.result


@dataclass
class Host:
    """One namespace on the lab's segment, with private directories for its daemons."""

    lab: "Lab"
    name: str
    ip: str
    netns: str
    root: Path
    private_dirs: tuple[str, ...]
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def path(self, real_path: str) -> Path:
        """Where the host's private copy of ``real_path`` lives (under a private dir)."""
        for private in self.private_dirs:
            if real_path == private or real_path.startswith(private.rstrip("/") + "/"):
                return self.root / private.strip("/") / os.path.relpath(real_path, private)
        raise LabError(f"{real_path} is not inside a private directory of {self.name}")

    def write(self, real_path: str, text: str, mode: int = 0o644) -> Path:
        target = self.path(real_path)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)
        target.chmod(mode)
        return target

    def _wrap(self, argv: Sequence[str]) -> list[str]:
        mounts = "".join(
            f'mount --bind "{self.root / d.strip("/")}" "{d}" && ' for d in self.private_dirs)
        script = f"{mounts}exec \"$@\""
        return ["ip", "netns", "exec", self.netns, "unshare", "--mount", "--propagation", "private",
                "sh", "-c", script, "sh", *argv]

    def run(self, argv: Sequence[str], timeout: float = 60.0, env: dict | None = None,
            check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        """Run a command on the host and wait for it (bounded); secrets go in on ``stdin``."""
        result = subprocess.run(self._wrap(argv), capture_output=True, text=True, timeout=timeout,
                                env=env, input=stdin)
        if check and result.returncode != 0:
            raise LabError(f"{self.name}: {argv[0]} exited {result.returncode}: "
                           f"{(result.stderr or result.stdout).strip()[-800:]}")
        return result

    def spawn(self, key: str, argv: Sequence[str], env: dict | None = None) -> subprocess.Popen:
        """Start a daemon in the foreground of its own session; the Popen PID is the daemon's."""
        log = open(self.root / f"{key}.log", "ab")
        try:
            proc = subprocess.Popen(self._wrap(argv), stdin=subprocess.DEVNULL, stdout=log,
                                    stderr=subprocess.STDOUT, env=env, start_new_session=True)
        finally:
            log.close()
        self.processes[key] = proc
        return proc

    def log_tail(self, key: str, lines: int = 30) -> str:
        try:
            return "\n".join((self.root / f"{key}.log").read_text(errors="replace")
                             .splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def running(self, key: str) -> bool:
        proc = self.processes.get(key)
        return proc is not None and proc.poll() is None

    def send(self, key: str, sig: signal.Signals) -> None:
        os.kill(self.processes[key].pid, sig)

    def kill(self, key: str, wait: float = 10.0) -> None:
        """kill -9 a daemon (a crash, not a shutdown) and reap it."""
        proc = self.processes.pop(key)
        if proc.poll() is None:
            proc.kill()
            proc.wait(wait)

    def add_address(self, address: str) -> None:
        """An extra address on eth0 (a VIP placed statically, as keepalived would)."""
        _ip("-n", self.netns, "addr", "add", f"{address}/24", "dev", "eth0")

    def link(self, up: bool) -> None:
        """Plug or unplug this host's cable at the switch."""
        _ip("-n", self.lab.switch, "link", "set", f"p-{self.name}", "up" if up else "down")


class Lab:
    """Namespaces ``<prefix><pid>-*`` on one bridge; ``close()`` removes every trace."""

    def __init__(self, prefix: str, state_dir: Path):
        if not prefix.isalpha() or len(prefix) > 6:
            raise LabError("prefix: must be letters only, at most 6")
        self.prefix = prefix
        self.tag = f"{prefix}{os.getpid()}"
        self.state_dir = Path(state_dir)
        self.switch = f"{self.tag}-sw"
        self.hosts: dict[str, Host] = {}
        self.remove_leftovers(prefix)
        _ip("netns", "add", self.switch)
        _ip("-n", self.switch, "link", "add", "br0", "type", "bridge", "stp_state", "0",
            "forward_delay", "0")
        _ip("-n", self.switch, "link", "set", "br0", "up")

    def add_host(self, name: str, ip: str, private_dirs: Sequence[str] = (),
                 nonlocal_bind: bool = False) -> Host:
        netns = f"{self.tag}-{name}"
        if len(f"p-{name}") > 15:
            raise LabError(f"host name {name!r}: too long for an interface name")
        _ip("netns", "add", netns)
        self.hosts[name] = host = Host(self, name, ip, netns, self.state_dir / name,
                                       tuple(["/run", *private_dirs]))
        _ip("-n", netns, "link", "add", "eth0", "type", "veth", "peer", "name", f"p-{name}",
            "netns", self.switch)
        _ip("-n", self.switch, "link", "set", f"p-{name}", "master", "br0", "up")
        _ip("-n", netns, "addr", "add", f"{ip}/24", "dev", "eth0")
        _ip("-n", netns, "link", "set", "eth0", "up")
        _ip("-n", netns, "link", "set", "lo", "up")
        if nonlocal_bind:  # haproxy binds the VIP on the backup too
            subprocess.run(["ip", "netns", "exec", netns, "sysctl", "-qw",
                            "net.ipv4.ip_nonlocal_bind=1"], check=True, timeout=10)
        for private in host.private_dirs:
            (host.root / private.strip("/")).mkdir(parents=True, exist_ok=True)
        return host

    def close(self) -> None:
        for host in self.hosts.values():
            for key in list(host.processes):
                host.kill(key)
        self._remove([n for n in _netns_names() if n.startswith(f"{self.tag}-")])

    @classmethod
    def remove_leftovers(cls, prefix: str) -> None:
        """Remove ``<prefix><pid>-*`` namespaces of runs that are gone (or of this process)."""
        stale = []
        for netns in _netns_names():
            match = re.fullmatch(rf"{prefix}(\d+)-.+", netns)
            if match and (int(match[1]) == os.getpid() or not pid_alive(int(match[1]))):
                stale.append(netns)
        cls._remove(stale)

    @staticmethod
    def _remove(names: list[str]) -> None:
        """Kill what runs in these namespaces (all ours) and delete them."""
        for netns in names:
            def pids() -> list[int]:
                out = subprocess.run(["ip", "netns", "pids", netns], capture_output=True,
                                     text=True, timeout=10).stdout
                return [int(p) for p in out.split() if int(p) != os.getpid() and pid_alive(int(p))]
            for pid in pids():
                try:
                    os.kill(pid, signal.SIGCONT)  # a paused process must be able to die
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            wait_until(lambda: not pids(), timeout=15, what=f"processes in {netns} to exit")
            _ip("netns", "del", netns)


def _netns_names() -> list[str]:
    listing = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True,
                             timeout=10).stdout
    return [line.split()[0] for line in listing.splitlines() if line.split()]

