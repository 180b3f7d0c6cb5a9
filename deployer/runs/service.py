"""Service functions on node runs.  Each takes a Session and leaves committing
to the caller (one request or one worker step = one transaction).

Worker-side writes are conditional on ``status='running' AND worker_id=<me>``:
a worker that was declared dead (or a runner thread that outlived its timeout)
can no longer change a run someone else has already finished.

A run is reaped only when its worker is dead: its heartbeats stopped and, when
the worker runs on this machine, the kernel says that process is gone or
stopped (deployer.runs.liveness); a heartbeat delayed by a busy database never
fails a live worker's run.
"""
from __future__ import annotations

import datetime as dt
import logging
import uuid

from sqlalchemy import Select, delete, select, update
from sqlalchemy.orm import Session, selectinload

from deployer.bootstrap.contract import (CANCELLED, FAILED, FINAL_STATES, QUEUED, RUNNING,
                                         RunSpec)
from deployer.deployments import ownership
from deployer.errors import Conflict, InvalidReference, NotFound
from deployer.db.models import Deployment, Run, RunOutput, RunPhase, Worker, utcnow
from deployer.runs import liveness
from deployer.runs.policy import RunPolicy
from deployer.secrets import SecretBox

LOG = logging.getLogger(__name__)
PHASE_RUNNING = "running"
TAIL_SCAN_CHUNKS = 2000        # bound on chunks read to build a tail
WORKER_ROW_KEPT = dt.timedelta(days=1)  # a silent worker's row, once it owns no running run


def create_run(session: Session, spec: RunSpec, box: SecretBox, policy: RunPolicy, *,
               deployment_id: str | None = None, preview_of: str | None = None) -> Run:
    """Queue a run; the password is encrypted apart from the (redacted) spec.

    ``policy`` (the deployer's configuration) decides the install source (a
    spec without one gets the configured ``[bootstrap]`` source, stored with the
    run so the worker runs what the API accepted) and which key file may be
    read.  ``deployment_id``: the deployment whose node resource asked (its run
    credential); the node name must then be free or that deployment's.  A run
    without one may not take a node name a live deployment holds.  ``preview_of``: a
    why-run plan of that deployment (deployer.whyrun) asks; the node must be its, and the
    run stays no deployment's own, so nothing takes it for a converge of the node.
    """
    spec = policy.apply(spec)
    owner = ownership.holder(session, spec.node_name)
    if preview_of is not None:
        if owner is None or owner.id != preview_of:
            raise Conflict(f"node {spec.node_name} is not deployment {preview_of}'s",
                           field="node_name")
    elif deployment_id is not None and session.get(Deployment, deployment_id) is not None:
        ownership.claim(session, deployment_id, {spec.node_name: "node_name"})
    elif deployment_id is not None:     # its row is not committed yet (or no longer exists)
        ownership.check_free(session, {spec.node_name: "node_name"}, deployment_id)
    elif owner is not None:
        raise Conflict(f"node {spec.node_name} belongs to deployment {owner.name} "
                       f"({owner.id}); its runs come from that deployment's stack",
                       field="node_name")
    password = spec.target.password
    run = Run(id=str(uuid.uuid4()), node_name=spec.node_name, action=spec.action,
              status=QUEUED, spec_json=spec.to_dict(redact=True),
              secret_blob=box.encrypt(password) if password else None,
              reason="", cancel_requested=False, created_at=utcnow(),
              stack_id=spec.stack_id, stack_name=spec.stack_name,
              resource_name=spec.resource_name, deployment_id=deployment_id)
    session.add(run)
    session.flush()
    return run


def get_run(session: Session, run_id: str) -> Run:
    run = session.scalars(_with_phases(select(Run).where(Run.id == run_id))).one_or_none()
    if run is None:
        raise NotFound(f"run {run_id} does not exist")
    return run


def list_runs(session: Session, *, stack_id: str | None = None, status: str | None = None,
              limit: int = 100, marker: str | None = None) -> list[Run]:
    """Newest first; ``marker`` is the id of the last run of the previous page."""
    query = select(Run)
    if stack_id:
        query = query.where(Run.stack_id == stack_id)
    if status:
        query = query.where(Run.status == status)
    if marker:
        last = session.get(Run, marker)
        if last is None:
            raise InvalidReference(f"marker {marker} is not a run id", field="marker")
        query = query.where((Run.created_at < last.created_at)
                            | ((Run.created_at == last.created_at) & (Run.id < last.id)))
    query = query.order_by(Run.created_at.desc(), Run.id.desc()).limit(limit)
    return list(session.scalars(_with_phases(query)))


