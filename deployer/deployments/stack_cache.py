"""Heat's view of each deployment, kept in the deployer's own database.

Reading a deployment never calls Heat: the API serves the deployment row (the
stack status), its snapshot (Heat's node resources with their status, the
resolved outputs, already redacted) and the node runs, which the deployer owns
anyway.  One refresher per in-progress deployment keeps row and snapshot
current: it polls Heat (stack + resource list, two calls) with a back-off from
MIN_INTERVAL to MAX_INTERVAL while nothing changes, resolves the outputs once
the stack is complete and stops when the stack has reached a final state, so a
finished deployment costs no Heat call at all.

"One per deployment" holds across processes: each API process runs a
``Refreshers`` supervisor that scans for deployments needing a refresher and
claims them through a lease on the snapshot row (a conditional UPDATE; the
lease runs out when its process dies, then another process takes over).
The status write is conditional too: a status a request wrote meanwhile (an
update or a delete asked of Heat) is never overwritten with what Heat said
before it.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import threading
import uuid
from typing import Any, Callable

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from deployer.db.models import Deployment, DeploymentSnapshot, utcnow
from deployer.deployments import heat_stacks, secrets, steps
from deployer.deployments.catalog import NODE_TYPE, Catalog
from deployer.errors import HeatFailure, HeatUnavailable, NotFound
from deployer.preflight import registry as vip_registry
from deployer.secrets import SecretBox

LOG = logging.getLogger(__name__)

MIN_INTERVAL = 0.5      # seconds between Heat polls right after a change
MAX_INTERVAL = 3.0      # ... growing by BACKOFF while nothing changes
BACKOFF = 1.5
LEASE_SECONDS = 20.0    # a claim outlives its refresher's process by at most this
SCAN_INTERVAL = 1.0     # how often each API process looks for unclaimed work

IN_PROGRESS, COMPLETE, DELETED = "in_progress", "complete", "deleted"


def state_of(stack_status: str | None) -> str:
    from deployer.deployments.service import state_of as service_state_of
    return service_state_of(stack_status)


# -- reading Heat ---------------------------------------------------------------------

def template_steps(catalog: Catalog, row: Deployment) -> list[steps.StepNode]:
    """The steps of a deployment's template with its (non-secret) values."""
    try:
        source = catalog.template(row.template)
        env_files, environment = catalog.environments(list(row.heat_environments or []))
        return steps.of_template(source.body, {**source.files, **env_files}, environment,
                                 dict(row.parameters or {}))
    except (NotFound, steps.StepsError) as error:
        LOG.warning("deployment %s: no steps for template %s: %s", row.name, row.template, error)
        return []


def node_entries(listed: list[dict], stack_id: str,
                 template_steps: list[steps.StepNode]) -> list[dict]:
    """Heat's IBM::SCO::Node resources (nested stacks included) with their path, order
    and step."""
    by_definition = {node.resource: node for node in template_steps}
    by_physical_id = {r["physical_resource_id"]: r for r in listed if r.get("physical_resource_id")}

    def path(resource: dict) -> str:
        parts, owner, seen = [resource["resource_name"]], heat_stacks.stack_id_of(resource), set()
        while owner and owner != stack_id and owner in by_physical_id and owner not in seen:
            seen.add(owner)
            parent = by_physical_id[owner]
            parts.insert(0, parent["resource_name"])
            owner = heat_stacks.stack_id_of(parent)
        return "/".join(parts)

    entries = []
    for resource in listed:
        if resource.get("resource_type") != NODE_TYPE:
            continue
        resource_path = path(resource)
        static = by_definition.get(steps.definition_path(resource_path))
        entries.append({
            "resource": resource_path, "resource_name": resource["resource_name"],
            "stack_id": heat_stacks.stack_id_of(resource),
            "resource_status": resource.get("resource_status"),
            "physical_resource_id": resource.get("physical_resource_id") or None,
            "order": static.order if static else None,
            "step": static.step if static else None,
        })
    return sorted(entries, key=lambda e: e["resource"])


# -- one refresh ----------------------------------------------------------------------

