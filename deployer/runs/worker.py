"""The worker process: claims queued runs and executes them on a thread pool.

One loop does the bookkeeping: claim runs while a slot is free, heartbeat the
runs it owns (and pick up cancel requests), enforce each run's timeout, and
periodically fail runs whose worker (another process, or a previous life of
this one) is dead.  Runner threads report through DbReporter, so every phase is
in the DB the moment it happens and output within reporter.FLUSH_SECONDS.  A
free slot may also take a failover certification, one at a time
(certifications.py).

The database may refuse a write for a while (SQLite's write lock held by
another connection past the busy timeout, a PostgreSQL failover): the worker
keeps its runs, retries its registration, heartbeats and outcomes on the next
tick and says so in its log, louder once its heartbeats are older than
[runs] dead_after.  Its runs stay safe meanwhile: it registered which process it
is, and a reaper on this machine asks the kernel (deployer.runs.liveness).
"""
from __future__ import annotations

import dataclasses
import logging
import os
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from deployer.bootstrap.contract import (CANCELLED, FAILED, FINAL_STATES, SUCCEEDED, RunResult,
                                         RunSpec)
from deployer.chef import environment_secrets
from deployer.certify import service as certify_service
from deployer.config import Config, RunSettings
from deployer.runs import liveness, service
from deployer.runs.certifications import CertificationSlot
from deployer.runs.executor import Executor
from deployer.runs.reporter import DbReporter
from deployer.secrets import SecretBox

LOG = logging.getLogger(__name__)


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


@dataclasses.dataclass
class ActiveRun:
    run_id: str
    node_name: str
    timeout: float
    reporter: DbReporter
    interrupted: threading.Event = dataclasses.field(default_factory=threading.Event)


