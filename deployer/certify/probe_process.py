"""The certification's probes in a process of their own, under the real-time round-robin policy.

Why: inside the worker the probes shared an interpreter with everything else
it does (the clusters' SSH polling, the node runs' threads), at the priority of
the machines they measure, so a stall of the worker was measured as the
cloud's.  Here they are the only busy threads of their interpreter.  Its
priority: at nice -10 the probes were still not scheduled for 7-15 s at a time
while a crashed test controller booted on the same two cores (every path's one
attempt hanging past its timeout at once), and a sleeper at nice -10 beside
them was woken 11.7 s late while one under SCHED_RR priority 1 never more than
50 ms late (README, failover certification): nice acts only inside the
process's session autogroup.  The probes mostly wait on sockets, so SCHED_RR
costs the measured machines nearly nothing, and the kernel's real-time
throttling (95 % of a CPU) bounds a runaway.  Without the privilege (not root)
they fall back to nice -10, and to the default, with a warning.  Every
timestamp is taken in this process on the system-wide monotonic clock, which
the parent's clock is.

The parent (``ProbeProcess``) writes one JSON line, the probes' spec (with the
probe credentials: a pipe, never the command line or the environment), then
later ``stop``.  The child answers with JSON lines: ``started``, one
``attempt`` per probe attempt, ``log`` records, then ``lost`` with the counted
losses; or ``failed`` when the probes could not start.  End of input also stops
the child, so a dying worker leaves no prober behind.
"""
from __future__ import annotations

import json
import logging
import os
import queue
import subprocess
import sys
import threading
import warnings
from typing import IO

from deployer.certify import probes

LOG = logging.getLogger(__name__)
RT_PRIORITY = 1     # the lowest real-time priority: ahead of every normal task, behind the kernel's own
NICE = -10          # the fallback without CAP_SYS_NICE
LOSS_COUNTERS = (("db_writes", "db_write"), ("messages", "messages"))     # loss kind, probe counting it


class ProbeProcessError(Exception):
    """The probes did not start (the message says why)."""