class Refresher:
    """Refreshes deployments from Heat; ``heat`` is a heatclient, ``box`` opens the
    deployment's hidden values (for redacting what Heat echoes)."""

    def __init__(self, session_factory: sessionmaker[Session], heat: Any, box: SecretBox,
                 catalog: Catalog, owner: str):
        self.session_factory = session_factory
        self.heat = heat
        self.box = box
        self.catalog = catalog
        self.owner = owner

    def refresh(self, deployment_id: str) -> tuple[bool, bool]:
        """One Heat read of ``deployment_id``: (something changed, no more to do).
        Raises HeatUnavailable / HeatFailure when Heat does not answer."""
        with self.session_factory() as session:
            row = session.get(Deployment, deployment_id)
            if row is None or row.state == DELETED:
                return False, True
            read_status, read_updated = row.stack_status, row.updated_at
            secret_texts = secrets.secret_texts(secrets.unseal(self.box, row.secret_blob))
            stack = heat_stacks.get(self.heat, row.stack_id, resolve_outputs=False)
            if stack is None:
                status, reason = "DELETE_COMPLETE", "the stack no longer exists in Heat"
            else:
                status = stack["stack_status"]
                reason = secrets.redact_text(stack.get("stack_status_reason") or "",
                                             secret_texts)
            state = state_of(status)
            nodes: list[dict] = []
            outputs: dict = {}
            if state != DELETED:
                nodes = node_entries(heat_stacks.resources(self.heat, row.stack_id),
                                     row.stack_id, template_steps(self.catalog, row))
                if state == COMPLETE:
                    resolved = heat_stacks.get(self.heat, row.stack_id,
                                               resolve_outputs=True) or {}
                    outputs = secrets.redact_value(
                        {output["output_key"]: output.get("output_value")
                         for output in resolved.get("outputs") or ()}, secret_texts)
            now = utcnow()
            changed = False
            if (row.stack_status, row.status_reason, row.state) != (status, reason, state):
                values: dict[str, Any] = {"stack_status": status, "status_reason": reason,
                                          "state": state, "updated_at": now}
                if state == DELETED and row.deleted_at is None:
                    values.update(deleted_at=now, active_name=None)
                written = session.execute(
                    update(Deployment)
                    .where(Deployment.id == deployment_id, Deployment.stack_status == read_status,
                           Deployment.updated_at == read_updated)
                    .values(**values).execution_options(synchronize_session=False))
                if written.rowcount != 1:
                    # A request changed the status meanwhile (update, delete): read again.
                    session.rollback()
                    return True, False
                changed = True
                if state == DELETED:
                    vip_registry.release_id(session, deployment_id)   # its VIPs are free
            snapshot = session.get(DeploymentSnapshot, deployment_id)
            if snapshot is None:
                snapshot = DeploymentSnapshot(deployment_id=deployment_id, version=0)
                session.add(snapshot)
            elif snapshot.lease_owner not in (None, self.owner):
                session.rollback()          # another process has taken over
                return False, True
            if (snapshot.stack_status, snapshot.nodes, snapshot.outputs) != (status, nodes,
                                                                              outputs):
                snapshot.stack_status, snapshot.nodes, snapshot.outputs = status, nodes, outputs
                snapshot.version = (snapshot.version or 0) + 1
                changed = True
            final = state != IN_PROGRESS
            if changed or final or _lease_short(snapshot.lease_until, now):
                snapshot.refreshed_at = now
                if final:
                    snapshot.lease_owner, snapshot.lease_until = None, None
                else:
                    snapshot.lease_owner = self.owner
                    snapshot.lease_until = now + dt.timedelta(seconds=LEASE_SECONDS)
                try:
                    session.commit()
                except IntegrityError:      # another process made the snapshot first
                    session.rollback()
                    return False, True
            return changed, final


def _lease_short(until: dt.datetime | None, now: dt.datetime) -> bool:
    return until is None or (until - now).total_seconds() < LEASE_SECONDS / 2


# -- claiming work --------------------------------------------------------------------

def needing_refresh(session: Session, now: dt.datetime) -> list[str]:
    """Deployments whose snapshot is missing, stale (the row's status changed since)
    or in progress, and that nobody holds a lease on."""
    query = (select(Deployment.id)
             .outerjoin(DeploymentSnapshot, DeploymentSnapshot.deployment_id == Deployment.id)
             .where(Deployment.state != DELETED, Deployment.stack_id.is_not(None))
             .where(or_(DeploymentSnapshot.deployment_id.is_(None),
                        DeploymentSnapshot.stack_status != Deployment.stack_status,
                        Deployment.state == IN_PROGRESS))
             .where(or_(DeploymentSnapshot.lease_until.is_(None),
                        DeploymentSnapshot.lease_until < now)))
    return list(session.scalars(query))


