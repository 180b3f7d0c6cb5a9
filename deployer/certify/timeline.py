"""Outage as a client sees it: the longest stall between two successes around a fault."""
from __future__ import annotations

from typing import Iterable


def outage(success_times: Iterable[float], fault_at: float) -> float:
    """Longest gap between consecutive successes, counting from the last one before the fault.

    A success that was in flight when the fault hit (acknowledged just after
    it) does not hide the stall that follows.
    """
    times = sorted(success_times)
    before = [t for t in times if t < fault_at]
    after = [t for t in times if t >= fault_at]
    series = ([before[-1]] if before else [fault_at]) + after
    return max((b - a for a, b in zip(series, series[1:])), default=0.0)
