"""The worker's certification slot: at most one failover certification at a time.

The worker's loop claims a queued certification when a pool thread is free
and runs deployer.certify.engine.certify on it; each fault's row is written
the moment the engine reports it (its own transaction), and the end (the
verdict, or an error) once the engine returns or raises.  Everything written
is redacted with the deployment's secrets first: a reason is a message, never
a traceback, and never holds a password.

The end is retried on the loop's next ticks when the database refuses it, as
a run's outcome is.  A certification has no heartbeat of its own: it lives as
long as its worker does (deployer.certify.service.reap_dead).  At shutdown the
engine is asked to stop (``should_stop``) and the certification ends as
error "worker stopped".
"""
from __future__ import annotations

import dataclasses
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from deployer.certify import service
from deployer.config import Config
from deployer.deployments.secrets import redact_value
from deployer.secrets import Redactor, SecretBox

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class ActiveCertification:
    certification_id: str
    deployment_id: str
    test_nodes: str | None
    secrets: list[str] = dataclasses.field(default_factory=list, repr=False)
    rows: list[dict] = dataclasses.field(default_factory=list)     # as reported, redacted
    abandoned: threading.Event = dataclasses.field(default_factory=threading.Event)

    def redact(self, text: str) -> str:
        return Redactor(self.secrets).scrub(text)


class CertificationSlot:
    def __init__(self, session_factory: sessionmaker[Session], box: SecretBox,
                 cfg: Config | None, worker_id: str):
        self.session_factory = session_factory
        self.box = box
        self.cfg = cfg                  # None: this worker runs no certification
        self.worker_id = worker_id
        self._lock = threading.Lock()
        self._active: ActiveCertification | None = None
        # An end the database has not taken yet: (id, rows, error), retried each tick.
        self._ending: tuple[str, list[dict], str | None] | None = None
        self._recording = False

    def busy(self) -> int:
        """Pool threads the slot occupies (0 or 1)."""
        with self._lock:
            return int(self._active is not None)

    def owned(self) -> set[str]:
        """The certification this worker runs or has yet to record the end of."""
        with self._lock:
            return {c for c in (self._active and self._active.certification_id,
                                self._ending and self._ending[0]) if c}

    # -- loop thread ----------------------------------------------------------------------

    def claim_into(self, pool: ThreadPoolExecutor, stop: threading.Event) -> bool:
        """Claim a queued certification unless one is already this worker's; True when
        one was started.  The caller has checked that a pool thread is free."""
        if self.cfg is None or self.owned():
            return False
        with self.session_factory.begin() as session:
            row = service.claim_next(session, self.worker_id)
            if row is None:
                return False
            active = ActiveCertification(row.id, row.deployment_id,
                                         (row.options or {}).get("test_nodes"))
        with self._lock:
            self._active = active
        LOG.info("certification %s: claimed (deployment %s%s)", active.certification_id,
                 active.deployment_id,
                 f", test nodes {active.test_nodes}" if active.test_nodes else "")
        pool.submit(self._run, active, stop)
        return True

    def record_ending(self) -> bool:
        """Write the end the database has not taken yet; True when none is left."""
        with self._lock:
            if self._ending is None or self._recording:
                return self._ending is None
            certification_id, rows, error = ending = self._ending
            self._recording = True
        try:
            with self.session_factory.begin() as session:
                recorded = service.finish(session, certification_id, self.worker_id,
                                          rows=rows, error=error)
        except SQLAlchemyError as exc:
            LOG.warning("certification %s: end not recorded yet, retrying: %s", certification_id,
                        str(getattr(exc, "orig", None) or exc)[:300])
            return False
        finally:
            with self._lock:
                self._recording = False
        with self._lock:
            if self._ending is ending:
                self._ending = None
        if recorded:
            LOG.info("certification %s: ended%s", certification_id,
                     f" as error: {error}" if error is not None else "")
        else:
            LOG.warning("certification %s: was already ended elsewhere", certification_id)
        return True

    def abandon(self) -> None:
        """Shutdown, and the engine did not stop within the grace: end it here."""
        with self._lock:
            active = self._active
        if active is not None:
            self._end(active, list(active.rows), self._stopped_reason(active))

    # -- pool thread ----------------------------------------------------------------------

    def _run(self, active: ActiveCertification, stop: threading.Event) -> None:
        try:
            from deployer.certify import engine   # its clients load only where it runs
        except Exception as exc:                # noqa: BLE001 - the slot must be freed
            LOG.exception("certification %s: the engine cannot be loaded", active.certification_id)
            self._end(active, [], f"the certification engine cannot be loaded: "
                                  f"{type(exc).__name__}: {exc}")
            return
        returned: list[dict] | None = None
        error: str | None = None
        try:
            with self.session_factory() as session:
                active.secrets = service.secret_texts(session, self.box, active.deployment_id)
            outcomes = engine.certify(
                self.cfg, self.session_factory, self.box, active.deployment_id,
                test_nodes=active.test_nodes,
                on_outcome=lambda outcome: self._on_outcome(active, outcome),
                should_stop=lambda: stop.is_set() or active.abandoned.is_set())
            returned = [self._clean(active, outcome) for outcome in outcomes or []]
        except engine.CertifyError as exc:
            error = active.redact(str(exc)) or "the deployment cannot be certified"
        except Exception as exc:                # noqa: BLE001 - recorded, the worker goes on
            LOG.exception("certification %s: the engine raised", active.certification_id)
            detail = active.redact(str(exc))
            error = (f"the certification engine failed: {type(exc).__name__}"
                     f"{': ' + detail if detail else ''}")
        if stop.is_set():
            error = self._stopped_reason(active)
        rows = returned if returned is not None and len(returned) >= len(active.rows) \
            else list(active.rows)
        self._end(active, rows, error)

    def _on_outcome(self, active: ActiveCertification, outcome: Any) -> None:
        row = self._clean(active, outcome)
        active.rows.append(row)
        LOG.info("certification %s: %s on %s: %s", active.certification_id, row.get("fault"),
                 row.get("node"), "; ".join(row.get("failures") or []) or "ok")
        try:
            with self.session_factory.begin() as session:
                owned = service.append_row(session, active.certification_id, self.worker_id, row)
        except SQLAlchemyError as exc:     # kept in active.rows; the end writes them all
            LOG.warning("certification %s: row not recorded yet: %s", active.certification_id,
                        str(getattr(exc, "orig", None) or exc)[:300])
            return
        if not owned:
            LOG.warning("certification %s: ended elsewhere; asking the engine to stop",
                        active.certification_id)
            active.abandoned.set()

    @staticmethod
    def _clean(active: ActiveCertification, outcome: Any) -> dict:
        row = outcome.to_dict() if hasattr(outcome, "to_dict") else dict(outcome)
        return redact_value(row, active.secrets)

    def _end(self, active: ActiveCertification, rows: list[dict], error: str | None) -> None:
        with self._lock:
            if self._active is not active:
                return                  # already ended (shutdown)
            self._active = None
            self._ending = (active.certification_id, rows, error)
        self.record_ending()

    def _stopped_reason(self, active: ActiveCertification) -> str:
        return (f"worker stopped: {self.worker_id} was shut down during the certification "
                f"({len(active.rows)} faults measured)")
