"""Outage as a client sees it: the longest stall between two successes around a fault,
and what the client was doing during it."""
from __future__ import annotations

from typing import Iterable


def outage(success_times: Iterable[float], fault_at: float) -> float:
    """Longest gap between consecutive successes, counting from the last one before the fault.

    A success that was in flight when the fault hit (acknowledged just after
    it) does not hide the stall that follows.
    """
    start, end = longest_stall(success_times, fault_at)
    return end - start


def longest_stall(success_times: Iterable[float], fault_at: float) -> tuple[float, float]:
    """(start, end) of the stall ``outage`` measures."""
    times = sorted(success_times)
    before = [t for t in times if t < fault_at]
    after = [t for t in times if t >= fault_at]
    series = ([before[-1]] if before else [fault_at]) + after
    return max(zip(series, series[1:]), key=lambda pair: pair[1] - pair[0], default=(fault_at, fault_at))


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
