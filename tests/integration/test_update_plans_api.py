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
