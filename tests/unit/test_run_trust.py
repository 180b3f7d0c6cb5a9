"""The trust boundary of node runs (issue 11, items 1 and 3), on a real migrated
SQLite database through the Flask test client:

- what a run installs and which key file it reads come from the deployer's
  configuration ([bootstrap] source, [bootstrap] key_dir), never the caller;
- the Chef identities of the deployer and the Chef server are nobody's node;
- a node name held by one deployment is a 409 for every other, naming it;
- DELETE /v1/chef/nodes removes only identities the deployer's runs created.

Each refused request is a 4xx problem+json naming the field, and leaves no run.
"""
from __future__ import annotations

import os
import uuid

import pytest

from deployer import config
from deployer.api.app import create_app
from deployer.db.migrate import upgrade
from deployer.db.models import Deployment, NodeClaim, utcnow
from deployer.db.session import make_engine, make_session_factory
from deployer.runs import credentials
from deployer.secrets import SecretBox

PROBLEM = "application/problem+json"
INSTALLER = "/opt/site/chef-client-installer"


def run_body(name="node-1", **target):
    return {"node_name": name, "run_list": ["role[primary]"], "environment": "production",
            "target": {"address": "192.0.2.10", "password": "pw-trust", **target}}


@pytest.fixture
def cfg(tmp_path):
    path = config.write_file(tmp_path / "deployer.conf", {
        "DEFAULT": {"state_dir": tmp_path},
        "bootstrap": {"chef_client_install": "copy", "chef_client_location": INSTALLER,
                      "key_dir": tmp_path / "keys"}})
    (tmp_path / "keys").mkdir(mode=0o700)
    (tmp_path / "keys" / "id_ed25519").write_text("not really a key\n")
    cfg = config.load(path, env={})
    upgrade(cfg)
    return cfg


class FakeChef:
    """Records removals; the real Chef server's removal is tested in test_runs_api."""
    removed: list[str] = []

    def remove_node(self, name):
        self.removed.append(name)

    def close(self):
        pass


@pytest.fixture
def client(cfg):
    FakeChef.removed = []
    return create_app(cfg, {"TESTING": True, "CHEF_SERVER_FACTORY": FakeChef}).test_client()


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json()


def no_runs(client) -> bool:
    return client.get("/v1/runs").get_json()["runs"] == []


def deployment_row(cfg, name: str, *claims: str) -> str:
    session = make_session_factory(make_engine(cfg.database_url))()
    now = utcnow()
    row = Deployment(id=str(uuid.uuid4()), name=name, active_name=name, template="t",
                     parameters={}, secret_names=[], heat_environments=[], stack_id=None,
                     stack_status="CREATE_COMPLETE", status_reason="", state="complete",
                     created_at=now, updated_at=now)
    session.add(row)
    session.flush()
    session.add_all(NodeClaim(node_name=n, deployment_id=row.id, created_at=now) for n in claims)
    session.commit()
    session.close()
    return row.id


# -- install sources -----------------------------------------------------------------

@pytest.mark.parametrize("install", [
    {"kind": "copy", "location": "/etc/shadow"},
    {"kind": "copy", "location": INSTALLER + "/../../../etc/shadow"},
    {"kind": "command", "location": "cat /etc/shadow"},
    {"kind": "url", "location": "http://192.0.2.99/evil.sh"},
])
def test_a_caller_chosen_install_source_is_refused(client, install):
    body = problem(client.post("/v1/runs", json={**run_body(), "install": install}), 403)
    assert list(body["errors"]) == ["install.location"]
    assert INSTALLER in body["detail"]
    assert no_runs(client)


def test_runs_install_the_configured_source(client):
    default = client.post("/v1/runs", json=run_body("a"))
    assert default.status_code == 202
    assert default.get_json()["spec"]["install"] == {"kind": "copy", "location": INSTALLER}
    named = client.post("/v1/runs", json={**run_body("b"), "install": {
        "kind": "copy", "location": INSTALLER}})
    assert named.status_code == 202
    present = client.post("/v1/runs", json={**run_body("c"), "install": {"kind": "present"}})
    assert present.get_json()["spec"]["install"] == {"kind": "present", "location": ""}


# -- key files ---------------------------------------------------------------------------

@pytest.mark.parametrize("key_file", ["/etc/ssh/ssh_host_ed25519_key", "../deployer.conf",
                                      "/var/lib/deployer/chef/conf/admin.pem", "keys/../../x"])
