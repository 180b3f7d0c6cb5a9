"""Deployments: a Heat stack per deployment, with its parameters kept beside it.

Heat is the source of truth for the stack's status; the row caches it
(``stack_status``, ``state``), kept current by stack_cache.py's refreshers, so
that reading and listing need no Heat call.
Everything is validated before anything is created: the template and Heat
environments must exist, Heat's preview must accept the parameters and the
Chef environment must render.  The row and the stack are made as one unit:
the row is flushed (name reserved) but not committed while Heat creates the
stack; a refused stack rolls the row back, a row that cannot be committed
deletes the stack again.  What the API shows of a deployment is views.py's.
"""
from __future__ import annotations

import dataclasses
import logging
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from deployer.errors import (Conflict, HeatFailure, HeatUnavailable, InvalidReference, NotFound,
                             Unprocessable)
from deployer.certify.active import refuse_while_certifying
from deployer.db.models import Deployment, utcnow
from deployer.deployments import heat_stacks, ownership, parameter_sets, plan, secrets, steps
from deployer.deployments.catalog import TemplateSource
from deployer.deployments.context import Services
from deployer.preflight import gate as preflight, registry as vip_registry
from deployer.runs import credentials
from deployer.runs.policy import Forbidden
from deployer.secrets import REDACTED

LOG = logging.getLogger(__name__)

IN_PROGRESS, COMPLETE, FAILED, DELETED = "in_progress", "complete", "failed", "deleted"
STATES = (IN_PROGRESS, COMPLETE, FAILED, DELETED)
# Heat stack names, narrowed to what a Chef environment name also allows.
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,62}$"


def state_of(stack_status: str | None) -> str:
    """Heat's stack_status -> in_progress | complete | failed | deleted."""
    if not stack_status or stack_status == "DELETE_COMPLETE":
        return DELETED
    if stack_status.endswith("_IN_PROGRESS"):
        return IN_PROGRESS
    if stack_status.endswith("_FAILED"):
        return FAILED
    return COMPLETE


@dataclasses.dataclass
class Request:
    """A deployment as asked for (create, plan or update), before validation."""
    name: str
    template: str
    parameter_set: str | None
    parameters: dict[str, Any]
    heat_environments: list[str]
    skip_preflight: bool = False        # plan and create: no checks on the nodes


@dataclasses.dataclass
class Prepared:
    """A request checked against the catalog and merged with its parameter set."""
    request: Request
    source: TemplateSource
    env_files: dict[str, str]
    environment: dict
    values: dict[str, Any]
    hidden: set[str]
    # Heat's preview as build_plan got it (unredacted: the preflight logs in with it).
    preview: dict | None = None
    preview_name: str | None = None

    @property
    def secrets(self) -> list[str]:
        return secrets.secret_texts(secrets.split(self.values, self.hidden)[1])

    def redacted_parameters(self) -> dict[str, Any]:
        return secrets.redact_parameters(self.values, self.hidden)


# -- validation and planning ------------------------------------------------------

def prepare(services: Services, request: Request, *, base: dict[str, Any] | None = None) -> Prepared:
    """Resolve the template, environments and parameter values (set, then inline over it).

    ``base`` holds the values a deployment already has (update); an inline
    ``******`` for a hidden parameter keeps its current value.
    """
    source = services.catalog.template(request.template)
    env_files, environment = services.catalog.environments(request.heat_environments)
    hidden = heat_stacks.hidden_names(services.heat, source)
    values = dict(base or {})
    if request.parameter_set:
        chosen = parameter_sets.get(services.session, request.parameter_set, field="parameter_set")
        if chosen.template != source.name:
            raise Unprocessable(f"parameter set {chosen.name} is for template "
                                   f"{chosen.template}, not {source.name}", field="parameter_set")
        values.update(parameter_sets.values(services.box, chosen))
    for name, value in request.parameters.items():
        if not (value == REDACTED and name in hidden and name in values):
            values[name] = value
    return Prepared(request, source, env_files, environment, values, hidden)


