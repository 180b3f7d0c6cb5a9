"""The worker process: cancel, timeouts, dead-worker detection, shutdown,
concurrency and atomic claims — real processes, real DB, trivial executor."""
from __future__ import annotations

import os
import signal
import time

import pytest

from deployer.db.session import make_engine, make_session_factory
from deployer.runs import service
from deployer.undercloud.process import ManagedProcess, pid_alive
from tests.fixtures.waiting import wait_until
from tests.integration.runs_helpers import run_spec, wait_for, wait_for_phase

pytestmark = pytest.mark.timeout(180)


def test_cancel_running_run(deployer_api):
    client = deployer_api.client
    run_id = client.start_run(run_spec("c-1", "sleep-30"))["id"]
    wait_for_phase(client, run_id, "converge")
    assert client.cancel_run(run_id)["cancel_requested"] is True
    done = wait_for(client, run_id, timeout=10)
    assert done["status"] == "cancelled"
    assert done["phases"][-1]["status"] == "cancelled"
    assert "cancelled during converge" in done["reason"]
    assert client.cancel_run(run_id)["status"] == "cancelled"     # idempotent


def test_cancel_queued_run(deployer_api_factory):
    deployer = deployer_api_factory(run_workers=1)
    client = deployer.client
    busy = client.start_run(run_spec("q-busy", "sleep-30"))["id"]
    wait_for_phase(client, busy, "converge")
    queued = client.start_run(run_spec("q-waiting"))["id"]
    cancelled = client.cancel_run(queued)
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled",
                                                          "cancelled before it started")
    client.cancel_run(busy)
    wait_for(client, busy)
    assert client.get_run(queued)["phases"] == []      # never executed


def test_run_timeout(deployer_api):
    client = deployer_api.client
    run_id = client.start_run(run_spec("t-1", "sleep-30", timeout=2))["id"]
    done = wait_for(client, run_id, timeout=15)
    assert done["status"] == "failed"
    assert "exceeded its timeout of 2 s in phase converge" in done["reason"]


def test_runner_ignoring_timeout_is_abandoned(deployer_api):
    client = deployer_api.client
    run_id = client.start_run(run_spec("t-2", "sleep-60", "ignore-cancel", timeout=1))["id"]
    done = wait_for(client, run_id, timeout=20)
    assert done["status"] == "failed"
    assert "runner did not stop; the runner was abandoned" in done["reason"]


def kill_9(process: ManagedProcess) -> None:
    pid = process.pid()
    os.killpg(pid, signal.SIGKILL)
    while pid_alive(pid):
        time.sleep(0.05)


def test_killed_worker_is_detected_by_the_api(deployer_api):
    client, worker = deployer_api.client, deployer_api.processes["worker"]
    run_id = client.start_run(run_spec("k-1", "sleep-60"))["id"]
    running = wait_for_phase(client, run_id, "converge")
    kill_9(worker)
    done = wait_for(client, run_id, timeout=15)        # dead_after is 3 s in tests
    assert done["status"] == "failed"
    assert done["reason"].startswith(f"worker {running['worker_id']} stopped heartbeating at ")
    assert done["reason"].endswith("; the run was abandoned")
    assert done["phases"][-1]["status"] == "failed"


def test_killed_worker_is_detected_by_another_worker(deployer_api):
    """Nobody polls the API here: the restarted worker's reaper fails the run."""
    client, worker, cfg = deployer_api.client, deployer_api.processes["worker"], deployer_api.cfg
    run_id = client.start_run(run_spec("k-2", "sleep-60"))["id"]
    wait_for_phase(client, run_id, "converge")
    kill_9(worker)
    worker.start()
    sessions = make_session_factory(make_engine(cfg.database_url))

    def stored_run():
        with sessions() as session:
            return service.get_run(session, run_id)
    run = wait_until(stored_run, 15, f"run {run_id} no longer running",
                     until=lambda found: found.status != "running")
    assert run.status == "failed" and "stopped heartbeating" in run.reason


def test_worker_shutdown_interrupts_runs(deployer_api):
    client, worker = deployer_api.client, deployer_api.processes["worker"]
    run_id = client.start_run(run_spec("s-1", "sleep-60"))["id"]
    wait_for_phase(client, run_id, "converge")
    worker.stop()                                       # SIGTERM
    done = client.get_run(run_id)
    assert done["status"] == "failed"
    assert "was shut down during phase converge; the run was interrupted" in done["reason"]


def test_concurrency_limit(deployer_api_factory):
    deployer = deployer_api_factory(run_workers=2)
    client = deployer.client
    ids = [client.start_run(run_spec(f"p-{i}", "sleep-1.5"))["id"] for i in range(4)]
    runs = [wait_for(client, run_id) for run_id in ids]
    assert all(run["status"] == "succeeded" for run in runs)
    events = sorted([(run["started_at"], 1) for run in runs]
                    + [(run["finished_at"], -1) for run in runs])
    running = peak = 0
    for _, delta in events:
        running += delta
        peak = max(peak, running)
    assert peak == 2


def test_two_workers_claim_each_run_once(deployer_api):
    client, first = deployer_api.client, deployer_api.processes["worker"]
    second = ManagedProcess(name="second worker",
                            argv=[*first.argv, "--worker-id", "second"],
                            pid_file=first.pid_file.with_name("worker2.pid"),
                            log_file=first.log_file.with_name("worker2.log"),
                            ready=lambda: True, env=first.env, cwd=first.cwd)
    try:
        second.start()
        ids = [client.start_run(run_spec(f"w-{i}", "sleep-0.5"))["id"] for i in range(8)]
        runs = [wait_for(client, run_id) for run_id in ids]
    finally:
        second.stop()
    assert all(run["status"] == "succeeded" for run in runs)
    assert {run["worker_id"] for run in runs} >= {"second"}
    assert len({run["worker_id"] for run in runs}) == 2
    for run_id in ids:
        connects = [c for c in client.run_log(run_id)["chunks"]
                    if c["text"].startswith("connect:")]
        assert len(connects) == 1


def test_heartbeats_keep_a_long_run_alive(deployer_api):
    """Longer than dead_after (3 s), polled all along: the reaper must not touch it."""
    client = deployer_api.client
    run_id = client.start_run(run_spec("long-1", "sleep-6"))["id"]
    beats = set()
    while (run := client.get_run(run_id))["status"] in ("queued", "running"):
        beats.add(run["heartbeat_at"])
        time.sleep(0.3)
    assert run["status"] == "succeeded", run["reason"]
    assert len(beats) > 5
