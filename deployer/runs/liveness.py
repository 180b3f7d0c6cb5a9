"""Whether a worker process is alive, judged from the process table, not the database.

A heartbeat that is late proves only that the worker did not write: on SQLite a
writer waits for the one write lock, so a connection holding it longer than
[runs] dead_after would make every live worker look dead.  A worker records its
process identity (machine boot id, pid and the kernel's start time of that pid)
when it starts; a reaper on the same machine asks the kernel instead of the
clock.  A reaper on another machine (PostgreSQL with workers on several hosts)
cannot, and falls back to the heartbeats.
"""
from __future__ import annotations

import dataclasses
import os
import socket
from pathlib import Path

BOOT_ID = Path("/proc/sys/kernel/random/boot_id")
# A process in these states cannot heartbeat: a zombie or dead one has exited, a
# stopped one (SIGSTOP, a debugger) runs nothing until someone resumes it.
NOT_RUNNING_STATES = frozenset("ZXxTt")


@dataclasses.dataclass(frozen=True)
class ProcessIdentity:
    host: str
    boot_id: str
    pid: int
    start_ticks: int        # /proc/<pid>/stat field 22: tells a reused pid apart


def boot_id() -> str:
    try:
        return BOOT_ID.read_text().strip()
    except OSError:
        return ""


def _stat(pid: int) -> tuple[str, int] | None:
    """(state, start time in clock ticks since boot) of ``pid``, None if there is none."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text.rsplit(")", 1)[1].split()     # after the command name, which may hold spaces
    return fields[0], int(fields[19])


def this_process() -> ProcessIdentity:
    stat = _stat(os.getpid())
    return ProcessIdentity(socket.gethostname(), boot_id(), os.getpid(), stat[1] if stat else 0)


def running_here(identity: ProcessIdentity) -> bool | None:
    """True: that very process exists on this machine and can run; False: it has exited,
    is a zombie or stopped, or its pid now belongs to another process; None: it is on
    another machine (or this one has no /proc), so only its heartbeats can tell."""
    here = boot_id()
    if not here or not identity.boot_id or identity.boot_id != here:
        return None
    stat = _stat(identity.pid)
    if stat is None:
        return False
    state, start_ticks = stat
    return start_ticks == identity.start_ticks and state not in NOT_RUNNING_STATES
