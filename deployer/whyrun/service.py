"""Why-run plans of an update: what converging each node with the update's parameters would
change, read from chef-client's why-run mode, changing nothing.

A plan takes the same request as an update (PUT /v1/deployments/<id>) of a complete
deployment and checks it the same way (the catalog, Heat's preview, the Chef environment
that renders from it), but updates nothing:

- the stack is only previewed (under a stand-in name, as an update's plan is);
- the nodes never see the deployment's own Chef environment change: the rendered one goes
  to the Chef server under a temporary name of its own, ``_whyrun-<plan>`` (a deployment's
  environment is named after its stack, which starts with a letter, so no deployment's can
  take it), with the deployment's secrets bag, and the plan removes it when it ends;
- each node gets a why-run node run through the worker like any run (deployer.bootstrap:
  ``chef-client -W -E <temporary> -o <its run-list>``), reaching it as its last converge did;
  why-run writes nothing and neither it nor ``-o`` saves the node object;
- once every run ended, each node's output is parsed (deployer.whyrun.output) into the
  files, services and other resources its converge would change, redacted with the
  deployment's secrets, and the temporary environment is deleted.

One plan runs at a time per deployment (409 naming it).  A plan nobody reads again still
ends: every plan request and read also settles the other plans whose runs ended, and
retries removing an environment the Chef server refused to delete.

Each function takes a Session and commits what it did: the temporary environment exists
only while a committed row names it.  What is not previewed: the secrets (a hidden
parameter feeding a secret, e.g. AdminPassword, keeps the deployment's current value in
the plan) and run-list changes (each node runs its current run-list).
"""
from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import logging
import uuid
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deployer.bootstrap.contract import FINAL_STATES, SUCCEEDED, WHY_RUN, RunSpec
from deployer.certify.active import refuse_while_certifying
from deployer.certify.service import secret_texts
from deployer.chef import environment_secrets
from deployer.chef.errors import ChefNotFound, ChefServerError
from deployer.db.models import Deployment, Run, RunOutput, UpdatePlan, utcnow
from deployer.deployments import heat_stacks, plan
from deployer.deployments import service as deployments
from deployer.deployments.context import Services
from deployer.deployments.secrets import redact_value
from deployer.errors import Conflict, NotFound
from deployer.runs import service as runs
from deployer.runs.policy import RunPolicy
from deployer.whyrun import output

LOG = logging.getLogger(__name__)

RUNNING, COMPLETE, FAILED = "running", "complete", "failed"
STATUSES = (RUNNING, COMPLETE, FAILED)
ENVIRONMENT_PREFIX = "_whyrun-"
RUN_TIMEOUT = 1800.0
STARTING_AT_MOST = dt.timedelta(minutes=10)   # a request queues its runs well within this


@dataclasses.dataclass(frozen=True)
class Reaping:
    """When a run's worker counts as dead ([runs] dead_after, timeout_grace)."""
    dead_after: float
    timeout_grace: float = 30.0


def is_temporary_environment(name: str) -> bool:
    return name.startswith(ENVIRONMENT_PREFIX)


# -- request ---------------------------------------------------------------------------

def request(services: Services, chef, policy: RunPolicy, reaping: Reaping, row: Deployment, *,
            parameter_set: str | None, parameters: dict[str, Any],
            heat_environments: list[str] | None) -> UpdatePlan:
    """Check the update as an update is checked, then start a why-run of every node."""
    session = services.session
    settle_all(session, chef, services.box, reaping)
    refuse_unplannable(session, row)
    deployments.refresh(services, row)          # Heat's word on it, now
    refuse_unplannable(session, row)
    nodes = converged_nodes(session, row.id)
    live = {RunSpec.from_dict(run.spec_json).environment for run in nodes}
    if not nodes or len(live) != 1:
        raise Conflict(f"deployment {row.name} has no converged node to plan on" if not nodes
                       else f"deployment {row.name}'s nodes converge in several Chef "
                            f"environments ({', '.join(sorted(live))}); a plan needs one",
                       field="id")
    [live_environment] = live
    document, rendered = _previewed(services, row, parameter_set, parameters, heat_environments)

    plan_id = str(uuid.uuid4())
    found = UpdatePlan(id=plan_id, deployment_id=row.id, active_deployment_id=row.id,
                       status=RUNNING, environment=ENVIRONMENT_PREFIX + plan_id.replace("-", "")[:12],
                       environment_removed=False, parameters=document["parameters"], nodes=[],
                       result=[], reason="", created_at=utcnow())
    session.add(found)
    try:
        session.commit()        # the name is on record before the environment exists
    except IntegrityError:
        session.rollback()
        raise Conflict(f"a why-run plan of deployment {row.name} is already running",
                       field="id") from None
    try:
        chef.upsert_environment(temporary_environment(
            session, chef, rendered, live_environment, found.environment,
            f"why-run plan {plan_id} of an update of deployment {row.name}; temporary, "
            f"removed when the plan ends"))
        started = []
        for run in nodes:
            why = _why_run_spec(services, run, found.environment)
            queued = runs.create_run(session, why, services.box, policy, preview_of=row.id)
            started.append({"node_name": why.node_name, "resource": run.resource_name,
                            "run_id": queued.id})
        found.nodes = started
        session.commit()
    except BaseException as error:
        session.rollback()
        _end(session, chef, found, FAILED, f"the plan could not start: {error}", [])
        raise
    LOG.info("why-run plan %s of %s: %d node(s) in environment %s", plan_id, row.name,
             len(nodes), found.environment)
    return found


