"""What the certification tests share: a deployment row written straight into the
deployer's database (the certification API and the worker read only the row, so no
Heat is needed to refuse or queue one), a recorded test node set, and fault rows as
the engine makes them."""
from __future__ import annotations

import json
import uuid
from pathlib import Path

from deployer import config
from deployer.certify.outcome import FaultOutcome
from deployer.db.models import Deployment, utcnow
from deployer.db.session import make_engine, make_session_factory
from deployer.deployments import secrets
from deployer.secrets import SecretBox

HIDDEN = {"SshPassword": "Cert-Hidden-8c2f1e77"}


def deployment_row(cfg: config.Config, *, state: str = "complete",
                   hidden: dict | None = None) -> tuple[str, str]:
    """(id, name) of a new deployment row in ``state``, with ``hidden`` sealed as its
    hidden parameters; no stack (so no refresher asks Heat about it)."""
    name = f"cert-{uuid.uuid4().hex[:8]}"
    now = utcnow()
    engine = make_engine(cfg.database_url)
    try:
        with make_session_factory(engine).begin() as session:
            row = Deployment(
                id=str(uuid.uuid4()), name=name, active_name=name, template="active-active",
                parameters={"ControllerCount": 3}, secret_names=sorted(hidden or {}),
                secret_blob=secrets.seal(SecretBox.in_dir(cfg.api_dir), hidden or {}),
                heat_environments=[], stack_id=None,
                stack_status={"complete": "CREATE_COMPLETE", "failed": "CREATE_FAILED",
                              "in_progress": "CREATE_IN_PROGRESS"}.get(state, "DELETE_COMPLETE"),
                status_reason="", state=state, created_at=now, updated_at=now)
            session.add(row)
            return row.id, name
    finally:
        engine.dispose()


def recorded_node_set(directory: Path) -> str:
    """A directory TestNodes.load reads (its nodes.json), as `deployer testnodes up` leaves."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "nodes.json").write_text(json.dumps(
        {"prefix": "tc", "subnet": "10.251.9", "nodes": []}))
    return str(directory)


def outcome(fault: str, node: str, **changes) -> FaultOutcome:
    """A row that passes unless ``changes`` make it fail."""
    values = dict(fault=fault, node=node, outage={"token": 0.4, "db_write": 1.2, "rpc": 0.3},
                  lost={"db_writes": 0, "messages": 0}, time_to_whole=12.5,
                  rejoin={"token": 9.3, "db_write": 6.3, "rpc": 0.2})
    return FaultOutcome(**{**values, **changes})