def build_plan(services: Services, prepared: Prepared, *, existing: bool = False) -> dict:
    """Heat's preview of the stack plus the rendered Chef environment; creates nothing.

    Heat previews only a stack name that is free: an ``existing`` stack is
    previewed under a stand-in name, and the plan still names the real one.
    """
    name = prepared.request.name
    preview_name = f"{name}-preview-{uuid.uuid4().hex[:8]}" if existing else name
    preview = heat_stacks.preview(services.heat, preview_name, prepared.source,
                                  prepared.env_files, prepared.environment, prepared.values,
                                  prepared.secrets)
    prepared.preview, prepared.preview_name = preview, preview_name
    document = plan.build(preview, name, services.environment_templates, prepared.secrets,
                          prepared.redacted_parameters(), template_steps(prepared),
                          preview_name=preview_name)
    plan.check_cluster_facts(document, set(services.catalog.role_paths()))
    return document


def template_steps(prepared: Prepared) -> list[steps.StepNode]:
    """The steps of the prepared stack.  Hidden values are left out: they decide no
    condition of a sane template, and so stay out of the steps cache."""
    shown = {name: value for name, value in prepared.values.items()
             if name not in prepared.hidden}
    try:
        return steps.of_template(prepared.source.body,
                                 {**prepared.source.files, **prepared.env_files},
                                 prepared.environment, shown)
    except steps.StepsError as error:
        raise Unprocessable(str(error), field="template") from None


def plan_deployment(services: Services, request: Request) -> dict:
    prepared = prepare(services, request)
    found = build_plan(services, prepared)
    check_node_names(services, found)
    found["preflight"] = preflight.for_plan(services, prepared, found)
    return found


def check_node_names(services: Services, found: dict, deployment_id: str | None = None) -> dict:
    """The plan's known node names ({name: resource}); 403 for a name the deployer or
    the Chef server keeps for itself, 409 for one another deployment holds."""
    wanted = ownership.planned_node_names(found)
    protected = {name.lower() for name in services.protected_names}
    refused = {name: resource for name, resource in wanted.items() if name.lower() in protected}
    if refused:
        raise Forbidden(f"node names reserved for the deployer or the Chef server: "
                        f"{', '.join(sorted(refused))}",
                        errors={resource: [f"node name {name} is reserved"]
                                for name, resource in refused.items()})
    ownership.check_free(services.session, wanted, deployment_id)
    return wanted


def _with_credential(services: Services, environment: dict, deployment_id: str) -> dict:
    """The stack environment plus the deployment's run credential (nested stacks
    inherit parameter_defaults; the node resources send it with their runs)."""
    defaults = dict(environment.get("parameter_defaults") or {})
    defaults[credentials.PARAMETER] = credentials.issue(services.box, deployment_id)
    return {**environment, "parameter_defaults": defaults}


# -- lifecycle ------------------------------------------------------------------------

def create(services: Services, request: Request) -> Deployment:
    """Validate, then create the row and the stack together; the caller commits
    through ``commit_created`` so a failed commit can remove the stack."""
    prepared = prepare(services, request)
    found = build_plan(services, prepared)
    wanted = check_node_names(services, found)
    _free_name(services, request.name)
    vips, preflight_record = preflight.for_create(services, prepared, found)
    public, secret = secrets.split(prepared.values, prepared.hidden)
    now = utcnow()
    row = Deployment(id=str(uuid.uuid4()), name=request.name, active_name=request.name,
                     template=prepared.source.name, parameter_set=request.parameter_set,
                     parameters=public, secret_names=sorted(secret),
                     secret_blob=secrets.seal(services.box, secret),
                     heat_environments=list(request.heat_environments),
                     stack_status="CREATE_IN_PROGRESS", status_reason="", state=IN_PROGRESS,
                     created_at=now, updated_at=now, preflight=preflight_record)
    services.session.add(row)
    try:
        services.session.flush()
    except IntegrityError:
        services.session.rollback()
        raise Conflict(f"a deployment named {request.name} already exists", field="name") from None
    try:
        ownership.claim(services.session, row.id, wanted)
        preflight.claim(services, row.id, vips)
    except BaseException:
        services.session.rollback()
        raise
    try:
        row.stack_id = heat_stacks.create(services.heat, request.name, prepared.source,
                                          prepared.env_files,
                                          _with_credential(services, prepared.environment, row.id),
                                          prepared.values, prepared.secrets)
    except BaseException:
        services.session.rollback()
        raise
    return row


