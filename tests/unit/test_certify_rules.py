"""The certification's rules that need no cloud: how a row is judged, how nova's messaging
options are read, the outage arithmetic, and when the probed paths count as steady."""
from __future__ import annotations

import time

from deployer.certify import cluster, engine, probe_process, probes, table, target
from deployer.certify.probes import Probe
from deployer.certify.outcome import FaultOutcome
from deployer.certify import timeline
from deployer.certify.timeline import outage

NOVA_CONF = """[DEFAULT]
debug = false
transport_url = rabbit://nova:s3cret@10.0.0.11:5672,nova:s3cret@10.0.0.12:5672/
[database]
connection = mysql+pymysql://nova:x@10.0.0.201/nova
[oslo_messaging_rabbit]
rabbit_quorum_queue = true
rabbit_ha_queues = false
heartbeat_timeout_threshold = 10
"""


def row(**changes) -> FaultOutcome:
    values = dict(fault="kill-galera-writer", node="ctl1",
                  outage={"token": 0.4, "db_write": 1.2, "rpc": 0.3},
                  lost={"db_writes": 0, "messages": 0}, time_to_whole=30.0)
    return FaultOutcome(**{**values, **changes})


def test_a_row_within_its_target_with_nothing_lost_passes():
    assert row().failures() == []
    assert row().to_dict()["failures"] == []


def test_a_row_fails_on_its_own_path_target_a_loss_a_path_that_never_returned_and_no_whole():
    assert row(outage={"token": 9.0, "db_write": 3.5, "rpc": 0.3}).failures() == [
        "db_write outage 3.5 s over the 3 s target"]      # token has no target for this fault
    assert row(lost={"db_writes": 2, "messages": 0}).failures() == ["2 db_writes lost"]
    assert row(outage={"token": None, "db_write": 1.0, "rpc": 1.0}).failures() == ["token never came back"]
    assert row(time_to_whole=None).failures() == ["the clusters did not become whole again"]
    assert row(error="no baseline", time_to_whole=None, outage={}, lost={}).failures() == ["no baseline"]


def test_a_loss_that_could_not_be_counted_is_a_failure_with_its_reason_never_a_zero():
    class Counted:
        def lost(self):
            return 0

    class Undrained:
        def lost(self):
            raise probes.LossUncounted("12 of 900 confirmed messages not received and the queue "
                                       "not drained within 120 s")

    lost, uncounted = probe_process.count_losses({"db_write": Counted(), "messages": Undrained()})
    assert lost == {"db_writes": 0, "messages": None}
    assert uncounted == ["messages not counted: LossUncounted: 12 of 900 confirmed messages not "
                         "received and the queue not drained within 120 s"]
    failed = row(lost=lost, error=uncounted[0])
    assert failed.failures() == uncounted
    assert table.cells(failed.to_dict())[7] == "-"          # lost messages: not a number
    assert table.cells(failed.to_dict())[8] == "30.0"       # the fault itself was measured


def test_nova_messaging_options_are_read_as_nova_reads_them():
    section = target.nova_messaging_section(NOVA_CONF)
    assert "connection" not in section and "debug" not in section
    assert target.quorum_queues(section) is True
    assert target.control_exchange(section) == "nova"      # nova.rpc's default
    assert target.broker_urls(section) == ["amqp://nova:s3cret@10.0.0.11:5672/",
                                           "amqp://nova:s3cret@10.0.0.12:5672/"]
    assert target.quorum_queues("[DEFAULT]\ntransport_url = rabbit://a@b/\n") is False


def test_active_passive_is_refused_with_the_reason_and_active_active_is_not():
    assert target.unsupported_topology({"cluster": {"controllers": []}}) is None
    reason = target.unsupported_topology({"drbd_mysql": {"disk": "/dev/vdb", "backing": "shared-disk"}})
    assert "STONITH off" in reason and "active-active only" in reason


