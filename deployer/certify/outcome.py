"""What a certification produces: one row per fault, and the targets it is judged by."""
from __future__ import annotations

import dataclasses
from typing import Any

PATHS = ("token", "db_write", "rpc")           # Keystone token issue, acked DB writes, RPC to conductor
LOSSES = ("db_writes", "messages")             # acknowledged writes / confirmed messages missing after

# The targets on a test machine: a fault's own path must come back within these.
# They judge the fault's phase (``outage``); the restored node's rejoin is reported beside it.
TARGETS: dict[str, dict[str, float]] = {
    "crash-api-vip-holder": {"token": 3.0},
    "kill-galera-writer": {"db_write": 3.0},
    "kill-rabbitmq-leader": {"rpc": 5.0},
}


@dataclasses.dataclass
class FaultOutcome:
    fault: str                          # one of faults.FAULTS
    node: str                           # the controller it was done to
    outage: dict[str, float | None]     # path -> longest stall begun during the fault, in seconds;
                                        # None: never came back
    lost: dict[str, int | None]         # LOSSES -> how many; None: not counted (why is in error)
    time_to_whole: float | None         # restore -> every cluster whole; None: not whole in time
    error: str = ""                     # why the fault (or a loss) could not be measured
    # path -> longest stall begun once the node was restored (its services rejoining, a failback)
    rejoin: dict[str, float | None] = dataclasses.field(default_factory=dict)

    def failures(self) -> list[str]:
        """Why this row fails the certification ([] = it passes)."""
        found = [self.error] if self.error else []
        found += [f"{path} never came back" for path, value in self.outage.items() if value is None]
        found += [f"{count} {kind} lost" for kind, count in self.lost.items() if count]
        found += [f"{path} outage {self.outage[path]:.1f} s over the {limit:.0f} s target"
                  for path, limit in TARGETS.get(self.fault, {}).items()
                  if self.outage.get(path) is not None and self.outage[path] > limit]
        if self.time_to_whole is None and not self.error:
            found.append("the clusters did not become whole again")
        return found

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "failures": self.failures()}
