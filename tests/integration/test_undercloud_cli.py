"""`deployer undercloud up|status|down` as an admin runs it, against the real parts."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from deployer import config
from deployer.undercloud.process import free_port
from tests.fixtures.common import require_root_and

pytestmark = [pytest.mark.integration]

BIN = Path(sys.executable).parent


@pytest.fixture
def state_dir(tmp_path):
    require_root_and("goiardi")
    heat_port, chef_port, api_port = free_port(), free_port(), free_port()
    config.write_file(tmp_path / "deployer.conf", {
        "heat": {"port": heat_port}, "chef": {"port": chef_port}, "api": {"port": api_port}})
    yield tmp_path
    # Whatever the test did, nothing it started keeps running.
    subprocess.run([str(BIN / "deployer"), "undercloud", "down"], env=_env(tmp_path),
                   capture_output=True, timeout=120)


def _env(state_dir: Path) -> dict:
    return dict(os.environ, DEPLOYER_STATE_DIR=str(state_dir))


def _deployer(state_dir: Path, *args, timeout=300) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "deployer"), *args], env=_env(state_dir),
                          capture_output=True, text=True, timeout=timeout)


def test_up_status_use_and_down(state_dir):
    cfg = config.load(env={"DEPLOYER_STATE_DIR": str(state_dir)})
    up = _deployer(state_dir, "undercloud", "up")
    assert up.returncode == 0, up.stderr[-3000:]
    assert "under-cloud up" in up.stdout

    status = _deployer(state_dir, "undercloud", "status")
    assert status.returncode == 0, status.stdout
    for part, where in (("chef server", cfg.chef_server_url), ("deployer API", cfg.api.url),
                        ("deployer worker", "-"), ("heat", cfg.heat.embedded_endpoint)):
        line = next(line for line in status.stdout.splitlines() if line.startswith(part))
        assert "running" in line and where in line, line

    openstack = [str(BIN / "openstack"), "--os-auth-type", "none", "--os-endpoint",
                 cfg.heat.embedded_endpoint]
    stacks = subprocess.run([*openstack, "stack", "list", "-f", "json"],
                            capture_output=True, text=True, timeout=120)
    assert stacks.returncode == 0 and json.loads(stacks.stdout) == [], stacks.stderr
    shown = subprocess.run([*openstack, "orchestration", "resource", "type", "show",
                            "IBM::SCO::Node", "-f", "json"], capture_output=True, text=True,
                           timeout=120)
    assert shown.returncode == 0, shown.stderr
    schema = json.loads(shown.stdout)
    assert {"Address", "User", "Password", "KeyFile"} <= set(schema["properties"])
    assert schema["properties"]["Address"]["required"] is True
    assert {"deploy_status_code", "deploy_stdout", "deploy_stderr"} <= set(schema["attributes"])

    # The shipped cookbooks and roles were uploaded, and the stored admin key signs requests.
    from deployer.chef.server import ChefServer
    chef = ChefServer.from_config(cfg)
    assert "primary" in chef.list_roles()
    assert "deployer_haproxy" in chef.list_cookbooks()

    down = _deployer(state_dir, "undercloud", "down")
    assert down.returncode == 0, down.stderr
    stopped = _deployer(state_dir, "undercloud", "status")
    assert stopped.returncode == 3 and "running" not in stopped.stdout


def test_port_taken_is_a_clear_error(state_dir):
    import socket
    cfg = config.load(env={"DEPLOYER_STATE_DIR": str(state_dir)})
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", cfg.chef.port))
        squatter.listen()
        up = _deployer(state_dir, "undercloud", "up", "--no-sync")
    assert up.returncode == 2
    assert f"port 127.0.0.1:{cfg.chef.port} is already in use" in up.stderr
    assert "Traceback" not in up.stderr
