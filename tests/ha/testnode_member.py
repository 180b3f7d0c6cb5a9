"""A shared test node (deployer.testnodes) as a cluster member for the HA scenarios.

Commands run inside the node (``TestNode.exec``), so they see its copy-on-write
root: the package-installed MariaDB datadir and stock configs, plus what we
render.  Daemons run as transient units of the node's own systemd
(``systemd-run``), the way a package's unit runs them on a server, and are
tracked by their main PID inside the node.
"""
from __future__ import annotations

import subprocess
from typing import Sequence

from deployer.testnodes import TestNode
from tests.ha.netlab import LabError
from tests.ha.waiting import wait_until


class TestNodeMember:
    __test__ = False   # not a pytest test class despite the name

    def __init__(self, node: TestNode):
        self.node, self.ip = node, node.ip
        self._pids: dict[str, int] = {}

    def run(self, argv: Sequence[str], timeout: float = 60.0, env: dict | None = None,
            check: bool = True, stdin: str | None = None) -> subprocess.CompletedProcess:
        prefix = ["env", *(f"{k}={v}" for k, v in env.items())] if env else []
        result = self.node.exec([*prefix, *argv], timeout=timeout, input=stdin)
        if check and result.returncode != 0:
            raise LabError(f"{self.node.name}: {argv[0]} exited {result.returncode}: "
                           f"{(result.stderr or result.stdout).strip()[-800:]}")
        return result

    def spawn(self, key: str, argv: Sequence[str], env: dict | None = None) -> int:
        """Start a daemon as unit ha-<key> of the node's systemd; its log is /var/log/ha-<key>.log.

        ``--collect`` unloads the unit once it ends, so a killed daemon can be spawned again.
        """
        unit = f"ha-{key}"
        settings = [f"--property=StandardOutput=append:/var/log/{unit}.log",
                    "--property=StandardError=inherit",
                    *(f"--setenv={k}={v}" for k, v in (env or {}).items())]
        self.run(["systemd-run", "--quiet", "--collect", f"--unit={unit}", *settings, "--", *argv])
        main_pid = self.run(["systemctl", "show", "--property=MainPID", "--value", unit]).stdout
        self._pids[key] = int(main_pid.strip() or 0)
        return self._pids[key]

    def running(self, key: str) -> bool:
        pid = self._pids.get(key)
        if not pid:        # never spawned, or its unit ended before it had a main PID
            return False
        stat = self.node.exec(["cat", f"/proc/{pid}/stat"], timeout=10)
        return stat.returncode == 0 and stat.stdout.rsplit(")", 1)[1].split()[0] != "Z"

    def kill(self, key: str) -> None:
        """kill -9 a daemon (a crash, not a shutdown)."""
        pid = self._pids[key]
        self.node.exec(["kill", "-9", str(pid)], timeout=10)
        wait_until(lambda: not self.running(key), timeout=10, what=f"{key} to die")
        del self._pids[key]

    def write(self, real_path: str, text: str, mode: int = 0o644) -> None:
        self.run(["sh", "-c", 'mkdir -p "$(dirname "$1")" && cat >"$1" && chmod "$2" "$1"',
                  "sh", real_path, f"{mode:o}"], stdin=text)

    def log_tail(self, key: str, lines: int = 30) -> str:
        return self.node.exec(["tail", "-n", str(lines), f"/var/log/ha-{key}.log"]).stdout

    def add_address(self, address: str) -> None:
        """An extra address on eth0 (a VIP placed statically, as keepalived would)."""
        self.run(["ip", "addr", "add", f"{address}/24", "dev", "eth0"])

    def allow_nonlocal_bind(self) -> None:
        """haproxy binds VIPs this node does not hold (the cookbook sets the same sysctl)."""
        self.run(["sysctl", "-qw", "net.ipv4.ip_nonlocal_bind=1"])
