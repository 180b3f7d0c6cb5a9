"""/v1/deployments/<id>/certifications over HTTP: the real API under gunicorn, its
database, deployment rows written straight into it (refusing or queueing a
certification reads only the row: no Heat).

The worker is stopped where a queued certification must stay queued: the real
engine needs a converged HA cloud (the worker's side is tests/unit/
test_certification_worker.py)."""
from __future__ import annotations

import uuid

import pytest

from deployer.client import DeployerAPIError
from deployer.db.models import Certification, utcnow
from deployer.db.session import make_engine, make_session_factory
from tests.integration.certification_helpers import deployment_row, outcome, recorded_node_set

pytestmark = pytest.mark.timeout(180)


def problem(call) -> DeployerAPIError:
    with pytest.raises(DeployerAPIError) as info:
        call()
    return info.value


def stored_certification(cfg, deployment_id: str, **values) -> str:
    """A certification row as the worker leaves it (e.g. an older, finished one)."""
    row = Certification(**{"id": str(uuid.uuid4()), "deployment_id": deployment_id,
                           "options": {}, "rows": [], "reason": "", "requested_at": utcnow(),
                           **values})
    engine = make_engine(cfg.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            session.add(row)
    finally:
        engine.dispose()
    return row.id


def test_queue_one_at_a_time_then_list_newest_first_and_get_one(deployer_api, tmp_path):
    client, cfg = deployer_api.client, deployer_api.cfg
    deployer_api.processes["worker"].stop()         # the certification stays queued
    deployment_id, _ = deployment_row(cfg)
    rows = [outcome("crash-api-vip-holder", "ctl1").to_dict(),
            outcome("kill-rabbitmq-leader", "ctl2", outage={"rpc": None}).to_dict()]
    older = stored_certification(cfg, deployment_id, status="failed", rows=rows,
                                 reason="1 of 2 faults failed", worker_id="w-old",
                                 started_at=utcnow(), finished_at=utcnow())
    nodes = recorded_node_set(tmp_path / "test-nodes")

    created = client.certify_deployment(deployment_id, confirm=True, test_nodes=nodes)
    assert (created["status"], created["deployment_id"]) == ("queued", deployment_id)
    assert created["options"] == {"test_nodes": nodes}
    assert created["rows"] == [] and created["reason"] == ""
    assert created["started_at"] is None and created["finished_at"] is None
    assert "(no fault measured yet)" in created["table"]

    again = problem(lambda: client.certify_deployment(deployment_id, confirm=True))
    assert again.status == 409 and created["id"] in again.detail and "queued" in again.detail
    # nor is the deployment updated or deleted under it
    for doing, call in (("update it", lambda: client.update_deployment(deployment_id, parameters={"ControllerCount": 3})),
                        ("delete it", lambda: client.delete_deployment(deployment_id))):
        refused = problem(call)
        assert refused.status == 409 and created["id"] in refused.detail and doing in refused.detail

    listed = client.list_certifications(deployment_id)["certifications"]
    assert [c["id"] for c in listed] == [created["id"], older]
    one = client.get_certification(deployment_id, older)
    assert one["status"] == "failed" and one["rows"] == rows
    table = one["table"].splitlines()
    assert table[0].split()[:2] == ["fault", "node"] and table[0].endswith("result")
    assert table[2].startswith("crash-api-vip-holder") and table[2].endswith("ok")
    assert "never" in table[3] and table[3].endswith("rpc never came back")
    assert client.get_certification(deployment_id, created["id"]) == {**created, "table":
                                                                       created["table"]}


@pytest.mark.parametrize("state", ["in_progress", "failed", "deleted"])
def test_only_a_complete_deployment_is_certified(deployer_api, state):
    client = deployer_api.client
    deployment_id, name = deployment_row(deployer_api.cfg, state=state)
    refused = problem(lambda: client.certify_deployment(deployment_id, confirm=True))
    assert refused.status == 409 and f"{name} is {state}" in refused.detail
    assert client.list_certifications(deployment_id)["certifications"] == []


@pytest.mark.parametrize("body_confirm", [False, None])
def test_without_confirm_is_422_naming_confirm(deployer_api, body_confirm):
    client = deployer_api.client
    deployment_id, _ = deployment_row(deployer_api.cfg)
    if body_confirm is None:            # left out
        call = lambda: client._request("POST", f"/v1/deployments/{deployment_id}"  # noqa: E731
                                               f"/certifications", json={})
    else:
        call = lambda: client.certify_deployment(deployment_id, confirm=False)  # noqa: E731
    refused = problem(call)
    assert refused.status == 422 and list(refused.errors) == ["confirm"]
    assert "confirm: true" in refused.detail
    assert client.list_certifications(deployment_id)["certifications"] == []
    malformed = problem(lambda: client._request(
        "POST", f"/v1/deployments/{deployment_id}/certifications", json={"confirm": "yes"}))
    assert malformed.status == 400 and list(malformed.errors) == ["confirm"]


def test_test_nodes_must_be_a_recorded_set(deployer_api, tmp_path):
    client = deployer_api.client
    deployment_id, _ = deployment_row(deployer_api.cfg)
    (tmp_path / "empty").mkdir()
    (tmp_path / "a-file").write_text("x")
    (tmp_path / "garbled").mkdir()
    (tmp_path / "garbled" / "nodes.json").write_text("{not json")
    for given, says in (("relative/dir", "absolute path"),
                        (str(tmp_path / "missing"), "is not a directory"),
                        (str(tmp_path / "a-file"), "is not a directory"),
                        (str(tmp_path / "empty"), "no test node set in"),
                        (str(tmp_path / "garbled"), "holds no readable test node set")):
        refused = problem(lambda: client.certify_deployment(deployment_id, confirm=True,
                                                            test_nodes=given))
        assert refused.status == 422 and list(refused.errors) == ["test_nodes"], given
        assert says in refused.detail, (given, refused.detail)
    assert client.list_certifications(deployment_id)["certifications"] == []


def test_unknown_deployment_or_certification_is_404(deployer_api):
    client = deployer_api.client
    missing = str(uuid.uuid4())
    for call in (lambda: client.certify_deployment(missing, confirm=True),
                 lambda: client.list_certifications(missing),
                 lambda: client.get_certification(missing, missing)):
        refused = problem(call)
        assert refused.status == 404 and list(refused.errors) == ["id"]
    deployment_id, _ = deployment_row(deployer_api.cfg)
    refused = problem(lambda: client.get_certification(deployment_id, missing))
    assert refused.status == 404 and list(refused.errors) == ["certification_id"]


def test_reading_ends_a_certification_whose_worker_is_gone(deployer_api):
    """As with runs: a caller polling a certification always sees it end."""
    client, cfg = deployer_api.client, deployer_api.cfg
    deployment_id, _ = deployment_row(cfg)
    orphan = stored_certification(cfg, deployment_id, status="running", worker_id="vanished",
                                  active_deployment_id=deployment_id, started_at=utcnow())
    seen = client.get_certification(deployment_id, orphan)
    assert seen["status"] == "error" and seen["reason"].startswith("worker vanished is dead")
    assert seen["finished_at"]
    assert client.certify_deployment(deployment_id, confirm=True)["status"] == "queued"
