"""The SSH password of a deployment with nested nodes, after create and an update that
changes it: only encrypted in everything the under-cloud stores, and in nothing it returns.

Nodes of nested stacks (sco-test-group's members, active-active's computes) sit in a
ResourceGroup's nested stacks and get the password by reference (IBM::SCO::Node
PasswordParameter names the top-level hidden parameter), so no group property, nested
parameter or event holds it.  The first test logs in to real test nodes with it; the
second deploys the shipped active-active template with the test executor (no SSH).
"""
from __future__ import annotations

import json
import secrets
import subprocess
import uuid
from pathlib import Path

import pytest

from deployer.undercloud.process import free_port
from tests.fixtures.waiting import wait_until
from tests.integration.deployment_helpers import delete_deployment, deployer

pytestmark = [pytest.mark.integration]


def set_root_password(nodes, password: str) -> None:
    for node in nodes:
        changed = node.exec("chpasswd", input=f"root:{password}\n")
        assert changed.returncode == 0, changed.stderr


def stored_files(root: Path):
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink():
            yield path


def test_the_ssh_password_is_only_ever_stored_encrypted(undercloud, test_nodes_factory):
    nodes = test_nodes_factory(2).nodes()
    name = f"grp-{uuid.uuid4().hex[:6]}"
    first, second = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    set_root_password(nodes, first)
    addresses = ",".join(node.ip for node in nodes)
    api = undercloud.api()
    try:
        created = deployer(undercloud, "create", name, "-t", "sco-test-group", "--wait",
                           "-p", f"NodeAddresses={addresses}", "--secret", "NodePassword",
                           env={"DEPLOYER_SECRET_NodePassword": first}, timeout=300)
        assert created.returncode == 0, (created.stdout + created.stderr)[-3000:]
        set_root_password(nodes, second)
        updated = deployer(undercloud, "update", name, "--secret", "NodePassword",
                           env={"DEPLOYER_SECRET_NodePassword": second}, timeout=300)
        assert updated.returncode == 0, (updated.stdout + updated.stderr)[-3000:]
        try:
            waited = deployer(undercloud, "watch", name, timeout=240)
        except subprocess.TimeoutExpired:
            logs = "\n".join(p.read_text()[-4000:] for p in undercloud.cfg.log_dir.glob("*.log"))
            raise AssertionError(deployer(undercloud, "events", name, timeout=300).stdout[-3000:] + logs)
        assert "UPDATE_COMPLETE" in waited.stdout, waited.stdout[-3000:]
        [deployment] = api.list_deployments(name=name)["deployments"]
        assert deployment["state"] == "complete"
        # The update logged in with the new password: both members converged again.
        runs = [run for run in api.list_runs(limit=500)["runs"] if run["node_name"].startswith(name)]
        assert sorted(run["status"] for run in runs) == ["succeeded"] * 4, runs

        returned = [created.stdout, created.stderr, updated.stdout, updated.stderr, waited.stdout]
        for command in (("show", name, "--json"), ("events", name)):
            shown = deployer(undercloud, *command, timeout=300)
            assert shown.returncode == 0, shown.stderr
            returned.append(shown.stdout)
        returned += heat_texts(undercloud.heat(), deployment["stack_id"], name)
        returned.append(json.dumps(runs))
        for text in returned:
            assert first not in text and second not in text

        for path in stored_files(undercloud.cfg.state_dir):
            data = path.read_bytes()
            assert first.encode() not in data and second.encode() not in data, path
    finally:
        for item in api.list_deployments(name=name)["deployments"]:
            delete_deployment(api, item["id"])


def heat_texts(heat, stack_id: str, name: str) -> list[str]:
    """Everything Heat returns about a stack and its nested stacks."""
    stacks = [heat.stacks.get(stack_id)]
    stacks += [heat.stacks.get(s.id) for s in heat.stacks.list(show_nested=True)
               if s.stack_name.startswith(f"{name}-")]
    assert len(stacks) >= 4, [s.stack_name for s in stacks]     # a group and its 2 members
    texts = []
    for stack in stacks:
        texts += [json.dumps(stack.to_dict()), json.dumps(heat.stacks.template(stack.id)),
                  json.dumps(heat.stacks.environment(stack.id)),
                  json.dumps([e.to_dict() for e in heat.events.list(stack.id)])]
        texts += [json.dumps(heat.resources.get(stack.id, r.resource_name).to_dict())
                  for r in heat.resources.list(stack.id)]
    return texts


def wait_ended(client, deployment_id: str, action: str, timeout: float = 300) -> dict:
    """The deployment once its stack's ``action`` (CREATE, UPDATE) is no longer in progress."""
    return wait_until(lambda: client.get_deployment(deployment_id), timeout,
                      f"deployment {deployment_id} {action} ended", interval=1,
                      until=lambda found: found["stack_status"].startswith(action)
                      and found["state"] != "in_progress")


def test_active_active_password_is_only_ever_stored_encrypted(chef_server, deployer_api_factory,
                                                              heat_factory):
    """The shipped active-active template (3 controllers, 2 computes in a ResourceGroup),
    created and then updated with a new SSH password through the API."""
    api_port = free_port()
    heat = heat_factory({"deployer": {"api_url": f"http://127.0.0.1:{api_port}"}})
    deployer_api = deployer_api_factory(chef_server=chef_server, run_workers=8,
                                        extra={"api": {"port": api_port},
                                               "heat": {"port": heat.port}})
    client = deployer_api.client
    first, second = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    prefix = f"aa{uuid.uuid4().hex[:6]}"
    parameters = {"Controller1Address": "192.0.2.11", "Controller2Address": "192.0.2.12",
                  "Controller3Address": "192.0.2.13", "ComputeAddresses": "192.0.2.21,192.0.2.22",
                  "ApiVipAddress": "192.0.2.200", "DbVipAddress": "192.0.2.201",
                  "Controller1Name": f"{prefix}-c1", "Controller2Name": f"{prefix}-c2",
                  "Controller3Name": f"{prefix}-c3", "ComputeNamePrefix": f"{prefix}-cp"}
    deployment = client.create_deployment({"name": prefix, "template": "active-active",
                                           "parameters": {**parameters, "SshPassword": first},
                                           "skip_preflight": True})   # no server answers
    try:
        created = wait_ended(client, deployment["id"], "CREATE")
        assert created["state"] == "complete", created.get("status_reason")
        client.update_deployment(deployment["id"], parameters={"SshPassword": second})
        updated = wait_ended(client, deployment["id"], "UPDATE")
        assert (updated["state"], updated["stack_status"]) == ("complete", "UPDATE_COMPLETE"), \
            updated.get("status_reason")
        runs = client.list_runs(stack_id=None, limit=500)["runs"]
        mine = [run for run in runs if run["node_name"].startswith(prefix)]
        assert sorted(run["status"] for run in mine) == ["succeeded"] * 10, mine

        returned = [json.dumps(client.get_deployment(deployment["id"])),
                    json.dumps(client.deployment_events(deployment["id"])), json.dumps(mine)]
        returned += [json.dumps(client.get_run(run["id"])) for run in mine]
        returned += heat_texts(heat.client, updated["stack_id"], prefix)
        for text in returned:
            assert first not in text and second not in text
        for root in (deployer_api.cfg.state_dir, heat.state_dir):
            holding_parameters = 0
            for path in stored_files(Path(root)):
                data = path.read_bytes()
                assert first.encode() not in data and second.encode() not in data, path
                holding_parameters += f"{prefix}-cp".encode() in data
            assert holding_parameters, f"nothing under {root} holds the deployment's parameters"
    finally:
        delete_deployment(client, deployment["id"])
