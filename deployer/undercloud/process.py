"""Start, watch and stop one background server by PID file.

Every embedded server (Heat, the Chef server, the deployer API and worker) is
a ``ManagedProcess``: started detached in its own session so that a crashed
CLI does not take it down, recorded in a PID file, waited for until a
readiness probe passes, and stopped by PID (SIGTERM, then SIGKILL after a grace
period).  A port that is already taken is reported before anything starts.
Servers run with umask 077: what they write is readable by their owner only.
While a stop is in progress a ``<pid file>.stopping`` marker names the PID
being stopped, so a ``start`` from another command waits for that process to
exit instead of taking it for a running server (it would be gone a moment later).
"""
from __future__ import annotations

import dataclasses
import errno
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Callable, Sequence


# Every file a server writes (databases, keys, logs) is its owner's alone: they hold
# encrypted secrets, client keys and stack data.
PRIVATE_UMASK = 0o077


class ProcessError(Exception):
    """A managed server could not be started or stopped; the message says why."""


def port_in_use(host: str, port: int) -> bool:
    """True when something already listens on host:port (or binding is refused)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            return exc.errno in (errno.EADDRINUSE, errno.EACCES)
    return False


def free_port(host: str = "127.0.0.1") -> int:
    """A port the kernel says is free right now (for tests and ephemeral setups)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def tcp_ready(host: str, port: int) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            return False
    return probe


def http_ready(url: str) -> Callable[[], bool]:
    """A probe that passes once ``url`` answers 200."""
    def probe() -> bool:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                return response.status == 200
        except OSError:
            return False
    return probe


def pid_alive(pid: int) -> bool:
    """Alive and not a zombie (PID 1 here may reap late, and kill -0 is true for zombies)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@dataclasses.dataclass
class ManagedProcess:
    name: str
    argv: Sequence[str]
    pid_file: Path
    log_file: Path
    ready: Callable[[], bool]
    host: str = "127.0.0.1"
    port: int | None = None
    env: dict | None = None
    cwd: Path | None = None
    start_timeout: float = 60.0
    stop_timeout: float = 15.0

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (OSError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def running(self) -> bool:
        return self.pid() is not None

    @property
    def stopping_file(self) -> Path:
        return self.pid_file.with_name(self.pid_file.name + ".stopping")

    def _being_stopped(self, pid: int) -> bool:
        try:
            return int(self.stopping_file.read_text().strip()) == pid
        except (OSError, ValueError):
            return False

    def start(self) -> int:
        existing = self.pid()
        if existing and self._being_stopped(existing):
            self._wait_exit(existing, self.stop_timeout + 10.0)
            existing = None
        if existing:
            return existing
        if self.port is not None and port_in_use(self.host, self.port):
            raise ProcessError(
                f"{self.name}: port {self.host}:{self.port} is already in use by another "
                f"process; stop it or choose another port in the deployer configuration")
        self.pid_file.parent.mkdir(parents=True, exist_ok=True)
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with os.fdopen(os.open(self.log_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600), "ab") as log:
            try:
                proc = subprocess.Popen(
                    list(self.argv), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                    env=self.env, cwd=self.cwd, start_new_session=True, close_fds=True,
                    umask=PRIVATE_UMASK)
            except FileNotFoundError as exc:
                raise ProcessError(f"{self.name}: {exc.filename} is not installed "
                                   f"(run the install script from the README)") from None
        self.pid_file.write_text(f"{proc.pid}\n")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            code = proc.poll()
            if code is not None:
                self.pid_file.unlink(missing_ok=True)
                raise ProcessError(f"{self.name} exited with status {code} during start-up; "
                                   f"last log lines:\n{self.log_tail()}")
            if self.ready():
                return proc.pid
            time.sleep(0.1)
        self.stop()
        raise ProcessError(f"{self.name} did not become ready within {self.start_timeout:.0f} s; "
                           f"last log lines:\n{self.log_tail()}")

    def stop(self) -> bool:
        """Stop by PID; True when a process was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        self.stopping_file.write_text(f"{pid}\n")
        try:
            self._terminate(pid)
        finally:
            _unlink_if_names(self.stopping_file, pid)
        # A start that waited for this stop may already have written its own PID.
        _unlink_if_names(self.pid_file, pid)
        return True

    def _wait_exit(self, pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while pid_alive(pid):
            if time.monotonic() > deadline:
                raise ProcessError(f"{self.name}: process {pid} is still stopping after "
                                   f"{timeout:.0f} s; not starting a second one beside it")
            time.sleep(0.05)

    def _terminate(self, pid: int) -> None:
        for sig, wait in ((signal.SIGTERM, self.stop_timeout), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
            except PermissionError:
                os.kill(pid, sig)
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline and pid_alive(pid):
                try:  # reap it if it is our child
                    os.waitpid(pid, os.WNOHANG)
                except ChildProcessError:
                    pass
                time.sleep(0.05)
            if not pid_alive(pid):
                break

    def log_tail(self, lines: int = 20) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def rss_bytes(self) -> int:
        """Resident memory of the process and its children (0 when not running)."""
        pid = self.pid()
        if pid is None:
            return 0
        total = 0
        for child in [pid, *_descendants(pid)]:
            try:
                with open(f"/proc/{child}/status") as status:
                    for line in status:
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) * 1024
            except OSError:
                pass
        return total


def _unlink_if_names(path: Path, pid: int) -> None:
    try:
        if int(path.read_text().strip()) == pid:
            path.unlink(missing_ok=True)
    except (OSError, ValueError):
        pass


def _descendants(pid: int) -> list[int]:
    children: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as handle:
                for child in handle.read().split():
                    children.append(int(child))
                    children.extend(_descendants(int(child)))
    except OSError:
        pass
    return children