def commit_created(services: Services, row: Deployment) -> None:
    try:
        services.session.commit()
    except SQLAlchemyError:
        LOG.error("deployment %s: the row could not be stored; deleting stack %s",
                  row.name, row.stack_id)
        services.session.rollback()
        try:
            heat_stacks.delete(services.heat, row.stack_id)
        except (HeatUnavailable, HeatFailure) as error:
            LOG.error("deployment %s: stack %s could not be deleted: %s", row.name,
                      row.stack_id, error)
        raise


def _free_name(services: Services, name: str) -> None:
    """409 when a live deployment has ``name``; one whose stack Heat has deleted
    meanwhile gives its name up first."""
    holder = services.session.scalars(
        select(Deployment).where(Deployment.active_name == name)).one_or_none()
    if holder is None:
        return
    refresh(services, holder)
    if holder.state != DELETED:
        raise Conflict(f"a deployment named {name} already exists (id {holder.id}, "
                       f"{holder.stack_status})", field="name")
    services.session.flush()


def update(services: Services, row: Deployment, *, parameter_set: str | None,
           parameters: dict[str, Any], heat_environments: list[str] | None) -> Deployment:
    refuse_while_certifying(services.session, row, "update it")
    refresh(services, row)
    if row.state == DELETED:
        raise Conflict(f"deployment {row.name} is deleted", field="id")
    if row.state == IN_PROGRESS:
        raise Conflict(f"deployment {row.name} is {row.stack_status}; update it once that "
                       f"has finished", field="id")
    request = Request(row.name, row.template, parameter_set, parameters,
                      row.heat_environments if heat_environments is None else heat_environments)
    prepared = prepare(services, request, base=all_values(services, row))
    fresh_deploy_identifier(prepared, parameters)
    found = build_plan(services, prepared, existing=True)
    found["stack_name"] = row.name      # previewed under a stand-in name; defaults use the real one
    vips = preflight.for_update(services, found, row.id)
    ownership.claim(services.session, row.id, check_node_names(services, found, row.id))
    preflight.claim(services, row.id, vips)
    heat_stacks.update(services.heat, row.stack_id, prepared.source, prepared.env_files,
                       _with_credential(services, prepared.environment, row.id),
                       prepared.values, prepared.secrets)
    public, secret = secrets.split(prepared.values, prepared.hidden)
    row.parameters, row.secret_names = public, sorted(secret)
    row.secret_blob = secrets.seal(services.box, secret)
    row.heat_environments = list(request.heat_environments)
    if parameter_set:
        row.parameter_set = parameter_set
    _cache_status(row, "UPDATE_IN_PROGRESS", "")
    return row


DEPLOY_IDENTIFIER = "DeployIdentifier"


def fresh_deploy_identifier(prepared: Prepared, given: dict[str, Any]) -> None:
    """An update converges every node again (TripleO's convention): a template's
    DeployIdentifier gets a new value unless the caller gave one."""
    if DEPLOY_IDENTIFIER in prepared.source.parameter_names() and DEPLOY_IDENTIFIER not in given:
        prepared.values[DEPLOY_IDENTIFIER] = utcnow().isoformat()


def delete(services: Services, row: Deployment) -> Deployment:
    """Ask Heat to delete the stack (its node resources clean Chef up); deleting a
    deployment that is deleted or being deleted changes nothing."""
    refuse_while_certifying(services.session, row, "delete it")
    refresh(services, row)
    if row.state == DELETED or row.stack_status == "DELETE_IN_PROGRESS":
        return row
    heat_stacks.delete(services.heat, row.stack_id)
    _cache_status(row, "DELETE_IN_PROGRESS", "")
    return row


