"""A live worker's runs are never reaped (issue 11, item 4); a dead worker's still are.

Before: a run's liveness was its row's heartbeat_at alone.  With another
connection holding SQLite's write lock for longer than [runs] dead_after, the
worker's heartbeat waited on the lock like every writer; the API (which reaps on
every read of a run) and other workers saw a stale heartbeat and failed the run
of a worker that was alive all along (the probe lost 2 runs this way under 100
creates at concurrency 3).

Real worker processes, the real SQLite file, a real exclusive lock held by a
separate connection; dead_after is 3 s here (tests/fixtures/api.py FAST_TIMINGS).
"""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from sqlalchemy.engine import make_url

from deployer.undercloud.process import ManagedProcess, pid_alive
from tests.integration.runs_helpers import run_spec, wait_for, wait_for_phase

pytestmark = pytest.mark.timeout(240)

# 3x dead_after and below SQLite's 30 s busy timeout (writers wait it out); and past the
# busy timeout, so the worker's heartbeats and the run's outcome fail and are retried.
LOCK_SECONDS = [9.0, 34.0]
BUSY_TIMEOUT = 30.0


def database_file(deployer) -> str:
    return make_url(deployer.cfg.database_url).database


def second_worker(first: ManagedProcess, worker_id: str) -> ManagedProcess:
    return ManagedProcess(name=f"worker {worker_id}",
                          argv=[*first.argv, "--worker-id", worker_id],
                          pid_file=first.pid_file.with_name(f"{worker_id}.pid"),
                          log_file=first.log_file.with_name(f"{worker_id}.log"),
                          ready=lambda: True, env=first.env, cwd=first.cwd)


def hold_write_lock(path: str, seconds: float, locked: threading.Event) -> None:
    """Another connection takes SQLite's write lock (BEGIN EXCLUSIVE) and keeps it."""
    connection = sqlite3.connect(path, timeout=30, isolation_level=None)
    try:
        connection.execute("BEGIN EXCLUSIVE")
        connection.execute("UPDATE runs SET reason = reason")     # a real pending write
        locked.set()
        time.sleep(seconds)
        connection.execute("COMMIT")
    finally:
        connection.close()


def read_run_until_final(base_url: str, run_id: str, stop: threading.Event,
                         answers: list) -> None:
    """A poller like Heat's node resources: every GET of a run may reap it."""
    while not stop.is_set():
        response = requests.get(f"{base_url}/v1/runs/{run_id}", timeout=60)
        answers.append(response.status_code)
        if response.status_code == 200 and response.json()["status"] not in ("queued",
                                                                              "running"):
            return
        requests.get(f"{base_url}/v1/runs", timeout=60)        # the list reaps every run
        time.sleep(0.1)


@pytest.mark.parametrize("lock_seconds", LOCK_SECONDS)
def test_a_live_workers_run_survives_a_write_lock_longer_than_dead_after(deployer_api,
                                                                         lock_seconds):
    client, worker = deployer_api.client, deployer_api.processes["worker"]
    other = second_worker(worker, "bystander")      # another reaper, in another process
    # The runner ends its converge while the lock is still held.
    run_id = client.start_run(run_spec("live-1", f"sleep-{lock_seconds - 4:g}"))["id"]
    running = wait_for_phase(client, run_id, "converge")
    other.start()
    locked, stop, answers = threading.Event(), threading.Event(), []
    try:
        with ThreadPoolExecutor(5) as pool:
            holder = pool.submit(hold_write_lock, database_file(deployer_api), lock_seconds,
                                 locked)
            assert locked.wait(10), "the lock was never taken"
            pollers = [pool.submit(read_run_until_final, deployer_api.base_url, run_id, stop,
                                   answers) for _ in range(3)]
            holder.result()
            done = wait_for(client, run_id, timeout=60)
            stop.set()
            for poller in pollers:
                poller.result()
    finally:
        stop.set()
        other.stop()
    assert done["status"] == "succeeded", done["reason"]
    assert done["worker_id"] == running["worker_id"]
    assert [phase["status"] for phase in done["phases"]] == ["succeeded"] * len(done["phases"])
    assert set(answers) <= {200, 503}, answers
    log = worker.log_file.read_text()
    if lock_seconds > BUSY_TIMEOUT:         # the failures were retried, and said so
        assert "database error, retrying: database is locked" in log
        assert "no heartbeat recorded for" in log
        assert "heartbeats recorded again after" in log
    else:
        assert "database error" not in log


def stopped(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as stat:
        return stat.read().rsplit(")", 1)[1].split()[0] in ("T", "t")


def test_a_frozen_workers_run_is_reaped(deployer_api):
    """A worker process that exists but cannot run (SIGSTOP) is not alive: its run
    fails after dead_after like a killed worker's."""
    client, worker = deployer_api.client, deployer_api.processes["worker"]
    run_id = client.start_run(run_spec("frozen-1", "sleep-60"))["id"]
    running = wait_for_phase(client, run_id, "converge")
    pid = worker.pid()
    os.killpg(pid, signal.SIGSTOP)
    try:
        while not stopped(pid):
            time.sleep(0.05)
        done = wait_for(client, run_id, timeout=20)
    finally:
        os.killpg(pid, signal.SIGCONT)
    assert done["status"] == "failed"
    assert done["reason"].startswith(f"worker {running['worker_id']} stopped heartbeating at ")
    assert pid_alive(pid)


def test_a_killed_workers_run_is_reaped_while_the_database_is_busy(deployer_api):
    """Contention is no shield for a dead worker: after the lock, its run still fails."""
    client, worker = deployer_api.client, deployer_api.processes["worker"]
    run_id = client.start_run(run_spec("dead-1", "sleep-60"))["id"]
    running = wait_for_phase(client, run_id, "converge")
    pid = worker.pid()
    os.killpg(pid, signal.SIGKILL)
    while pid_alive(pid):
        time.sleep(0.05)
    locked = threading.Event()
    holder = threading.Thread(target=hold_write_lock,
                              args=(database_file(deployer_api), 5.0, locked))
    holder.start()
    try:
        assert locked.wait(10)
        done = wait_for(client, run_id, timeout=45)
    finally:
        holder.join()
    assert done["status"] == "failed"
    assert done["reason"].startswith(f"worker {running['worker_id']} stopped heartbeating at ")