def cancel_run(session: Session, run_id: str) -> Run:
    """A queued run is cancelled at once; a running one at its runner's next
    safe point.  Cancelling a finished run changes nothing (idempotent)."""
    run = get_run(session, run_id)
    now = utcnow()
    if run.status == QUEUED:
        cancelled = session.execute(
            update(Run).where(Run.id == run_id, Run.status == QUEUED)
            .values(status=CANCELLED, cancel_requested=True, finished_at=now,
                    reason="cancelled before it started")).rowcount
        if cancelled:
            session.refresh(run)
            return run
        session.refresh(run)       # a worker claimed it meanwhile
    if run.status == RUNNING:
        session.execute(update(Run).where(Run.id == run_id).values(cancel_requested=True))
        session.refresh(run)
    return run


def claim_next(session: Session, worker_id: str) -> Run | None:
    """Atomically take the oldest queued run for ``worker_id``.

    PostgreSQL skips rows another worker has locked; on SQLite the
    conditional UPDATE's row count decides who won.
    """
    candidate = session.scalars(
        select(Run.id).where(Run.status == QUEUED).order_by(Run.created_at, Run.id)
        .limit(1).with_for_update(skip_locked=True)).first()
    if candidate is None:
        return None
    now = utcnow()
    won = session.execute(
        update(Run).where(Run.id == candidate, Run.status == QUEUED)
        .values(status=RUNNING, worker_id=worker_id, started_at=now, heartbeat_at=now)).rowcount
    return session.get(Run, candidate, populate_existing=True) if won else None


def record_phase(session: Session, run_id: str, worker_id: str, name: str) -> bool:
    """Close the current phase as succeeded and open ``name``."""
    if not _touch(session, run_id, worker_id, phase=name):
        return False
    now = utcnow()
    session.execute(update(RunPhase)
                    .where(RunPhase.run_id == run_id, RunPhase.status == PHASE_RUNNING)
                    .values(status="succeeded", finished_at=now))
    session.add(RunPhase(run_id=run_id, name=name, status=PHASE_RUNNING, started_at=now))
    session.flush()
    return True


def append_output(session: Session, run_id: str, worker_id: str,
                  chunks: list[tuple[int, str, str]]) -> bool:
    """Store (seq, stream, text) chunks of a run this worker still owns."""
    if not _touch(session, run_id, worker_id):
        return False
    now = utcnow()
    session.add_all([RunOutput(run_id=run_id, seq=seq, stream=stream, text=text, created_at=now)
                     for seq, stream, text in chunks])
    session.flush()
    return True


def register_worker(session: Session, worker_id: str,
                    identity: liveness.ProcessIdentity) -> None:
    """Record which process ``worker_id`` is (a restarted worker reusing an id replaces it)."""
    now = utcnow()
    values = dict(host=identity.host, boot_id=identity.boot_id, pid=identity.pid,
                  start_ticks=identity.start_ticks, started_at=now, heartbeat_at=now)
    if not session.execute(update(Worker).where(Worker.id == worker_id)
                           .values(**values)).rowcount:
        session.add(Worker(id=worker_id, **values))
    session.flush()


def heartbeat(session: Session, worker_id: str, run_ids: list[str]) -> set[str]:
    """Mark the worker and its runs alive; returns the ids whose cancel was requested."""
    now = utcnow()
    session.execute(update(Worker).where(Worker.id == worker_id).values(heartbeat_at=now))
    if not run_ids:
        return set()
    session.execute(update(Run)
                    .where(Run.id.in_(run_ids), Run.worker_id == worker_id, Run.status == RUNNING)
                    .values(heartbeat_at=now))
    return set(session.scalars(select(Run.id).where(Run.id.in_(run_ids),
                                                    Run.cancel_requested.is_(True))))


def prune_workers(session: Session, *, now: dt.datetime | None = None) -> int:
    """Forget workers silent for a day that own no running run."""
    cutoff = (now or utcnow()) - WORKER_ROW_KEPT
    owning = select(Run.worker_id).where(Run.status == RUNNING, Run.worker_id.is_not(None))
    return session.execute(delete(Worker).where(Worker.heartbeat_at < cutoff,
                                                Worker.id.not_in(owning))).rowcount


def finish_run(session: Session, run_id: str, worker_id: str, status: str,
               exit_code: int | None, reason: str) -> bool:
    """Record the outcome; False when the run was already finished by someone else."""
    assert status in FINAL_STATES, status
    now = utcnow()
    done = session.execute(
        update(Run).where(Run.id == run_id, Run.worker_id == worker_id, Run.status == RUNNING)
        .values(status=status, exit_code=exit_code, reason=reason, finished_at=now,
                heartbeat_at=now)).rowcount
    if done:
        _close_open_phase(session, run_id, status, now)
    return bool(done)


