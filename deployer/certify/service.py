"""Certifications as the API and the worker keep them: request, claim, rows, verdict.

Each function takes a Session and leaves committing to the caller, like
deployer.runs.service.  The engine (engine.py) runs in the worker; this module
only records what was asked and what came out.  Worker-side writes are
conditional on ``status='running' AND worker_id=<me>``, so a worker that was
declared dead can no longer change a certification someone else ended.

A running certification has no heartbeat of its own: it is alive while its
worker is (deployer.runs.service.worker_alive: the worker row's heartbeat, or
the kernel's word on this machine), so a busy database never fails it.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import os
import uuid
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deployer.chef import names
from deployer.certify.active import refuse_while_certifying
from deployer.db.models import Certification, Deployment, EnvironmentSecrets, Run, utcnow
from deployer.deployments import secrets as deployment_secrets
from deployer.deployments.service import COMPLETE
from deployer.errors import Conflict, NotFound, Unprocessable
from deployer.runs import service as runs_service
from deployer.secrets import SecretBox

LOG = logging.getLogger(__name__)

QUEUED, RUNNING, PASSED, FAILED, ERROR = "queued", "running", "passed", "failed", "error"
STATUSES = (QUEUED, RUNNING, PASSED, FAILED, ERROR)
ACTIVE = (QUEUED, RUNNING)
FINAL = (PASSED, FAILED, ERROR)


def request(session: Session, deployment_id: str, *, confirm: bool,
            test_nodes: str | None = None) -> Certification:
    """Queue a certification of a complete deployment; the caller must confirm, since
    every fault stalls the deployment's services while it lasts."""
    deployment = session.get(Deployment, deployment_id)
    if deployment is None:
        raise NotFound(f"deployment {deployment_id} does not exist", field="id")
    if confirm is not True:
        raise Unprocessable(f"a certification crashes, kills, unplugs and hangs the "
                            f"controllers of {deployment.name} one at a time and its services "
                            f"stall during each fault; send confirm: true to run it",
                            field="confirm")
    options = {"test_nodes": checked_test_nodes(test_nodes)} if test_nodes is not None else {}
    if deployment.state != COMPLETE:
        raise Conflict(f"deployment {deployment.name} is {deployment.state}; only a complete "
                       f"deployment can be certified")
    _check_none_active(session, deployment)
    row = Certification(id=str(uuid.uuid4()), deployment_id=deployment.id,
                        active_deployment_id=deployment.id, status=QUEUED, options=options,
                        rows=[], reason="", requested_at=utcnow())
    session.add(row)
    try:
        session.flush()
    except IntegrityError:          # another request queued one meanwhile
        session.rollback()
        raise Conflict(f"a certification of deployment {deployment_id} is already queued "
                       f"or running") from None
    return row


def checked_test_nodes(path: str) -> str:
    """The test node set's directory, absolute, holding a set TestNodes.load reads."""
    from deployer.testnodes import TestNodes, TestNodesError
    if not isinstance(path, str) or not os.path.isabs(path):
        raise Unprocessable(f"expected the absolute path of a test node set's "
                            f"directory, got {path!r}", field="test_nodes")
    if not os.path.isdir(path):
        raise Unprocessable(f"{path} is not a directory", field="test_nodes")
    try:
        TestNodes.load(path)
    except TestNodesError as error:
        raise Unprocessable(str(error).removeprefix("state_dir: "), field="test_nodes") from None
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise Unprocessable(f"{path} holds no readable test node set: {error}",
                            field="test_nodes") from None
    return os.path.normpath(path)


def _check_none_active(session: Session, deployment: Deployment) -> None:
    refuse_while_certifying(session, deployment, "certify it again")


def get(session: Session, deployment_id: str, certification_id: str) -> Certification:
    row = session.get(Certification, certification_id)
    if row is None or row.deployment_id != deployment_id:
        if session.get(Deployment, deployment_id) is None:
            raise NotFound(f"deployment {deployment_id} does not exist", field="id")
        raise NotFound(f"deployment {deployment_id} has no certification {certification_id}",
                       field="certification_id")
    return row


def list_for(session: Session, deployment_id: str, *, limit: int = 100) -> list[Certification]:
    """The deployment's certifications, newest first."""
    if session.get(Deployment, deployment_id) is None:
        raise NotFound(f"deployment {deployment_id} does not exist", field="id")
    return list(session.scalars(
        select(Certification).where(Certification.deployment_id == deployment_id)
        .order_by(Certification.requested_at.desc(), Certification.id.desc()).limit(limit)))


# -- the worker's side ----------------------------------------------------------------

def claim_next(session: Session, worker_id: str) -> Certification | None:
    """Atomically take the oldest queued certification (as runs.service.claim_next)."""
    candidate = session.scalars(
        select(Certification.id).where(Certification.status == QUEUED)
        .order_by(Certification.requested_at, Certification.id)
        .limit(1).with_for_update(skip_locked=True)).first()
    if candidate is None:
        return None
    won = session.execute(
        update(Certification).where(Certification.id == candidate, Certification.status == QUEUED)
        .values(status=RUNNING, worker_id=worker_id, started_at=utcnow())).rowcount
    return session.get(Certification, candidate, populate_existing=True) if won else None


