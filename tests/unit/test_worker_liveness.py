"""deployer.runs.liveness: a worker's process identity, judged by the kernel."""
from __future__ import annotations

import dataclasses
import signal
import subprocess
import sys
import time

from deployer.runs import liveness


def identity_of(pid: int) -> liveness.ProcessIdentity:
    stat = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return liveness.ProcessIdentity("here", liveness.boot_id(), pid, int(stat[19]))


def test_this_process_is_running_here():
    me = liveness.this_process()
    assert me.boot_id and me.start_ticks > 0
    assert liveness.running_here(me) is True


def test_another_machine_cannot_be_judged():
    other = dataclasses.replace(liveness.this_process(), boot_id="another-boot")
    assert liveness.running_here(other) is None


def test_an_exited_process_is_not_running():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    identity = identity_of(child.pid)
    child.wait()
    assert liveness.running_here(identity) is False


def test_a_zombie_and_a_stopped_process_are_not_running():
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        identity = identity_of(child.pid)
        assert liveness.running_here(identity) is True
        child.send_signal(signal.SIGSTOP)
        while open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "T":
            time.sleep(0.01)
        assert liveness.running_here(identity) is False
        child.send_signal(signal.SIGCONT)
        assert liveness.running_here(identity) is True
        child.kill()
        while open(f"/proc/{child.pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
            time.sleep(0.01)
        assert liveness.running_here(identity) is False       # exited, not yet reaped
    finally:
        child.kill()
        child.wait()


def test_a_reused_pid_is_another_process():
    """Same pid, another start time: the worker that had it is gone."""
    me = liveness.this_process()
    assert liveness.running_here(dataclasses.replace(me, start_ticks=me.start_ticks + 1)) is False
