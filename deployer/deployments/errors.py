"""Errors of deployments and parameter sets, rendered by the API's DeployerError handler.

``Unprocessable`` may name several fields at once (``errors``: field ->
messages), e.g. every unfilled placeholder of a Chef environment.
"""
from __future__ import annotations

from deployer.db.errors import DeployerError


class Unprocessable(DeployerError):
    """Well-formed input that Heat, the Chef environment or the catalog refuses."""
    status = 422
    title = "Unprocessable Content"

    def __init__(self, detail: str, *, field: str | None = None,
                 errors: dict[str, list[str]] | None = None):
        super().__init__(detail, field=field)
        self.errors = errors or ({field: [detail]} if field else {})


class HeatUnavailable(DeployerError):
    status = 503
    title = "Service Unavailable"


class HeatFailure(DeployerError):
    """Heat answered with an error that is not the request's fault."""
    status = 502
    title = "Bad Gateway"