def reap_dead_runs(session: Session, dead_after: float, *, timeout_grace: float = 30.0,
                   run_id: str | None = None, now: dt.datetime | None = None) -> list[str]:
    """Fail running runs whose worker is dead.

    A run whose heartbeat is ``dead_after`` seconds old is failed unless its worker is
    alive: its worker row heartbeated since then, or (a worker on this machine) the
    kernel says that very process exists and can run.  A live worker's run is failed
    only once it is overdue (its own timeout, ``timeout_grace`` and ``dead_after``
    past its start), which the worker should have done itself: a hung worker cannot
    keep a run in progress forever.
    """
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=dead_after)
    query = select(Run.id, Run.worker_id, Run.heartbeat_at, Run.started_at, Run.spec_json).where(
        Run.status == RUNNING, Run.heartbeat_at < cutoff)
    if run_id is not None:
        query = query.where(Run.id == run_id)
    reaped = []
    alive: dict[str | None, bool] = {}
    for dead_id, worker_id, last_beat, started_at, spec_json in session.execute(query).all():
        if worker_id not in alive:
            alive[worker_id] = worker_alive(session, worker_id, cutoff)
        if alive[worker_id]:
            limit = float((spec_json or {}).get("timeout") or 0) + timeout_grace + dead_after
            if started_at is None or now < started_at + dt.timedelta(seconds=limit):
                continue
            reason = (f"worker {worker_id} is alive but did not end the run within its "
                      f"timeout; the run was abandoned")
        else:
            reason = (f"worker {worker_id} stopped heartbeating at "
                      f"{last_beat.isoformat(timespec='seconds')}; the run was abandoned")
        failed = session.execute(
            update(Run).where(Run.id == dead_id, Run.status == RUNNING, Run.heartbeat_at < cutoff)
            .values(status=FAILED, reason=reason, finished_at=now)).rowcount
        if failed:
            _close_open_phase(session, dead_id, FAILED, now)
            reaped.append(dead_id)
            LOG.warning("run %s failed: %s", dead_id, reason)
    return reaped


def fail_lost_runs(session: Session, worker_id: str, known: set[str], dead_after: float, *,
                   now: dt.datetime | None = None) -> list[str]:
    """Fail runs the database gives ``worker_id`` that this (live) worker no longer
    executes: the live-worker rule of reap_dead_runs would keep them until overdue."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=dead_after)
    lost = [run_id for run_id in session.scalars(
        select(Run.id).where(Run.worker_id == worker_id, Run.status == RUNNING,
                             Run.heartbeat_at < cutoff)) if run_id not in known]
    reason = f"worker {worker_id} no longer executes the run; the run was abandoned"
    failed = []
    for run_id in lost:
        if session.execute(update(Run).where(Run.id == run_id, Run.status == RUNNING,
                                             Run.heartbeat_at < cutoff)
                           .values(status=FAILED, reason=reason, finished_at=now)).rowcount:
            _close_open_phase(session, run_id, FAILED, now)
            failed.append(run_id)
            LOG.warning("run %s failed: %s", run_id, reason)
    return failed


def worker_alive(session: Session, worker_id: str | None, cutoff: dt.datetime) -> bool:
    """Alive by its own heartbeat, or by the kernel's word when it runs on this machine
    (also what keeps a certification running: deployer.certify.service.reap_dead)."""
    worker = session.get(Worker, worker_id) if worker_id else None
    if worker is None:
        return False            # a worker from before workers were recorded: heartbeats decide
    if worker.heartbeat_at >= cutoff:
        return True
    return bool(liveness.running_here(liveness.ProcessIdentity(
        worker.host, worker.boot_id, worker.pid, worker.start_ticks)))


def output_tail(session: Session, run_id: str, stream: str, lines: int) -> str:
    """The last ``lines`` lines of one stream of a run's output."""
    if lines <= 0:
        return ""
    texts: list[str] = []
    newlines = 0
    for text in session.scalars(select(RunOutput.text)
                                .where(RunOutput.run_id == run_id, RunOutput.stream == stream)
                                .order_by(RunOutput.seq.desc()).limit(TAIL_SCAN_CHUNKS)):
        texts.append(text)
        newlines += text.count("\n")
        if newlines > lines:
            break
    return "\n".join("".join(reversed(texts)).splitlines()[-lines:])


def read_output(session: Session, run_id: str, *, stream: str | None, offset: int,
                limit: int) -> list[RunOutput]:
    """Chunks with seq > offset, oldest first (offset = the last seq already read)."""
    get_run(session, run_id)
    query = select(RunOutput).where(RunOutput.run_id == run_id, RunOutput.seq > offset)
    if stream:
        query = query.where(RunOutput.stream == stream)
    return list(session.scalars(query.order_by(RunOutput.seq).limit(limit)))


def _touch(session: Session, run_id: str, worker_id: str, **values) -> bool:
    """Heartbeat one run (and set ``values``) if this worker still owns it."""
    return bool(session.execute(
        update(Run).where(Run.id == run_id, Run.worker_id == worker_id, Run.status == RUNNING)
        .values(heartbeat_at=utcnow(), **values)).rowcount)


def _close_open_phase(session: Session, run_id: str, status: str, now: dt.datetime) -> None:
    session.execute(update(RunPhase)
                    .where(RunPhase.run_id == run_id, RunPhase.status == PHASE_RUNNING)
                    .values(status=status, finished_at=now))


def _with_phases(query: Select) -> Select:
    return query.options(selectinload(Run.phases))
