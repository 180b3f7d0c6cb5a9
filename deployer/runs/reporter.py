"""The worker's RunReporter: phases are persisted at once, output at most FLUSH_SECONDS late.

Output arrives in small chunks (a real converge sends 150-250), and one
transaction per chunk cost about 1.7 ms of the under-cloud's CPU each: with
100 nodes converging on a 2-core machine that is CPU the nodes needed.  So
output is held for at most FLUSH_SECONDS and written in one transaction,
adjacent chunks of a stream joined.  The worker flushes what a quiet run
holds back on each tick (``flush_if_due``) and everything when the run ends,
before its outcome is recorded; a phase change flushes first, so output and
phases stay in order.  Every write counts as a heartbeat of the run.
"""
from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from deployer.bootstrap.contract import PHASES
from deployer.runs import service
from deployer.secrets import Redactor

STREAMS = ("stdout", "stderr")
FLUSH_SECONDS = 0.5     # the longest output waits before a watcher can read it


class DbReporter:
    def __init__(self, session_factory: sessionmaker[Session], run_id: str, worker_id: str,
                 *, secrets: list[str], deadline: float):
        self._session_factory = session_factory
        self._run_id = run_id
        self._worker_id = worker_id
        self._redactor = Redactor(secrets)
        self.deadline = deadline            # a time.monotonic() value
        self._seq = 0
        self._pending: list[tuple[str, str]] = []    # (stream, redacted text) not yet written
        self._flushed_at = time.monotonic()
        self._lock = threading.Lock()       # the runner and the worker's loop both write
        self.cancel_requested = threading.Event()
        self.current_phase: str | None = None

    def phase(self, name: str) -> None:
        if name not in PHASES:
            raise ValueError(f"unknown phase {name!r}; expected one of {', '.join(PHASES)}")
        with self._lock:
            self._flush_locked()
            with self._session_factory.begin() as session:
                service.record_phase(session, self._run_id, self._worker_id, name)
        self.current_phase = name

    def output(self, stream: str, text: str) -> None:
        if stream not in STREAMS:
            raise ValueError(f"unknown stream {stream!r}; expected stdout or stderr")
        if not text:
            return
        with self._lock:
            self._pending.append((stream, self.redact(text)))
            if time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
                self._flush_locked()

    def flush(self) -> None:
        """Write all held-back output now (the run ended)."""
        with self._lock:
            self._flush_locked()

    def flush_if_due(self) -> None:
        """Write held-back output that has waited FLUSH_SECONDS (the worker's tick)."""
        with self._lock:
            if self._pending and time.monotonic() - self._flushed_at >= FLUSH_SECONDS:
                self._flush_locked()

    def _flush_locked(self) -> None:
        self._flushed_at = time.monotonic()
        if not self._pending:
            return
        chunks: list[tuple[str, str]] = []
        for stream, text in self._pending:
            if chunks and chunks[-1][0] == stream:
                chunks[-1] = (stream, chunks[-1][1] + text)
            else:
                chunks.append((stream, text))
        with self._session_factory.begin() as session:
            service.append_output(session, self._run_id, self._worker_id,
                                  [(self._seq + i, stream, text)
                                   for i, (stream, text) in enumerate(chunks, start=1)])
        self._seq += len(chunks)      # only once written: a failed write is retried whole
        self._pending.clear()

    def cancelled(self) -> bool:
        return self.cancel_requested.is_set() or self.timed_out()

    def timed_out(self) -> bool:
        return time.monotonic() > self.deadline

    def redact(self, text: str) -> str:
        """Belt and braces: the runner redacts, but a secret must never reach the DB."""
        return self._redactor.scrub(text)
