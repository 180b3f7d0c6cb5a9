"""A command following a long operation rides out a short API outage and gives up on a
long one with the API's own error (deployer/cli/outages.py)."""
from __future__ import annotations

import io

import pytest

from deployer.cli import outages
from deployer.cli.update_plan import plan_update
from deployer.client import DeployerAPIError, DeployerUnavailable


def unreachable():
    return DeployerUnavailable(None, {"detail": "cannot reach http://127.0.0.1:1: ConnectionError"},
                               "GET", "/v1/deployments/d1/plan/p1")


class Flaky:
    """Unavailable ``failures`` times (no response, then a 503), then answers."""

    def __init__(self, failures: int):
        self.failures, self.calls = failures, 0

    def __call__(self):
        self.calls += 1
        if self.calls <= self.failures:
            raise unreachable() if self.calls % 2 else DeployerUnavailable(
                503, {"detail": "busy"}, "GET", "/x")
        return "answer"


def test_a_short_outage_is_ridden_out():
    read = Flaky(3)
    assert outages.read_through_outages(read, patience=5, retry=0.01) == "answer"
    assert read.calls == 4


def test_an_outage_longer_than_the_patience_raises_the_last_error():
    read = Flaky(10_000)
    with pytest.raises(DeployerUnavailable):
        outages.read_through_outages(read, patience=0.05, retry=0.01)
    assert 2 <= read.calls < 10_000


def test_an_api_refusal_is_not_retried():
    calls = []

    def refused():
        calls.append(1)
        raise DeployerAPIError(404, {"detail": "gone"}, "GET", "/x")
    with pytest.raises(DeployerAPIError):
        outages.read_through_outages(refused, patience=5, retry=0.01)
    assert len(calls) == 1


def test_a_why_run_plan_is_followed_through_an_api_restart(monkeypatch):
    monkeypatch.setattr(outages, "RETRY_SECONDS", 0.01)

    class Client:
        reads = 0

        def plan_update(self, deployment_id, **_):
            return {"id": "p1", "status": "running", "environment": "_whyrun-ab",
                    "nodes": [{"node_name": "aio1", "status": "running"}]}

        def get_update_plan(self, deployment_id, plan_id):
            self.reads += 1
            if self.reads <= 2:
                raise unreachable()
            return {"id": "p1", "status": "complete", "reason": "", "environment": "_whyrun-ab",
                    "environment_removed": True,
                    "nodes": [{"node_name": "aio1", "resource": "allinone", "status": "succeeded",
                               "would_update": 0, "resources": 3}]}
    out = io.StringIO()
    code = plan_update(Client(), {"id": "d1", "name": "cloud"}, parameters={},
                       parameter_set=None, heat_environments=None, out=out, poll=0)
    assert code == 0, out.getvalue()
    assert "aio1 (allinone): nothing would change (0 of 3 resources)" in out.getvalue()