def refuse_unplannable(session: Session, row: Deployment) -> None:
    """409 unless the deployment is complete, not certified and not planned right now
    (from the row as cached: no Heat call)."""
    refuse_while_certifying(session, row, "plan an update of it")
    if row.state != deployments.COMPLETE:
        doing = "being changed" if row.state == deployments.IN_PROGRESS else row.state
        raise Conflict(f"deployment {row.name} is {doing} ({row.stack_status}); a why-run plan "
                       f"needs a complete deployment whose nodes have converged", field="id")
    active = session.scalars(select(UpdatePlan).where(
        UpdatePlan.active_deployment_id == row.id)).first()
    if active is not None:
        raise Conflict(f"why-run plan {active.id} of deployment {row.name} is running; "
                       f"plan again once it has ended", field="id")


def _previewed(services: Services, row: Deployment, parameter_set, parameters,
               heat_environments) -> tuple[dict, dict | None]:
    """The update's plan document (redacted) and its rendered Chef environment (as the
    nodes would get it, None when the nodes name an existing one): one Heat preview."""
    wanted = deployments.Request(row.name, row.template, parameter_set, parameters,
                                 row.heat_environments if heat_environments is None
                                 else heat_environments)
    prepared = deployments.prepare(services, wanted, base=deployments.all_values(services, row))
    deployments.fresh_deploy_identifier(prepared, parameters)
    preview_name = f"{row.name}-preview-{uuid.uuid4().hex[:8]}"
    preview = heat_stacks.preview(services.heat, preview_name, prepared.source,
                                  prepared.env_files, prepared.environment, prepared.values,
                                  prepared.secrets)
    document = plan.build(preview, row.name, services.environment_templates, prepared.secrets,
                          prepared.redacted_parameters(), deployments.template_steps(prepared),
                          preview_name=preview_name)
    plan.check_cluster_facts(document, set(services.catalog.role_paths()))
    rendered = plan.chef_environment(preview, list(plan.flatten(preview.get("resources") or [])),
                                     row.name, services.environment_templates)
    return document, rendered


def converged_nodes(session: Session, deployment_id: str) -> list[Run]:
    """The latest run of each of the deployment's nodes, where that is a succeeded converge
    (a node whose latest run removed it is no longer the deployment's)."""
    latest: dict[str, Run] = {}
    for run in session.scalars(select(Run).where(Run.deployment_id == deployment_id)
                               .order_by(Run.created_at, Run.id)):
        latest[run.node_name] = run
    return [run for run in latest.values() if run.action == "converge" and run.status == SUCCEEDED]


def temporary_environment(session: Session, chef, rendered: dict | None, live: str, name: str,
                          description: str) -> dict:
    """The environment the nodes would converge in, under ``name``, with the deployment's
    secrets bag (the nodes already hold its item secret)."""
    document = copy.deepcopy(rendered) if rendered is not None else chef.get_environment(live)
    document.update(name=name, description=description)
    bag = environment_secrets.data_bag(session, live)
    if bag:
        environment_secrets.with_data_bag(document, bag)
    return document


def _why_run_spec(services: Services, run: Run, environment: str) -> RunSpec:
    """The node reached as its last converge reached it, its run-list, the temporary
    environment; no stack (the deployment's progress never shows a why-run)."""
    last = RunSpec.from_dict(run.spec_json)
    if run.secret_blob is not None:
        last.target.password = services.box.decrypt(run.secret_blob)
    return RunSpec(node_name=last.node_name, target=last.target, run_list=last.run_list,
                   environment=environment, action=WHY_RUN, chef_server_url=last.chef_server_url,
                   resource_name=run.resource_name, timeout=RUN_TIMEOUT)


