"""The deployer API application factory.

``create_app(cfg)`` builds one Flask app per process (gunicorn calls it once
per worker through deployer.wsgi); nothing happens at import time.  Each
collection is a blueprint under /v1 and the OpenAPI document is served at
/v1/openapi.json.
"""
from __future__ import annotations

from typing import Any, Mapping

from flask import Flask

from deployer import config as config_mod
from deployer.api import (auth, catalog, chef_environments, chef_nodes, context, deployments,
                          errors, health, limits, parameter_sets, runs)
from deployer.api import status_page, update_plans
from deployer.api.smorest import DeployerApi
from deployer.config import Config
from deployer.db.session import make_engine, make_session_factory
from deployer.secrets import SecretBox

BLUEPRINTS = (health.blp, runs.blp, chef_nodes.blp, chef_environments.blp, status_page.blp,
              catalog.blp, parameter_sets.blp, deployments.blp, update_plans.blp)


def create_app(cfg: Config | None = None, test_config: Mapping[str, Any] | None = None) -> Flask:
    """``test_config`` may set Flask keys plus AUTH_MIDDLEWARE (replaces
    keystone auth_token) and CHEF_SERVER_FACTORY."""
    cfg = cfg or config_mod.load()
    app = Flask("deployer.api", static_folder=None)
    app.config.update(
        API_TITLE="SCO deployer",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/v1",
        OPENAPI_JSON_PATH="openapi.json",
        MAX_CONTENT_LENGTH=limits.MAX_BODY_BYTES,     # larger bodies: 413 problem+json
    )
    app.config.update(test_config or {})

    def chef_server():
        from deployer.chef.server import ChefServer
        return ChefServer.from_config(cfg)

    engine = make_engine(cfg.database_url)
    context.init_app(app, context.AppState(
        cfg=cfg,
        session_factory=make_session_factory(engine),
        secret_box=SecretBox.in_dir(cfg.api_dir),
        chef_server=app.config.get("CHEF_SERVER_FACTORY") or chef_server,
    ))
    errors.register(app)
    auth.install(app, cfg, app.config.get("AUTH_MIDDLEWARE"))
    api = DeployerApi(app)
    for blueprint in BLUEPRINTS:
        api.register_blueprint(blueprint)
    return app
