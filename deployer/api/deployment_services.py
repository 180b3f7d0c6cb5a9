"""The deployments service's collaborators for the current request.

The heatclient is built once per application (a keystoneauth session keeps
its connection pool); the database session is the request's.
"""
from __future__ import annotations

import threading

from flask import current_app

from deployer.api.context import db_session, run_policy, state
from deployer.chef.environment_template import EnvironmentTemplates
from deployer.config import ConfigError
from deployer.deployments.catalog import Catalog
from deployer.deployments.context import Services
from deployer.errors import HeatUnavailable

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


def services() -> Services:
    app = state()
    return Services(session=db_session(), heat_factory=heat, box=app.secret_box,
                    catalog=Catalog(app.cfg.content),
                    environment_templates=EnvironmentTemplates(
                        app.cfg.content.chef_environments_dir),
                    protected_names=run_policy().protected_names)
