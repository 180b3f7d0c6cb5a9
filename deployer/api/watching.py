"""Cheap reads for watchers of deployments: lean JSON, ETags, long polls, refreshers.

- The hot GETs (list, detail) are serialised with ``json.dumps`` straight from the
  view dicts (bench/api_latency.py measured marshmallow at most of a request's
  CPU); the marshmallow schemas still describe them in openapi.json.
- Every such answer carries a weak ETag over what it shows, apart from the
  running clock (``elapsed_seconds``, which clients can advance themselves), so
  ``If-None-Match`` gets 304 while nothing changed.
- ``?wait=N`` with ``If-None-Match`` holds the answer up to N seconds until the
  deployment changes (a long poll), looking at the database every WATCH_INTERVAL;
  watchers of one deployment in one process share each look.  At most
  ``max_waiters`` requests wait per process (the rest answer at once), so waiting
  watchers never take every thread from other requests.
- Each API process runs its share of the stack refreshers (stack_cache.py),
  started by the first request after the fork.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
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


def answer(view: dict, tag: str | None = None, status: int = 200) -> Response:
    tag = tag or etag_of(view)
    headers = {"ETag": tag, "Cache-Control": "no-cache"}
    if status == 200 and matches(tag):
        return Response(status=304, headers=headers)
    return Response(dumps(view), status=status, mimetype="application/json", headers=headers)


# -- long polls ------------------------------------------------------------------------

class Watch:
    """Per process: the waiting slots and the latest look at each watched deployment."""

    def __init__(self, max_waiters: int):
        self.max_waiters = max_waiters
        self._slots = threading.BoundedSemaphore(max_waiters) if max_waiters > 0 else None
        self._lock = threading.Lock()
        self._looks: dict[str, tuple[float, dict, str]] = {}

    def acquire(self) -> bool:
        return self._slots is not None and self._slots.acquire(blocking=False)

    def release(self) -> None:
        assert self._slots is not None
        self._slots.release()

    def look(self, key: str, read: Callable[[], dict]) -> tuple[dict, str]:
        """``read()`` at most once per WATCH_INTERVAL per key for all waiters."""
        now = time.monotonic()
        with self._lock:
            seen = self._looks.get(key)
            if seen and now - seen[0] < WATCH_INTERVAL:
                return seen[1], seen[2]
        view = read()
        tag = etag_of(view)
        with self._lock:
            self._looks[key] = (time.monotonic(), view, tag)
            if len(self._looks) > 1000:
                oldest = sorted(self._looks, key=lambda k: self._looks[k][0])[:500]
                for old in oldest:
                    self._looks.pop(old, None)
        return view, tag


def default_max_waiters() -> int:
    """Half the worker's threads (gunicorn.conf.py exports the count); none with one."""
    threads = int(os.environ.get(THREADS_ENV) or 1)
    return threads // 2


def _watch() -> Watch:
    found = current_app.extensions.get("deployer.watch")
    if found is None:
        limit = current_app.config.get("WATCH_MAX_WAITERS", default_max_waiters())
        found = current_app.extensions["deployer.watch"] = Watch(int(limit))
    return found


def wait_seconds(asked: float | None) -> float:
    return max(0.0, min(float(asked or 0), MAX_WAIT))


def long_poll(key: str, read: Callable[[], dict], end_reading: Callable[[], None],
              view: dict, wait: float) -> Response:
    """``view`` if it differs from what the client has; otherwise wait up to ``wait``
    seconds for a change (304 when none came)."""
    tag = etag_of(view)
    if wait <= 0 or not matches(tag):
        return answer(view, tag)
    watch = _watch()
    if not watch.acquire():
        return answer(view, tag)
    try:
        end_reading()
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(min(WATCH_INTERVAL, max(0.0, deadline - time.monotonic())))
            view, tag = watch.look(key, read)
            end_reading()
            if not matches(tag):
                break
    finally:
        watch.release()
    return answer(view, tag)


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
