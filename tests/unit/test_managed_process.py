"""ManagedProcess with real child processes: start, stop, and a start during a graceful stop."""
from __future__ import annotations

import sys
import threading

import pytest

from deployer.undercloud.process import ManagedProcess, ProcessError, pid_alive
from tests.fixtures.waiting import wait_until

# A server that takes a moment to stop gracefully, as Heat does when its engine drains.
GRACEFUL_SERVER = """
import signal, sys, time
def stop(*_):
    time.sleep(1.5)
    sys.exit(0)
signal.signal(signal.SIGTERM, stop)
while True:
    time.sleep(0.1)
"""


def server(tmp_path, script=GRACEFUL_SERVER, stop_timeout=15.0) -> ManagedProcess:
    # A new object each time, as each CLI command builds its own.
    return ManagedProcess(name="test server", argv=[sys.executable, "-c", script],
                          pid_file=tmp_path / "server.pid", log_file=tmp_path / "server.log",
                          ready=lambda: True, stop_timeout=stop_timeout)


def test_start_is_idempotent_and_stop_removes_the_pid_file(tmp_path):
    first = server(tmp_path).start()
    try:
        assert server(tmp_path).start() == first
    finally:
        assert server(tmp_path).stop() is True
    assert not pid_alive(first)
    assert not (tmp_path / "server.pid").exists()
    assert server(tmp_path).stop() is False


def test_start_during_a_graceful_stop_waits_and_starts_a_new_process(tmp_path):
    old = server(tmp_path).start()
    stopper = threading.Thread(target=server(tmp_path).stop)
    stopper.start()
    try:
        wait_until(lambda: (tmp_path / "server.pid.stopping").exists(), 10,
                   "the stop marked in progress", interval=0.02)
        new = server(tmp_path).start()   # `undercloud up` while `down` is still stopping it
        assert new != old
        assert not pid_alive(old)
        stopper.join(30)
        assert pid_alive(new), "the stop that was in progress must not take the new process down"
        assert server(tmp_path).pid() == new
        assert not (tmp_path / "server.pid.stopping").exists()
    finally:
        stopper.join(30)
        server(tmp_path).stop()


def test_a_process_that_never_finishes_stopping_is_a_clear_error(tmp_path):
    # SIGTERM ignored and no SIGKILL from this side: the marker stays while it lives.
    stubborn = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\nwhile True: time.sleep(0.1)"
    pid = server(tmp_path, stubborn).start()
    (tmp_path / "server.pid.stopping").write_text(f"{pid}\n")
    try:
        with pytest.raises(ProcessError, match="still stopping"):
            server(tmp_path, stubborn, stop_timeout=0.5).start()
    finally:
        (tmp_path / "server.pid.stopping").unlink()
        server(tmp_path, stubborn, stop_timeout=0.5).stop()
    assert not pid_alive(pid)
