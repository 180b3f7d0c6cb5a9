"""gunicorn's thread worker, answering gunicorn's own errors as problem+json.

Requests gunicorn refuses before the app sees them (a request line longer than
``limit_request_line``: 414; headers past ``limit_request_fields`` or
``limit_request_field_size``: 431; a malformed request: 400) are answered by
``Worker.handle_error``, which writes a text/html page.  This worker lets
gunicorn decide the status and log the access line as usual, then sends the
same status as application/problem+json, like every other error of the API.
"""
from __future__ import annotations

import json
import re

from gunicorn import util
from gunicorn.workers.gthread import ThreadWorker

PROBLEM_MIME = "application/problem+json"
_STATUS_LINE = re.compile(rb"^HTTP/1\.[01] ([1-5][0-9][0-9]) ([^\r\n]*)\r\n")


class _CapturedResponse:
    """Stands in for the client socket while gunicorn writes its error page."""

    def __init__(self):
        self.data = b""

    def gettimeout(self):
        return 0.0                          # util.write_nonblock: no setblocking dance

    def sendall(self, data: bytes) -> None:
        self.data += data


def problem_response(status: int, title: str, detail: str) -> bytes:
    body = json.dumps({"type": "about:blank", "title": title, "status": status,
                       "detail": detail}).encode()
    head = (f"HTTP/1.1 {status} {title}\r\n"
            f"Connection: close\r\n"
            f"Content-Type: {PROBLEM_MIME}\r\n"
            f"Content-Length: {len(body)}\r\n\r\n")
    return head.encode("latin-1") + body


def detail_for(status: int, exc: BaseException) -> str:
    """What the caller may read: gunicorn's message for its own refusals (they name
    the limit, never the request's content beyond what the caller sent), nothing
    of an internal error."""
    if status >= 500 and status != 501:
        return "the server failed to handle the request"
    text = str(exc)[:500]
    if status == 431:
        return f"the request's headers exceed the server's limits ({text})"
    return text or "the request was refused by the HTTP server"


class ProblemThreadWorker(ThreadWorker):
    def handle_error(self, req, client, addr, exc):
        captured = _CapturedResponse()
        super().handle_error(req, captured, addr, exc)
        match = _STATUS_LINE.match(captured.data)
        if match is None:                   # nothing written, or a shape we do not know
            answer = captured.data
        else:
            status = int(match.group(1))
            title = match.group(2).decode("latin-1")
            answer = problem_response(status, title, detail_for(status, exc))
        if not answer:
            return
        try:
            util.write_nonblock(client, answer)
        except Exception:
            self.log.debug("Failed to send error message.")