def claim(session: Session, deployment_id: str, owner: str, now: dt.datetime) -> bool:
    """Take the lease on ``deployment_id``'s snapshot (made empty when missing)."""
    until = now + dt.timedelta(seconds=LEASE_SECONDS)
    taken = session.execute(
        update(DeploymentSnapshot)
        .where(DeploymentSnapshot.deployment_id == deployment_id,
               or_(DeploymentSnapshot.lease_until.is_(None),
                   DeploymentSnapshot.lease_until < now))
        .values(lease_owner=owner, lease_until=until)
        .execution_options(synchronize_session=False)).rowcount == 1
    if not taken and session.get(DeploymentSnapshot, deployment_id) is None:
        session.add(DeploymentSnapshot(deployment_id=deployment_id, stack_status="", nodes=[],
                                       outputs={}, version=0, lease_owner=owner,
                                       lease_until=until))
        taken = True
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        return False
    return taken


def release(session_factory: sessionmaker[Session], deployment_id: str, owner: str) -> None:
    with session_factory() as session:
        session.execute(update(DeploymentSnapshot)
                        .where(DeploymentSnapshot.deployment_id == deployment_id,
                               DeploymentSnapshot.lease_owner == owner)
                        .values(lease_owner=None, lease_until=None)
                        .execution_options(synchronize_session=False))
        session.commit()


class Refreshers:
    """One process's share of the refreshers: a scanning thread that claims
    deployments and one thread per claimed deployment polling Heat with back-off."""

    def __init__(self, session_factory: sessionmaker[Session], heat_factory: Callable[[], Any],
                 box: SecretBox, catalog: Catalog, *, scan_interval: float = SCAN_INTERVAL):
        self.session_factory = session_factory
        self.heat_factory = heat_factory
        self.box = box
        self.catalog = catalog
        self.scan_interval = scan_interval
        self.owner = f"{os.uname().nodename[:30]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._running: dict[str, threading.Thread] = {}
        self._lock = threading.Lock()
        self._scanner: threading.Thread | None = None

    def start(self) -> None:
        self._scanner = threading.Thread(target=self._scan_loop, name="stack-refresh-scan",
                                         daemon=True)
        self._scanner.start()

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        threads = [self._scanner, *self._running.values()]
        for thread in threads:
            if thread is not None:
                thread.join(timeout)

    def running(self) -> list[str]:
        with self._lock:
            return [key for key, thread in self._running.items() if thread.is_alive()]

    def scan(self) -> None:
        now = utcnow()
        with self.session_factory() as session:
            for deployment_id in needing_refresh(session, now):
                with self._lock:
                    if deployment_id in self._running and self._running[deployment_id].is_alive():
                        continue
                if claim(session, deployment_id, self.owner, now):
                    thread = threading.Thread(target=self._follow, args=(deployment_id,),
                                              name=f"stack-refresh-{deployment_id[:8]}",
                                              daemon=True)
                    with self._lock:
                        self._running[deployment_id] = thread
                    thread.start()

    def _scan_loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.scan()
            except Exception:           # noqa: BLE001 - the next scan tries again
                LOG.exception("stack refresh: scan failed")
            self._stop.wait(self.scan_interval)

    def _follow(self, deployment_id: str) -> None:
        """Refresh until the stack is final; Heat failing backs off and keeps the lease."""
        interval = MIN_INTERVAL
        try:
            refresher = Refresher(self.session_factory, self.heat_factory(), self.box,
                                  self.catalog, self.owner)
            while not self._stop.is_set():
                try:
                    changed, final = refresher.refresh(deployment_id)
                except (HeatUnavailable, HeatFailure) as error:
                    LOG.warning("deployment %s: Heat not read: %s", deployment_id, error)
                    changed, final = False, False
                if final:
                    return
                interval = MIN_INTERVAL if changed else min(interval * BACKOFF, MAX_INTERVAL)
                self._stop.wait(interval)
        except Exception:               # noqa: BLE001 - the lease runs out, another retries
            LOG.exception("deployment %s: stack refresh failed", deployment_id)
        finally:
            try:
                release(self.session_factory, deployment_id, self.owner)
            except Exception:           # noqa: BLE001
                LOG.exception("deployment %s: lease not released", deployment_id)
            with self._lock:
                self._running.pop(deployment_id, None)
