"""How often workers heartbeat and when a silent run counts as abandoned.

Defaults suit production; tests shorten them through the environment
(DEPLOYER_RUNS_HEARTBEAT_INTERVAL, DEPLOYER_RUNS_DEAD_AFTER, ...), which the
API and the worker both read, so both agree on the threshold.
"""
from __future__ import annotations

import dataclasses
import os


@dataclasses.dataclass(frozen=True)
class RunTimings:
    heartbeat_interval: float = 5.0   # worker -> DB, per active run
    dead_after: float = 60.0          # no heartbeat for this long = worker gone
    reap_interval: float = 15.0       # how often a worker looks for abandoned runs
    poll_interval: float = 0.5        # how often an idle worker looks for queued runs
    timeout_grace: float = 30.0       # past the run's timeout, stop waiting for the runner

    @classmethod
    def from_env(cls, env: dict | None = None) -> "RunTimings":
        env = os.environ if env is None else env
        values = {}
        for field in dataclasses.fields(cls):
            key = f"DEPLOYER_RUNS_{field.name.upper()}"
            if key in env:
                try:
                    values[field.name] = float(env[key])
                except ValueError:
                    raise ValueError(f"{key}: expected seconds, got {env[key]!r}") from None
        timings = cls(**values)
        if timings.dead_after <= 2 * timings.heartbeat_interval:
            raise ValueError("DEPLOYER_RUNS_DEAD_AFTER must exceed twice the heartbeat interval")
        return timings
