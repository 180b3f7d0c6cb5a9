"""The worker's RunReporter: every call is persisted at once and counts as a heartbeat."""
from __future__ import annotations

import threading
import time

from sqlalchemy.orm import Session, sessionmaker

from deployer.bootstrap.contract import PHASES
from deployer.runs import service
from deployer.secrets import Redactor

STREAMS = ("stdout", "stderr")


class DbReporter:
    def __init__(self, session_factory: sessionmaker[Session], run_id: str, worker_id: str,
                 *, secrets: list[str], deadline: float):
        self._session_factory = session_factory
        self._run_id = run_id
        self._worker_id = worker_id
        self._redactor = Redactor(secrets)
        self.deadline = deadline            # a time.monotonic() value
        self._seq = 0
        self._lock = threading.Lock()       # the runner may report from several threads
        self.cancel_requested = threading.Event()
        self.current_phase: str | None = None

    def phase(self, name: str) -> None:
        if name not in PHASES:
            raise ValueError(f"unknown phase {name!r}; expected one of {', '.join(PHASES)}")
        with self._session_factory.begin() as session:
            service.record_phase(session, self._run_id, self._worker_id, name)
        self.current_phase = name

    def output(self, stream: str, text: str) -> None:
        if stream not in STREAMS:
            raise ValueError(f"unknown stream {stream!r}; expected stdout or stderr")
        if not text:
            return
        with self._lock:
            self._seq += 1
            with self._session_factory.begin() as session:
                service.append_output(session, self._run_id, self._worker_id, self._seq,
                                      stream, self.redact(text))

    def cancelled(self) -> bool:
        return self.cancel_requested.is_set() or self.timed_out()

    def timed_out(self) -> bool:
        return time.monotonic() > self.deadline

    def redact(self, text: str) -> str:
        """Belt and braces: the runner redacts, but a secret must never reach the DB."""
        return self._redactor.scrub(text)
