"""Keystone auth strategy: the role check, and auth_token's real wiring.

There is no Keystone on this machine.  The role-check tests therefore replace
keystonemiddleware.auth_token with a test-only WSGI wrapper that sets the same
identity headers auth_token sets after validating a token (X-Identity-Status,
X-Roles); the last test installs the real auth_token middleware and checks a
request without a token is refused as problem+json without contacting Keystone.
"""
from __future__ import annotations

import pytest

from deployer import config
from deployer.api.app import create_app
from deployer.db.migrate import upgrade

RUN = {"node_name": "n1", "run_list": ["role[primary]"], "environment": "production",
       "target": {"address": "192.0.2.10", "password": "pw"}}


def identity_from_test_headers(wsgi_app):
    """Stands in for auth_token: copies X-Test-Roles into the identity headers."""
    def middleware(environ, start_response):
        roles = environ.pop("HTTP_X_TEST_ROLES", None)
        for header in ("HTTP_X_IDENTITY_STATUS", "HTTP_X_ROLES"):
            environ.pop(header, None)          # auth_token also strips client-sent ones
        if roles is not None:
            environ["HTTP_X_IDENTITY_STATUS"] = "Confirmed"
            environ["HTTP_X_ROLES"] = roles
        else:
            environ["HTTP_X_IDENTITY_STATUS"] = "Invalid"
        return wsgi_app(environ, start_response)
    return middleware


def keystone_cfg(tmp_path, **extra) -> config.Config:
    path = config.write_file(tmp_path / "deployer.conf", {
        "DEFAULT": {"state_dir": tmp_path},
        "api": {"auth_strategy": "keystone", "bind_host": "0.0.0.0"}, **extra})
    cfg = config.load(path, env={})
    upgrade(cfg)
    return cfg


@pytest.fixture
def client(tmp_path):
    app = create_app(keystone_cfg(tmp_path),
                     {"TESTING": True, "AUTH_MIDDLEWARE": identity_from_test_headers})
    return app.test_client()


def credential_for(tmp_path, deployment_id: str) -> str:
    from deployer.runs import credentials
    from deployer.secrets import SecretBox
    return credentials.issue(SecretBox.in_dir(tmp_path / "api"), deployment_id)


def test_admin_starts_runs(client):
    assert client.post("/v1/runs", json=RUN, headers={"X-Test-Roles": "admin"}).status_code == 202


def test_deployer_role_starts_runs_only_with_a_deployment_credential(client, tmp_path):
    """Only a deployment's node resources (its credential) or an admin start runs: the
    deployer role alone may not point the worker at a server of its choosing."""
    bare = client.post("/v1/runs", json=RUN, headers={"X-Test-Roles": "member,deployer"})
    assert bare.status_code == 403 and bare.mimetype == "application/problem+json"
    assert list(bare.get_json()["errors"]) == ["X-Deployer-Run-Credential"]
    forged = client.post("/v1/runs", json=RUN, headers={
        "X-Test-Roles": "member,deployer",
        "X-Deployer-Run-Credential": "v1.d-1." + "0" * 64})
    assert forged.status_code == 403 and "not a credential" in forged.get_json()["detail"]
    granted = client.post("/v1/runs", json=RUN, headers={
        "X-Test-Roles": "member,deployer",
        "X-Deployer-Run-Credential": credential_for(tmp_path, "d-1")})
    assert granted.status_code == 202, granted.get_json()
    assert client.get("/v1/runs", headers={"X-Test-Roles": "reader"}).get_json()["runs"][0][
        "node_name"] == "n1"


def test_only_an_admin_starts_a_certification(client):
    """It injects faults into a deployment's controllers: the deployer role is not enough."""
    path = "/v1/deployments/no-such-id/certifications"
    body = {"confirm": True}
    refused = client.post(path, json=body, headers={"X-Test-Roles": "member,deployer"})
    assert refused.status_code == 403 and refused.mimetype == "application/problem+json"
    assert "only an admin" in refused.get_json()["detail"]
    assert client.post(path, json=body, headers={"X-Test-Roles": "admin"}).status_code == 404
    assert client.get(path, headers={"X-Test-Roles": "reader"}).status_code == 404


def test_write_forbidden_without_role(client):
    response = client.post("/v1/runs", json=RUN, headers={"X-Test-Roles": "member,reader"})
    assert response.status_code == 403
    assert response.mimetype == "application/problem+json"
    assert "admin or deployer role" in response.get_json()["detail"]


def test_read_allowed_for_any_identity(client):
    assert client.get("/v1/runs", headers={"X-Test-Roles": "reader"}).status_code == 200


def test_client_cannot_forge_identity(client):
    response = client.get("/v1/runs", headers={"X-Identity-Status": "Confirmed",
                                               "X-Roles": "admin"})
    assert response.status_code == 401


def test_healthcheck_is_public(client):
    assert client.get("/healthcheck").status_code == 200


def test_keystone_needs_its_section(tmp_path):
    path = config.write_file(tmp_path / "deployer.conf", {
        "DEFAULT": {"state_dir": tmp_path}, "api": {"auth_strategy": "keystone"}})
    with pytest.raises(config.ConfigError, match=r"\[keystone_authtoken\]"):
        create_app(config.load(path, env={}))


def test_real_auth_token_refuses_missing_token(tmp_path):
    cfg = keystone_cfg(tmp_path, keystone_authtoken={
        "www_authenticate_uri": "http://192.0.2.1:5000", "auth_url": "http://192.0.2.1:5000",
        "auth_type": "password", "username": "deployer", "password": "unused",
        "project_name": "service", "user_domain_name": "Default",
        "project_domain_name": "Default"})
    client = create_app(cfg, {"TESTING": True}).test_client()
    forged = {"X-Identity-Status": "Confirmed", "X-Roles": "admin"}  # auth_token strips these
    response = client.post("/v1/runs", json=RUN, headers=forged)
    assert response.status_code == 401
    assert response.mimetype == "application/problem+json"


def test_status_pages_load_without_a_token_but_their_data_needs_one(client):
    page = client.get("/status/")
    assert page.status_code == 200 and page.mimetype == "text/html"
    assert client.get("/status/some-id").status_code == 200
    assert client.get("/status/static/status.css").status_code == 200
    assert client.get("/v1/deployments").status_code == 401
