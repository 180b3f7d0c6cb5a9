"""The runs API under real gunicorn with the real worker process (trivial
executor, real SQLite or PostgreSQL): lifecycle, paging, logs, secrets,
problem+json over HTTP, gunicorn restarts, Chef node removal."""
from __future__ import annotations

import sqlite3

import pytest

from deployer.client import DeployerAPIError
from tests.integration.runs_helpers import PASSWORD, run_spec, wait_for, wait_for_phase

pytestmark = pytest.mark.timeout(180)


def check_lifecycle(client, stack_id: str) -> dict:
    run = client.start_run(run_spec("web-1", "echo-password", stack_id=stack_id,
                                    stack_name="overcloud", resource_name="web1"))
    assert run["status"] == "queued"
    assert run["spec"]["target"]["password"] == "******"
    done = wait_for(client, run["id"])
    assert done["status"] == "succeeded", done
    assert done["exit_code"] == 0 and done["reason"] == ""
    assert [(p["name"], p["status"]) for p in done["phases"]] == [
        (name, "succeeded") for name in ("connect", "install", "register", "configure",
                                         "converge")]
    assert done["stdout_tail"].splitlines()[-2] == "converge: node web-1 at 192.0.2.10"
    assert done["started_at"] and done["finished_at"] and done["worker_id"]
    assert (done["stack_id"], done["stack_name"], done["resource_name"]) == (
        stack_id, "overcloud", "web1")
    return done


def test_run_lifecycle(deployer_api):
    check_lifecycle(deployer_api.client, "stack-a")


def test_failed_run_reports_exit_code_and_stderr(deployer_api):
    run = deployer_api.client.start_run(run_spec("db-1", "fail"))
    done = wait_for(deployer_api.client, run["id"])
    assert (done["status"], done["exit_code"]) == ("failed", 1)
    assert "converge" in done["reason"]
    assert done["stderr_tail"] == "converge failed: test::fail"
    assert done["phases"][-1] == {**done["phases"][-1], "name": "converge", "status": "failed"}


def test_list_filters_and_pages(deployer_api):
    client = deployer_api.client
    ids = [client.start_run(run_spec(f"n{i}", stack_id="stack-p"))["id"] for i in range(5)]
    client.start_run(run_spec("other", stack_id="stack-q"))
    seen, marker = [], None
    while True:
        page = client.list_runs(stack_id="stack-p", limit=2, marker=marker)
        seen += [run["id"] for run in page["runs"]]
        marker = page["next_marker"]
        if marker is None:
            break
    assert seen == list(reversed(ids))       # newest first, each exactly once
    for run_id in ids:
        wait_for(deployer_api.client, run_id)
    succeeded = client.list_runs(stack_id="stack-p", status="succeeded")["runs"]
    assert len(succeeded) == 5


def test_log_reads_incrementally(deployer_api):
    client = deployer_api.client
    run_id = client.start_run(run_spec("log-1", "fail"))["id"]
    wait_for(client, run_id)
    first = client.run_log(run_id, limit=2)
    assert [c["seq"] for c in first["chunks"]] == [1, 2]
    rest = client.run_log(run_id, offset=first["next_offset"])
    assert rest["chunks"][0]["seq"] == 3 and rest["status"] == "failed"
    errors = client.run_log(run_id, stream="stderr")["chunks"]
    assert [c["text"] for c in errors] == ["converge failed: test::fail\n"]


def test_problem_json_over_http(deployer_api):
    import requests
    response = requests.post(f"{deployer_api.base_url}/v1/runs", data="{not json",
                             headers={"Content-Type": "application/json"}, timeout=10)
    assert response.status_code == 400
    assert response.headers["Content-Type"] == "application/problem+json"
    with pytest.raises(DeployerAPIError) as missing:
        deployer_api.client.start_run({**run_spec("x"), "target": {"password": "p"}})
    assert missing.value.status == 400 and "target.address" in missing.value.errors
    with pytest.raises(DeployerAPIError) as bad_port:
        deployer_api.client.start_run(
            run_spec("x", target={"address": "a", "port": 0, "password": "p"}))
    assert list(bad_port.value.errors) == ["target.port"]
    with pytest.raises(DeployerAPIError) as unknown:
        deployer_api.client.get_run("no-such-run")
    assert unknown.value.status == 404 and unknown.value.problem["title"] == "Not Found"


