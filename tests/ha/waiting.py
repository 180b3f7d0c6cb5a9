"""Time-bounded waiting: every loop in the HA tests ends by the clock, never by a count."""
from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


class GiveUp(Exception):
    """Raised by a predicate when waiting longer cannot help (e.g. the daemon exited)."""


def wait_until(predicate: Callable[[], T], timeout: float, what: str,
               interval: float = 0.2) -> T:
    """Poll ``predicate`` until it returns a truthy value; TimeoutError names ``what``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except GiveUp:
            raise
        except Exception as exc:  # keep polling; report the last one on timeout
            last_error = exc
        if time.monotonic() >= deadline:
            detail = f" (last error: {last_error})" if last_error else ""
            raise TimeoutError(f"waited {timeout:.0f} s for {what}{detail}")
        time.sleep(interval)
