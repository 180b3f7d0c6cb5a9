"""/v1/deployments/<id>/plan (why-run plans of an update) over HTTP: the real API under
gunicorn and its database, deployment rows written straight into it.  Every refusal here
comes before Heat or the Chef server is asked anything, and leaves no plan behind; a plan
that runs is tests/cookbooks/test_allinone_deploy.py's (a converged all-in-one)."""
from __future__ import annotations

import uuid

import pytest
from sqlalchemy import func, select

from deployer.client import DeployerAPIError
from deployer.db.models import Certification, UpdatePlan, utcnow
from deployer.db.session import make_engine, make_session_factory
from tests.integration.certification_helpers import deployment_row

pytestmark = pytest.mark.timeout(180)


def problem(call) -> DeployerAPIError:
    with pytest.raises(DeployerAPIError) as info:
        call()
    return info.value


def stored(cfg, row) -> None:
    engine = make_engine(cfg.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            session.add(row)
    finally:
        engine.dispose()


def plans_of(cfg, deployment_id: str) -> int:
    engine = make_engine(cfg.database_url)
    try:
        with make_session_factory(engine)() as session:
            return session.scalar(select(func.count()).select_from(UpdatePlan)
                                  .where(UpdatePlan.deployment_id == deployment_id))
    finally:
        engine.dispose()


def running_plan(deployment_id: str) -> UpdatePlan:
    return UpdatePlan(id=str(uuid.uuid4()), deployment_id=deployment_id,
                      active_deployment_id=deployment_id, status="running",
                      environment="_whyrun-0123456789ab", environment_removed=False,
                      parameters={}, nodes=[], result=[], reason="", created_at=utcnow())


@pytest.mark.parametrize("body, field", [
    ({}, "parameters"),                                   # nothing to update
    ({"parameters": ["EnableOSDebug=true"]}, "parameters"),
    ({"parameters": {"EnableOSDebug": True}, "heat_environments": "x"}, "heat_environments"),
    ({"parameters": {"EnableOSDebug": True}, "parameter_set": ""}, "parameter_set"),
])
def test_a_malformed_body_is_400_naming_the_field(deployer_api, body, field):
    client = deployer_api.client
    deployment_id, _ = deployment_row(deployer_api.cfg)
    refused = problem(lambda: client._request("POST", f"/v1/deployments/{deployment_id}/plan",
                                              json=body))
    assert refused.status == 400 and list(refused.errors) == [field], refused.problem
    assert plans_of(deployer_api.cfg, deployment_id) == 0


@pytest.mark.parametrize("state, says", [("in_progress", "is being changed"),
                                         ("failed", "is failed"), ("deleted", "is deleted")])
def test_only_a_complete_deployment_is_planned(deployer_api, state, says):
    client = deployer_api.client
    deployment_id, name = deployment_row(deployer_api.cfg, state=state)
    refused = problem(lambda: client.plan_update(deployment_id, parameters={"EnableOSDebug": True}))
    assert refused.status == 409 and f"{name} {says}" in refused.detail
    assert list(refused.errors) == ["id"] and "complete deployment" in refused.detail
    assert plans_of(deployer_api.cfg, deployment_id) == 0


def test_not_while_certified_nor_while_another_plan_runs(deployer_api):
    client, cfg = deployer_api.client, deployer_api.cfg
    # The stored certification has no worker: a running worker would reap it as abandoned.
    deployer_api.processes["worker"].stop()
    certified, _ = deployment_row(cfg)
    certification = str(uuid.uuid4())
    stored(cfg, Certification(id=certification, deployment_id=certified,
                              active_deployment_id=certified, status="running", options={},
                              rows=[], reason="", requested_at=utcnow()))
    refused = problem(lambda: client.plan_update(certified, parameters={"EnableOSDebug": True}))
    assert refused.status == 409 and certification in refused.detail
    assert "plan an update of it once it has ended" in refused.detail
    assert plans_of(cfg, certified) == 0

    planned, name = deployment_row(cfg)
    other = running_plan(planned)
    stored(cfg, other)
    refused = problem(lambda: client.plan_update(planned, parameters={"EnableOSDebug": True}))
    assert refused.status == 409 and list(refused.errors) == ["id"]
    assert f"why-run plan {other.id} of deployment {name} is running" in refused.detail
    assert plans_of(cfg, planned) == 1


def test_unknown_deployment_or_plan_is_404_naming_it(deployer_api):
    client = deployer_api.client
    missing = str(uuid.uuid4())
    for call in (lambda: client.plan_update(missing, parameters={"EnableOSDebug": True}),
                 lambda: client.get_update_plan(missing, missing)):
        refused = problem(call)
        assert refused.status == 404 and list(refused.errors) == ["id"]
    deployment_id, _ = deployment_row(deployer_api.cfg)
    refused = problem(lambda: client.get_update_plan(deployment_id, missing))
    assert refused.status == 404 and list(refused.errors) == ["plan_id"]
    assert refused.problem["type"] and refused.problem["status"] == 404


def test_the_cli_says_what_the_api_refuses_in_one_line(deployer_api):
    """`deployer update NAME ... --plan`: a refusal is one line naming the field (exit 2)."""
    from tests.integration.test_cli import deployer
    url, cfg = deployer_api.base_url, deployer_api.cfg
    _, pending = deployment_row(cfg, state="in_progress")
    refused = deployer(url, "update", pending, "--parameter-set", "site-a", "--plan")
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr.startswith(f"deployer: error: id: deployment {pending} is being changed")
    assert refused.stdout == ""


# -- ending a plan: its runs' output parsed and redacted, its environment removed ----------

WHY_RUN_OUTPUT = """\
[deployer] running: chef-client -W -E {env} -o 'role[allinone]' --no-color
Recipe: deployer_openstack::service
  * template[/etc/nova/nova.conf] action create
    - Would update content in file /etc/nova/nova.conf from 1a2b3c4d to 5e6f7a8b
      -debug = False
      +debug = True
      -password = {secret}
  * service[nova-api] action restart
    - Would restart service service[nova-api]
Chef Infra Client finished, 2/300 resources would have been updated in 09 seconds
"""


def stored_run(cfg, node_name: str, status: str, text: str = "", reason: str = "") -> str:
    from deployer.db.models import Run, RunOutput
    run_id = str(uuid.uuid4())
    stored(cfg, Run(id=run_id, node_name=node_name, action="why-run", status=status,
                    spec_json={"node_name": node_name}, reason=reason, created_at=utcnow(),
                    finished_at=utcnow() if status != "running" else None, worker_id="w1",
                    heartbeat_at=utcnow()))
    if text:
        stored(cfg, RunOutput(run_id=run_id, seq=1, stream="stdout", text=text, created_at=utcnow()))
    return run_id


def test_a_plan_whose_runs_ended_is_parsed_redacted_and_its_environment_removed(
        deployer_api_factory, chef_server):
    api = deployer_api_factory(chef_server=chef_server)
    client, cfg, chef = api.client, api.cfg, chef_server.admin()
    secret = "Plan-Hidden-5d1e9a"
    deployment_id, _ = deployment_row(cfg, hidden={"SshPassword": secret})
    plan = running_plan(deployment_id)
    plan.environment = f"_whyrun-{uuid.uuid4().hex[:12]}"
    done = stored_run(cfg, "aio1", "succeeded", WHY_RUN_OUTPUT.format(env=plan.environment, secret=secret))
    busy = stored_run(cfg, "aio2", "running")
    plan.nodes = [{"node_name": "aio1", "resource": "allinone", "run_id": done},
                  {"node_name": "aio2", "resource": "compute", "run_id": busy}]
    stored(cfg, plan)
    chef.upsert_environment({"name": plan.environment, "default_attributes": {}})

    running = client.get_update_plan(deployment_id, plan.id)
    assert running["status"] == "running" and not running["environment_removed"]
    assert [(n["node_name"], n["status"]) for n in running["nodes"]] == [("aio1", "succeeded"),
                                                                         ("aio2", "running")]
    assert plan.environment in chef.list_environments()

    engine = make_engine(cfg.database_url)
    try:
        from deployer.db.models import Run
        with make_session_factory(engine).begin() as session:
            session.get(Run, busy).status = "failed"
            session.get(Run, busy).reason = "node aio2: converge failed: chef-client -W exited with status 1"
    finally:
        engine.dispose()
    ended = client.get_update_plan(deployment_id, plan.id)
    assert ended["status"] == "failed" and ended["environment_removed"] and ended["finished_at"]
    assert ended["reason"] == "aio2: node aio2: converge failed: chef-client -W exited with status 1"
    aio1, aio2 = ended["nodes"]
    assert [f["path"] for f in aio1["files"]] == ["/etc/nova/nova.conf"]
    assert "+debug = True" in aio1["files"][0]["diff"]
    assert aio1["services"] == [{"name": "nova-api", "resource": "service[nova-api]",
                                 "actions": ["restart"]}]
    assert (aio1["would_update"], aio1["resources"]) == (2, 300)
    assert aio2["status"] == "failed" and "files" not in aio2
    assert secret not in str(ended)
    assert plan.environment not in chef.list_environments()
    # a new plan is no longer refused as running (it goes on to Heat, which this API lacks)
    again = problem(lambda: client.plan_update(deployment_id, parameters={"EnableOSDebug": True}))
    assert "is running" not in again.detail
    chef.close()
