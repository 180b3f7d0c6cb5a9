"""Who may call the API.

- ``noauth``: no checks at all, so it is refused unless the API listens on a
  loopback address only (here for the configuration; the gunicorn
  configuration checks the socket it really bound).
- ``keystone``: keystonemiddleware's auth_token validates the token (options
  from the ``[keystone_authtoken]`` section of deployer.conf, as in every
  OpenStack service).  It runs with delay_auth_decision so that a missing or
  bad token reaches us and is answered as problem+json; write methods then
  need the ``admin`` or ``deployer`` role.
"""
from __future__ import annotations

import configparser
from typing import Callable

from flask import Flask, request
from flask_smorest import abort

from deployer.config import Config, ConfigError
from deployer.listeners import is_loopback

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
WRITE_ROLES = frozenset({"admin", "deployer"})
# The status pages hold no data (their script reads the API with the user's token).
PUBLIC_ENDPOINTS = frozenset({"health.Health", "api-docs.openapi_json",
                              "status_page.deployment_list", "status_page.deployment_picture",
                              "status_page.static"})
KEYSTONE_SECTION = "keystone_authtoken"

WsgiMiddleware = Callable[[Callable], Callable]


def install(app: Flask, cfg: Config, middleware: WsgiMiddleware | None = None) -> None:
    """``middleware`` replaces auth_token (tests without a Keystone use it)."""
    check_settings(cfg)
    if cfg.api.auth_strategy == "noauth":
        return
    app.wsgi_app = (middleware or keystone_auth_token(cfg))(app.wsgi_app)
    app.before_request(_require_identity)


def check_settings(cfg: Config) -> None:
    """Refuse an unauthenticated API reachable from other machines."""
    if cfg.api.auth_strategy == "noauth" and not is_loopback(cfg.api.bind_host):
        raise ConfigError(
            f"[api] auth_strategy = noauth is only allowed when [api] bind_host is a "
            f"loopback address, not {cfg.api.bind_host!r}; bind to 127.0.0.1 or set "
            f"auth_strategy = keystone")


def keystone_auth_token(cfg: Config) -> WsgiMiddleware:
    from keystonemiddleware import auth_token

    parser = configparser.ConfigParser(interpolation=None)
    if cfg.source:
        parser.read(cfg.source)
    if not parser.has_section(KEYSTONE_SECTION):
        raise ConfigError(f"[api] auth_strategy = keystone needs a [{KEYSTONE_SECTION}] "
                          f"section in {cfg.source or 'the deployer configuration'}")
    options = dict(parser.items(KEYSTONE_SECTION))
    options["delay_auth_decision"] = "true"
    return lambda wsgi_app: auth_token.AuthProtocol(wsgi_app, options)


def caller_is_admin() -> bool:
    """Under noauth (loopback only) every caller is the admin; under Keystone the
    token must carry the admin role."""
    if _noauth():
        return True
    roles = {role.strip() for role in request.environ.get("HTTP_X_ROLES", "").split(",")}
    return "admin" in roles


def _noauth() -> bool:
    from deployer.api.context import state
    return state().cfg.api.auth_strategy == "noauth"


def _require_identity() -> None:
    if request.endpoint in PUBLIC_ENDPOINTS:
        return
    if request.environ.get("HTTP_X_IDENTITY_STATUS") != "Confirmed":
        abort(401, message="a valid Keystone token is required (X-Auth-Token)")
    roles = {role.strip() for role in request.environ.get("HTTP_X_ROLES", "").split(",")}
    if request.method in WRITE_METHODS and not roles & WRITE_ROLES:
        abort(403, message=f"{request.method} {request.path} needs the admin or deployer role")
