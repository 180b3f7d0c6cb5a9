"""Every bad input is a 4xx problem+json naming the field, never a 500 or a 502
(issue 11, item 8), on a real migrated SQLite database through the Flask test
client: body size and JSON depth, invalid Unicode, NaN, offsets beyond the
database's integers, Chef names that need %-encoding or are path segments, SSH
targets with control characters, unique-name races, a busy database, and the
OpenAPI document saying what errors really are."""
from __future__ import annotations

import pytest
from sqlalchemy.exc import OperationalError

from deployer import config
from deployer.api import limits
from deployer.api.app import create_app
from deployer.db.migrate import upgrade

PROBLEM = "application/problem+json"
RUN = {"node_name": "n1", "run_list": ["role[primary]"], "environment": "production",
       "target": {"address": "192.0.2.10", "password": "pw"}}


class NoChef:
    """Any call reaching the Chef server fails the test: refusals happen before it."""
    def __getattr__(self, name):
        raise AssertionError(f"the Chef server was called ({name})")


@pytest.fixture
def app(tmp_path):
    cfg = config.load(config.write_file(tmp_path / "deployer.conf",
                                        {"DEFAULT": {"state_dir": tmp_path}}), env={})
    upgrade(cfg)
    return create_app(cfg, {"TESTING": True, "CHEF_SERVER_FACTORY": NoChef})


@pytest.fixture
def client(app):
    return app.test_client()


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json()


def no_runs(client) -> bool:
    return client.get("/v1/runs").get_json()["runs"] == []


def test_a_body_over_the_limit_is_413(client):
    big = b'{"node_name": "' + b"x" * limits.MAX_BODY_BYTES + b'"}'
    body = problem(client.post("/v1/runs", data=big, content_type="application/json"), 413)
    assert str(limits.MAX_BODY_BYTES) in body["detail"]
    assert no_runs(client)


@pytest.mark.parametrize("depth", [limits.MAX_JSON_DEPTH + 1, 10_000, 100_000])
def test_deep_json_is_400(client, depth):
    deep = "[" * depth + "]" * depth
    body = problem(client.post("/v1/runs", data=deep, content_type="application/json"), 400)
    assert "nested deeper" in body["detail"]
    nested = '{"node_name": "n", "target": ' + '{"a": ' * depth + "1" + "}" * depth + "}"
    problem(client.post("/v1/runs", data=nested, content_type="application/json"), 400)


@pytest.mark.parametrize("text,field", [
    ('{"node_name": "\\ud800"}', "node_name"),
    ('{"node_name": "n", "target": {"address": "\\udfff"}}', "target.address"),
    ('{"\\ud800": 1}', "body"),
])
def test_a_lone_surrogate_is_400_naming_the_field(client, text, field):
    body = problem(client.post("/v1/runs", data=text, content_type="application/json"), 400)
    assert list(body["errors"]) == [field]


def test_nan_and_invalid_utf8_are_400(client):
    problem(client.post("/v1/parameter-sets", data='{"name": "s", "template": "t", '
                        '"parameters": {"x": NaN}}', content_type="application/json"), 400)
    problem(client.post("/v1/runs", data=b'{"node_name": "\xff"}',
                        content_type="application/json"), 400)


def test_a_log_offset_beyond_the_database_integers_is_400(client):
    run_id = client.post("/v1/runs", json=RUN).get_json()["id"]
    for offset in (2**31, 10**20, -1):
        body = problem(client.get(f"/v1/runs/{run_id}/log?offset={offset}"), 400)
        assert list(body["errors"]) == ["offset"]
    assert client.get(f"/v1/runs/{run_id}/log?offset={2**31 - 1}").status_code == 200


@pytest.mark.parametrize("method,path,field", [
    ("get", "/v1/chef/environments/..", "name"),
    ("delete", "/v1/chef/environments/..", "name"),
    ("get", "/v1/chef/environments/.", "name"),
    ("get", "/v1/chef/environments/a:b", "name"),
    ("get", "/v1/chef/environment-templates/..", "name"),
    ("delete", "/v1/chef/nodes/..", "node_name"),
    ("delete", "/v1/chef/nodes/.", "node_name"),
    ("delete", "/v1/chef/nodes/a:b", "node_name"),
    ("delete", "/v1/chef/nodes/a%3Ab", "node_name"),
])
def test_chef_names_the_server_cannot_take_never_reach_it(client, method, path, field):
    body = problem(getattr(client, method)(path), 400)
    assert list(body["errors"]) == [field]


def test_put_environment_checks_the_name(client):
    body = problem(client.put("/v1/chef/environments/..", json={
        "default_attributes": {}}), 400)
    assert list(body["errors"]) == ["name"]


