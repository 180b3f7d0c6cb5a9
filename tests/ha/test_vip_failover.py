"""keepalived + haproxy from the rendered configs: the API VIP survives a dead load balancer.

Two controllers in namespaces on one bridge run the rendered keepalived.conf
(VRRP multicast, vrrp_script asking the local haproxy's monitor-uri) and the
rendered haproxy.cfg (API listeners on the VIP, balanced over both
controllers, each running a web service on its own address).  A client polls
the VIP every 50 ms over fresh connections.

The environment lowers haproxy's check timings (inter 500 fall 3): with the
origin's inter 2000 fall 5 the surviving haproxy keeps sending half of the
requests to the dead controller for ~10 s after the VIP moved, which
bench/failover.py measures; this test checks the VIP itself.
"""
from __future__ import annotations

import signal
import time

import pytest

from tests.ha.cluster_vip import VipCluster
from tests.ha.conftest import require_ha
from tests.ha.poller import HttpPoller
from tests.ha.rendered import Overcloud, vip, vrrp_secrets
from tests.ha.waiting import wait_until

pytestmark = pytest.mark.ha

CONTROLLERS = {"ctl1": "10.252.0.11", "ctl2": "10.252.0.12"}
API_VIP, DB_VIP, CLIENT_IP = "10.252.0.100", "10.252.0.101", "10.252.0.50"
TUNED_CHECKS = {"deployer": {"haproxy": {"check": {"inter": 500, "rise": 2, "fall": 3}}}}
POLL_SLACK = 0.1   # the poller's 50 ms period, twice


@pytest.fixture(scope="module")
def vip_cluster(lab_factory):
    require_ha("keepalived", "haproxy", "curl")
    oc = Overcloud(CONTROLLERS,
                   vips={"api": vip(API_VIP, 51, "vrrp_api"), "db": vip(DB_VIP, 52, "vrrp_db")},
                   attributes=TUNED_CHECKS, secrets=vrrp_secrets("vrrp_api", "vrrp_db"))
    attrs = oc.merged("deployer_keepalived", "ctl1")["deployer"]
    keystone_port = attrs["haproxy"]["services"]["keystone"]["port"]
    cluster = VipCluster(
        lab_factory("havv"), API_VIP,
        {name: (address, oc.render("deployer_keepalived", "keepalived.conf", name),
                oc.render("deployer_haproxy", "haproxy.cfg", name))
         for name, address in CONTROLLERS.items()},
        backend_port=keystone_port, client_ip=CLIENT_IP)
    cluster.check_configs()
    cluster.start()
    settle(cluster, keystone_port, "ctl1")
    return cluster, keystone_port, attrs["keepalived"]


def settle(cluster: VipCluster, port: int, master: str) -> None:
    """Wait until ``master`` alone holds the VIP and the API answers through it."""
    wait_until(lambda: cluster.vip_holders() == [master], timeout=30,
               what=f"{master} (highest priority) to hold the VIP alone")
    with HttpPoller(cluster.client.netns, API_VIP, port) as poller:
        wait_until(lambda: sum(p.ok for p in poller.log.polls[-10:]) == 10, timeout=30,
                   what="10 good polls in a row through the VIP")


def run_fault(cluster: VipCluster, port: int, inject, repair, back_on: str):
    """Poll through fault and repair; returns (poll log, fault time)."""
    with HttpPoller(cluster.client.netns, API_VIP, port) as poller:
        wait_until(lambda: len(poller.log.polls) >= 20, timeout=10, what="baseline polls")
        fault_at = time.monotonic()
        inject()
        wait_until(lambda: cluster.vip_holders() == ["ctl2"], timeout=30,
                   what="the backup to take the VIP", interval=0.1)
        wait_until(lambda: poller.log.first_ok_after(fault_at), timeout=10,
                   what="a poll to succeed after the fault", interval=0.1)
        time.sleep(2)  # keep polling on the new master
        repair()
        wait_until(lambda: cluster.vip_holders() == [back_on], timeout=30,
                   what=f"the VIP to return to {back_on} (preempt)", interval=0.1)
        time.sleep(2)
    return poller.log, fault_at


def check_takeover(log, fault_at: float, bound: float, record_property, label: str) -> None:
    assert all(p.ok for p in log.polls if p.at < fault_at), "polls failed before the fault"
    takeover = log.first_ok_after(fault_at).at - fault_at
    failures = log.failures_after(fault_at + takeover)
    record_property(f"{label}_takeover_s", round(takeover, 2))
    print(f"{label}: first good poll {takeover:.2f} s after the fault, longest gap "
          f"{log.longest_gap(fault_at):.2f} s, {len(log.failures_after(fault_at))} failed polls")
    assert takeover <= bound + POLL_SLACK, f"takeover took {takeover:.2f} s (> {bound} s)"
    assert not failures, f"{len(failures)} polls failed after the takeover: {failures[:3]}"


def test_link_down_on_the_master_moves_the_vip(vip_cluster, record_property):
    cluster, port, keepalived = vip_cluster
    master = cluster.lbs["ctl1"]
    log, fault_at = run_fault(cluster, port, inject=lambda: master.link(False),
                              repair=lambda: master.link(True), back_on="ctl1")
    # VRRP's master-down interval: 3 x advert_int plus a skew below one second
    check_takeover(log, fault_at, 3 * keepalived["advert_int"] + 1, record_property, "link_down")


def test_dead_haproxy_on_the_master_moves_the_vip(vip_cluster, record_property):
    cluster, port, keepalived = vip_cluster
    settle(cluster, port, "ctl1")
    master = cluster.lbs["ctl1"]
    check = keepalived["check"]

    log, fault_at = run_fault(cluster, port, inject=lambda: master.kill("haproxy", signal.SIGKILL),
                              repair=lambda: cluster.start_haproxy(master), back_on="ctl1")
    # the track script notices after fall x interval (each try up to its timeout), then VRRP moves
    bound = check["fall"] * (check["interval"] + check["timeout"]) + 3 * keepalived["advert_int"] + 1
    check_takeover(log, fault_at, bound, record_property, "haproxy_kill")
