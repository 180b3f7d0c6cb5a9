"""100 creates at concurrency 3 all complete (issue 11, item 4).

The probe before: 12x500, 61 of 99 failed, 2 runs of a live worker reaped as dead,
10 runs converged after their stack had failed, 5 Chef environments orphaned.

Here: the real deployer API (gunicorn) and worker, the real embedded Heat with our
plugins and the real Chef server (goiardi); only the node runs are the test
executor ``trivial`` (tests/fixtures/api_executors.py: every phase, no SSH, done at
once).  Three clients each create a deployment of the shipped all-in-one template
and wait for it to end, 100 deployments in all.  Every one must reach complete,
no answer may be a 5xx other than 503 with Retry-After (which the client honours),
every node run succeeded and none finished after its stack did, and the Chef
server holds exactly one environment per deployment; deleting them all leaves none.
"""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime

import pytest
import requests

from deployer.chef import names
from deployer.undercloud.process import free_port

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(1500)]

CREATES = 100
CONCURRENCY = 3
DEPLOYMENT_TIMEOUT = 300.0
EXECUTOR = "tests.fixtures.api_executors:trivial"


class Api:
    """requests against the API, retried while it answers 503 with Retry-After."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.seen: list[tuple[str, int, str | None]] = []

    def call(self, method: str, path: str, body: dict | None = None) -> requests.Response:
        deadline = time.monotonic() + DEPLOYMENT_TIMEOUT
        while True:
            response = requests.request(method, f"{self.base_url}{path}", json=body, timeout=120)
            self.seen.append((f"{method} {path.split('?')[0]}", response.status_code,
                              response.headers.get("Retry-After")))
            if response.status_code == 503 and response.headers.get("Retry-After") \
                    and time.monotonic() < deadline:
                time.sleep(float(response.headers["Retry-After"]))
                continue
            return response

    def until_ended(self, deployment_id: str, ended) -> dict:
        deadline = time.monotonic() + DEPLOYMENT_TIMEOUT
        while True:
            response = self.call("GET", f"/v1/deployments/{deployment_id}?wait=20")
            if response.status_code == 404:
                return {"id": deployment_id, "state": "gone"}
            assert response.status_code == 200, response.text[:500]
            found = response.json()
            if ended(found) or time.monotonic() > deadline:
                return found


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_100_creates_at_concurrency_3_all_complete(chef_server, deployer_api_factory,
                                                   heat_factory):
    api_port = free_port()
    heat = heat_factory({"deployer": {"api_url": f"http://127.0.0.1:{api_port}"}})
    deployer = deployer_api_factory(executor=EXECUTOR, chef_server=chef_server, run_workers=8,
                                    extra={"api": {"port": api_port},
                                           "heat": {"port": heat.port}})
    api = Api(deployer.base_url)
    prefix = f"ld{uuid.uuid4().hex[:6]}"
    environments_before = set(deployer.client.list_environments())

    def create_and_wait(i: int) -> dict:
        body = {"name": f"{prefix}-{i}", "template": "allinone",
                "parameters": {"NodeAddress": "192.0.2.10", "SshPassword": "pw-load-1",
                               "NodeName": f"{prefix}-aio{i}"},
                "skip_preflight": True}     # no server answers: the node runs are the load
        response = api.call("POST", "/v1/deployments", body)
        assert response.status_code == 202, response.text[:500]
        return api.until_ended(response.json()["id"],
                               lambda found: found["state"] != "in_progress")

    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        ended = list(pool.map(create_and_wait, range(CREATES)))
    create_seconds = time.monotonic() - started
    print(f"\n{CREATES} creates at concurrency {CONCURRENCY}: {create_seconds:.0f} s")

    not_complete = [(d["name"], d["state"], d.get("status_reason")) for d in ended
                    if d["state"] != "complete"]
    assert not_complete == [], not_complete
    assert len({d["id"] for d in ended}) == CREATES

    # Every stack had exactly its one node run, succeeded, finished before the deployer
    # saw its stack complete.
    late = []
    for deployment in ended:
        runs = deployer.client.list_runs(stack_id=deployment["stack_id"])["runs"]
        assert [run["status"] for run in runs] == ["succeeded"], (deployment["name"], runs)
        if _time(runs[0]["finished_at"]) > _time(deployment["updated_at"]):
            late.append((deployment["name"], runs[0]["finished_at"], deployment["updated_at"]))
    assert late == []

    # One Chef environment per deployment: none missing, none extra.
    created_environments = set(deployer.client.list_environments()) - environments_before
    assert created_environments == {names.environment_name_from(d["name"]) for d in ended}

    started = time.monotonic()
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        deleted = list(pool.map(lambda d: (api.call("DELETE", f"/v1/deployments/{d['id']}"),
                                           api.until_ended(d["id"], lambda found:
                                                           found["state"] in ("deleted",)
                                                           or found.get("stack_status")
                                                           == "DELETE_FAILED"))[1], ended))
    print(f"{CREATES} deletes at concurrency {CONCURRENCY}: {time.monotonic() - started:.0f} s")
    assert [d for d in deleted if d["state"] not in ("deleted", "gone")] == []
    assert set(deployer.client.list_environments()) - environments_before == set()

    server_errors = [(what, status) for what, status, retry in api.seen
                     if status >= 500 and not (status == 503 and retry)]
    assert server_errors == []