class ProbeProcess:
    """Runs the probes in a child process; ``start`` returns their attempt records, kept current."""

    def __init__(self, spec: dict):
        self.spec = spec
        self.records = {name: probes.Probe(name=name) for name in spec}
        self._started = threading.Event()
        self._finished = threading.Event()
        self._failure = ""
        self._losses: tuple[dict, list[str]] | None = None
        self._process: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def start(self, timeout: float = 90.0) -> dict[str, probes.Probe]:
        self._process = subprocess.Popen(
            [sys.executable, "-m", "deployer.certify.probe_process"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, name="certify-probes-reader", daemon=True)
        self._reader.start()
        self._send(json.dumps(self.spec))
        if not self._started.wait(timeout) or self._failure:
            self.close()
            raise ProbeProcessError(self._failure or f"the probes did not start within {timeout:.0f} s")
        return self.records

    def stop(self, timeout: float = 300.0) -> tuple[dict[str, int | None], list[str]]:
        """Stop the probes and count the losses: (kind -> count or None, why not counted)."""
        self._send("stop")
        self._finished.wait(timeout)
        self.close()
        if self._losses is None:
            return ({kind: None for kind, name in LOSS_COUNTERS if name in self.spec},
                    [f"losses not counted: the probes' process did not report within {timeout:.0f} s"])
        return self._losses

    def close(self) -> None:
        if self._process is None:
            return
        try:
            self._process.stdin.close()
        except OSError:
            pass
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        if self._reader is not None:
            self._reader.join(timeout=10)
        self._process = None

    def _send(self, line: str) -> None:
        try:
            self._process.stdin.write(line + "\n")
            self._process.stdin.flush()
        except (OSError, ValueError):     # the child is gone; its last words were read
            pass

    def _read(self) -> None:
        for line in self._process.stdout:
            try:
                message = json.loads(line)
            except ValueError:
                LOG.warning("certify probes: unexpected output %r", line[:200])
                continue
            if "attempt" in message:
                name, began, ended, error = message["attempt"]
                self.records[name].record(began, ended, error)
            elif "log" in message:
                LOG.log(message["level"], "certify probes: %s", message["log"])
            elif "started" in message:
                self._started.set()
            elif "failed" in message:
                self._failure = message["failed"]
                self._started.set()
            elif "lost" in message:
                self._losses = (message["lost"], message["uncounted"])
        self._started.set()      # the child ended: whoever waits stops waiting
        self._finished.set()


def count_losses(running: dict) -> tuple[dict[str, int | None], list[str]]:
    """LOSSES -> count, None where it could not be counted; and why not."""
    lost: dict[str, int | None] = {}
    uncounted = []
    for kind, name in LOSS_COUNTERS:
        if name not in running:
            continue
        try:
            lost[kind] = running[name].lost()
        except Exception as exc:     # a loss not counted is reported, never taken for 0
            lost[kind] = None
            uncounted.append(f"{kind} not counted: {type(exc).__name__}: {exc}")
    return lost, uncounted


class BuildError(Exception):
    """A probe could not be made: the message names it."""


def build(spec: dict) -> tuple[dict[str, probes.Probe], object | None]:
    """The probes ``spec`` names (not started) and the RPC transport to clean up after them (or None)."""
    def make(name, factory):
        try:
            return factory()
        except Exception as exc:
            raise BuildError(f"{name}: {type(exc).__name__}: {exc}") from exc

    def publisher(options):
        made = probes.ConfirmedPublisher(**options)
        made.declare()      # the queue exists before the first publish
        return made

    transport = None
    if "rpc" in spec:
        _, transport = make("rpc", lambda: probes.messaging_conf(spec["rpc"]["nova_messaging"]))
    factories = {
        "messages": publisher,
        "token": lambda options: probes.TokenProbe(**options),
        "db_write": lambda options: probes.DbWriteProbe(**options),      # connects on its first attempt
        "rpc": lambda options: probes.RpcProbe(transport, options["exchange"]),
    }
    unknown = set(spec) - set(factories)
    if unknown:
        raise BuildError(f"unknown probes: {', '.join(sorted(unknown))}")
    return {name: make(name, lambda: factories[name](spec[name])) for name in factories if name in spec}, transport


class _Lines:
    """JSON lines to stdout from one thread, so no probe ever waits on a full pipe."""

    def __init__(self, stream: IO[str]):
        self._stream, self._queue = stream, queue.SimpleQueue()
        self._thread = threading.Thread(target=self._write, name="certify-probes-writer", daemon=True)
        self._thread.start()

    def send(self, message: dict) -> None:
        self._queue.put(message)

    def attempt(self, name: str, began: float, ended: float, error: str) -> None:
        self.send({"attempt": [name, began, ended, error]})

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _write(self) -> None:
        while (message := self._queue.get()) is not None:
            self._stream.write(json.dumps(message) + "\n")
            self._stream.flush()


class _ToParent(logging.Handler):
    def __init__(self, lines: _Lines):
        super().__init__(logging.WARNING)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.send({"log": self.format(record), "level": record.levelno})


def _raise_priority() -> None:
    try:
        os.sched_setscheduler(0, os.SCHED_RR, os.sched_param(RT_PRIORITY))
        return
    except OSError as exc:
        refused = f"SCHED_RR refused: {exc}"
    try:
        os.setpriority(os.PRIO_PROCESS, 0, NICE)
        LOG.warning("probes at nice %d (%s): a loaded host may delay them", NICE, refused)
    except OSError as exc:
        LOG.warning("probes at the default priority (%s; nice %d refused: %s)", refused, NICE, exc)


def main() -> int:
    warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")   # oslo.messaging's imports
    # the protocol keeps the real stdout; anything a library prints goes to stderr instead
    lines = _Lines(os.fdopen(os.dup(1), "w"))
    os.dup2(2, 1)
    logging.basicConfig(level=logging.WARNING, handlers=[_ToParent(lines)])
    _raise_priority()        # before any thread exists: threads inherit the policy
    spec = json.loads(sys.stdin.readline() or "null")
    if spec is None:
        return 1
    try:
        running, transport = build(spec)
    except Exception as exc:
        lines.send({"failed": str(exc)[:500]})
        lines.close()
        return 1
    for probe in running.values():
        probe.listener = lines.attempt
        probe.start()
    lines.send({"started": list(running)})
    sys.stdin.readline()      # "stop", or the end of input when the parent is gone
    for probe in running.values():
        probe.stop()
    lost, uncounted = count_losses(running)
    lines.send({"lost": lost, "uncounted": uncounted})
    if transport is not None:
        transport.cleanup()
    lines.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
