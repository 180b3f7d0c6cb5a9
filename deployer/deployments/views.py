"""The read side of deployments: what the API shows of a deployment, its nodes,
events and node logs.  The commands (create, update, delete, refresh) stay in
service.py; these functions only read, apart from refreshing the cached status.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import select

from deployer.chef import names
from deployer.db.models import Deployment, Run, RunOutput, utcnow
from deployer.deployments import heat_stacks, secrets
from deployer.deployments.catalog import NODE_TYPE, static_nodes
from deployer.deployments.context import Services
from deployer.deployments.service import COMPLETE, refresh, secret_values
from deployer.errors import InvalidReference, NotFound
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
        "parameters": {**row.parameters, **{name: REDACTED for name in row.secret_names}},
    }


def accepted(row: Deployment) -> dict:
    """The answer to a create or update: the cached view, nothing converged yet."""
    return {**summary(row), "outputs": {}, "nodes": [],
            "progress": {"nodes_total": 0, "nodes_done": 0}}


def detail(services: Services, row: Deployment) -> dict:
    """The full view: Heat's status, outputs once complete, nodes joined with their runs."""
    stack = refresh(services, row)
    secret_texts = secret_values(services, row)
    view = summary(row)
    view["outputs"] = {}
    if stack is not None and row.state == COMPLETE:
        resolved = heat_stacks.get(services.heat, row.stack_id, resolve_outputs=True) or {}
        view["outputs"] = secrets.redact_value(
            {output["output_key"]: output.get("output_value")
             for output in resolved.get("outputs") or ()}, secret_texts)
    nodes = node_views(services, row) if stack is not None else []
    view["nodes"] = nodes
    view["progress"] = {"nodes_total": len(nodes),
                        "nodes_done": sum(node["resource_status"] in DONE_RESOURCE_STATES
                                          for node in nodes)}
    return view


def node_views(services: Services, row: Deployment) -> list[dict]:
    """Heat's IBM::SCO::Node resources (nested stacks included) with their latest runs."""
    listed = heat_stacks.resources(services.heat, row.stack_id)
    by_physical_id = {r["physical_resource_id"]: r for r in listed if r.get("physical_resource_id")}

    def path(resource: dict) -> str:
        parts, owner, seen = [resource["resource_name"]], heat_stacks.stack_id_of(resource), set()
        while owner and owner != row.stack_id and owner in by_physical_id and owner not in seen:
            seen.add(owner)
            parent = by_physical_id[owner]
            parts.insert(0, parent["resource_name"])
            owner = heat_stacks.stack_id_of(parent)
        return "/".join(parts)

    nodes = [r for r in listed if r.get("resource_type") == NODE_TYPE]
    stack_ids = {heat_stacks.stack_id_of(r) for r in nodes} - {None}
    latest: dict[tuple[str, str], Run] = {}
    if stack_ids:
        for run in services.session.scalars(select(Run).where(Run.stack_id.in_(stack_ids))
                                            .order_by(Run.created_at, Run.id)):
            latest[(run.stack_id, run.resource_name)] = run
    orders = _static_orders(services, row)
    now = utcnow()
    views = []
    for resource in nodes:
        resource_path = path(resource)
        run = latest.get((heat_stacks.stack_id_of(resource), resource["resource_name"]))
        views.append({
            "resource": resource_path,
            "resource_status": resource.get("resource_status"),   # e.g. CREATE_IN_PROGRESS
            "node_name": (run.node_name if run else None) or resource.get("physical_resource_id")
            or None,
            "address": ((run.spec_json or {}).get("target") or {}).get("address") if run else None,
            "order": orders.get(resource_path, orders.get(_group_key(resource_path))),
            "run_id": run.id if run else None,
            "run_status": run.status if run else "pending",
            "phase": run.phase if run else None,
            "started_at": run.started_at if run else None,
            "finished_at": run.finished_at if run else None,
            "elapsed_seconds": _elapsed(run, now),
        })
    return sorted(views, key=lambda v: (names.order_sort_key(v["order"]), v["resource"]))


def _group_key(resource_path: str) -> str:
    """``computes/0/node`` -> ``computes/node``: a group member's static definition."""
    parts = resource_path.split("/")
    return f"{parts[0]}/{parts[-1]}" if len(parts) > 2 else resource_path


def _static_orders(services: Services, row: Deployment) -> dict[str, int | None]:
    try:
        source = services.catalog.template(row.template)
    except NotFound:
        return {}
    return {node["resource"]: node["order"] for node in static_nodes(source.body, source.files)}


def _elapsed(run: Run | None, now: dt.datetime) -> float | None:
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
        node = next((n for n in node_views(services, row) if n["resource"] == resource), None)
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
    return run.stack_id in {heat_stacks.stack_id_of(r)
                            for r in heat_stacks.resources(services.heat, row.stack_id)}



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
        "nodes": static_nodes(source.body, source.files),
        "heat_environments": services.catalog.usable_environments(source),
    }