def test_outage_counts_from_the_last_success_before_the_fault():
    assert outage([1.0, 2.0, 5.0, 5.2], fault_at=2.5) == 3.0
    assert outage([], fault_at=1.0) == 0.0


def test_a_stall_belongs_to_the_phase_it_began_in():
    # fault at 10, undone at 30: a 2 s failover, then the restored node's 8 s rejoin stall at 40
    successes = [9.0, 9.5, *[11.5 + i / 2 for i in range(58)], 48.0, 48.5]     # 11.5 ... 40.0
    assert outage(successes, fault_at=10.0, until=30.0) == 2.0
    assert outage(successes, fault_at=10.0) == 8.0            # both phases together: the rejoin's
    assert timeline.rejoin_stall(successes, undo_at=30.0) == (40.0, 48.0)
    # down from the fault until after the undo: the whole stall is the fault's, not the rejoin's
    down = [9.0, 9.8, 31.0, 31.2, 31.4]
    assert outage(down, fault_at=10.0, until=30.0) == 31.0 - 9.8
    assert timeline.rejoin_stall(down, undo_at=30.0) == (31.0, 31.2)
    probe = Probe(name="token")
    for moment in successes:
        probe.record(moment - 0.1, moment)
    probe.record(40.5, 41.5, "ReadTimeout")
    assert probe.outage(10.0, 30.0) == 2.0 and probe.rejoin(30.0) == 8.0
    assert probe.rejoin_anatomy(30.0) == ("8.0 s stall from +10.0 s: 2 attempts, 1 failed; longest attempt "
                                          "1.0 s (ReadTimeout); longest idle gap 6.4 s")
    assert Probe(name="rpc").rejoin(30.0) is None


def crm_mon(nodes: dict[str, bool], resources: str) -> str:
    """A crm_mon --output-as=xml document in Pacemaker 2.1's shape."""
    node_xml = "".join(f'<node name="{name}" id="{i}" online="{str(up).lower()}" type="member"/>'
                       for i, (name, up) in enumerate(nodes.items(), 1))
    return f'<pacemaker-result api-version="2.25"><nodes>{node_xml}</nodes><resources>{resources}</resources></pacemaker-result>'


def primitive(rid: str, on: list[str], role: str = "Started", failed: bool = False) -> str:
    where = "".join(f'<node name="{n}" id="1" cached="true"/>' for n in on)
    return (f'<resource id="{rid}" resource_agent="systemd:{rid}" role="{role}" active="{str(bool(on)).lower()}" '
            f'failed="{str(failed).lower()}" nodes_running_on="{len(on)}">{where}</resource>')


def test_pacemaker_is_settled_when_every_resource_runs_once_and_nothing_failed():
    from deployer.certify.cluster import pacemaker_problems
    up = {"ctl1": True, "ctl2": True, "ctl3": True}
    settled = crm_mon(up, primitive("p_nova-conductor", ["ctl3"]) +
                      '<group id="g_mysql" number_resources="1">' + primitive("ip_mysql", ["ctl1"]) + "</group>"
                      '<clone id="ms_drbd" multi_state="true">' + primitive("drbd", ["ctl1"], "Promoted") +
                      primitive("drbd", ["ctl2"], "Unpromoted") + "</clone>")
    assert pacemaker_problems(settled, list(up)) == []
    # a thawed node's copy beside the one Pacemaker started while it hung
    assert pacemaker_problems(crm_mon(up, primitive("p_nova-conductor", ["ctl1", "ctl2"])), list(up)) == [
        "Pacemaker p_nova-conductor: Started on ['ctl1', 'ctl2']"]
    assert pacemaker_problems(crm_mon(up, primitive("p_nova-scheduler", [], "Stopped")), list(up)) == [
        "Pacemaker p_nova-scheduler: Stopped on no node"]
    assert pacemaker_problems(crm_mon(up, primitive("p_x", ["ctl2"], failed=True)), list(up)) == [
        "Pacemaker p_x: Started on ['ctl2'] (failed)"]
    down = {**up, "ctl2": False}
    assert pacemaker_problems(crm_mon(down, ""), list(up)) == ["Pacemaker nodes online: ['ctl1', 'ctl3']"]


