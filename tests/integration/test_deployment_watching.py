"""Watching deployments costs Heat nothing: reads come from the deployer's database.

Against the real under-cloud (gunicorn API + worker, real Heat, goiardi, test
nodes): the gunicorn API's refreshers keep each deployment's snapshot current,
and a second, in-process API app on the same database whose heatclient counts
every call serves the reads, so "no Heat call inside a request" is counted, not
timed.  A finished deployment gets no Heat request at all: the real Heat's own
request log names its stack no more.  ETags give 304, and the long poll
(``wait``) answers with a change, or 304 when nothing changed.
"""
from __future__ import annotations

import time
import uuid

import pytest

from deployer.api.app import create_app
from deployer.api.deployment_services import HEAT_EXTENSION, services
from deployer.deployments import views
from tests.fixtures.waiting import wait_until
from tests.integration.deployment_helpers import TEMPLATE, delete_deployment, node_parameters

pytestmark = [pytest.mark.integration, pytest.mark.timeout(600)]

FLOW_TIMEOUT = 240
UNREACHABLE = {"NodeAddresses": "127.0.0.1,127.0.0.1,127.0.0.1",
               "NodeKeyFiles": "/nonexistent-key,/nonexistent-key,/nonexistent-key",
               "NodeFingerprints": ",".join(["SHA256:" + "A" * 43] * 3)}


class Counting:
    """A real heatclient whose every method call (``stacks.get`` ...) is recorded."""

    def __init__(self, target, calls: list[str], prefix: str = ""):
        self._target, self._calls, self._prefix = target, calls, prefix

    def __getattr__(self, name):
        value = getattr(self._target, name)
        if callable(value):
            def call(*args, **kwargs):
                self._calls.append(self._prefix + name)
                return value(*args, **kwargs)
            return call
        return Counting(value, self._calls, f"{self._prefix}{name}.")


@pytest.fixture
def counted_app(undercloud):
    """The API app in this process on the under-cloud's database and Heat, its
    heatclient counting, its own refreshers off (the gunicorn API's refresh)."""
    app = create_app(undercloud.cfg, test_config={"STACK_REFRESHERS": False})
    calls: list[str] = []
    app.extensions[HEAT_EXTENSION] = Counting(undercloud.heat(), calls)
    return app.test_client(), calls


def _heat_requests_naming(undercloud, *needles: str) -> int:
    log = undercloud.cfg.state_dir / "heat" / "heat.log"
    return sum(1 for line in log.read_text(errors="replace").splitlines()
               if "Processing request" in line and any(n in line for n in needles))