def append_row(session: Session, certification_id: str, worker_id: str, row: dict) -> bool:
    """Add one fault's outcome; False when this worker no longer owns the certification."""
    stored = session.scalars(select(Certification.rows).where(
        Certification.id == certification_id, Certification.worker_id == worker_id,
        Certification.status == RUNNING)).first()
    if stored is None:
        return False
    return bool(session.execute(
        update(Certification).where(Certification.id == certification_id,
                                    Certification.worker_id == worker_id,
                                    Certification.status == RUNNING)
        .values(rows=[*stored, row])).rowcount)


def verdict(rows: list[dict]) -> tuple[str, str]:
    """(passed, "") when every fault's row passes; (failed, which did not and why) else."""
    if not rows:
        return FAILED, "no fault was measured"
    failing = [row for row in rows if row.get("failures")]
    if not failing:
        return PASSED, ""
    return FAILED, f"{len(failing)} of {len(rows)} faults failed: " + "; ".join(
        f"{row.get('fault')} on {row.get('node')}: {', '.join(map(str, row['failures']))}"
        for row in failing)


def finish(session: Session, certification_id: str, worker_id: str, *,
           rows: list[dict] | None = None, error: str | None = None) -> bool:
    """Record the end: ``error`` (a message, never a traceback) when the engine could
    not finish, else the verdict on ``rows`` (default: the rows stored so far).
    False when the certification was already ended by someone else."""
    if rows is None:
        rows = session.scalars(select(Certification.rows).where(
            Certification.id == certification_id)).first() or []
    status, reason = (ERROR, error) if error is not None else verdict(rows)
    return bool(session.execute(
        update(Certification).where(Certification.id == certification_id,
                                    Certification.worker_id == worker_id,
                                    Certification.status == RUNNING)
        .values(status=status, reason=reason, rows=rows, finished_at=utcnow(),
                active_deployment_id=None)).rowcount)


def reap_dead(session: Session, dead_after: float, *,
              now: dt.datetime | None = None) -> list[str]:
    """End as error the running certifications whose worker is dead."""
    now = now or utcnow()
    cutoff = now - dt.timedelta(seconds=dead_after)
    reaped = []
    alive: dict[str | None, bool] = {}
    for certification_id, worker_id in session.execute(
            select(Certification.id, Certification.worker_id)
            .where(Certification.status == RUNNING)).all():
        if worker_id not in alive:
            alive[worker_id] = runs_service.worker_alive(session, worker_id, cutoff)
        if alive[worker_id]:
            continue
        if _end(session, certification_id, worker_id, now,
                f"worker {worker_id} is dead (no heartbeat for {dead_after:.0f} s and, on "
                f"this machine, no such process); the certification was abandoned"):
            reaped.append(certification_id)
    return reaped


def fail_lost(session: Session, worker_id: str, known: set[str], *,
              now: dt.datetime | None = None) -> list[str]:
    """End as error what the database gives ``worker_id`` (alive) that it no longer runs
    (a worker restarted under the same id)."""
    now = now or utcnow()
    lost = [certification_id for certification_id in session.scalars(
        select(Certification.id).where(Certification.worker_id == worker_id,
                                       Certification.status == RUNNING))
            if certification_id not in known]
    return [certification_id for certification_id in lost
            if _end(session, certification_id, worker_id, now,
                    f"worker {worker_id} no longer runs the certification; it was abandoned")]


def _end(session: Session, certification_id: str, worker_id: str | None, now: dt.datetime,
         reason: str) -> bool:
    ended = session.execute(
        update(Certification).where(Certification.id == certification_id,
                                    Certification.worker_id == worker_id,
                                    Certification.status == RUNNING)
        .values(status=ERROR, reason=reason, finished_at=now,
                active_deployment_id=None)).rowcount
    if ended:
        LOG.warning("certification %s: error: %s", certification_id, reason)
    return bool(ended)


def secret_texts(session: Session, box: SecretBox, deployment_id: str) -> list[str]:
    """Every secret the engine may hold for this deployment (hidden parameters, node run
    passwords, its Chef environments' secrets): what a row or a reason must never show."""
    found: set[str] = set()
    deployment = session.get(Deployment, deployment_id)
    environments: set[str] = set()
    if deployment is not None:
        found.update(deployment_secrets.secret_texts(
            _quietly(lambda: deployment_secrets.unseal(box, deployment.secret_blob)) or {}))
        try:
            environments.add(names.environment_name_from(deployment.name))
        except ValueError:
            pass
    for spec_json, blob in session.execute(select(Run.spec_json, Run.secret_blob)
                                           .where(Run.deployment_id == deployment_id)).all():
        if (spec_json or {}).get("environment"):
            environments.add(spec_json["environment"])
        if blob is not None:
            found.add(_quietly(lambda: box.decrypt(blob)) or "")
    for environment in environments:
        row = session.get(EnvironmentSecrets, environment)
        if row is not None:
            found.update(_strings(_quietly(lambda: json.loads(box.decrypt(row.secret_blob)))))
    return sorted((text for text in found if text), key=len, reverse=True)


def _quietly(read):
    """A stored secret that no longer decrypts cannot leak either."""
    try:
        return read()
    except Exception:               # noqa: BLE001
        return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [text for item in value.values() for text in _strings(item)]
    if isinstance(value, list):
        return [text for item in value for text in _strings(item)]
    return [value] if isinstance(value, str) else []
