"""The namespace lab the HA tests stand on: isolation, private paths, and complete teardown."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest

from deployer.undercloud.process import pid_alive
from tests.ha.conftest import require_ha
from tests.ha.netlab import Lab, call_in_netns
from tests.ha.waiting import wait_until

pytestmark = pytest.mark.ha

LISTENER = "import socket,time; s=socket.create_server(('{ip}', 7000)); time.sleep(300)"


def netns_with(prefix: str) -> list[str]:
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(prefix)]


@pytest.fixture
def lab(tmp_path):
    require_ha()
    lab = Lab("havt", tmp_path)
    yield lab
    lab.close()


def test_private_paths_are_seen_only_inside_the_host(lab):
    host = lab.add_host("a", "10.252.0.11", ("/etc/haproxy",))
    host.write("/etc/haproxy/marker.cfg", "inside\n")
    assert host.run(["cat", "/etc/haproxy/marker.cfg"]).stdout == "inside\n"
    assert not os.path.exists("/etc/haproxy/marker.cfg"), "leaked into the real /etc"


def test_hosts_reach_each_other_and_the_root_namespace_gets_no_address(lab):
    server = lab.add_host("a", "10.252.0.11")
    client = lab.add_host("b", "10.252.0.12")
    server.spawn("listener", [sys.executable, "-c", LISTENER.format(ip=server.ip)])

    def connect() -> bool:
        with socket.create_connection((server.ip, 7000), timeout=1):
            return True
    wait_until(lambda: call_in_netns(client.netns, connect), timeout=10,
               what="a connection between two lab hosts")
    root_addresses = subprocess.run(["ip", "-4", "-o", "addr"], capture_output=True,
                                    text=True).stdout
    assert " 10.252.0." not in root_addresses


def test_close_kills_every_process_and_removes_the_namespaces(tmp_path):
    require_ha()
    lab = Lab("havt", tmp_path)
    host = lab.add_host("a", "10.252.0.11")
    pid = host.spawn("sleeper", ["sleep", "300"]).pid
    lab.close()
    assert not pid_alive(pid)
    assert not netns_with(lab.tag)


def test_leftovers_of_a_dead_run_are_removed(tmp_path):
    require_ha()
    subprocess.run(["ip", "netns", "add", "havt999999-stale"], check=True)
    try:
        Lab("havt", tmp_path).close()
        assert "havt999999-stale" not in netns_with("havt")
    finally:
        if "havt999999-stale" in netns_with("havt"):
            subprocess.run(["ip", "netns", "del", "havt999999-stale"])
