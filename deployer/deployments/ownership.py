"""Node names belong to one deployment.

A deployment claims the Chef node names of its nodes when it is created (or
updated, for new ones); a run that works for a deployment claims its node name
if nobody holds it.  A name held by another deployment that is not deleted is
a 409 naming the name and the holder, at plan, create, update and run time, so
two deployments never rekey each other's clients or move each other's nodes.
A claim of a deleted deployment is stale and is taken over.
"""
from __future__ import annotations

from typing import Iterable

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from deployer.chef import names
from deployer.db.models import Deployment, NodeClaim, utcnow
from deployer.deployments.catalog import NODE_TYPE
from deployer.errors import Conflict

DELETED = "deleted"


def planned_node_names(plan: dict) -> dict[str, str]:
    """{node name: request field ("nodes.<resource path>")} of a plan's node resources whose name is known
    before the stack exists: an explicit NodeName, or the default of a top-level node
    (<stack>-<resource>).  Nested nodes without NodeName get their nested stack's
    generated (unique) name."""
    found: dict[str, str] = {}
    for resource in plan.get("stack_preview") or ():
        if resource.get("type") != NODE_TYPE:
            continue
        path = resource.get("resource") or ""
        explicit = (resource.get("properties") or {}).get("NodeName")
        if isinstance(explicit, str) and explicit:
            found.setdefault(explicit, f"nodes.{path}")
        elif "/" not in path:
            found.setdefault(names.node_name_from(plan["stack_name"], path), f"nodes.{path}")
    return found


def holder(session: Session, node_name: str) -> Deployment | None:
    """The live deployment holding ``node_name``, if any."""
    return session.scalars(
        select(Deployment).join(NodeClaim, NodeClaim.deployment_id == Deployment.id)
        .where(NodeClaim.node_name == node_name, Deployment.state != DELETED)).one_or_none()


def check_free(session: Session, wanted: dict[str, str], deployment_id: str | None = None) -> None:
    """409 naming every node name (of ``wanted``: name -> the request field it comes
    from) another live deployment holds."""
    held = {}
    for name, resource in sorted(wanted.items()):
        owner = holder(session, name)
        if owner is not None and owner.id != deployment_id:
            held[name] = (resource, owner)
    if held:
        raise Conflict(
            "node names held by other deployments: " + "; ".join(
                f"{name} ({resource}) belongs to deployment {owner.name} ({owner.id})"
                for name, (resource, owner) in held.items()),
            errors={resource: [f"node name {name} belongs to deployment {owner.name}"]
                    for name, (resource, owner) in held.items()})


def claim(session: Session, deployment_id: str, wanted: dict[str, str] | Iterable[str]) -> None:
    """Hold ``wanted`` for ``deployment_id`` (409 when another live deployment does);
    a concurrent claim of the same name loses with a 409 too."""
    wanted = dict(wanted) if isinstance(wanted, dict) else {name: name for name in wanted}
    check_free(session, wanted, deployment_id)
    mine = set(session.scalars(select(NodeClaim.node_name).where(
        NodeClaim.deployment_id == deployment_id, NodeClaim.node_name.in_(list(wanted)))))
    new = [name for name in wanted if name not in mine]
    if not new:
        return
    # Stale claims (deleted deployments) give way.
    session.execute(delete(NodeClaim).where(NodeClaim.node_name.in_(new)))
    try:
        with session.begin_nested():
            session.add_all(NodeClaim(node_name=name, deployment_id=deployment_id,
                                      created_at=utcnow()) for name in new)
    except IntegrityError:
        raise Conflict(f"node names {', '.join(sorted(new))} were just claimed by another "
                       f"deployment", errors={wanted[n]: ["claimed concurrently"]
                                              for n in new}) from None

