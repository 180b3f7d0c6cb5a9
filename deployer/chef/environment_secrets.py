"""Where a rendered environment's secrets are kept, and the one way they reach the nodes.

The deployer's database holds, encrypted with the SecretBox, the environment's data bag
item secret and every value (deployer.db.models.EnvironmentSecrets); the Chef server holds
the same values as encrypted items of the environment's own bag, which the environment
names in ``deployer.secrets.data_bag``.  A node run writes the item secret to the node
(the bootstrap's encrypted_data_bag_secret file), so chef-client decrypts them there.

Nothing here returns a value to a caller that could show it: provisioning returns the bag
name, ``item_secret`` is for the node runner only.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deployer.chef import data_bag_secrets, names
from deployer.chef.errors import ChefNotFound
from deployer.db.models import EnvironmentSecrets, utcnow
from deployer.errors import Unprocessable
from deployer.secrets import SecretBox

OPTIMISTIC_RETRIES = 5


def with_data_bag(document: dict, bag: str) -> dict:
    """The environment with its secrets bag set as an override (cookbooks read it there)."""
    overrides = document.setdefault("override_attributes", {})
    overrides.setdefault("deployer", {}).setdefault("secrets", {})["data_bag"] = bag
    return document


def provision(session: Session, box: SecretBox, chef, environment: str, document: Mapping[str, Any],
              given: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """Make sure every secret ``document``'s roles read exists, in the database and as
    encrypted items on the Chef server; returns the bag name.

    Existing values are kept; a non-empty ``given`` value (a hidden template parameter)
    replaces its key.  Commits its own row: concurrent renders of one environment (nodes
    of one order group) then agree on the first committed values.
    """
    wanted = data_bag_secrets.wanted(document)
    try:
        data_bag_secrets.check_given(given or {}, wanted)
    except data_bag_secrets.SecretsError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None
    row, stored, changed = _stored_values(session, box, environment, wanted, given or {})
    # Items are (re)written when their values changed or the server lacks them; a render
    # that changes nothing (every node of an origin-style stack renders) costs two calls.
    chef.create_data_bag(row.data_bag)
    present = set() if changed else set(chef.list_data_bag(row.data_bag))
    for item_id, values in sorted(stored["items"].items()):
        if item_id not in present:
            chef.upsert_item(row.data_bag, data_bag_secrets.encrypt_item(item_id, values, stored["item_secret"]))
    return row.data_bag


def _stored_values(session, box, environment, wanted, given) -> tuple[EnvironmentSecrets, dict, bool]:
    """The committed row and its values, completed; True when this call changed them."""
    for _ in range(OPTIMISTIC_RETRIES):
        row = session.get(EnvironmentSecrets, environment, populate_existing=True)
        if row is None:
            stored = {"item_secret": data_bag_secrets.new_item_secret(),
                      "items": data_bag_secrets.completed({}, wanted, given)}
            row = EnvironmentSecrets(environment=environment, data_bag=names.secrets_bag_name(environment),
                                     secret_blob=box.encrypt(json.dumps(stored)))
            session.add(row)
            try:
                session.commit()
                return row, stored, True
            except IntegrityError:
                session.rollback()     # another render inserted it first: use theirs
                continue
        stored = json.loads(box.decrypt(row.secret_blob))
        items = data_bag_secrets.completed(stored["items"], wanted, given)
        if items == stored["items"]:
            return row, stored, False
        old_blob, stored = row.secret_blob, {**stored, "items": items}
        changed = session.execute(
            update(EnvironmentSecrets)
            .where(EnvironmentSecrets.environment == environment, EnvironmentSecrets.secret_blob == old_blob)
            .values(secret_blob=box.encrypt(json.dumps(stored)), updated_at=utcnow())).rowcount
        session.commit()
        if changed:
            return session.get(EnvironmentSecrets, environment, populate_existing=True), stored, True
    raise RuntimeError(f"environment {environment}: secrets kept changing under {OPTIMISTIC_RETRIES} renders")


def data_bag(session: Session, environment: str) -> str | None:
    row = session.get(EnvironmentSecrets, environment)
    return row.data_bag if row else None


def item_secret(session: Session, box: SecretBox, environment: str) -> str | None:
    """The secret a node of ``environment`` decrypts its items with (None: it has none)."""
    row = session.get(EnvironmentSecrets, environment)
    return json.loads(box.decrypt(row.secret_blob))["item_secret"] if row else None


def remove(session: Session, chef, environment: str) -> None:
    """Delete the environment's bag (gone already counts) and then its row."""
    row = session.get(EnvironmentSecrets, environment)
    if row is None:
        return
    try:
        chef.delete_data_bag(row.data_bag)
    except ChefNotFound:
        pass
    session.delete(row)
    session.commit()
