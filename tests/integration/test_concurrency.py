"""Concurrency without locks (issue 11, item 4), against the real under-cloud:
20 concurrent plans and 20 concurrent creates all succeed.

Before: the API's threads waited on Heat while Heat's validation called back
into the same API (plans: 0 of 20), and creates died on `database is locked`
(500) or API timeouts.  Now Heat validates a deployer-checked stack without
calling back, requests that wait on Heat hold at most a few threads (past that:
503 with Retry-After, which a client honours), and a busy database is a 503 too.
Nothing may answer any other 5xx.
"""
from __future__ import annotations

import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from deployer.undercloud.process import free_port
from tests.fixtures.waiting import wait_until
from tests.integration.deployment_helpers import delete_deployment

pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(900)]

CONCURRENCY = 20
RETRY_FOR = 300.0


def call(method: str, url: str, body: dict, seen: list) -> requests.Response:
    """One request, retried while the API answers 503 with Retry-After (as it says to)."""
    deadline = time.monotonic() + RETRY_FOR
    while True:
        response = requests.request(method, url, json=body, timeout=120)
        seen.append((response.status_code, response.headers.get("Retry-After")))
        if response.status_code == 503 and response.headers.get("Retry-After") \
                and time.monotonic() < deadline:
            time.sleep(float(response.headers["Retry-After"]))
            continue
        return response


def bodies(prefix: str) -> list[dict]:
    closed = free_port()        # nothing listens: each node run fails fast at connect
    return [{"name": f"{prefix}-{i}", "template": "allinone",
             "parameters": {"NodeAddress": "127.0.0.1", "SshPassword": "x",
                            "SshPort": closed, "NodeName": f"{prefix}-aio{i}"},
             # preflight would refuse the closed port; the node runs must fail instead
             "skip_preflight": True}
            for i in range(CONCURRENCY)]


def test_20_concurrent_plans_and_20_concurrent_creates_all_succeed(undercloud):
    base = undercloud.cfg.api.url
    prefix = f"cc{uuid.uuid4().hex[:6]}"
    seen: list = []
    with ThreadPoolExecutor(CONCURRENCY) as pool:
        plans = list(pool.map(lambda body: call("POST", f"{base}/v1/deployments/plan", body,
                                                seen), bodies(prefix)))
    assert [r.status_code for r in plans] == [200] * CONCURRENCY, [r.text[:300] for r in plans]
    assert all(r.json()["steps"] for r in plans)

    created = []
    try:
        with ThreadPoolExecutor(CONCURRENCY) as pool:
            answers = list(pool.map(lambda body: call("POST", f"{base}/v1/deployments", body,
                                                      seen), bodies(prefix)))
        created = [r.json()["id"] for r in answers if r.status_code == 202]
        assert [r.status_code for r in answers] == [202] * CONCURRENCY, \
            [r.text[:300] for r in answers]
        api = undercloud.api()
        ended = wait_until(
            lambda: [api.get_deployment(d) for d in created], 600, "every deployment ended",
            until=lambda found: all(d["state"] != "in_progress" for d in found), interval=2)
        # Each failed on its own node (nothing listens on SshPort), none on the API.
        for deployment in ended:
            assert deployment["state"] == "failed", deployment
            assert "unreachable" not in deployment["status_reason"], deployment["status_reason"]
            runs = api.list_runs(stack_id=deployment["stack_id"])["runs"]
            assert [run["status"] for run in runs] == ["failed"], runs
    finally:
        for deployment_id in created:
            delete_deployment(undercloud.api(), deployment_id)
    other_5xx = [(status, retry) for status, retry in seen
                 if status >= 500 and not (status == 503 and retry)]
    assert other_5xx == []
