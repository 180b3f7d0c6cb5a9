"""The certification's probes run in a child process: when they cannot start, the parent is
told why and no prober is left behind.  (Their measuring runs in the active-active certify test,
against a converged cloud.)"""
from __future__ import annotations

import os
import socket
import subprocess
import sys

import psutil
import pytest

from deployer.certify import probe_process
from deployer.certify.probe_process import ProbeProcess, ProbeProcessError

NOVA_MESSAGING = "[DEFAULT]\ntransport_url = rabbit://nova:x@127.0.0.1:{port}/\n"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def probers() -> list[psutil.Process]:
    """This test's own probe processes still around (the suite's servers come and go beside)."""
    found = []
    for child in psutil.Process().children(recursive=True):
        try:
            if "deployer.certify.probe_process" in child.cmdline():
                found.append(child)
        except psutil.Error:        # gone meanwhile
            continue
    return found


def test_probes_that_cannot_start_say_why_and_leave_no_process():
    port = closed_port()
    spec = {
        "token": {"auth_url": f"http://127.0.0.1:{port}/v3", "user": "admin", "password": "pw",
                  "project": "admin"},
        "db_write": {"host": "127.0.0.1", "port": port, "user": "u", "password": "pw", "database": "d"},
        "rpc": {"nova_messaging": NOVA_MESSAGING.format(port=port), "exchange": "nova"},
        "messages": {"urls": [f"amqp://nova:x@127.0.0.1:{port}/"], "queue": "q", "quorum": True},
    }
    prober = ProbeProcess(spec)
    with pytest.raises(ProbeProcessError) as failed:
        prober.start(timeout=60)
    assert str(failed.value).startswith("messages: ") and "Connection refused" in str(failed.value), failed.value
    assert "pw" not in str(failed.value).split()
    assert probers() == []
    prober.close()      # twice is harmless


@pytest.mark.skipif(os.geteuid() != 0, reason="real-time scheduling needs root (CAP_SYS_NICE)")
def test_the_probes_run_under_the_real_time_round_robin_policy():
    policy = subprocess.run(
        [sys.executable, "-c", "import os; from deployer.certify import probe_process; "
         "probe_process._raise_priority(); print(os.sched_getscheduler(0), os.sched_getparam(0).sched_priority)"],
        capture_output=True, text=True, check=True)
    assert policy.stdout.split() == [str(os.SCHED_RR), str(probe_process.RT_PRIORITY)], policy.stderr


def test_a_spec_naming_an_unknown_probe_is_refused():
    with pytest.raises(ProbeProcessError, match="unknown probes: nonsense"):
        ProbeProcess({"db_write": {"host": "127.0.0.1", "port": closed_port(), "user": "u",
                                   "password": "pw", "database": "d"}, "nonsense": {}}).start(timeout=60)
    assert probers() == []
