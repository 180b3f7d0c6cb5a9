"""The deployments service's collaborators for the current request.

The heatclient is built once per application (a keystoneauth session keeps
its connection pool); the database session is the request's.
"""
from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator

from flask import current_app

from deployer.api.context import db_session, run_policy, state
from deployer.chef.environment_template import EnvironmentTemplates
from deployer.config import ConfigError
from deployer.deployments.catalog import Catalog
from deployer.deployments.context import Services
from deployer.errors import HeatUnavailable, Overloaded
from deployer.preflight.settings import Settings

HEAT_EXTENSION = "deployer.heat"
_lock = threading.Lock()


def heat():
    """The application's heatclient, built on first use."""
    with _lock:
        client = current_app.extensions.get(HEAT_EXTENSION)
        if client is None:
            from deployer.heat_client import heat_client
            try:
                client = heat_client(state().cfg)
            except ConfigError as error:    # e.g. remote Heat credentials incomplete
                raise HeatUnavailable(f"Heat cannot be used: {error}") from None
            current_app.extensions[HEAT_EXTENSION] = client
    return client


# Requests that wait on Heat (plan, create, update, parameter sets) may hold at most
# this many of a process's threads; the rest stay free for what Heat's node resources
# ask meanwhile (runs, their polls, Chef environments).  Past it: 503 + Retry-After.
API_THREADS = int(os.environ.get("DEPLOYER_API_THREADS", "4"))
HEAT_SLOTS = max(1, API_THREADS - 2)
SLOT_WAIT_SECONDS = 1.0
_heat_slots = threading.BoundedSemaphore(HEAT_SLOTS)


@contextlib.contextmanager
def heat_slot() -> Iterator[None]:
    """Hold one of the process's Heat slots for a request that waits on Heat."""
    if not _heat_slots.acquire(timeout=SLOT_WAIT_SECONDS):
        raise Overloaded(f"{HEAT_SLOTS} requests of this API process are waiting for Heat "
                         f"already; retry in a moment")
    try:
        yield
    finally:
        _heat_slots.release()


def services() -> Services:
    app = state()
    return Services(session=db_session(), heat_factory=heat, box=app.secret_box,
                    catalog=Catalog(app.cfg.content),
                    environment_templates=EnvironmentTemplates(
                        app.cfg.content.chef_environments_dir),
                    protected_names=run_policy().protected_names,
                    preflight=Settings.from_config(app.cfg, run_policy()))
