"""Parameter sets: named values for one template, checked by Heat before they are stored.

A set may hold only some of the template's parameters (e.g. the site values
shared by several deployments); each value given is checked against its
parameter's constraints.  Hidden parameters are stored encrypted; a value of
``******`` on update keeps the stored secret, so a set read back (redacted)
can be written back unchanged.  Service functions leave committing to the caller.
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deployer.db.models import ParameterSet, utcnow
from deployer.deployments import heat_stacks, secrets
from deployer.deployments.context import Services
from deployer.errors import Conflict, NotFound
from deployer.secrets import REDACTED, SecretBox


def get(session: Session, name: str, *, field: str = "name") -> ParameterSet:
    row = session.get(ParameterSet, name)
    if row is None:
        raise NotFound(f"parameter set {name} does not exist", field=field)
    return row


def list_sets(session: Session, template: str | None = None) -> list[ParameterSet]:
    query = select(ParameterSet).order_by(ParameterSet.name)
    if template:
        query = query.where(ParameterSet.template == template)
    return list(session.scalars(query))


def values(box: SecretBox, row: ParameterSet) -> dict[str, Any]:
    """Every value of the set, hidden ones decrypted (never returned by the API)."""
    return {**row.parameters, **secrets.unseal(box, row.secret_blob)}


def create(services: Services, name: str, template: str, parameters: dict[str, Any],
           description: str) -> ParameterSet:
    if services.session.get(ParameterSet, name) is not None:
        raise Conflict(f"parameter set {name} already exists", field="name")
    row = ParameterSet(name=name, template=template, description=description,
                       parameters={}, created_at=utcnow())
    _store(services, row, template, parameters, kept={})
    services.session.add(row)
    try:
        services.session.flush()
    except IntegrityError:      # created by a concurrent request since the check above
        services.session.rollback()
        raise Conflict(f"parameter set {name} already exists", field="name") from None
    return row


def replace(services: Services, name: str, template: str | None, parameters: dict[str, Any],
            description: str | None) -> ParameterSet:
    row = get(services.session, name)
    kept = values(services.box, row)
    _store(services, row, template or row.template, parameters, kept=kept)
    if description is not None:
        row.description = description
    services.session.flush()
    return row


def delete(session: Session, name: str) -> None:
    session.delete(get(session, name))
    session.flush()


def view(row: ParameterSet) -> dict:
    hidden = {name: REDACTED for name in row.secret_names}
    return {"name": row.name, "template": row.template, "description": row.description,
            "parameters": {**row.parameters, **hidden},
            "created_at": row.created_at, "updated_at": row.updated_at}


def _store(services: Services, row: ParameterSet, template: str, parameters: dict[str, Any],
           kept: dict[str, Any]) -> None:
    """Check ``parameters`` with Heat, then store them split into public and sealed parts."""
    source = services.catalog.template(template)
    hidden = heat_stacks.hidden_names(services.heat, source)
    given = {name: (kept[name] if value == REDACTED and name in hidden and name in kept
                    else value) for name, value in parameters.items()}
    public, secret = secrets.split(given, hidden)
    heat_stacks.check_values(services.heat, source, given, secrets.secret_texts(secret))
    row.template = template
    row.parameters = public
    row.secret_names = sorted(secret)
    row.secret_blob = secrets.seal(services.box, secret)
    row.updated_at = utcnow()
