"""Errors of the deployer's stored state that callers can act on.

Service functions raise these; the API turns any ``DeployerError`` into a
problem+json response with the class's status and title, so new collections
(deployments, parameter sets) reuse them without new handlers.
"""
from __future__ import annotations


class DeployerError(Exception):
    status = 400
    title = "Bad Request"

    def __init__(self, detail: str, *, field: str | None = None):
        super().__init__(detail)
        self.detail = detail
        self.field = field          # the request field at fault, if one is


class NotFound(DeployerError):
    status = 404
    title = "Not Found"


class Conflict(DeployerError):
    status = 409
    title = "Conflict"


class InvalidReference(DeployerError):
    """A request refers to something that does not exist (e.g. a paging marker)."""
    status = 400
    title = "Bad Request"
