"""What views need from the application: its settings and a request-scoped
database session (opened on first use, closed — rolled back unless the view
committed — when the request ends)."""
from __future__ import annotations

import dataclasses
from typing import Any, Callable

from flask import Flask, current_app, g
from sqlalchemy.orm import Session, sessionmaker

from deployer.config import Config
from deployer.secrets import SecretBox

EXTENSION = "deployer"
POLICY_EXTENSION = "deployer.run_policy"


@dataclasses.dataclass(frozen=True)
class AppState:
    cfg: Config
    session_factory: sessionmaker[Session]
    secret_box: SecretBox
    chef_server: Callable[[], Any]       # builds a deployer.chef.server.ChefServer


def init_app(app: Flask, state: AppState) -> None:
    app.extensions[EXTENSION] = state
    app.teardown_appcontext(_close_session)


def state() -> AppState:
    return current_app.extensions[EXTENSION]


def run_policy():
    """The deployer's deployer.runs.policy.RunPolicy, read once per application."""
    from deployer.runs.policy import RunPolicy
    policy = current_app.extensions.get(POLICY_EXTENSION)
    if policy is None:
        policy = current_app.extensions[POLICY_EXTENSION] = RunPolicy.from_config(state().cfg)
    return policy


def db_session() -> Session:
    if "db_session" not in g:
        g.db_session = state().session_factory()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()
