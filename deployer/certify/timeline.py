"""Outage as a client sees it: the longest stall between two successes around a fault,
and what the client was doing during it.

A fault has two phases: the fault itself (from its injection until it is
undone) and the rejoin (the restored node coming back while clients are
served).  A stall belongs to the phase it began in, so a path that stayed
down until the undo counts wholly against the fault.
"""
from __future__ import annotations

import math
from typing import Iterable

Stall = tuple[float, float]        # (last success before it, next success)


def outage(success_times: Iterable[float], fault_at: float, until: float = math.inf) -> float:
    """Longest stall that began before ``until``, counting from the last success before the fault.

    A success that was in flight when the fault hit (acknowledged just after
    it) does not hide the stall that follows.
    """
    start, end = longest_stall(success_times, fault_at, until)
    return end - start


def longest_stall(success_times: Iterable[float], fault_at: float, until: float = math.inf) -> Stall:
    """(start, end) of the stall ``outage`` measures."""
    return _longest([s for s in stalls(success_times, fault_at) if s[0] < until], fault_at)


def rejoin_stall(success_times: Iterable[float], undo_at: float) -> Stall:
    """(start, end) of the longest stall that began once the fault was undone."""
    return _longest([s for s in stalls(success_times, undo_at) if s[0] >= undo_at], undo_at)


def stalls(success_times: Iterable[float], since: float) -> list[Stall]:
    """Every gap between consecutive successes from the last one before ``since`` on."""
    times = sorted(success_times)
    before = [t for t in times if t < since]
    series = ([before[-1]] if before else [since]) + [t for t in times if t >= since]
    return list(zip(series, series[1:]))


def _longest(candidates: list[Stall], moment: float) -> Stall:
    return max(candidates, key=lambda pair: pair[1] - pair[0], default=(moment, moment))


def anatomy(attempts: Iterable[tuple[float, float, str]], start: float, end: float) -> str:
    """What a client did during a stall: ``attempts`` are (began, ended, error or "").

    Tells a path that kept failing fast from attempts that hung (the longest
    attempt) and from a client that was not attempting at all (the longest
    idle gap), which the outage figure alone cannot.
    """
    during = sorted(a for a in attempts if a[1] > start and a[0] < end)
    if not during:
        return f"no attempt in the {end - start:.1f} s"
    failed = [a for a in during if a[2]]
    longest = max(during, key=lambda a: a[1] - a[0])
    edges = [start] + [x for a in during for x in (a[0], a[1])] + [end]
    idle = max(edges[i + 1] - edges[i] for i in range(0, len(edges) - 1, 2))
    return (f"{len(during)} attempts, {len(failed)} failed; longest attempt {longest[1] - longest[0]:.1f} s"
            f"{' (' + longest[2][:80] + ')' if longest[2] else ''}; longest idle gap {idle:.1f} s")
