"""The shipped origin-style template through the OpenStack CLIs, as an admin would run it.

`openstack stack create` and the old `heat stack-create` against the embedded
under-cloud's Heat, with the real deployer, Chef server and test nodes.

The stand-in chef-client now executes the recipes, so the shipped roles really
converge: role[primary] fails at compile time on the origin environment, which
has no deployer.cluster.controllers (cookbook audit F8; fixing the cookbooks is
issue 10).  These tests pin that failure down as honest and readable: the
stack fails, and its reason names the cookbook file and line.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SEED = REPO / "hot_templates" / "origin-seed.json"


def _openstack(undercloud, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "openstack"), "--os-auth-type", "none", "--os-endpoint",
         undercloud.heat_endpoint, *args],
        capture_output=True, text=True, timeout=timeout)


# What the control node's converge reports: the cookbook error and where it was raised,
# "<cookbook>/<segment>/<file>.rb:<line>" (plus ", from <recipe>.rb:<line>" when raised in a library).
COMPILE_FAILURE = "DeployerCommon::InvalidAttribute: node['deployer']"
WHERE = re.compile(r"\(at deployer_\w+/(libraries|recipes|resources)/\w+\.rb:\d+"
                   r"(, from deployer_\w+/recipes/\w+\.rb:\d+)?\)")


def test_openstack_stack_create_of_the_origin_seed_template(undercloud, test_nodes_factory):
    control, standby = test_nodes_factory(2).nodes()
    name = f"seed-{uuid.uuid4().hex[:6]}"
    created = _openstack(
        undercloud, "stack", "create", "-t", str(SEED), "--wait", "-f", "json",
        "--parameter", f"ControlAddress={control.ip}", "--parameter", f"StandbyAddress={standby.ip}",
        "--parameter", f"KeyFile={control.key_file}", "--parameter", "EnableOSDebug=true", name)
    try:
        assert created.returncode != 0, created.stdout[-2000:]
        shown = _openstack(undercloud, "stack", "show", "-f", "json", name)
        stack = json.loads(shown.stdout)
        assert stack["stack_status"] == "CREATE_FAILED", shown.stdout
        reason = stack["stack_status_reason"]
        assert f"{name}-control" in reason and COMPILE_FAILURE in reason and WHERE.search(reason), reason
        # Heat cuts an event's reason at 255 characters: the event names the node, the failed
        # converge and chef-client's summary of the error; the stack's reason carries it whole.
        events = _openstack(undercloud, "stack", "event", "list", "-f", "json", name)
        assert any(f"{name}-control" in (event.get("resource_status_reason") or "")
                   and "converge failed: chef-client exited with status 1: " + COMPILE_FAILURE
                   in event["resource_status_reason"]
                   for event in json.loads(events.stdout)), events.stdout

        outputs = _openstack(undercloud, "stack", "output", "show", "--all", "-f", "json", name)
        assert outputs.returncode == 0, outputs.stderr
        assert "VlanManager" in outputs.stdout
        chef = undercloud.chef()
        env = chef.get_environment(name)["default_attributes"]["deployer"]
        assert env["orchestration"]["debug"] == "true"
        assert env["network"] == {"service_type": "nova-network",
                                  "network_manager": "nova.network.manager.VlanManager"}
        # The control node registered and failed; order 2 never started, so the standby never registered.
        assert chef.get_node(f"{name}-control")["run_list"] == ["role[primary]"]
        assert not chef.node_exists(f"{name}-standby")
    finally:
        deleted = _openstack(undercloud, "stack", "delete", "--yes", "--wait", name)
        assert deleted.returncode == 0, deleted.stderr[-2000:]


def test_heat_stack_create_of_the_origin_seed_template(undercloud, test_nodes_factory):
    control, standby = test_nodes_factory(2).nodes()
    name = f"seed-{uuid.uuid4().hex[:6]}"
    # The embedded Heat's noauth pipeline accepts any token.
    heat_cli = [str(BIN / "heat"), "--os-no-client-auth", "--os-auth-token", "noauth",
                "--heat-url", undercloud.heat_endpoint]
    created = subprocess.run(
        [*heat_cli, "stack-create", "-f", str(SEED),
         "-P", f"ControlAddress={control.ip};StandbyAddress={standby.ip};"
               f"NodePassword={control.password}", name],
        capture_output=True, text=True, timeout=120)
    assert created.returncode == 0, created.stderr[-2000:]
    heat = undercloud.heat()
    try:
        import time
        deadline = time.monotonic() + 240
        while (stack := heat.stacks.get(name)).stack_status.endswith("IN_PROGRESS"):
            assert time.monotonic() < deadline, "stack-create did not finish"
            time.sleep(1)
        # One password for both nodes (the standby's own differs), but the control node,
        # order 1, already fails its converge (F8), so order 2 never logs in.
        assert stack.stack_status == "CREATE_FAILED"
        assert f"{name}-control" in stack.stack_status_reason
        assert COMPILE_FAILURE in stack.stack_status_reason and WHERE.search(stack.stack_status_reason)
        assert control.password not in stack.stack_status_reason
        assert undercloud.chef().node_exists(f"{name}-control")
        assert not undercloud.chef().node_exists(f"{name}-standby")
    finally:
        subprocess.run([*heat_cli, "stack-delete", "-y", name], capture_output=True, timeout=60)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if heat.stacks.get(name).stack_status == "DELETE_COMPLETE":
                    break
            except Exception:
                break
            time.sleep(1)
        assert not undercloud.chef().node_exists(f"{name}-control")
