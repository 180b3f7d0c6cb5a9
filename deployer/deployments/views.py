"""The read side of deployments: what the API shows of a deployment, its nodes,
events and node logs.  The commands (create, update, delete, refresh) stay in
service.py; these functions only read.  A deployment, its nodes and outputs are
read from the deployer's database alone (stack_cache.py keeps Heat's part
there); only the events and the catalog ask Heat.
"""
from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from sqlalchemy import bindparam, func, select, true

from deployer.chef import names
from deployer.db.models import Deployment, DeploymentSnapshot, Run, RunOutput, utcnow
from deployer.deployments import heat_stacks, secrets, steps
from deployer.deployments.context import Services
from deployer.deployments.service import COMPLETE, DELETED, secret_values
from deployer.errors import InvalidReference, NotFound, Unprocessable
from deployer.secrets import REDACTED

DONE_RESOURCE_STATES = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "RESUME_COMPLETE",
                        "CHECK_COMPLETE", "ADOPT_COMPLETE")


def summary(row: Deployment) -> dict:
    """The cached view (lists): no Heat call."""
    return {
        "id": row.id, "name": row.name, "template": row.template,
        "parameter_set": row.parameter_set, "heat_environments": row.heat_environments,
        "stack_id": row.stack_id, "status": row.stack_status, "stack_status": row.stack_status,
        "state": row.state, "status_reason": row.status_reason,
        "created_at": row.created_at, "updated_at": row.updated_at, "deleted_at": row.deleted_at,
        "preflight": row.preflight,
        "parameters": {**row.parameters, **{name: REDACTED for name in row.secret_names}},
    }


def accepted(row: Deployment) -> dict:
    """The answer to a create or update: the cached view, nothing converged yet."""
    return {**summary(row), "outputs": {}, "nodes": [],
            "progress": {"nodes_total": 0, "nodes_done": 0}}


def detail(services: Services, row: Deployment,
           snapshot: DeploymentSnapshot | None = None) -> dict:
    """The full view, from the deployer's database only: the cached stack status, the
    refresher's snapshot (node resources, outputs once complete) and each node's
    latest run.  No Heat call (stack_cache.py keeps the snapshot current)."""
    return detail_and_token(services, row, snapshot)[0]


def detail_and_token(services: Services, row: Deployment,
                     snapshot: DeploymentSnapshot | None = None
                     ) -> tuple[dict, tuple, frozenset[str]]:
    """``detail`` plus its change token (what ``detail_token`` reads while nothing
    changed) and the stack ids whose runs it shows."""
    if snapshot is None and row.state != DELETED:
        snapshot = services.session.get(DeploymentSnapshot, row.id)
    view = summary(row)
    nodes, runs_token, stack_ids = _node_views(services, row, snapshot)
    view["outputs"] = dict(snapshot.outputs or {}) if (
        snapshot is not None and row.state == COMPLETE) else {}
    view["nodes"] = nodes
    view["progress"] = {"nodes_total": len(nodes),
                        "nodes_done": sum(node["resource_status"] in DONE_RESOURCE_STATES
                                          for node in nodes)}
    token = (row.updated_at, row.stack_status, row.state,
             snapshot.version if snapshot is not None else None, *runs_token)
    return view, token, stack_ids


def detail_token(services: Services, deployment_id: str,
                 stack_ids: frozenset[str]) -> tuple | None:
    """One query for what a detail view depends on: the row's status, the snapshot's
    version and, over the runs of ``stack_ids``, their count and latest created,
    started, finished and heartbeat times (a phase change heartbeats).  None when
    the deployment does not exist."""
    found = services.session.execute(_token_statements()[0], {
        "deployment_id": deployment_id, "stack_ids": sorted(stack_ids)}).one_or_none()
    return None if found is None else tuple(found)


def list_token(services: Services) -> tuple:
    """What every page of the list depends on: any row made or changed (a status
    change, an update or a delete moves updated_at)."""
    return tuple(services.session.execute(_token_statements()[1]).one())


