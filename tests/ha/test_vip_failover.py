"""keepalived + haproxy from the rendered configs: the API VIP survives a dead load balancer.

Two controllers in namespaces on one bridge run the rendered keepalived.conf
(VRRP multicast, vrrp_script asking the local haproxy's monitor-uri) and the
rendered haproxy.cfg (API listeners on the VIP, balanced over both
controllers, each running a web service on its own address).  A client polls
the VIP every 50 ms over fresh connections, through the fault and the repair.

The environment lowers haproxy's check timings (inter 250 fall 2) so that the
surviving haproxy has dropped the dead controller before the VIP arrives:
with the origin's inter 2000 fall 5 it keeps sending half of the requests to
the dead controller for ~15 s after the VIP moved (and with inter 500 fall 3
the two race), which bench/failover.py measures; this test checks the VIP.
"""
from __future__ import annotations

import pytest

from tests.ha.conftest import require_ha
from tests.ha.scenarios import FAST_CHECKS, build_vip, fault_vip_master, settle_vip, vip_overcloud

pytestmark = pytest.mark.ha

# A generous poll timeout keeps a busy shared host from failing polls; a failed
# poll then delays the next one, so timings are known to timeout + period.
POLL_TIMEOUT = 0.5
POLL_SLACK = POLL_TIMEOUT + 0.05


@pytest.fixture(scope="module")
def vip_setup(lab_factory):
    require_ha("keepalived", "haproxy", "curl")
    return build_vip(lab_factory("havv"), vip_overcloud(FAST_CHECKS))


def check_takeover(result, bound: float, record_property, label: str) -> None:
    log = result.log
    record_property(f"{label}_takeover_s", round(result.takeover, 2))
    print(f"{label}: first good poll {result.takeover:.2f} s after the fault, longest gap "
          f"{log.longest_gap(result.fault_at):.2f} s, "
          f"{len(log.failures_after(result.fault_at))} failed polls")
    assert result.takeover <= bound + POLL_SLACK, \
        f"takeover took {result.takeover:.2f} s (> {bound} s)"
    failures = result.failures_after_takeover()
    assert not failures, f"{len(failures)} polls failed after the takeover: {failures[:3]}"
    # failback (preempt) may cost a poll while both nodes swap the VIP; it must end served
    assert all(p.ok for p in log.polls[-10:]), "the API does not answer after the VIP came back"


def test_link_down_on_the_master_moves_the_vip(vip_setup, record_property):
    result = fault_vip_master(vip_setup, "link", poll_timeout=POLL_TIMEOUT)
    # VRRP's master-down interval: 3 x advert_int plus a skew below one second
    check_takeover(result, 3 * vip_setup.keepalived["advert_int"] + 1, record_property, "link_down")


def test_dead_haproxy_on_the_master_moves_the_vip(vip_setup, record_property):
    settle_vip(vip_setup, "ctl1")
    check = vip_setup.keepalived["check"]
    result = fault_vip_master(vip_setup, "haproxy", poll_timeout=POLL_TIMEOUT)
    # the track script notices after fall tries (each up to its timeout), then VRRP moves
    bound = (check["fall"] * (check["interval"] + check["timeout"])
             + 3 * vip_setup.keepalived["advert_int"] + 1)
    check_takeover(result, bound, record_property, "haproxy_kill")
