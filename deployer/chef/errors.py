"""Errors raised by the Chef server client, one class per thing a caller can act on.

Messages name the request (method and path) and the server's own explanation,
with any private key removed (the secrets kernel's one rule): a server echoing
a key back must not leak it into logs or API responses.
"""
from __future__ import annotations

from deployer.secrets import Redactor

_KEYS_ONLY = Redactor()


class ChefServerError(Exception):
    """The Chef server refused or failed a request (``status`` is None when there was no reply)."""

    def __init__(self, status: int | None, message: str, method: str, path: str):
        self.status = status
        self.message = _KEYS_ONLY.scrub(message)
        self.method = method
        self.path = path
        super().__init__(str(self))

    def __str__(self) -> str:
        status = f"HTTP {self.status}" if self.status is not None else "no response"
        return f"Chef server {self.method} {self.path}: {status}: {self.message}"


class ChefNotFound(ChefServerError):
    """404: the node, client, role, environment, data bag or cookbook does not exist."""


class ChefConflict(ChefServerError):
    """409: the object already exists."""


class ChefAuthError(ChefServerError):
    """401/403: wrong or revoked key, clock skew, or the caller may not do this."""


class ChefUnavailable(ChefServerError):
    """The server could not be reached (connection refused, DNS, connect timeout, TLS)."""


class ChefTimeout(ChefUnavailable):
    """The server took the request but sent no answer in time: alive but slow or overloaded."""


class ChefDependencyError(ChefServerError):
    """412 from the depsolver: the run list names cookbooks the server cannot satisfy."""

    def __init__(self, status: int | None, message: str, method: str, path: str, *,
                 non_existent_cookbooks: list[str] = (), cookbooks_with_no_versions: list[str] = ()):
        self.non_existent_cookbooks = list(non_existent_cookbooks)
        self.cookbooks_with_no_versions = list(cookbooks_with_no_versions)
        super().__init__(status, message, method, path)

    def __str__(self) -> str:
        parts = [super().__str__()]
        if self.non_existent_cookbooks:
            parts.append(f"cookbooks not on the server: {', '.join(self.non_existent_cookbooks)}")
        if self.cookbooks_with_no_versions:
            parts.append("cookbooks with no version satisfying the constraints: "
                         + ", ".join(self.cookbooks_with_no_versions))
        return "; ".join(parts)


class RunListError(ValueError):
    """A run list is malformed or names a role that does not exist."""


_BY_STATUS = {401: ChefAuthError, 403: ChefAuthError, 404: ChefNotFound, 409: ChefConflict,
              502: ChefUnavailable, 503: ChefUnavailable, 504: ChefUnavailable}


def error_for_status(status: int, message: str, method: str, path: str) -> ChefServerError:
    return _BY_STATUS.get(status, ChefServerError)(status, message, method, path)
