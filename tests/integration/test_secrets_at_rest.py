"""The SSH password of a deployment with nested nodes, after create and an update that
changes it: only encrypted in everything the under-cloud stores, and in nothing it returns.

sco-test-group's members sit in a ResourceGroup's nested stacks and get the password by
reference (IBM::SCO::Node PasswordParameter names the top-level hidden parameter), so no
group property, nested parameter or event holds it.
"""
from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.integration.deployment_helpers import delete_deployment

pytestmark = [pytest.mark.integration]

DEPLOYER = Path(sys.executable).with_name("deployer")


def deployer(undercloud, *argv: str, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    environment = {**os.environ, "DEPLOYER_API_URL": undercloud.cfg.api.url, **(env or {})}
    environment.pop("OS_TOKEN", None)
    return subprocess.run([str(DEPLOYER), *argv], env=environment, capture_output=True, text=True,
                          timeout=timeout)


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
                           env={"DEPLOYER_SECRET_NodePassword": first})
        assert created.returncode == 0, (created.stdout + created.stderr)[-3000:]
        set_root_password(nodes, second)
        updated = deployer(undercloud, "update", name, "--secret", "NodePassword",
                           env={"DEPLOYER_SECRET_NodePassword": second})
        assert updated.returncode == 0, (updated.stdout + updated.stderr)[-3000:]
        try:
            waited = deployer(undercloud, "watch", name, timeout=240)
        except subprocess.TimeoutExpired:
            logs = "\n".join(p.read_text()[-4000:] for p in undercloud.cfg.log_dir.glob("*.log"))
            raise AssertionError(deployer(undercloud, "events", name).stdout[-3000:] + logs)
        assert "UPDATE_COMPLETE" in waited.stdout, waited.stdout[-3000:]
        [deployment] = api.list_deployments(name=name)["deployments"]
        assert deployment["state"] == "complete"
        # The update logged in with the new password: both members converged again.
        runs = [run for run in api.list_runs(limit=500)["runs"] if run["node_name"].startswith(name)]
        assert sorted(run["status"] for run in runs) == ["succeeded"] * 4, runs

        returned = [created.stdout, created.stderr, updated.stdout, updated.stderr, waited.stdout]
        for command in (("show", name, "--json"), ("events", name)):
            shown = deployer(undercloud, *command)
            assert shown.returncode == 0, shown.stderr
            returned.append(shown.stdout)
        heat = undercloud.heat()
        stacks = [heat.stacks.get(deployment["stack_id"])]
        stacks += [heat.stacks.get(s.id) for s in heat.stacks.list(show_nested=True)
                   if s.stack_name.startswith(f"{name}-")]
        assert len(stacks) >= 4, [s.stack_name for s in stacks]     # the group and its 2 members
        for stack in stacks:
            returned.append(json.dumps(stack.to_dict()))
            returned.append(json.dumps(heat.stacks.template(stack.id)))
            returned.append(json.dumps(heat.stacks.environment(stack.id)))
            returned.append(json.dumps([e.to_dict() for e in heat.events.list(stack.id)]))
            for resource in heat.resources.list(stack.id):
                returned.append(json.dumps(heat.resources.get(stack.id, resource.resource_name).to_dict()))
        returned.append(json.dumps(runs))
        for text in returned:
            assert first not in text and second not in text

        for path in stored_files(undercloud.cfg.state_dir):
            data = path.read_bytes()
            assert first.encode() not in data and second.encode() not in data, path
    finally:
        for item in api.list_deployments(name=name)["deployments"]:
            delete_deployment(api, item["id"])
