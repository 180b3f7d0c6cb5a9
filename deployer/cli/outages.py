"""Following a long operation over the API rides out a short API outage.

A deploy, a why-run plan or a certification runs for minutes in the worker, not in the
API; the command that follows it only reads.  One read that finds the API unreachable
or answering 502/503/504 (a restart, a moment under load on a small under-cloud) must
not end the command while the operation goes on: it asks again until the API answers
or the outage has lasted ``patience`` seconds, and then fails with the last error.
"""
from __future__ import annotations

import time
from typing import Callable, TypeVar

from deployer.client import DeployerUnavailable

PATIENCE_SECONDS = 60.0
RETRY_SECONDS = 2.0

T = TypeVar("T")


def read_through_outages(read: Callable[[], T], *, patience: float | None = None,
                         retry: float | None = None) -> T:
    """``read()``, asked again while the API is unavailable for at most ``patience``
    seconds (default PATIENCE_SECONDS), every ``retry`` seconds (RETRY_SECONDS)."""
    patience = PATIENCE_SECONDS if patience is None else patience
    retry = RETRY_SECONDS if retry is None else retry
    gave_up_at = time.monotonic() + patience
    while True:
        try:
            return read()
        except DeployerUnavailable:
            if time.monotonic() + retry > gave_up_at:
                raise
            time.sleep(retry)