def all_values(services: Services, row: Deployment) -> dict[str, Any]:
    return {**row.parameters, **secrets.unseal(services.box, row.secret_blob)}


# -- status ---------------------------------------------------------------------------

def _cache_status(row: Deployment, stack_status: str | None, reason: str) -> None:
    state = state_of(stack_status)
    now = utcnow()
    if (row.stack_status, row.status_reason, row.state) != (stack_status or "DELETE_COMPLETE",
                                                            reason, state):
        row.updated_at = now
    row.stack_status, row.status_reason, row.state = stack_status or "DELETE_COMPLETE", reason, state
    if state == DELETED and row.deleted_at is None:
        row.deleted_at, row.active_name = now, None
        vip_registry.release(row)


def refresh(services: Services, row: Deployment, *, resolve_outputs: bool = False) -> dict | None:
    """Bring the cached status up to Heat's; returns Heat's stack (None once deleted)."""
    if row.state == DELETED:
        return None
    stack = heat_stacks.get(services.heat, row.stack_id, resolve_outputs=resolve_outputs)
    if stack is None:
        _cache_status(row, None, "the stack no longer exists in Heat")
    else:
        _cache_status(row, stack["stack_status"], _redacted_reason(services, row, stack))
    return stack if row.state != DELETED else None


def _redacted_reason(services: Services, row: Deployment, stack: dict) -> str:
    """Heat's status reason as cached: a hidden value it may echo never reaches the row."""
    reason = stack.get("stack_status_reason") or ""
    return secrets.redact_text(reason, secret_values(services, row)) if reason else ""


def secret_values(services: Services, row: Deployment) -> list[str]:
    return secrets.secret_texts(secrets.unseal(services.box, row.secret_blob))


def refresh_in_progress(services: Services) -> None:
    """One Heat list call for every deployment whose cached state is in progress;
    when Heat does not answer the cache is served as it is."""
    rows = list(services.session.scalars(select(Deployment).where(Deployment.state == IN_PROGRESS)))
    if not rows:
        return
    try:
        found = heat_stacks.statuses(services.heat, [row.stack_id for row in rows])
    except (HeatUnavailable, HeatFailure) as error:
        LOG.warning("deployments: status refresh skipped: %s", error)
        return
    for row in rows:
        status, reason = found.get(row.stack_id, (None, "the stack no longer exists in Heat"))
        _cache_status(row, status, _redacted_reason(services, row,
                                                    {"stack_status_reason": reason}))


def get(services: Services, deployment_id: str) -> Deployment:
    row = services.session.get(Deployment, deployment_id)
    if row is None:
        raise NotFound(f"deployment {deployment_id} does not exist", field="id")
    return row


def list_deployments(services: Services, *, state: str | None, template: str | None,
                     name: str | None, limit: int, marker: str | None) -> list[Deployment]:
    """Newest first; deleted ones only when asked for (``state=deleted``).
    ``state`` may also be a Heat stack_status such as CREATE_FAILED.  No Heat call:
    stack_cache.py's refreshers keep the cached status current."""
    query = select(Deployment)
    if state in STATES:
        query = query.where(Deployment.state == state)
    elif state:
        query = query.where(Deployment.stack_status == state)
    if state != DELETED:
        query = query.where(Deployment.state != DELETED)
    if template:
        query = query.where(Deployment.template == template)
    if name:
        query = query.where(Deployment.name == name)
    if marker:
        last = services.session.get(Deployment, marker)
        if last is None:
            raise InvalidReference(f"marker {marker} is not a deployment id", field="marker")
        query = query.where((Deployment.created_at < last.created_at)
                            | ((Deployment.created_at == last.created_at)
                               & (Deployment.id < last.id)))
    query = query.order_by(Deployment.created_at.desc(), Deployment.id.desc()).limit(limit)
    return list(services.session.scalars(query))
