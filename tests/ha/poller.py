"""A client that polls a TCP/HTTP endpoint at a fixed rate and records every attempt."""
from __future__ import annotations

import socket
import threading
import time
from dataclasses import dataclass, field

from tests.ha.netlab import NetnsThread
from deployer.certify.timeline import outage


@dataclass
class Poll:
    at: float          # time.monotonic() when the attempt started
    ok: bool
    detail: str        # first response line or the error


@dataclass
class PollLog:
    polls: list[Poll] = field(default_factory=list)

    def first_ok_after(self, moment: float) -> Poll | None:
        return next((p for p in self.polls if p.at >= moment and p.ok), None)

    def failures_after(self, moment: float) -> list[Poll]:
        return [p for p in self.polls if p.at >= moment and not p.ok]

    def longest_gap(self, since: float) -> float:
        """Longest time without a successful poll around ``since`` (see timeline.outage)."""
        return outage((p.at for p in self.polls if p.ok), since)

def http_get_once(host: str, port: int, path: str, timeout: float) -> str:
    """One GET over a fresh connection; returns the status line, raises unless 2xx/3xx."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.settimeout(timeout)
        sock.sendall(f"GET {path} HTTP/1.0\r\nHost: {host}\r\n\r\n".encode())
        status = sock.recv(256).split(b"\r\n", 1)[0].decode(errors="replace")
    if not status.startswith(("HTTP/1.0 2", "HTTP/1.1 2", "HTTP/1.0 3", "HTTP/1.1 3")):
        raise ConnectionError(f"bad answer {status!r}")
    return status


class HttpPoller:
    """Polls ``http://host:port/path`` from inside ``netns`` every ``interval`` seconds."""

    def __init__(self, netns: str, host: str, port: int, path: str = "/",
                 interval: float = 0.05, timeout: float = 0.2, max_seconds: float = 300.0):
        self.log = PollLog()
        self._stop = threading.Event()
        self._args = (host, port, path, interval, timeout, max_seconds)
        self._thread = NetnsThread(netns, self._loop, name="http-poller")

    def _loop(self) -> None:
        host, port, path, interval, timeout, max_seconds = self._args
        end = time.monotonic() + max_seconds
        while not self._stop.is_set() and time.monotonic() < end:
            started = time.monotonic()
            try:
                self.log.polls.append(Poll(started, True, http_get_once(host, port, path, timeout)))
            except OSError as exc:
                self.log.polls.append(Poll(started, False, type(exc).__name__))
            self._stop.wait(max(0.0, interval - (time.monotonic() - started)))

    def __enter__(self) -> "HttpPoller":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(5)