@pytest.mark.parametrize("target,field", [
    ({"address": "192.0.2.10\n"}, "target.address"),
    ({"address": "host\x00name"}, "target.address"),
    ({"address": "bad host"}, "target.address"),
    ({"address": "-oProxyCommand=x"}, "target.address"),
    ({"address": "1.2.3.999"}, "target.address"),
    ({"address": "192.0.2.10", "user": "root; id"}, "target.user"),
])
def test_run_targets_are_checked_before_anything_resolves_them(client, target, field):
    body = problem(client.post("/v1/runs", json={**RUN, "target": {**target,
                                                                  "password": "pw"}}), 400)
    assert list(body["errors"]) == [field]
    assert no_runs(client)


@pytest.mark.parametrize("address", ["192.0.2.10", "2001:db8::1", "node-1.example.org",
                                     "node1"])
def test_good_targets_pass(client, address):
    assert client.post("/v1/runs", json={**RUN, "target": {
        "address": address, "password": "pw"}}).status_code == 202


def test_node_names_with_colons_or_only_dots_are_400(client):
    for name in ("a:b", "..", "."):
        body = problem(client.post("/v1/runs", json={**RUN, "node_name": name}), 400)
        assert list(body["errors"]) == ["node_name"]
    assert no_runs(client)


def test_a_unique_name_race_is_409(app, client, monkeypatch):
    """Two creates of one parameter set: the loser's insert hits the primary key
    after its own check passed (simulated by inserting between check and write)."""
    from deployer.db.models import ParameterSet, utcnow
    from deployer.deployments import parameter_sets

    def racing_store(services, row, template, parameters, kept):
        other = app.extensions["deployer"].session_factory()
        other.add(ParameterSet(name=row.name, template=template, description="",
                               parameters={}, secret_names=[], created_at=utcnow(),
                               updated_at=utcnow()))
        other.commit()
        other.close()
        row.template, row.parameters, row.secret_names = template, {}, []
        row.updated_at = utcnow()

    monkeypatch.setattr(parameter_sets, "_store", racing_store)
    body = problem(client.post("/v1/parameter-sets", json={"name": "site-a",
                                                           "template": "allinone"}), 409)
    assert list(body["errors"]) == ["name"]


def test_any_other_integrity_race_is_409_and_a_busy_database_503(client, monkeypatch):
    from sqlalchemy.exc import IntegrityError
    from deployer.runs import service

    def conflict(*_args, **_kwargs):
        raise IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed"))

    monkeypatch.setattr(service, "create_run", conflict)
    problem(client.post("/v1/runs", json=RUN), 409)

    def locked(*_args, **_kwargs):
        raise OperationalError("INSERT", {}, Exception("database is locked"))

    monkeypatch.setattr(service, "create_run", locked)
    response = client.post("/v1/runs", json=RUN)
    problem(response, 503)
    assert int(response.headers["Retry-After"]) > 0


def test_openapi_documents_errors_as_problem_json(client):
    spec = client.get("/v1/openapi.json").get_json()
    responses = spec["components"]["responses"]
    assert list(responses["DEFAULT_ERROR"]["content"]) == [PROBLEM]
    assert list(responses["BAD_REQUEST"]["content"]) == [PROBLEM]
    post = spec["paths"]["/v1/runs"]["post"]["responses"]
    assert list(post["202"]["content"]) == ["application/json"]


@pytest.mark.parametrize("path,body,field", [
    ("/v1/runs", {**RUN, "node_name": "n1\n"}, "node_name"),
    ("/v1/runs", {**RUN, "environment": "production\n"}, "environment"),
    ("/v1/deployments/plan", {"name": "dep\n", "template": "allinone"}, "name"),
    ("/v1/parameter-sets", {"name": "set\n", "template": "allinone"}, "name"),
])
def test_a_trailing_newline_does_not_slip_through_a_name_rule(client, path, body, field):
    assert list(problem(client.post(path, json=body), 400)["errors"]) == [field]


def test_a_request_id_outside_its_rule_is_replaced(client):
    response = client.get("/v1/runs", headers={"X-Request-Id": "abcdefgh <script>"})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"].startswith("req-")


def test_requests_past_the_heat_slots_are_503_with_retry_after(client, monkeypatch):
    """Requests that wait on Heat hold at most a few threads; past that the API says
    so at once (503 + Retry-After) instead of timing out with every thread busy."""
    import threading
    from deployer.api import deployment_services

    taken = threading.BoundedSemaphore(1)
    taken.acquire()
    monkeypatch.setattr(deployment_services, "_heat_slots", taken)
    monkeypatch.setattr(deployment_services, "SLOT_WAIT_SECONDS", 0.05)
    for path, body in (("/v1/deployments/plan", {"name": "d", "template": "allinone"}),
                       ("/v1/deployments", {"name": "d", "template": "allinone"}),
                       ("/v1/parameter-sets", {"name": "s", "template": "allinone"})):
        response = client.post(path, json=body)
        problem(response, 503)
        assert int(response.headers["Retry-After"]) > 0