# -- reading and ending ------------------------------------------------------------------

def find(session: Session, deployment_id: str, plan_id: str) -> UpdatePlan:
    found = session.get(UpdatePlan, plan_id)
    if found is None or found.deployment_id != deployment_id:
        raise NotFound(f"deployment {deployment_id} has no why-run plan {plan_id}",
                       field="plan_id")
    return found


def get(session: Session, chef, box, reaping: Reaping, found: UpdatePlan) -> UpdatePlan:
    """The plan, ended (parsed, its environment removed) once its runs have."""
    settle(session, chef, box, reaping, found)
    settle_all(session, chef, box, reaping, but=found.id)
    return found


def settle_all(session: Session, chef, box, reaping: Reaping, *, but: str | None = None) -> None:
    """End every running plan whose runs ended; remove environments left behind."""
    for other in session.scalars(select(UpdatePlan).where(
            or_(UpdatePlan.status == RUNNING, UpdatePlan.environment_removed.is_(False)))).all():
        if other.id != but:
            settle(session, chef, box, reaping, other)


def settle(session: Session, chef, box, reaping: Reaping, found: UpdatePlan) -> None:
    if found.status != RUNNING:
        if not found.environment_removed:
            _remove_environment(chef, found)
            session.commit()
        return
    for node in found.nodes:
        runs.reap_dead_runs(session, reaping.dead_after, run_id=node["run_id"],
                            timeout_grace=reaping.timeout_grace)
    session.commit()
    by_id = run_states(session, found)
    if found.nodes and not all(run.status in FINAL_STATES for run in by_id.values()):
        return
    if not found.nodes:         # still starting: its request commits the runs, or died
        if utcnow() - found.created_at > STARTING_AT_MOST:
            _end(session, chef, found, FAILED, "the plan's request ended before its runs were "
                                               "queued", [])
        return
    secrets = secret_texts(session, box, found.deployment_id)   # parameters, passwords, bag
    result = [redact_value(_node_result(session, node, by_id[node["run_id"]]), secrets)
              for node in found.nodes]
    failed = [f"{node['node_name']}: {node['reason']}" for node in result
              if node["status"] != SUCCEEDED]
    _end(session, chef, found, FAILED if failed else COMPLETE, "; ".join(failed), result)


def run_states(session: Session, found: UpdatePlan) -> dict[str, Run]:
    ids = [node["run_id"] for node in found.nodes]
    return {run.id: run for run in session.scalars(select(Run).where(Run.id.in_(ids)))} if ids else {}


def _node_result(session: Session, node: dict, run: Run) -> dict:
    entry = {"node_name": node["node_name"], "resource": node.get("resource"),
             "run_id": run.id, "status": run.status, "reason": run.reason or ""}
    if run.status != SUCCEEDED:
        return entry
    text = "".join(session.scalars(select(RunOutput.text).where(
        RunOutput.run_id == run.id, RunOutput.stream == "stdout").order_by(RunOutput.seq)))
    try:
        entry.update(output.parse(text).to_dict())
    except output.WhyRunOutputError as error:
        entry.update(status=FAILED, reason=f"its why-run output cannot be trusted: {error}")
    return entry


def _end(session: Session, chef, found: UpdatePlan, status: str, reason: str,
         result: list[dict]) -> None:
    found.status, found.reason, found.result = status, reason, result
    found.active_deployment_id, found.finished_at = None, utcnow()
    _remove_environment(chef, found)
    session.commit()
    LOG.info("why-run plan %s: %s%s", found.id, status, f" ({reason})" if reason else "")


def _remove_environment(chef, found: UpdatePlan) -> None:
    try:
        chef.delete_environment(found.environment)
    except ChefNotFound:
        pass
    except ChefServerError as error:
        LOG.warning("why-run plan %s: environment %s not removed yet: %s", found.id,
                    found.environment, error)
        return
    found.environment_removed = True


# -- what the API shows ----------------------------------------------------------------------

def view(session: Session, found: UpdatePlan) -> dict:
    """The plan; while it runs, each node's run status, once ended what it would change."""
    if found.status == RUNNING:
        by_id = run_states(session, found)
        nodes = [{**node, "status": by_id[node["run_id"]].status if node["run_id"] in by_id
                  else "queued", "reason": ""} for node in found.nodes]
    else:
        nodes = found.result
    return {"id": found.id, "deployment_id": found.deployment_id, "status": found.status,
            "environment": found.environment, "environment_removed": found.environment_removed,
            "parameters": found.parameters, "reason": found.reason, "nodes": nodes,
            "created_at": found.created_at, "finished_at": found.finished_at}
