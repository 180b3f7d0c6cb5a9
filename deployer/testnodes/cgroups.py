"""Each node's cgroups: one directory per node in the freezer, cpu, name=systemd and cgroup2 trees.

The node launcher moves itself into all four before it execs systemd-nspawn,
so every process of a node is in its freezer group: systemd-nspawn, the
container's systemd and all it starts, and the commands ``TestNode.exec`` runs
(they join that group too).  That group is what crash and down kill, pause
freezes and the boot bench measures.  The name=systemd and cgroup2 groups are
the ones nspawn (``--keep-unit``) hands to the container's systemd, which
builds its own tree (payload/system.slice/...) below them.

The cpu groups make the nodes share the host's cores as separate machines
would: node against node, not process against process.  Without them a
booting controller (40-odd runnable services starting at once) took nearly
both cores for two minutes and its idle peers' Keystone stopped answering
(certify's crash fault: load 30, token issue down 65-94 s while the VIP had
already moved).  Their parent weighs one default share per node, so each node
counts against the host's own processes as one busy process: with the
default single share for the whole parent every node together weighed as
much as one host process.

This host kind has cgroup v1 controllers, a name=systemd hierarchy and cgroup2
at /sys/fs/cgroup/unified (the "hybrid" layout); ``check_layout`` says clearly
when a host lacks one of them.  The groups live under ``deployer-testnodes/``
and are named after the node's netns, unique across parallel sets.
"""
from __future__ import annotations

import errno
import os
import re
import time
from pathlib import Path

from deployer.testnodes.errors import TestNodesError

CGROUP_ROOT = Path("/sys/fs/cgroup")
PARENT = "deployer-testnodes"
FREEZER, CPU, SYSTEMD, UNIFIED = "freezer", "cpu", "systemd", "unified"
HIERARCHIES = (FREEZER, CPU, SYSTEMD, UNIFIED)
DEFAULT_SHARES, MAX_SHARES = 1024, 262144     # the kernel's cpu.shares default and bound


def check_layout() -> None:
    """Raise unless the freezer, name=systemd and cgroup2 hierarchies are mounted."""
    missing = [h for h in HIERARCHIES if not (CGROUP_ROOT / h / "cgroup.procs").exists()]
    if missing:
        raise TestNodesError(
            f"cgroups: test nodes need the v1 freezer and cpu, the name=systemd hierarchy and cgroup2 "
            f"under {CGROUP_ROOT} (hybrid layout); missing: {', '.join(missing)}")


def group_dir(hierarchy: str, unit: str) -> Path:
    return CGROUP_ROOT / hierarchy / PARENT / unit


def create(unit: str) -> None:
    for hierarchy in HIERARCHIES:
        for attempt in range(3):
            try:
                group_dir(hierarchy, unit).mkdir(parents=True, exist_ok=True)
                break
            except FileNotFoundError:   # another set's teardown removed the empty parent meanwhile
                if attempt == 2:
                    raise
    weigh_parent()


def weigh_parent() -> None:
    """The cpu parent's shares: one default share per node group under it."""
    parent = CGROUP_ROOT / CPU / PARENT
    try:
        count = sum(1 for entry in parent.iterdir() if entry.is_dir())
        (parent / "cpu.shares").write_text(str(min(MAX_SHARES, DEFAULT_SHARES * max(1, count))))
    except FileNotFoundError:   # the last set's teardown removed the parent meanwhile
        pass


def procs_files(unit: str) -> list[str]:
    """The cgroup.procs files the launcher writes its PID to (freezer first)."""
    return [str(group_dir(h, unit) / "cgroup.procs") for h in HIERARCHIES]


def freezer_procs_file(unit: str) -> str:
    """What a command run inside the node joins, so pause and crash reach it too."""
    return str(group_dir(FREEZER, unit) / "cgroup.procs")


def pids(unit: str) -> list[int]:
    """Every process of the node (its whole freezer subtree); [] when it has none."""
    found = []
    for directory, _, _ in os.walk(group_dir(FREEZER, unit)):
        try:
            found += [int(pid) for pid in Path(directory, "cgroup.procs").read_text().split()]
        except FileNotFoundError:   # removed meanwhile
            continue
    return found


def is_frozen(unit: str) -> bool:
    try:
        return (group_dir(FREEZER, unit) / "freezer.state").read_text().strip() != "THAWED"
    except FileNotFoundError:
        return False


def set_frozen(unit: str, frozen: bool, timeout: float = 10.0) -> None:
    """Freeze or thaw every process of the node at once; returns when the kernel has done it."""
    state_file = group_dir(FREEZER, unit) / "freezer.state"
    want = "FROZEN" if frozen else "THAWED"
    deadline = time.monotonic() + timeout
    while True:
        state_file.write_text(want)   # FREEZING can stall on a task in the kernel: ask again
        if state_file.read_text().strip() == want:
            return
        if time.monotonic() > deadline:
            raise TestNodesError(f"cgroups: {unit} did not become {want} within {timeout:.0f} s")
        time.sleep(0.01)


def remove(unit: str, timeout: float = 10.0) -> None:
    """Remove the node's groups, deepest first (the container's systemd made sub-groups).

    A killed process that is not yet reaped (a zombie: its parent, or this
    host's init, has not waited for it) is no longer listed but keeps its group
    busy, so EBUSY is retried until ``timeout``.
    """
    deadline = time.monotonic() + timeout
    for hierarchy in HIERARCHIES:
        top = group_dir(hierarchy, unit)
        if not top.exists():
            continue
        for directory, _, _ in os.walk(top, topdown=False):
            while True:
                try:
                    os.rmdir(directory)
                    break
                except FileNotFoundError:
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY or time.monotonic() > deadline:
                        raise TestNodesError(f"cgroups: cannot remove {directory}: "
                                             f"{exc.strerror}") from None
                    time.sleep(0.05)
        try:
            os.rmdir(top.parent)    # the shared parent, once no set of any session uses it
        except OSError:
            pass
    weigh_parent()


def units(pattern: re.Pattern) -> list[str]:
    """Names of node groups matching ``pattern`` in any hierarchy (leftovers included)."""
    found: set[str] = set()
    for hierarchy in HIERARCHIES:
        try:
            found.update(n for n in os.listdir(CGROUP_ROOT / hierarchy / PARENT) if pattern.fullmatch(n))
        except FileNotFoundError:
            continue
    return sorted(found)
