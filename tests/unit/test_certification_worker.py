"""The worker's certification slot on a real migrated SQLite database, in-process.

The engine needs a converged HA cloud, so here (and only here) engine.certify is
replaced by a stand-in that reports rows the way the real one does; what the
worker does around it is real: the claim, a row written as each fault ends, the
verdict, an error with a redacted reason, shutdown and the dead-worker reaper.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
import threading

import pytest

from deployer import config
from deployer.bootstrap.contract import FAILED, RunResult
from deployer.certify import engine, service
from deployer.db.migrate import upgrade
from deployer.db.models import Certification, Worker as WorkerRow, utcnow
from deployer.db.session import make_engine, make_session_factory
from deployer.runs import liveness
from deployer.runs.worker import Worker
from deployer.secrets import SecretBox
from tests.fixtures.api import FAST_TIMINGS
from tests.fixtures.waiting import wait_until
from tests.integration.certification_helpers import (HIDDEN, deployment_row, outcome,
                                                     recorded_node_set)

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def cfg(tmp_path):
    path = config.write_file(tmp_path / "deployer.conf", {
        "DEFAULT": {"state_dir": tmp_path}, "runs": FAST_TIMINGS})
    cfg = config.load(path, env={})
    upgrade(cfg)
    return cfg


@pytest.fixture
def sessions(cfg):
    engine_ = make_engine(cfg.database_url)
    yield make_session_factory(engine_)
    engine_.dispose()


class Running:
    """A Worker in a thread, stopped (and joined) at the end of the test."""

    def __init__(self, cfg, sessions, **kwargs):
        self.worker = Worker(sessions, SecretBox.in_dir(cfg.api_dir), never_a_run,
                             max_runs=kwargs.pop("max_runs", 2), timings=cfg.runs, cfg=cfg,
                             worker_id=kwargs.pop("worker_id", "w-test"), **kwargs)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.worker.run, args=(self.stop,), daemon=True)
        self.thread.start()

    def shut_down(self, timeout: float = 20) -> None:
        self.stop.set()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the worker did not stop"


def never_a_run(spec, reporter):
    return RunResult(FAILED, None, "no run is queued in these tests")


@pytest.fixture
def workers(cfg, sessions):
    started: list[Running] = []

    def start(**kwargs) -> Running:
        started.append(Running(cfg, sessions, **kwargs))
        return started[-1]
    yield start
    for running in started:
        running.stop.set()
        running.thread.join(20)


def queued(cfg, sessions, **request) -> tuple[str, str]:
    deployment_id, _ = deployment_row(cfg, hidden=HIDDEN)
    with sessions.begin() as session:
        return deployment_id, service.request(session, deployment_id, confirm=True, **request).id


def stored(sessions, certification_id: str) -> Certification:
    with sessions() as session:
        return session.get(Certification, certification_id)


def ended(sessions, certification_id: str, timeout: float = 15) -> Certification:
    return wait_until(lambda: stored(sessions, certification_id), timeout,
                      f"certification {certification_id} ended",
                      until=lambda row: row.status in service.FINAL)


def test_rows_are_recorded_as_each_fault_ends_and_all_passing_rows_pass(
        cfg, sessions, workers, monkeypatch, tmp_path):
    nodes = recorded_node_set(tmp_path / "nodes")
    deployment_id, certification_id = queued(cfg, sessions, test_nodes=nodes)
    seen: dict = {}
    second = threading.Event()

    def fake_certify(cfg_, session_factory, box, deployment, *, test_nodes, on_outcome,
                     should_stop):
        seen.update(cfg=cfg_, deployment=deployment, test_nodes=test_nodes, box=box)
        rows = [outcome("crash-api-vip-holder", "ctl1"), outcome("hang", "ctl2")]
        on_outcome(rows[0])
        second.wait(10)
        on_outcome(rows[1])
        return rows
    monkeypatch.setattr(engine, "certify", fake_certify)
    workers()

    first = wait_until(lambda: stored(sessions, certification_id), 10, "the first row stored",
                       until=lambda row: len(row.rows) == 1)
    assert (first.status, first.worker_id) == ("running", "w-test") and first.started_at
    assert first.rows[0]["fault"] == "crash-api-vip-holder" and first.rows[0]["failures"] == []
    second.set()
    done = ended(sessions, certification_id)
    assert (done.status, done.reason) == ("passed", "")
    assert [row["node"] for row in done.rows] == ["ctl1", "ctl2"]
    assert done.finished_at and done.active_deployment_id is None
    assert seen["cfg"] is cfg and seen["deployment"] == deployment_id
    assert seen["test_nodes"] == nodes and isinstance(seen["box"], SecretBox)


def test_a_failing_row_fails_the_certification_naming_it(cfg, sessions, workers, monkeypatch):
    _, certification_id = queued(cfg, sessions)

    def fake_certify(*_args, on_outcome, **_kwargs):
        rows = [outcome("kill-galera-writer", "ctl2", outage={"token": 0.2, "db_write": 4.2,
                                                              "rpc": 0.1}),
                outcome("link-down", "ctl3")]
        for row in rows:
            on_outcome(row)
        return rows
    monkeypatch.setattr(engine, "certify", fake_certify)
    workers()
    done = ended(sessions, certification_id)
    assert done.status == "failed"
    assert done.reason == ("1 of 2 faults failed: kill-galera-writer on ctl2: db_write outage "
                           "4.2 s over the 3 s target")
    assert done.rows[0]["failures"] and done.rows[1]["failures"] == []


@pytest.mark.parametrize("raised,expected", [
    (engine.CertifyError("controller ctl1 refused SSH with password Cert-Hidden-8c2f1e77"),
     "controller ctl1 refused SSH with password ******"),
    (RuntimeError("boom near Cert-Hidden-8c2f1e77"),
     "the certification engine failed: RuntimeError: boom near ******"),
])
def test_an_engine_error_ends_it_as_error_with_a_redacted_reason(
        cfg, sessions, workers, monkeypatch, raised, expected):
    _, certification_id = queued(cfg, sessions)

    def fake_certify(*_args, on_outcome, **_kwargs):
        on_outcome(outcome("crash-api-vip-holder", "ctl1",
                           error="lost ctl1 (password Cert-Hidden-8c2f1e77)"))
        raise raised
    monkeypatch.setattr(engine, "certify", fake_certify)
    running = workers()
    done = ended(sessions, certification_id)
    assert (done.status, done.reason) == ("error", expected)
    assert done.rows[0]["error"] == "lost ctl1 (password ******)"
    assert HIDDEN["SshPassword"] not in repr(done.rows)
    # The worker goes on: the deployment can be certified again, and is.
    _, again = queued(cfg, sessions)
    monkeypatch.setattr(engine, "certify", lambda *_a, on_outcome, **_k: [])
    assert ended(sessions, again).reason == "no fault was measured"
    running.shut_down()


def test_one_certification_at_a_time_per_worker(cfg, sessions, workers, monkeypatch):
    release = threading.Event()

    def fake_certify(*_args, on_outcome, **_kwargs):
        release.wait(20)
        return []
    monkeypatch.setattr(engine, "certify", fake_certify)
    _, first = queued(cfg, sessions)
    _, second = queued(cfg, sessions)
    workers(max_runs=4)
    wait_until(lambda: stored(sessions, first).status, 10, "the first one running",
               until=lambda status: status == "running")
    assert stored(sessions, second).status == "queued"
    release.set()
    assert ended(sessions, first).status == "failed"
    assert ended(sessions, second).status == "failed"


def test_shutdown_asks_the_engine_to_stop_and_ends_it_as_worker_stopped(
        cfg, sessions, workers, monkeypatch):
    _, certification_id = queued(cfg, sessions)
    stopping = threading.Event()

    def fake_certify(*_args, on_outcome, should_stop, **_kwargs):
        row = outcome("crash-api-vip-holder", "ctl1")
        on_outcome(row)
        while not should_stop():
            stopping.wait(0.05)
        return [row]
    monkeypatch.setattr(engine, "certify", fake_certify)
    running = workers()
    wait_until(lambda: stored(sessions, certification_id), 10, "a row stored",
               until=lambda row: row.rows)
    running.shut_down()
    done = stored(sessions, certification_id)
    assert done.status == "error" and done.reason.startswith("worker stopped: w-test was shut "
                                                             "down during the certification")
    assert len(done.rows) == 1 and done.active_deployment_id is None


def test_an_engine_that_ignores_the_stop_is_abandoned_after_the_grace(
        cfg, sessions, workers, monkeypatch):
    _, certification_id = queued(cfg, sessions)
    release = threading.Event()

    def fake_certify(*_args, **_kwargs):
        release.wait(30)
        return []
    monkeypatch.setattr(engine, "certify", fake_certify)
    running = workers(shutdown_grace=1.0)
    wait_until(lambda: stored(sessions, certification_id).status, 10, "running",
               until=lambda status: status == "running")
    try:
        running.stop.set()
        done = ended(sessions, certification_id)
        assert done.status == "error" and done.reason.startswith("worker stopped")
    finally:
        release.set()
        running.shut_down()
    assert stored(sessions, certification_id).reason.startswith("worker stopped")


def exited_process() -> liveness.ProcessIdentity:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    stat = open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()
    identity = liveness.ProcessIdentity("here", liveness.boot_id(), child.pid, int(stat[19]))
    child.kill()
    child.wait()
    return identity


def test_a_dead_workers_certification_is_reaped_a_live_ones_is_not(cfg, sessions):
    _, dead_one = queued(cfg, sessions)
    _, live_one = queued(cfg, sessions)
    old = utcnow() - dt.timedelta(seconds=600)
    with sessions.begin() as session:
        for worker_id, identity in (("gone", exited_process()),
                                    ("busy-db", liveness.this_process())):
            session.add(WorkerRow(id=worker_id, **dataclasses.asdict(identity),
                                  started_at=old, heartbeat_at=old))
        assert service.claim_next(session, "gone").id == dead_one
        assert service.claim_next(session, "busy-db").id == live_one
    with sessions.begin() as session:
        assert service.reap_dead(session, cfg.runs.dead_after) == [dead_one]
    dead, live = stored(sessions, dead_one), stored(sessions, live_one)
    assert dead.status == "error" and dead.reason.startswith("worker gone is dead (no heartbeat")
    assert dead.active_deployment_id is None
    assert live.status == "running"          # old heartbeat, but the kernel says it runs
