"""The one error-handler family: every 4xx/5xx is application/problem+json.

- HTTPException (abort(), routing errors, webargs validation) keeps its status;
  validation messages become ``errors`` keyed by dotted field path.
- DeployerError (service-level: not found, conflict, ...) uses its class status.
- ChefServerError: the Chef server's 404 stays 404, its 409 a 409, its 400 (the
  content the caller gave) a 422, unreachable is 503, anything else 502.
- The database: a unique-constraint race is a 409, a busy or unreachable database
  a 503 with Retry-After.
- Anything else is a bug: a generic 500 whose only detail is the request id,
  logged with the traceback under that id.
"""
from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, g, jsonify, request
from sqlalchemy.exc import IntegrityError, OperationalError
from werkzeug.exceptions import HTTPException, InternalServerError

from deployer.chef.errors import ChefNotFound, ChefServerError, ChefUnavailable
from deployer.errors import DeployerError

LOG = logging.getLogger(__name__)
PROBLEM_MIME = "application/problem+json"
REQUEST_ID_HEADER = "X-Request-Id"
RETRY_AFTER_SECONDS = 2
_SAFE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,64}$")


def register(app: Flask) -> None:
    app.before_request(_assign_request_id)
    app.after_request(_echo_request_id)
    app.register_error_handler(HTTPException, _handle_http_exception)
    app.register_error_handler(DeployerError, _handle_deployer_error)
    app.register_error_handler(ChefServerError, _handle_chef_error)
    app.register_error_handler(IntegrityError, _handle_integrity_error)
    app.register_error_handler(OperationalError, _handle_operational_error)


def problem(status: int, title: str, detail: str, **extra) -> Response:
    body = {"type": "about:blank", "title": title, "status": status, "detail": detail,
            "request_id": request_id(), **extra}
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MIME
    return response


def request_id() -> str:
    if "request_id" not in g:
        _assign_request_id()
    return g.request_id


def flatten_messages(messages, *, by_location: bool = False) -> dict[str, list[str]]:
    """Nested marshmallow messages -> {"target.port": ["..."]}.

    webargs keys its messages by request location (json, query, ...) first;
    with ``by_location`` that level is dropped, each view taking its fields
    from one location.
    """
    flat: dict[str, list[str]] = {}

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                walk(value, f"{path}.{key}" if path else str(key))
        elif isinstance(node, list) and all(isinstance(item, str) for item in node):
            flat.setdefault(path or "body", []).extend(node)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                walk(item, f"{path}.{index}")
        else:
            flat.setdefault(path or "body", []).append(str(node))

    if by_location and isinstance(messages, dict):
        for location_messages in messages.values():
            walk(location_messages, "")
    else:
        walk(messages, "")
    return flat


def _handle_http_exception(error: HTTPException) -> Response:
    if isinstance(error, InternalServerError) or error.code in (None, 500):
        return _internal_error(error)
    data = getattr(error, "data", None) or {}
    if data.get("messages") == {"json": ["Invalid JSON body."]}:
        return problem(400, "Bad Request", "the request body is not valid JSON")
    if error.code == 413:
        limit = request.max_content_length
        return problem(413, error.name, f"the request body is larger than the API accepts"
                                        f"{f' ({limit} bytes)' if limit else ''}")
    if data.get("errors") or data.get("messages"):
        # "errors": given by our own abort(); "messages": webargs validation.
        fields = (flatten_messages(data["errors"]) if data.get("errors")
                  else flatten_messages(data["messages"], by_location=True))
        detail = data.get("message") or "invalid request: " + "; ".join(
            f"{path}: {' '.join(texts)}" for path, texts in fields.items())
        return problem(error.code, error.name, detail, errors=fields)
    response = problem(error.code, error.name, data.get("message") or error.description)
    for name, value in error.get_headers():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def _handle_deployer_error(error: DeployerError) -> Response:
    extra = {"errors": error.errors} if error.errors else {}
    # Members a refusal adds to the problem (e.g. the preflight's whole report).
    extra.update(getattr(error, "extensions", None) or {})
    response = problem(error.status, error.title, error.detail, **extra)
    retry_after = getattr(error, "retry_after", None)
    if retry_after:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _handle_chef_error(error: ChefServerError) -> Response:
    """The Chef server's failures as the deployer's: its 404 is ours, its absence a 503,
    anything else it refused a 502 (the request was ours to make, the failure is not)."""
    if isinstance(error, ChefNotFound):
        return problem(404, "Not Found", str(error))
    if isinstance(error, ChefUnavailable):
        return problem(503, "Service Unavailable", str(error))
    if error.status == 400:     # what the caller sent (a name, a version), refused by Chef
        return problem(422, "Unprocessable Content",
                       f"the Chef server refused the request's content: {error}")
    if error.status == 409:
        return problem(409, "Conflict", str(error))
    return problem(502, "Bad Gateway", str(error))


def _handle_integrity_error(error: IntegrityError) -> Response:
    """A unique name taken by a concurrent request between our check and our write."""
    LOG.info("request %s %s: integrity conflict (request id %s): %s", request.method,
             request.path, request_id(), error.orig)
    return problem(409, "Conflict", "a concurrent request created or changed the same "
                                    "object; read it and retry")


def _handle_operational_error(error: OperationalError) -> Response:
    """The database is busy past its timeout (SQLite's lock) or unreachable: the request
    may be retried, so it is a 503 with Retry-After, never a 500."""
    LOG.warning("request %s %s: database unavailable (request id %s): %s", request.method,
                request.path, request_id(), error.orig)
    response = problem(503, "Service Unavailable",
                       "the deployer database is busy or unreachable; retry shortly")
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _internal_error(error: HTTPException) -> Response:
    original = getattr(error, "original_exception", None) or error
    LOG.error("request %s %s failed (request id %s)", request.method, request.path,
              request_id(), exc_info=original)
    return problem(error.code or 500, "Internal Server Error",
                   f"the server failed to handle the request; quote request id "
                   f"{request_id()} when reporting it")


def _assign_request_id() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    g.request_id = incoming if _SAFE_REQUEST_ID.fullmatch(incoming) else f"req-{uuid.uuid4()}"


def _echo_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = request_id()
    return response