@functools.cache
def _token_statements():
    """Built once: constructing a statement costs more than running it."""
    runs = select(*_RUN_AGGREGATES).where(
        Run.stack_id.in_(bindparam("stack_ids", expanding=True))).subquery()
    detail = (select(Deployment.updated_at, Deployment.stack_status, Deployment.state,
                     DeploymentSnapshot.version, *runs.c)
              .outerjoin(DeploymentSnapshot, DeploymentSnapshot.deployment_id == Deployment.id)
              .join(runs, true())
              .where(Deployment.id == bindparam("deployment_id")))
    listing = select(func.count(Deployment.id), func.max(Deployment.updated_at),
                     func.max(Deployment.created_at))
    return detail, listing


def with_snapshot(services: Services, deployment_id: str
                  ) -> tuple[Deployment, DeploymentSnapshot | None]:
    """A deployment and its snapshot in one query (404 when there is no such deployment)."""
    found = services.session.execute(
        select(Deployment, DeploymentSnapshot)
        .outerjoin(DeploymentSnapshot, DeploymentSnapshot.deployment_id == Deployment.id)
        .where(Deployment.id == deployment_id)).one_or_none()
    if found is None:
        raise NotFound(f"deployment {deployment_id} does not exist", field="id")
    return found[0], found[1]


RUN_COLUMNS = (Run.id, Run.stack_id, Run.resource_name, Run.node_name, Run.status, Run.phase,
               Run.started_at, Run.finished_at, Run.spec_json, Run.created_at, Run.heartbeat_at)
_RUN_AGGREGATES = (func.count(Run.id), func.max(Run.created_at), func.max(Run.started_at),
                   func.max(Run.finished_at), func.max(Run.heartbeat_at))


def node_views(services: Services, row: Deployment,
               snapshot: DeploymentSnapshot | None) -> list[dict]:
    """The snapshot's IBM::SCO::Node resources (nested stacks included) with their
    latest runs (one query for all runs)."""
    return _node_views(services, row, snapshot)[0]


def _latest(values) -> Any:
    present = [value for value in values if value is not None]
    return max(present) if present else None


def _node_views(services: Services, row: Deployment, snapshot: DeploymentSnapshot | None
                ) -> tuple[list[dict], tuple, frozenset[str]]:
    if snapshot is None or row.state == DELETED or not snapshot.nodes:
        return [], (0, None, None, None, None), frozenset()
    stack_ids = frozenset({node["stack_id"] for node in snapshot.nodes} - {None})
    latest: dict[tuple[str, str], Any] = {}
    runs = []
    if stack_ids:
        runs = list(services.session.execute(select(*RUN_COLUMNS)
                                             .where(Run.stack_id.in_(stack_ids))
                                             .order_by(Run.created_at, Run.id)))
        for run in runs:
            latest[(run.stack_id, run.resource_name)] = run
    runs_token = (len(runs), *(_latest(getattr(run, column) for run in runs)
                               for column in ("created_at", "started_at", "finished_at",
                                              "heartbeat_at")))
    now = utcnow()
    views = []
    for node in snapshot.nodes:
        run = latest.get((node["stack_id"], node["resource_name"]))
        views.append({
            "resource": node["resource"],
            "resource_status": node["resource_status"],   # e.g. CREATE_IN_PROGRESS
            "node_name": (run.node_name if run else None) or node["physical_resource_id"],
            "address": ((run.spec_json or {}).get("target") or {}).get("address") if run else None,
            "order": node["order"],
            "step": node.get("step"),       # absent from snapshots older than steps
            "run_id": run.id if run else None,
            "run_status": run.status if run else "pending",
            "phase": run.phase if run else None,
            "started_at": run.started_at if run else None,
            "finished_at": run.finished_at if run else None,
            "elapsed_seconds": _elapsed(run, now),
        })
    return (sorted(views, key=lambda v: (names.order_sort_key(v["step"]), v["resource"])),
            runs_token, stack_ids)


