"""Cheap reads for watchers of deployments: lean JSON, ETags, long polls, refreshers.

- The hot GETs (list, detail) are serialised with ``json.dumps`` straight from the
  view dicts (bench/api_latency.py measured marshmallow at 4-6x the cost); the
  marshmallow schemas still describe them in openapi.json.
- Each process keeps its latest answer per deployment (and per list query) with
  the change token it was made at; one small query re-reads the token, and
  while it holds the stored JSON is sent again without building the view
  (views.detail_token / list_token say what the token covers).
- Every such answer carries a weak ETag over what it shows, apart from the
  running clock (``elapsed_seconds``, which clients can advance themselves), so
  ``If-None-Match`` gets 304 while nothing changed.
- ``?wait=N`` with ``If-None-Match`` holds the answer up to N seconds until the
  deployment changes (a long poll), re-reading the token every WATCH_INTERVAL.
  At most ``max_waiters`` requests wait per process (the rest answer at once),
  so waiting watchers never take every thread from other requests.
- Each API process runs its share of the stack refreshers (stack_cache.py),
  started by the first request after the fork.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import threading
import time
from typing import Any, Callable

from flask import Flask, Response, current_app, request

from deployer.api.context import state
from deployer.deployments.catalog import Catalog

MAX_WAIT = 30.0
WATCH_INTERVAL = 0.5
THREADS_ENV = "DEPLOYER_API_THREADS"      # gunicorn.conf.py sets it for the workers
REFRESHERS = "deployer.refreshers"


def _default(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def dumps(view: Any) -> str:
    return json.dumps(view, default=_default, separators=(",", ":"))


def etag_of(view: dict) -> str:
    """A weak validator of ``view`` without its running clocks."""
    steady = dict(view)
    if "nodes" in steady:
        steady["nodes"] = [{**node, "elapsed_seconds": None} for node in steady["nodes"]]
    digest = hashlib.blake2b(dumps(steady).encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def client_tags() -> set[str]:
    header = request.headers.get("If-None-Match", "")
    return {tag.strip() for tag in header.split(",") if tag.strip()}


def matches(tag: str) -> bool:
    """If-None-Match uses the weak comparison: W/"x" and "x" are the same."""
    bare = tag.removeprefix("W/")
    return any(other == "*" or other.removeprefix("W/") == bare for other in client_tags())


# -- answers cached per process, checked with one small query ---------------------------

class Entry:
    """One answer: its JSON, ETag, the change token it was made at, and (details)
    the stack ids whose runs it shows."""
    __slots__ = ("body", "etag", "token", "stack_ids", "made", "running")

    def __init__(self, body: str, etag: str, token: tuple, stack_ids: frozenset = frozenset(),
                 running: bool = False):
        self.body, self.etag, self.token, self.stack_ids = body, etag, token, stack_ids
        self.made, self.running = time.monotonic(), running


class Answers:
    """A process's latest answers per key; an answer is served again only while
    its token still reads the same (and, with running nodes, for RUNNING_TTL at
    most, so their elapsed clocks stay fresh)."""

    SIZE = 512
    RUNNING_TTL = 1.0

    def __init__(self):
        self._lock = threading.Lock()
        self._entries: dict[Any, Entry] = {}

    def get(self, key) -> Entry | None:
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and entry.running and \
                time.monotonic() - entry.made > self.RUNNING_TTL:
            return None
        return entry

    def put(self, key, entry: Entry) -> None:
        with self._lock:
            self._entries.pop(key, None)
            self._entries[key] = entry
            while len(self._entries) > self.SIZE:
                self._entries.pop(next(iter(self._entries)))


def _answers() -> Answers:
    found = current_app.extensions.get("deployer.answers")
    if found is None:
        found = current_app.extensions.setdefault("deployer.answers", Answers())
    return found


def cached_detail(found, deployment_id: str) -> Entry:
    """The detail answer of ``deployment_id``: the cached one while its token holds
    (one query), else made anew (two queries)."""
    from deployer.deployments import views
    answers = _answers()
    entry = answers.get(("detail", deployment_id))
    if entry is not None and views.detail_token(found, deployment_id,
                                                entry.stack_ids) == entry.token:
        return entry
    view, token, stack_ids = views.detail_and_token(found,
                                                    *views.with_snapshot(found, deployment_id))
    entry = Entry(dumps(view), etag_of(view), token, stack_ids,
                  running=any(node["run_status"] == "running" for node in view["nodes"]))
    answers.put(("detail", deployment_id), entry)
    return entry


def cached_list(found, args: dict, make: Callable[[], dict]) -> Entry:
    """A page of the list: cached per query while no deployment was made or changed."""
    from deployer.deployments import views
    key = ("list", tuple(sorted((k, str(v)) for k, v in args.items())))
    token = views.list_token(found)
    entry = _answers().get(key)
    if entry is not None and entry.token == token:
        return entry
    body = dumps(make())
    entry = Entry(body, f'W/"{hashlib.blake2b(body.encode(), digest_size=12).hexdigest()}"',
                  token)
    _answers().put(key, entry)
    return entry


def send(entry: Entry) -> Response:
    headers = {"ETag": entry.etag, "Cache-Control": "no-cache"}
    if matches(entry.etag):
        return Response(status=304, headers=headers)
    return Response(entry.body, mimetype="application/json", headers=headers)


# -- one request computing at a time per process -------------------------------------

class OneAtATime:
    """WSGI middleware: the threads of a gunicorn worker compute the hot reads (the
    GETs of deployments and runs, pure CPU and database) one at a time: the GIL
    lets only one run anyway, and several take turns every 5 ms and thrash
    (bench/api_latency.py measured 2-3x less throughput with 4 threads than with
    1).  Threads are still worth having for what does not compute: a long poll
    gives its turn up while it sleeps, requests that wait on Heat or the Chef
    server take no turn, and the response is written to the socket after the
    turn (gunicorn iterates the body once this returns)."""

    HOT = re.compile(r"^/v1/(deployments(/[^/]+)?|runs(/.*)?)/?$")

    def __init__(self, app):
        self.app = app

    def __call__(self, environ, start_response):
        if environ.get("REQUEST_METHOD") != "GET" or not self.HOT.match(
                environ.get("PATH_INFO", "")):
            return self.app(environ, start_response)
        with _turn():
            return self.app(environ, start_response)


_TURN = threading.Lock()
_holding = threading.local()


class _turn:
    def __enter__(self):
        _TURN.acquire()
        _holding.yes = True

    def __exit__(self, *_exc):
        _holding.yes = False
        _TURN.release()


class _turn_given_up:
    """Inside a long poll's sleep: let the other threads compute."""

    def __enter__(self):
        self.held = getattr(_holding, "yes", False)
        if self.held:
            _holding.yes = False
            _TURN.release()

    def __exit__(self, *_exc):
        if self.held:
            _TURN.acquire()
            _holding.yes = True


