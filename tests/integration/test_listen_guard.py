"""Unauthenticated servers refuse to listen where other machines reach them.

The check is on the socket each server really bound: gunicorn's --bind from
GUNICORN_CMD_ARGS, and the embedded Heat's noauth API on a wildcard address.
"""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from deployer.listeners import exposed, is_loopback
from deployer.undercloud.heat import EmbeddedHeat
from deployer.undercloud.process import ProcessError, free_port, port_in_use

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEPLOYER = os.path.join(os.path.dirname(sys.executable), "deployer")


@pytest.mark.parametrize("address, reachable", [
    (("127.0.0.1", 8100), False), (("127.0.0.53", 53), False), (("::1", 8100, 0, 0), False),
    ("localhost:8100", False), ("/run/deployer.sock", False), ("unix:/run/d.sock", False),
    (("0.0.0.0", 8100), True), (("::", 8100, 0, 0), True), (("10.251.0.1", 8100), True),
    ("0.0.0.0:8100", True), ("[::]:8100", True),
])
def test_exposed_addresses(address, reachable):
    assert bool(exposed([address])) is reachable


def test_is_loopback_refuses_names_it_cannot_vouch_for():
    assert is_loopback("localhost") and is_loopback("127.1.2.3") and is_loopback("::1")
    assert not is_loopback("deployer.example") and not is_loopback("")


def test_noauth_api_with_a_wildcard_bind_from_gunicorn_cmd_args_is_refused(tmp_path):
    port = free_port()
    env = dict(os.environ, DEPLOYER_STATE_DIR=str(tmp_path),
               GUNICORN_CMD_ARGS=f"--bind 0.0.0.0:{port}")
    env.pop("DEPLOYER_CONFIG", None)
    result = subprocess.run([DEPLOYER, "api", "serve"], env=env, capture_output=True, text=True,
                            timeout=120, cwd=REPO)
    assert result.returncode == 3, result.stderr[-2000:]
    assert f"bound to 0.0.0.0:{port}, which other machines can reach" in result.stderr
    assert not port_in_use("0.0.0.0", port), "the refused server must not keep the port"


def test_embedded_heat_refuses_a_noauth_api_off_loopback(tmp_path):
    port = free_port()
    heat = EmbeddedHeat(tmp_path / "heat", host="0.0.0.0", port=port)
    with pytest.raises(ProcessError, match=r"without authentication .* would listen on 0\.0\.0\.0"):
        heat.start()
    assert not heat.running()
    assert not port_in_use("0.0.0.0", port)
