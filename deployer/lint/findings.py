"""What a lint check finds (its own module: the checks and the package both import it)."""
from __future__ import annotations

import dataclasses

ERROR, WARNING = "error", "warning"


@dataclasses.dataclass(frozen=True)
class Finding:
    severity: str       # ERROR | WARNING
    file: str
    where: str          # "[section] option", a listener, ...
    message: str

    def __str__(self) -> str:
        return f"{self.severity}: {self.file} {self.where}: {self.message}"
