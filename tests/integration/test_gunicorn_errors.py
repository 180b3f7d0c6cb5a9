"""gunicorn's own refusals (issue 11, item 8) are problem+json like the API's.

A request line over gunicorn's limit_request_line (4094) is a 414 and headers over
limit_request_fields (100) or limit_request_field_size (8190) a 431, answered by
gunicorn before the app runs; a request line gunicorn cannot parse is its 400.
Real gunicorn (the deployer_api fixture), raw sockets, so nothing in between
rewrites the answer.
"""
from __future__ import annotations

import json
import socket
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.timeout(120)


def raw_request(base_url: str, head: bytes) -> tuple[int, dict[str, str], bytes]:
    """Send ``head`` (a request without body) and read the whole answer."""
    url = urlsplit(base_url)
    with socket.create_connection((url.hostname, url.port), timeout=20) as sock:
        sock.sendall(head)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    header_block, _, body = data.partition(b"\r\n\r\n")
    status_line, *header_lines = header_block.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(status_line.split()[1]), headers, body


def assert_problem(answer, status: int, title: str, detail_has: str) -> None:
    code, headers, body = answer
    assert code == status, (code, headers, body[:300])
    assert headers["content-type"] == "application/problem+json", (headers, body[:300])
    assert int(headers["content-length"]) == len(body)
    problem = json.loads(body)
    assert problem["status"] == status and problem["title"] == title, problem
    assert problem["type"] == "about:blank"
    assert detail_has.lower() in problem["detail"].lower(), problem


def test_request_line_too_long_is_problem_json_414(deployer_api):
    head = (f"GET /v1/runs?marker={'a' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n").encode()
    assert_problem(raw_request(deployer_api.base_url, head), 414, "URI Too Long",
                   "Request Line is too large")


def test_too_many_headers_is_problem_json_431(deployer_api):
    fields = "".join(f"X-Field-{i}: {i}\r\n" for i in range(150))
    head = f"GET /v1/runs HTTP/1.1\r\nHost: x\r\n{fields}\r\n".encode()
    assert_problem(raw_request(deployer_api.base_url, head), 431,
                   "Request Header Fields Too Large", "Limit request headers fields")


def test_header_too_large_is_problem_json_431(deployer_api):
    head = f"GET /v1/runs HTTP/1.1\r\nHost: x\r\nX-Big: {'b' * 10000}\r\n\r\n".encode()
    assert_problem(raw_request(deployer_api.base_url, head), 431,
                   "Request Header Fields Too Large", "Limit request headers fields size")


def test_malformed_request_line_is_problem_json_400(deployer_api):
    head = b"GET\x01 /v1/runs HTTP/1.1\r\nHost: x\r\n\r\n"
    code, headers, body = raw_request(deployer_api.base_url, head)
    assert code == 400 and headers["content-type"] == "application/problem+json", body[:300]
    assert json.loads(body)["status"] == 400


def test_the_api_still_answers_after_refusals(deployer_api):
    """The worker answered the refusals and stays up for ordinary requests."""
    head = f"GET /v1/runs?marker={'a' * 5000} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    for _ in range(3):
        assert raw_request(deployer_api.base_url, head)[0] == 414
    assert deployer_api.client.list_runs()["runs"] == []