def test_reads_call_no_heat_and_a_finished_deployment_costs_heat_nothing(
        undercloud, test_nodes_factory, counted_app):
    client, calls = counted_app
    api = undercloud.api()
    nodes = test_nodes_factory(3).nodes()
    name = f"watch-{uuid.uuid4().hex[:8]}"
    created = api.create_deployment({"name": name, "template": TEMPLATE,
                                     "parameters": node_parameters(nodes, converge_seconds=4)})
    deployment_id = created["id"]
    path = f"/v1/deployments/{deployment_id}"
    try:
        # In progress: the detail shows Heat's node resources and the runs' phases,
        # read by the in-process app without a single Heat call.
        def detail():
            response = client.get(path)
            assert response.status_code == 200, response.get_data(as_text=True)
            return response.get_json()

        running = wait_until(detail, FLOW_TIMEOUT, "a node converging", interval=0.3,
                             until=lambda d: any(n["phase"] == "converge" for n in d["nodes"]))
        assert running["state"] == "in_progress"
        assert {n["resource"] for n in running["nodes"]} == {"control", "standby", "compute"}
        assert client.get("/v1/deployments").status_code == 200
        assert calls == []

        done = wait_until(detail, FLOW_TIMEOUT, "the deployment complete", interval=0.5,
                          until=lambda d: d["state"] != "in_progress")
        assert (done["state"], done["stack_status"]) == ("complete", "CREATE_COMPLETE"), done
        assert done["progress"] == {"nodes_total": 3, "nodes_done": 3}
        assert done["outputs"]["CONTROL_ADDRESS"] == nodes[0].ip
        assert calls == []
        assert api.get_deployment(deployment_id) == done      # the gunicorn API alike
        # The one-query change token reads what the stored answer was made at, so
        # an unchanged deployment is answered from the stored JSON.
        with client.application.app_context():
            found = services()
            _, token, stack_ids = views.detail_and_token(
                found, *views.with_snapshot(found, deployment_id))
            assert views.detail_token(found, deployment_id, stack_ids) == token
            assert token[4] == 3            # the token covers the three runs

        # Finished: no refresher holds it any more, and Heat hears nothing of it while
        # it is read and listed, through the gunicorn API too.
        stack_id = done["stack_id"]
        time.sleep(1.5)       # a refresher's last tick may still be logging
        before = _heat_requests_naming(undercloud, stack_id, f"/stacks/{name}")
        for _ in range(10):
            assert api.get_deployment(deployment_id)["state"] == "complete"
            api.list_deployments(name=name)
            detail()
        time.sleep(2)
        assert _heat_requests_naming(undercloud, stack_id, f"/stacks/{name}") == before
        assert calls == []

        # Conditional requests: the same ETag is a 304 without a body.
        first = client.get(path)
        tag = first.headers["ETag"]
        again = client.get(path, headers={"If-None-Match": tag})
        assert again.status_code == 304 and again.get_data() == b""
        listed = client.get("/v1/deployments", query_string={"name": name})
        assert client.get("/v1/deployments", query_string={"name": name},
                          headers={"If-None-Match": listed.headers["ETag"]}).status_code == 304
        assert client.get(path, headers={"If-None-Match": 'W/"something-else"'}
                          ).status_code == 200
        assert calls == []
        # The counter is wired: the events do come from Heat.
        assert client.get(f"{path}/events").status_code == 200 and calls
    finally:
        delete_deployment(api, deployment_id)


def test_long_poll_answers_a_change_and_nothing_while_nothing_changes(undercloud,
                                                                      counted_app):
    """A deployment whose nodes cannot be reached: it changes (in progress -> failed)
    and then stays; the long poll delivers the change and a 304 after that."""
    client, calls = counted_app
    api = undercloud.api()
    name = f"poll-{uuid.uuid4().hex[:8]}"
    deployment_id = api.create_deployment({"name": name, "template": TEMPLATE,
                                           "parameters": UNREACHABLE,
                                           "skip_preflight": True})["id"]
    path = f"/v1/deployments/{deployment_id}"
    try:
        seen, tag = api.watch_deployment(deployment_id)
        answers = []
        while seen["state"] == "in_progress":
            changed, new_tag = api.watch_deployment(deployment_id, tag, wait=20)
            answers.append(changed)
            assert (changed is None) == (new_tag == tag)
            seen, tag = (changed, new_tag) if changed is not None else (seen, tag)
            assert len(answers) < 30, answers
        assert seen["state"] == "failed" and "control" in seen["status_reason"]

        # Nothing changes any more: a long poll ends with 304 and no body.
        unchanged = client.get(path, query_string={"wait": 1.5},
                               headers={"If-None-Match": tag})
        assert unchanged.status_code == 304 and unchanged.get_data() == b""
        assert unchanged.headers["ETag"] == tag
        assert api.watch_deployment(deployment_id, tag, wait=1) == (None, tag)
        # A stale ETag is answered at once with the current deployment.
        current = client.get(path, query_string={"wait": 20},
                             headers={"If-None-Match": 'W/"stale"'})
        assert current.status_code == 200 and current.get_json()["state"] == "failed"
        assert current.headers["ETag"] == tag
    finally:
        delete_deployment(api, deployment_id)
    assert calls == []
