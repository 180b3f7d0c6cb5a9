"""One test node: how to reach it, where its disk is, and commands inside it.

A node is a systemd-nspawn container (see boot.py) whose PID 1 is systemd,
attached to its own network namespace ``netns``.  Its processes are those of
its freezer cgroup (cgroups.py), named after ``netns``.  ``exec`` enters all
of the container's namespaces with nsenter (the host has no systemd, so no
machinectl) and joins that cgroup, so a crash or pause reaches the command too.
"""
from __future__ import annotations

import dataclasses
import re
import subprocess
from pathlib import Path

from deployer.testnodes import cgroups, network
from deployer.testnodes.errors import TestNodesError

NODE_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8", "HOME": "/root", "TERM": "dumb"}
# Joins the node's freezer group, then enters the container: "$0" is the cgroup.procs file.
ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
JOIN_AND_ENTER = 'echo $$ >"$0" && exec nsenter --target="$1" --all --root --wd -- "${@:2}"'


@dataclasses.dataclass
class TestNode:
    """How to reach one node, and where its state is on the host.

    ``key_file``/``rsa_key_file`` are strings so they can go straight to
    paramiko's ``key_filename``; ``upper_dir`` is the upper layer of the
    node's root overlay, so its /etc/chef/client.rb is
    ``upper_dir / "etc/chef/client.rb"``.
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
    def unit(self) -> str:
        """The node's machine and cgroup name: its netns name, unique across sets."""
        return self.netns

    @property
    def root_mount(self) -> Path:
        """Where the launcher mounts the overlay (in its own mount namespace only)."""
        return self.state_dir / "root"

    @property
    def console_log(self) -> Path:
        return self.state_dir / "console.log"

    # --- processes -------------------------------------------------------
    def processes(self) -> list[int]:
        """Host PIDs of every process of the node, systemd-nspawn included."""
        return cgroups.pids(self.unit)

    def pid(self) -> int | None:
        """Host PID of the node's PID 1 (its systemd), or None when it is not running."""
        for pid in self.processes():
            ns_pids = _status_field(pid, "NSpid").split()
            if len(ns_pids) > 1 and ns_pids[-1] == "1":
                return pid
        return None

    def launcher_pid(self) -> int | None:
        """The systemd-nspawn process that holds the node."""
        pid1 = self.pid()
        ppid = _status_field(pid1, "PPid") if pid1 else ""
        return int(ppid) if ppid.isdigit() else None

    def state(self) -> str:
        """running, paused, stopped (netns kept, no PID 1) or absent; plus ``,link-down``."""
        if not network.netns_exists(self.netns):
            return "absent"
        if self.pid() is None:
            state = "stopped"
        elif cgroups.is_frozen(self.unit):
            state = "paused"
        else:
            state = "running"
        if not network.link_is_up(self.host_veth):
            state += ",link-down"
        return state

    # --- inside the node -------------------------------------------------
    def exec_argv(self, argv: list[str]) -> list[str]:
        """The host command that runs ``argv`` inside the node (raises if it is not running)."""
        pid1 = self.pid()
        if pid1 is None:
            raise TestNodesError(f"{self.name} is not running (state {self.state()})")
        return ["/bin/bash", "-c", JOIN_AND_ENTER, cgroups.freezer_procs_file(self.unit),
                str(pid1), *argv]

    def exec(self, cmd: str | list[str], *, timeout: float | None = 120.0, input: str | None = None,
             capture_output: bool = True) -> subprocess.CompletedProcess:
        """Run ``cmd`` (a shell string or an argv) inside the node, as root."""
        argv = ["/bin/sh", "-c", cmd] if isinstance(cmd, str) else list(cmd)
        return subprocess.run(self.exec_argv(argv), input=input, text=True,
                              capture_output=capture_output, timeout=timeout, env=NODE_ENV)

    def read_file(self, path: str) -> str:
        """Text of ``path`` as the node sees it."""
        if not path.startswith("/"):
            raise TestNodesError(f"path: expected an absolute path, got {path!r}")
        result = self.exec(["cat", "--", path])
        if result.returncode != 0:
            if "No such file" in result.stderr:
                raise FileNotFoundError(f"{self.name}:{path}")
            raise TestNodesError(f"{self.name}: cat {path} failed: {result.stderr.strip()}")
        return result.stdout

    def journal_tail(self, lines: int = 20) -> str:
        """The last journal lines of a running node, else the end of its console log."""
        try:
            result = self.exec(["journalctl", "--no-pager", "-q", "-n", str(lines)], timeout=10)
            if result.returncode == 0 and result.stdout.strip():
                return result.stdout.rstrip()
        except (TestNodesError, subprocess.SubprocessError):
            pass
        return "(console) " + tail(self.console_log, lines)


def tail(path: Path, lines: int = 20) -> str:
    """The last lines of a console log, without the colour codes systemd writes there."""
    try:
        text = ANSI_ESCAPE.sub("", path.read_text(errors="replace"))
    except OSError:
        return "(no console log)"
    return "\n".join(text.splitlines()[-lines:])


def _status_field(pid: int, field: str) -> str:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""