def test_a_key_file_outside_the_key_directory_is_refused(client, key_file):
    body = problem(client.post("/v1/runs", json=run_body(key_file=key_file, password=None)), 403)
    assert list(body["errors"]) == ["target.key_file"]
    assert no_runs(client)


def test_a_symlink_out_of_the_key_directory_is_refused(client, cfg, tmp_path):
    os.symlink("/etc/shadow", tmp_path / "keys" / "sneaky")
    body = problem(client.post("/v1/runs", json=run_body(key_file="sneaky", password=None)), 403)
    assert list(body["errors"]) == ["target.key_file"]
    assert no_runs(client)


def test_a_key_in_the_key_directory_is_used_by_its_full_path(client, tmp_path):
    for asked in ("id_ed25519", str(tmp_path / "keys" / "id_ed25519")):
        run = client.post("/v1/runs", json=run_body(key_file=asked, password=None))
        assert run.status_code == 202, run.get_json()
        assert run.get_json()["spec"]["target"]["key_file"] == str(
            (tmp_path / "keys" / "id_ed25519").resolve())


# -- Chef identities and node ownership ----------------------------------------------------

@pytest.mark.parametrize("name", ["admin", "chef-validator", "chef-webui", "pivotal",
                                  "Chef-Validator"])
def test_no_run_takes_a_chef_identity_of_the_deployer(client, name):
    body = problem(client.post("/v1/runs", json=run_body(name)), 403)
    assert list(body["errors"]) == ["node_name"] and name in body["detail"]
    assert no_runs(client)


@pytest.mark.parametrize("name", ["admin", "chef-validator", "chef-webui", "pivotal"])
def test_no_request_deletes_a_chef_identity_of_the_deployer(client, name):
    problem(client.delete(f"/v1/chef/nodes/{name}"), 403)
    assert FakeChef.removed == []


def test_a_chef_object_no_run_created_is_not_deleted(client):
    body = problem(client.delete("/v1/chef/nodes/someone-elses"), 403)
    assert list(body["errors"]) == ["node_name"]
    assert FakeChef.removed == []
    assert client.post("/v1/runs", json=run_body("mine")).status_code == 202
    assert client.delete("/v1/chef/nodes/mine").status_code == 204
    assert FakeChef.removed == ["mine"]


def test_a_node_of_one_deployment_is_a_409_for_another(client, cfg):
    first = deployment_row(cfg, "first", "aio1")
    second = deployment_row(cfg, "second")
    box = SecretBox.in_dir(cfg.api_dir)
    as_second = {credentials.HEADER: credentials.issue(box, second)}
    body = problem(client.post("/v1/runs", json=run_body("aio1"), headers=as_second), 409)
    assert body["errors"] == {"node_name": ["node name aio1 belongs to deployment first"]}
    # an admin's direct run may not take it either
    assert "first" in problem(client.post("/v1/runs", json=run_body("aio1")), 409)["detail"]
    assert no_runs(client)
    problem(client.delete("/v1/chef/nodes/aio1", headers=as_second), 409)
    # the holder's own node resources may
    as_first = {credentials.HEADER: credentials.issue(box, first)}
    run = client.post("/v1/runs", json=run_body("aio1"), headers=as_first)
    assert run.status_code == 202
    # a name nobody holds is claimed by the deployment whose run registers it
    assert client.post("/v1/runs", json=run_body("free-1"), headers=as_second).status_code == 202
    body = problem(client.post("/v1/runs", json=run_body("free-1"), headers=as_first), 409)
    assert "second" in body["detail"]
    assert client.delete("/v1/chef/nodes/aio1", headers=as_first).status_code == 204


def test_a_deleted_deployments_credential_starts_nothing(client, cfg):
    gone = deployment_row(cfg, "gone")
    session = make_session_factory(make_engine(cfg.database_url))()
    session.get(Deployment, gone).state = "deleted"
    session.commit()
    header = {credentials.HEADER: credentials.issue(SecretBox.in_dir(cfg.api_dir), gone)}
    body = problem(client.post("/v1/runs", json=run_body("late"), headers=header), 403)
    assert list(body["errors"]) == [credentials.HEADER]
    assert no_runs(client)


def test_a_node_resource_deleting_a_name_it_never_registered_touches_nothing(client, cfg):
    mine = deployment_row(cfg, "mine")
    header = {credentials.HEADER: credentials.issue(SecretBox.in_dir(cfg.api_dir), mine)}
    assert client.delete("/v1/chef/nodes/never-ran", headers=header).status_code == 204
    assert FakeChef.removed == []