# -- long polls ------------------------------------------------------------------------

class Slots:
    """Per process: how many requests may wait in a long poll at once."""

    def __init__(self, max_waiters: int):
        self.max_waiters = max_waiters
        self._slots = threading.BoundedSemaphore(max_waiters) if max_waiters > 0 else None

    def acquire(self) -> bool:
        return self._slots is not None and self._slots.acquire(blocking=False)

    def release(self) -> None:
        assert self._slots is not None
        self._slots.release()


def default_max_waiters() -> int:
    """Half the worker's threads (gunicorn.conf.py exports the count); none with one."""
    threads = int(os.environ.get(THREADS_ENV) or 1)
    return threads // 2


def _slots() -> Slots:
    found = current_app.extensions.get("deployer.watch")
    if found is None:
        limit = current_app.config.get("WATCH_MAX_WAITERS", default_max_waiters())
        found = current_app.extensions.setdefault("deployer.watch", Slots(int(limit)))
    return found


def wait_seconds(asked: float | None) -> float:
    return max(0.0, min(float(asked or 0), MAX_WAIT))


def long_poll(read: Callable[[], Entry], end_reading: Callable[[], None],
              wait: float) -> Response:
    """The answer if it differs from what the client has; otherwise wait up to ``wait``
    seconds for a change (304 when none came), looking every WATCH_INTERVAL."""
    entry = read()
    if wait <= 0 or not matches(entry.etag):
        return send(entry)
    slots = _slots()
    if not slots.acquire():
        return send(entry)
    try:
        end_reading()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with _turn_given_up():
                time.sleep(min(WATCH_INTERVAL, max(0.0, deadline - time.monotonic())))
            entry = read()
            end_reading()
            if not matches(entry.etag):
                break
    finally:
        slots.release()
    return send(entry)


# -- the refreshers of this process ---------------------------------------------------

_start_lock = threading.Lock()


def ensure_refreshers(app: Flask) -> None:
    """Start this process's stack refreshers once (after gunicorn's fork)."""
    if not app.config.get("STACK_REFRESHERS", True):
        return
    running = app.extensions.get(REFRESHERS)
    if running is not None and running[0] == os.getpid():
        return
    with _start_lock:
        running = app.extensions.get(REFRESHERS)
        if running is not None and running[0] == os.getpid():
            return
        from deployer.deployments.stack_cache import Refreshers
        from deployer.heat_client import heat_client
        with app.app_context():
            app_state = state()
        cfg = app_state.cfg
        refreshers = Refreshers(app_state.session_factory, lambda: heat_client(cfg),
                                app_state.secret_box, Catalog(cfg.content))
        refreshers.start()
        app.extensions[REFRESHERS] = (os.getpid(), refreshers)
