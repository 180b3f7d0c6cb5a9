"""The shipped origin-style template through the OpenStack CLIs, as an admin would run it.

`openstack stack create` and the old `heat stack-create` against the embedded
under-cloud's Heat, with the real deployer, Chef server and test nodes.
"""
from __future__ import annotations

import json
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


def test_openstack_stack_create_of_the_origin_seed_template(undercloud, test_nodes_factory):
    control, standby = test_nodes_factory(2).nodes()
    name = f"seed-{uuid.uuid4().hex[:6]}"
    created = _openstack(
        undercloud, "stack", "create", "-t", str(SEED), "--wait", "-f", "json",
        "--parameter", f"ControlAddress={control.ip}", "--parameter", f"StandbyAddress={standby.ip}",
        "--parameter", f"KeyFile={control.key_file}", "--parameter", "EnableOSDebug=true", name)
    try:
        assert created.returncode == 0, created.stderr[-2000:]
        # --wait prints the stack's events first; the JSON document is the last part.
        assert json.loads(created.stdout[created.stdout.index("{"):])["stack_status"] == \
            "CREATE_COMPLETE", created.stdout
        outputs = _openstack(undercloud, "stack", "output", "show", "--all", "-f", "json", name)
        assert outputs.returncode == 0, outputs.stderr
        assert "VlanManager" in outputs.stdout

        chef = undercloud.chef()
        env = chef.get_environment(name)["default_attributes"]
        assert env["orchestration"]["debug"] == "true"
        assert env["network"] == {"service_type": "nova-network",
                                  "network_manager": "nova.network.manager.VlanManager"}
        assert chef.get_node(f"{name}-control")["run_list"] == ["role[primary]"]
        assert chef.get_node(f"{name}-standby")["run_list"] == ["role[secondary]"]
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
        # One password for both nodes: the standby's own differs, so it must fail there, clearly.
        assert stack.stack_status == "CREATE_FAILED"
        assert f"{name}-standby" in stack.stack_status_reason
        assert "authentication failed" in stack.stack_status_reason
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