class Worker:
    def __init__(self, session_factory: sessionmaker[Session], box: SecretBox,
                 executor: Executor, *, max_runs: int, timings: RunSettings,
                 worker_id: str | None = None, shutdown_grace: float = 10.0,
                 cfg: Config | None = None):
        """``cfg``: what the certification engine reads; a worker without it runs no
        certification."""
        self.session_factory = session_factory
        self.box = box
        self.executor = executor
        self.max_runs = max_runs
        self.timings = timings
        self.worker_id = worker_id or default_worker_id()
        self.shutdown_grace = shutdown_grace
        self.identity = liveness.this_process()
        self._registered = False
        self._active: dict[str, ActiveRun] = {}
        # Finished runs whose outcome the database has not taken yet (retried each tick).
        self._finishing: dict[str, tuple[ActiveRun, RunResult]] = {}
        self._recording: set[str] = set()       # outcomes being written right now
        self._lock = threading.Lock()
        self._last_beat = time.monotonic()      # the last heartbeat the database took
        self._beat_failing_since: float | None = None
        self.certifications = CertificationSlot(session_factory, box, cfg, self.worker_id)

    def run(self, stop: threading.Event) -> None:
        """Work until ``stop`` is set, then interrupt what is still running."""
        LOG.info("worker %s: up to %d concurrent runs", self.worker_id, self.max_runs)
        pool = ThreadPoolExecutor(self.max_runs, thread_name_prefix="run")
        next_beat = next_reap = 0.0
        try:
            while not stop.is_set():
                now = time.monotonic()
                try:
                    if not self._registered:
                        self._register()
                    self._record_finished()
                    self.certifications.record_ending()
                    self._flush_quiet_runs()
                    if now >= next_beat:
                        self._heartbeat()       # on failure: retried on the next tick
                        self._enforce_timeouts()
                        next_beat = now + self.timings.heartbeat_interval
                    if now >= next_reap:
                        self._reap()
                        next_reap = now + self.timings.reap_interval
                    claimed = self._claim_into(pool) or self._claim_certification(pool, stop)
                except SQLAlchemyError as exc:
                    # The database busy, restarting or failing over is no reason to
                    # drop the runs in flight; retry on the next tick.
                    self._database_error(exc)
                    claimed = False
                if not claimed:
                    stop.wait(min(self.timings.poll_interval, self.timings.heartbeat_interval))
        finally:
            self._shut_down(pool)

    # -- bookkeeping (loop thread) -------------------------------------------------

    def _claim_into(self, pool: ThreadPoolExecutor) -> bool:
        """Claim one queued run if a slot is free; True when one was started."""
        if not self._slot_free():
            return False
        with self.session_factory.begin() as session:
            run = service.claim_next(session, self.worker_id)
            if run is None:
                return False
            spec_json, secret_blob, run_id = run.spec_json, run.secret_blob, run.id
        try:
            spec = RunSpec.from_dict(spec_json)
            if secret_blob is not None:
                spec.target.password = self.box.decrypt(secret_blob)
            with self.session_factory() as session:
                spec.data_bag_secret = environment_secrets.item_secret(session, self.box, spec.environment)
        except Exception as exc:        # a stored spec we cannot use: fail it, keep working
            LOG.error("run %s: cannot load its spec: %s", run_id, exc)
            with self.session_factory.begin() as session:
                service.finish_run(session, run_id, self.worker_id, FAILED, None,
                                   f"the stored run spec cannot be used: {exc}")
            return True
        reporter = DbReporter(self.session_factory, run_id, self.worker_id,
                              secrets=[spec.target.password or "", spec.data_bag_secret or ""],
                              deadline=time.monotonic() + spec.timeout)
        active = ActiveRun(run_id, spec.node_name, spec.timeout, reporter)
        with self._lock:
            self._active[run_id] = active
        LOG.info("run %s: claimed (node %s, action %s)", run_id, spec.node_name, spec.action)
        pool.submit(self._execute, active, spec)
        return True

    def _slot_free(self) -> bool:
        with self._lock:
            runs = len(self._active)
        return runs + self.certifications.busy() < self.max_runs

    def _claim_certification(self, pool: ThreadPoolExecutor, stop: threading.Event) -> bool:
        """Claim a queued certification if a slot is free and none is this worker's."""
        return self._slot_free() and self.certifications.claim_into(pool, stop)

    def _register(self) -> None:
        with self.session_factory.begin() as session:
            service.register_worker(session, self.worker_id, self.identity)
        self._registered = True
        LOG.info("worker %s: registered as pid %d on %s", self.worker_id, self.identity.pid,
                 self.identity.host)

    def _flush_quiet_runs(self) -> None:
        """Store output a run holds back while it prints nothing more (reporter.FLUSH_SECONDS)."""
        with self._lock:
            reporters = [active.reporter for active in self._active.values()]
        for reporter in reporters:
            reporter.flush_if_due()

    def _heartbeat(self) -> None:
        with self._lock:
            run_ids = [*self._active, *self._finishing]
        with self.session_factory.begin() as session:
            cancel_ids = service.heartbeat(session, self.worker_id, run_ids)
        self._last_beat = time.monotonic()
        if self._beat_failing_since is not None:
            LOG.warning("worker %s: heartbeats recorded again after %.1f s of database errors",
                        self.worker_id, self._last_beat - self._beat_failing_since)
            self._beat_failing_since = None
        with self._lock:
            for run_id in cancel_ids:
                if run_id in self._active:
                    self._active[run_id].reporter.cancel_requested.set()

    def _enforce_timeouts(self) -> None:
        """A runner that ignores its timeout is abandoned after a grace period,
        so the run is failed instead of heartbeated forever."""
        with self._lock:
            overdue = [a for a in self._active.values()
                       if a.reporter.timed_out() and time.monotonic()
                       > a.reporter.deadline + self.timings.timeout_grace]
        for active in overdue:
            reason = (f"node {active.node_name}: run exceeded its timeout of "
                      f"{active.timeout:.0f} s in phase {active.reporter.current_phase} "
                      f"and its runner did not stop; the runner was abandoned")
            self._finish(active, RunResult(FAILED, None, reason))
            LOG.warning("run %s: %s", active.run_id, reason)

    def _database_error(self, exc: SQLAlchemyError) -> None:
        """Never silent: what failed, and how old this worker's last heartbeat is."""
        now = time.monotonic()
        if self._beat_failing_since is None:
            self._beat_failing_since = now
        silent = now - self._last_beat
        detail = str(getattr(exc, "orig", None) or exc).splitlines()[0][:300]
        with self._lock:
            owned = len(self._active) + len(self._finishing)
        if silent > self.timings.dead_after:
            LOG.error("worker %s: database error, retrying: %s; no heartbeat recorded for "
                      "%.0f s (dead_after %.0f s) with %d runs: reapers on this machine see "
                      "this process alive, reapers elsewhere may fail its runs",
                      self.worker_id, detail, silent, self.timings.dead_after, owned)
        else:
            LOG.warning("worker %s: database error, retrying: %s (last heartbeat %.1f s ago)",
                        self.worker_id, detail, silent)

    def _reap(self) -> None:
        with self._lock:
            mine = {*self._active, *self._finishing}
        with self.session_factory.begin() as session:
            service.reap_dead_runs(session, self.timings.dead_after,
                                   timeout_grace=self.timings.timeout_grace)
            service.fail_lost_runs(session, self.worker_id, mine, self.timings.dead_after)
            service.prune_workers(session)
            certify_service.reap_dead(session, self.timings.dead_after)
            certify_service.fail_lost(session, self.worker_id, self.certifications.owned())

    def _shut_down(self, pool: ThreadPoolExecutor) -> None:
        with self._lock:
            active = list(self._active.values())
        for run in active:
            run.interrupted.set()
            run.reporter.cancel_requested.set()
        deadline = time.monotonic() + self.shutdown_grace
        while time.monotonic() < deadline:
            with self._lock:
                if not self._active and not self.certifications.busy():
                    break
            try:
                self._heartbeat()
            except SQLAlchemyError as exc:
                self._database_error(exc)
            time.sleep(0.1)
        with self._lock:
            remaining = list(self._active.values())
        for run in remaining:
            self._finish(run, RunResult(FAILED, None, self._interrupted_reason(run)))
        self.certifications.abandon()
        while not self._all_recorded() and time.monotonic() < deadline:
            time.sleep(0.5)
        with self._lock:
            unrecorded = list(self._finishing)
        unrecorded += [f"certification {c}" for c in self.certifications.owned()]
        if unrecorded:
            LOG.error("worker %s: stopping with %d outcomes the database did not take (%s); "
                      "those runs fail as abandoned", self.worker_id, len(unrecorded),
                      ", ".join(unrecorded))
        pool.shutdown(wait=False, cancel_futures=True)
        LOG.info("worker %s: stopped", self.worker_id)

    def _all_recorded(self) -> bool:
        runs = self._record_finished()
        return self.certifications.record_ending() and runs

    # -- one run (pool thread) -----------------------------------------------------

    def _execute(self, active: ActiveRun, spec: RunSpec) -> None:
        try:
            result = self.executor(spec, active.reporter)
        except Exception as exc:
            LOG.exception("run %s: the runner raised", active.run_id)
            result = RunResult(FAILED, None,
                               f"node {active.node_name}: runner error in phase "
                               f"{active.reporter.current_phase}: "
                               f"{active.reporter.redact(str(exc)) or type(exc).__name__}")
        try:
            active.reporter.flush()         # the output is complete before the outcome is recorded
        except SQLAlchemyError as exc:
            LOG.warning("run %s: its last output was not stored: %s", active.run_id, exc)
        self._finish(active, self._final_result(active, result))

    def _final_result(self, active: ActiveRun, result: RunResult) -> RunResult:
        reporter = active.reporter
        if active.interrupted.is_set():
            return RunResult(FAILED, result.exit_code, self._interrupted_reason(active))
        if reporter.timed_out() and result.status != SUCCEEDED:
            return RunResult(FAILED, result.exit_code,
                             f"node {active.node_name}: run exceeded its timeout of "
                             f"{active.timeout:.0f} s in phase {reporter.current_phase}")
        if reporter.cancel_requested.is_set() and result.status != SUCCEEDED:
            return RunResult(CANCELLED, result.exit_code,
                             result.reason or f"cancelled on request in phase "
                                              f"{reporter.current_phase}")
        if result.status not in FINAL_STATES:
            return RunResult(FAILED, result.exit_code,
                             f"runner returned unknown status {result.status!r}")
        return RunResult(result.status, result.exit_code, reporter.redact(result.reason))

    def _interrupted_reason(self, active: ActiveRun) -> str:
        return (f"worker {self.worker_id} was shut down during phase "
                f"{active.reporter.current_phase}; the run was interrupted")

    def _finish(self, active: ActiveRun, result: RunResult) -> None:
        with self._lock:
            if self._active.pop(active.run_id, None) is None:
                return                  # already finished (timeout or shutdown)
            self._finishing[active.run_id] = (active, result)
        LOG.info("run %s: %s%s", active.run_id, result.status,
                 f" ({result.reason})" if result.reason else "")
        self._record_finished()

    def _record_finished(self) -> bool:
        """Write the outcomes the database has not taken yet; True when none is left.

        An outcome the database refuses (busy past its timeout) stays, still
        heartbeated, and the loop retries it on its next tick."""
        while True:
            with self._lock:
                waiting = [run_id for run_id in self._finishing if run_id not in self._recording]
                if not waiting:
                    return not self._finishing
                run_id = waiting[0]
                _, result = self._finishing[run_id]
                self._recording.add(run_id)     # stays in _finishing (heartbeated, owned)
            try:
                with self.session_factory.begin() as session:
                    recorded = service.finish_run(session, run_id, self.worker_id, result.status,
                                                  result.exit_code, result.reason)
            except SQLAlchemyError as exc:
                LOG.warning("run %s: outcome %s not recorded yet, retrying: %s", run_id,
                            result.status, str(getattr(exc, "orig", None) or exc)[:300])
                return False
            finally:
                with self._lock:
                    self._recording.discard(run_id)
            with self._lock:
                self._finishing.pop(run_id, None)
            if not recorded:
                LOG.warning("run %s: was already finished elsewhere; outcome %s not recorded",
                            run_id, result.status)