class ScriptedProbe(Probe):
    """Fails for ``failing_for`` seconds after it started, then succeeds."""

    def __init__(self, failing_for: float):
        super().__init__(interval=0.05)
        self.failing_until = time.monotonic() + failing_for

    def attempt(self) -> None:
        if time.monotonic() < self.failing_until:
            raise RuntimeError("MessagingTimeout")


def wait_steady(running: dict, window: float, timeout: float) -> list[str]:
    """The engine's wait for steady paths, on a run that has nothing but its settings."""
    run = engine._Run.__new__(engine._Run)
    run.settings = engine.Settings()
    run.settings.steady, run.settings.steady_timeout = window, timeout
    return run.wait_steady(running)


def test_the_paths_are_steady_only_after_a_window_without_a_failure():
    running = {"token": ScriptedProbe(0.0).start(), "rpc": ScriptedProbe(0.6).start()}
    try:
        started = time.monotonic()
        assert wait_steady(running, window=0.4, timeout=5.0) == []
        # the recovering path failed for 0.6 s: steady no earlier than 0.6 + the 0.4 s window
        assert time.monotonic() - started >= 1.0
        assert running["rpc"].errors == {"RuntimeError: MessagingTimeout": len(running["rpc"].failures)}
        # succeeded_since (the fault tests' and benches' wait) counts successes, failures or not
        assert running["rpc"].succeeded_since(started, 3) and not running["rpc"].steady_since(started, 3)
    finally:
        for probe in running.values():
            probe.stop()


def test_a_path_failing_past_the_timeout_is_named():
    running = {"token": ScriptedProbe(0.0).start(), "rpc": ScriptedProbe(60.0).start()}
    try:
        assert wait_steady(running, window=0.2, timeout=0.5) == ["rpc"]
    finally:
        for probe in running.values():
            probe.stop()


def test_a_stalls_anatomy_tells_hanging_attempts_from_fast_failures_and_from_no_attempts():
    # successes at 0 and 10: the stall is 0..10
    assert timeline.longest_stall([0.0, 10.0, 10.2], 1.0) == (0.0, 10.0)
    hung = [(0.0, 0.0, ""), (0.2, 8.2, "ReadTimeout: x"), (8.4, 10.0, "")]
    assert timeline.anatomy(hung, 0.0, 10.0) == ("2 attempts, 1 failed; longest attempt 8.0 s "
                                                 "(ReadTimeout: x); longest idle gap 0.2 s")
    idle = [(0.0, 0.0, ""), (0.2, 0.4, "refused"), (9.0, 10.0, "")]
    assert timeline.anatomy(idle, 0.0, 10.0).endswith("longest idle gap 8.6 s")
    assert timeline.anatomy([], 0.0, 10.0) == "no attempt in the 10.0 s"


def test_the_galera_writer_is_read_from_haproxys_stick_table():
    rows = [{"svname": "ctl1", "sid": "1"}, {"svname": "ctl2", "sid": "2"}]
    named = ("# table: mysql-cluster, type: ip, size:2, used:1\n"
             "0x55d7: key=10.0.0.201 use=0 exp=0 shard=0 server_id=2 server_key=ctl2\n")
    assert cluster.stick_table_server(named, rows) == "ctl2"
    assert cluster.stick_table_server("0x55d7: key=10.0.0.201 use=0 exp=0 server_id=1\n", rows) == "ctl1"
    assert cluster.stick_table_server("# table: mysql-cluster, type: ip, size:2, used:0\n", rows) is None
    assert cluster.stick_table_server("Unknown table name.\n", rows) is None   # failback mode: no table
    assert "show table mysql-cluster-nova" in cluster.show_writer("mysql-cluster-nova")
