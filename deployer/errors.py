"""The errors callers can act on, shared by the deployments, runs and Chef layers.

Service functions raise these; the API turns any ``DeployerError`` into a
problem+json response with the class's status and title (api/errors.py), so a
new collection reuses them without new handlers.  The Chef server client keeps
its own exceptions (deployer.chef.errors: they carry the Chef request) and the
API has one handler that maps them onto 404, 502 and 503.
"""
from __future__ import annotations


class DeployerError(Exception):
    status, title = 400, "Bad Request"

    def __init__(self, detail: str, *, field: str | None = None,
                 errors: dict[str, list[str]] | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field          # the request field at fault, if one is
        # Several fields at once (field -> messages), e.g. every unfilled placeholder.
        self.errors = errors or ({field: [detail]} if field else {})


class NotFound(DeployerError):
    status, title = 404, "Not Found"


class Conflict(DeployerError):
    status, title = 409, "Conflict"


class InvalidReference(DeployerError):
    """A request refers to something that does not exist (e.g. a paging marker)."""


class Unprocessable(DeployerError):
    """Well-formed input that Heat, the Chef environment or the catalog refuses."""
    status, title = 422, "Unprocessable Content"


class HeatUnavailable(DeployerError):
    status, title = 503, "Service Unavailable"


class Overloaded(DeployerError):
    """Too many requests in flight for this process; retry after ``retry_after`` seconds."""
    status, title = 503, "Service Unavailable"
    retry_after = 2


class HeatFailure(DeployerError):
    """Heat answered with an error that is not the request's fault."""
    status, title = 502, "Bad Gateway"