def _elapsed(run: Any, now: dt.datetime) -> float | None:
    if run is None or run.started_at is None:
        return None
    return round(((run.finished_at or now) - run.started_at).total_seconds(), 3)


def events(services: Services, row: Deployment, since: str | None) -> list[dict]:
    """Heat's events of the stack and its nested stacks, oldest first; ``since`` is an
    event id (events after it) or an ISO time (events later than it)."""
    if row.stack_id is None:
        return []
    secret_texts = secret_values(services, row)
    found = [{"id": event.get("id"), "time": event.get("event_time"),
              "resource": event.get("resource_name"),
              "physical_resource_id": event.get("physical_resource_id"),
              "status": event.get("resource_status"),
              "reason": secrets.redact_text(event.get("resource_status_reason") or "",
                                            secret_texts)}
             for event in heat_stacks.events(services.heat, row.stack_id)]
    if not since:
        return found
    ids = [event["id"] for event in found]
    if since in ids:
        return found[ids.index(since) + 1:]
    since_time = _parse_time(since)
    return [event for event in found if event["time"] and _parse_time(event["time"]) > since_time]


def _parse_time(text: str) -> dt.datetime:
    try:
        parsed = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidReference(f"since: {text!r} is neither an event id of this deployment "
                               f"nor an ISO 8601 time", field="since") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.timezone.utc)


def node_log(services: Services, row: Deployment, resource: str, run_id: str | None) -> dict:
    """A node's run log (stdout and stderr in arrival order): its latest run, or ``run_id``."""
    run = None
    if run_id:
        run = services.session.get(Run, run_id)
        if run is None or not _run_belongs(services, row, run, resource):
            raise NotFound(f"run {run_id} is not a run of {resource} in deployment {row.name}",
                           field="run_id")
    else:
        snapshot = services.session.get(DeploymentSnapshot, row.id)
        node = next((n for n in node_views(services, row, snapshot)
                     if n["resource"] == resource), None)
        if node is None:
            raise NotFound(f"deployment {row.name} has no node resource {resource}",
                           field="resource")
        if node["run_id"]:
            run = services.session.get(Run, node["run_id"])
    if run is None:
        return {"resource": resource, "run_id": None, "run_status": "pending", "text": ""}
    chunks = services.session.scalars(select(RunOutput.text).where(RunOutput.run_id == run.id)
                                      .order_by(RunOutput.seq))
    return {"resource": resource, "run_id": run.id, "run_status": run.status,
            "text": "".join(chunks)}


def _run_belongs(services: Services, row: Deployment, run: Run, resource: str) -> bool:
    if run.resource_name != resource.rsplit("/", 1)[-1]:
        return False
    if run.stack_id == row.stack_id:
        return True
    snapshot = services.session.get(DeploymentSnapshot, row.id)
    return snapshot is not None and run.stack_id in {node["stack_id"] for node in snapshot.nodes}



def template_detail(services: Services, name: str) -> dict:
    """An over-cloud template as the catalog shows it: Heat's reading of its parameters,
    its outputs' descriptions, its nodes and the Heat environments that fit it."""
    source = services.catalog.template(name)
    info = heat_stacks.TemplateParameters.of(services.heat, source)
    outputs = source.body.get("outputs" if source.format == "hot" else "Outputs") or {}
    description = "description" if source.format == "hot" else "Description"
    return {
        "name": source.name, "format": source.format, "description": source.description,
        "parameters": info["parameters"], "parameter_groups": info["parameter_groups"],
        "outputs": {key: str((value or {}).get(description, "")) if isinstance(value, dict)
                    else "" for key, value in outputs.items()},
        "nodes": _template_nodes(source),
        "heat_environments": services.catalog.usable_environments(source),
    }


def _template_nodes(source) -> list[dict]:
    """The template's nodes by step, read without values (every conditional node)."""
    try:
        return [node.view() for node in steps.of_template(source.body, source.files)]
    except steps.StepsError as error:
        raise Unprocessable(f"template {source.name}: {error}", field="template") from None