def test_password_never_leaves_the_secret_column(deployer_api):
    client = deployer_api.client
    run_id = client.start_run(run_spec("secret-1", "echo-password"))["id"]
    wait_for(client, run_id)
    bodies = [client.get_run(run_id), client.list_runs(), client.run_log(run_id)]
    assert all(PASSWORD not in str(body) for body in bodies)
    assert "connecting with password ******" in client.get_run(run_id)["stdout_tail"]
    for process in deployer_api.processes.values():
        assert PASSWORD not in process.log_file.read_text(), process.name
    with sqlite3.connect(deployer_api.cfg.api_dir / "deployer.sqlite") as db:
        spec, blob = db.execute("SELECT spec_json, secret_blob FROM runs WHERE id = ?",
                                (run_id,)).fetchone()
        outputs = " ".join(row[0] for row in db.execute("SELECT text FROM run_output"))
    assert PASSWORD not in spec and PASSWORD not in outputs
    assert blob and PASSWORD.encode() not in blob
    database_bytes = b"".join(path.read_bytes()
                              for path in deployer_api.cfg.api_dir.glob("deployer.sqlite*"))
    assert PASSWORD.encode() not in database_bytes


def test_gunicorn_restart_mid_run_loses_nothing(deployer_api):
    client, api = deployer_api.client, deployer_api.processes["api"]
    run_id = client.start_run(run_spec("restart-1", "sleep-3"))["id"]
    wait_for_phase(client, run_id, "converge")
    api.stop()
    api.start()
    done = wait_for(client, run_id)
    assert done["status"] == "succeeded"
    assert len(done["phases"]) == 5


def test_delete_chef_node_is_404_tolerant(deployer_api_factory, chef_server):
    from deployer.chef.errors import ChefNotFound

    deployer = deployer_api_factory(chef_server=chef_server)
    admin = chef_server.admin()
    admin.create_node({"name": "gone-soon"})
    admin.create_client("gone-soon")
    # Only identities the deployer's runs registered may be removed.
    with pytest.raises(DeployerAPIError) as foreign:
        deployer.client.delete_chef_node("gone-soon")
    assert foreign.value.status == 403 and "node_name" in foreign.value.errors
    assert admin.node_exists("gone-soon") and admin.client_exists("gone-soon")
    wait_for(deployer.client, deployer.client.start_run(run_spec("gone-soon"))["id"])
    deployer.client.delete_chef_node("gone-soon")
    with pytest.raises(ChefNotFound):
        admin.get_node("gone-soon")
    assert not admin.client_exists("gone-soon")
    deployer.client.delete_chef_node("gone-soon")    # already gone: still success
    with pytest.raises(DeployerAPIError) as bad:
        deployer.client.delete_chef_node("bad name")
    assert bad.value.status == 400


def test_protected_chef_identities_survive(deployer_api_factory, chef_server):
    """The validator, the deployer's own client and webui are nobody's node: no run
    rekeys them and no request deletes them (403), so the under-cloud keeps working."""
    deployer = deployer_api_factory(chef_server=chef_server)
    with chef_server.admin() as admin:
        validators = [name for name in ("chef-validator", "admin") if admin.client_exists(name)]
    for name in ("chef-validator", "admin", "chef-webui", "pivotal"):
        with pytest.raises(DeployerAPIError) as deleting:
            deployer.client.delete_chef_node(name)
        assert deleting.value.status == 403, name
        with pytest.raises(DeployerAPIError) as rekeying:
            deployer.client.start_run(run_spec(name))
        assert rekeying.value.status == 403 and list(rekeying.value.errors) == ["node_name"]
    with chef_server.admin() as admin:
        assert all(admin.client_exists(name) for name in validators)
    assert deployer.client.list_runs()["runs"] == []


def test_no_run_copies_or_logs_a_host_file(deployer_api):
    """The attack of issue 11: install.kind=copy of any host path, or a key_file
    anywhere, made the worker (root) ship the file to a node and print it in the
    log.  Both are 403s naming the field; no run exists to log anything."""
    client = deployer_api.client
    secret = str(deployer_api.cfg.api_dir / "run-secrets.key")
    for body, field in (
            ({**run_spec("thief"), "install": {"kind": "copy", "location": secret}},
             "install.location"),
            ({**run_spec("thief"), "install": {"kind": "command", "location": f"cat {secret}"}},
             "install.location"),
            (run_spec("thief", target={"address": "192.0.2.10", "key_file": secret}),
             "target.key_file")):
        with pytest.raises(DeployerAPIError) as refused:
            client.start_run(body)
        assert refused.value.status == 403 and list(refused.value.errors) == [field]
        assert refused.value.problem["title"] == "Forbidden"
    assert client.list_runs()["runs"] == []


def test_runs_flow_on_postgresql(deployer_api_factory, postgres_server):
    deployer = deployer_api_factory(database_url=postgres_server.create_database())
    check_lifecycle(deployer.client, "stack-pg")
    run_id = deployer.client.start_run(run_spec("pg-slow", "sleep-20"))["id"]
    wait_for_phase(deployer.client, run_id, "converge")
    deployer.client.cancel_run(run_id)
    assert wait_for(deployer.client, run_id)["status"] == "cancelled"
