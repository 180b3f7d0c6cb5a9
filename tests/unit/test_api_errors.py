"""problem+json for every error path of the API, on a real migrated SQLite DB
(the Flask test client stands in for gunicorn; integration tests use gunicorn)."""
from __future__ import annotations

import logging

import pytest

from deployer import config
from deployer.api.app import create_app
from deployer.api.errors import flatten_messages
from deployer.db.migrate import upgrade

PROBLEM = "application/problem+json"
VALID_RUN = {"node_name": "node-1.example", "run_list": ["role[primary]"],
             "environment": "production",
             "target": {"address": "192.0.2.10", "password": "pw-unit-0xC0FFEE"}}


def make_cfg(tmp_path, **api) -> config.Config:
    path = config.write_file(tmp_path / "deployer.conf",
                             {"DEFAULT": {"state_dir": tmp_path}, "api": api})
    return config.load(path, env={})


@pytest.fixture
def cfg(tmp_path):
    cfg = make_cfg(tmp_path)
    upgrade(cfg)
    return cfg


@pytest.fixture
def client(cfg):
    return create_app(cfg, {"TESTING": True}).test_client()


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json()
    assert body["status"] == status
    assert body["type"] and body["title"] and body["detail"]
    assert body["request_id"] == response.headers["X-Request-Id"]
    return body


def test_malformed_json_is_400(client):
    body = assert_problem(client.post("/v1/runs", data='{"node_name": ',
                                      content_type="application/json"), 400)
    assert "not valid JSON" in body["detail"]


def test_missing_field_names_its_path(client):
    spec = {**VALID_RUN, "target": {"password": "x"}}
    body = assert_problem(client.post("/v1/runs", json=spec), 400)
    assert body["errors"] == {"target.address": ["Missing data for required field."]}
    assert "target.address" in body["detail"]


def test_bad_port_names_the_field(client):
    spec = {**VALID_RUN, "target": {**VALID_RUN["target"], "port": 70000}}
    body = assert_problem(client.post("/v1/runs", json=spec), 400)
    assert list(body["errors"]) == ["target.port"]


@pytest.mark.parametrize("field, value", [
    ("node_name", "bad name/with slash"),
    ("run_list", ["role[web.v2]"]),   # bare "nginx" is Chef's recipe[nginx]: accepted
    ("environment", "prod env"),
    ("action", "explode"),
])
def test_field_validation(client, field, value):
    body = assert_problem(client.post("/v1/runs", json={**VALID_RUN, field: value}), 400)
    assert any(path.startswith(field) for path in body["errors"]), body["errors"]


def test_credentials_required(client):
    spec = {**VALID_RUN, "target": {"address": "192.0.2.10"}}
    body = assert_problem(client.post("/v1/runs", json=spec), 400)
    assert body["errors"] == {"target.password": ["password or key_file is required"]}


def test_unknown_field_rejected(client):
    body = assert_problem(client.post("/v1/runs", json={**VALID_RUN, "nodename": "x"}), 400)
    assert "nodename" in body["errors"]


def test_unknown_run_is_404(client):
    body = assert_problem(client.get("/v1/runs/00000000-0000-0000-0000-000000000000"), 404)
    assert "00000000-0000-0000-0000-000000000000" in body["detail"]
    assert_problem(client.post("/v1/runs/nope/cancel"), 404)
    assert_problem(client.get("/v1/runs/nope/log"), 404)


def test_unknown_marker_is_400(client):
    body = assert_problem(client.get("/v1/runs?marker=nope"), 400)
    assert list(body["errors"]) == ["marker"]


def test_routing_errors_are_problems(client):
    assert_problem(client.get("/v1/nothing-here"), 404)
    assert_problem(client.delete("/v1/runs"), 405)


def test_500_hides_internals_and_logs_request_id(cfg, caplog):
    app = create_app(cfg, {"TESTING": True, "PROPAGATE_EXCEPTIONS": False})

    @app.get("/v1/boom")
    def boom():
        raise RuntimeError("secret internal detail /etc/shadow")

    with caplog.at_level(logging.ERROR):
        response = app.test_client().get("/v1/boom")
    body = assert_problem(response, 500)
    assert "secret internal detail" not in response.get_data(as_text=True)
    assert body["request_id"] in body["detail"]
    logged = [r for r in caplog.records if body["request_id"] in r.getMessage()]
    assert logged and logged[0].exc_info[0] is RuntimeError


def test_incoming_request_id_is_kept(client):
    response = client.get("/v1/runs/nope", headers={"X-Request-Id": "lb-1234567890"})
    assert response.get_json()["request_id"] == "lb-1234567890"


def test_accepted_run_never_echoes_the_password(client, cfg):
    response = client.post("/v1/runs", json=VALID_RUN)
    assert response.status_code == 202
    assert "pw-unit-0xC0FFEE" not in response.get_data(as_text=True)
    assert response.get_json()["spec"]["target"]["password"] == "******"


def test_noauth_refused_off_loopback(tmp_path):
    with pytest.raises(config.ConfigError, match="noauth is only allowed"):
        create_app(make_cfg(tmp_path, bind_host="0.0.0.0"))


def test_flatten_nested_and_list_messages():
    assert flatten_messages({"json": {"target": {"port": ["bad"]},
                                      "run_list": {1: ["bad item"]}}}, by_location=True) == {
        "target.port": ["bad"], "run_list.1": ["bad item"]}
    assert flatten_messages({"values.VIP": ["no value"], "name": ["bad"]}) == {
        "values.VIP": ["no value"], "name": ["bad"]}


def test_openapi_document_comes_from_the_schemas(client):
    document = client.get("/v1/openapi.json").get_json()
    spec_schema = document["components"]["schemas"]["RunSpec"]
    assert set(spec_schema["required"]) >= {"node_name", "target", "run_list", "environment"}
    assert "post" in document["paths"]["/v1/runs"]
    assert "202" in document["paths"]["/v1/runs"]["post"]["responses"]


def test_secret_key_created_concurrently_is_whole_and_shared(tmp_path):
    """API workers and the run worker start together; each must read the one complete key."""
    import concurrent.futures
    from deployer.secrets import SecretBox
    for attempt in range(20):
        directory = tmp_path / str(attempt)
        with concurrent.futures.ThreadPoolExecutor(8) as pool:
            boxes = list(pool.map(lambda _: SecretBox.in_dir(directory), range(8)))
        blob = boxes[0].encrypt("s3cret")
        assert all(box.decrypt(blob) == "s3cret" for box in boxes)
        assert (directory / "run-secrets.key").stat().st_mode & 0o777 == 0o600
        assert [p.name for p in directory.iterdir()] == ["run-secrets.key"]


@pytest.mark.parametrize("given, stored", [
    (None, {"kind": "url", "location": "https://example.test/install.sh"}),
    ({"kind": "present"}, {"kind": "present", "location": ""}),
])
def test_a_run_without_install_gets_the_configured_source(tmp_path, given, stored):
    path = config.write_file(tmp_path / "deployer.conf", {
        "DEFAULT": {"state_dir": tmp_path},
        "bootstrap": {"chef_client_install": "url",
                      "chef_client_location": "https://example.test/install.sh"}})
    cfg = config.load(path, env={})
    upgrade(cfg)
    body = {**VALID_RUN, **({"install": given} if given else {})}
    response = create_app(cfg, {"TESTING": True}).test_client().post("/v1/runs", json=body)
    assert response.status_code == 202, response.get_data(as_text=True)
    assert response.get_json()["spec"]["install"] == stored
