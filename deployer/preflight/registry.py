"""The VIP/VRID registry: every floating VIP of every deployment on this under-cloud,
by segment, in the deployer's database (models.VipClaim).

No two live deployments share a VIP address, nor a VRRP virtual_router_id on one
segment (every cluster on a VLAN getting VRID 51 made VIPs drop out:
oracle-cne/ocne#492).  A create or update whose VIPs collide is refused with a 409
naming the other deployment, before anything is created or changed; plan shows the
same as a failed check.  A deployment's rows are replaced on update and deleted
when it is deleted; a row of a deployment that is deleted meanwhile gives way.
The cookbook's converge-time check (DeployerCommon::Vrrp) stays: it sees one
deployment's VIPs only, and a site's hand-made keepalived never registers here.
"""
from __future__ import annotations

from sqlalchemy import delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session

from deployer.db.models import Deployment, VipClaim, utcnow
from deployer.errors import Conflict
from deployer.preflight.vips import FIELD, Vip

DELETED = "deleted"


def collisions(session: Session, vips: list[Vip], deployment_id: str | None = None
               ) -> dict[str, list[str]]:
    """{request field: [what collides, naming the other deployment]} against every other
    live deployment's VIPs."""
    found: dict[str, list[str]] = {}
    for vip in vips:
        clauses = [VipClaim.address == vip.address]
        if vip.vrid is not None:
            clauses.append((VipClaim.segment == vip.segment) & (VipClaim.vrid == vip.vrid))
        query = (select(VipClaim, Deployment).join(Deployment, Deployment.id == VipClaim.deployment_id)
                 .where(or_(*clauses), Deployment.state != DELETED))
        if deployment_id is not None:
            query = query.where(VipClaim.deployment_id != deployment_id)
        for claim, holder in session.execute(query.order_by(VipClaim.id)):
            owner = f"deployment {holder.name} ({holder.id})"
            said = {"address": f"address {vip.address} is VIP {claim.name} of {owner}",
                    "virtual_router_id": f"VRID {vip.vrid} on segment {vip.segment} is VIP {claim.name}'s of {owner}"}
            for field in vip.clashes_with(claim.address, claim.segment, claim.vrid):
                found.setdefault(f"{FIELD}.{vip.name}.{field}", []).append(said[field])
    return found


def refuse_collisions(session: Session, vips: list[Vip], deployment_id: str | None = None) -> None:
    found = collisions(session, vips, deployment_id)
    if found:
        raise Conflict("VIPs taken by other deployments on this under-cloud: " + "; ".join(
            f"{field}: {' '.join(texts)}" for field, texts in found.items())
            + "; choose free addresses and VRIDs (ApiVrid, DbVrid, ...)", errors=found)


def claim(session: Session, deployment_id: str, vips: list[Vip]) -> None:
    """Hold exactly ``vips`` for the deployment (its other rows go); 409 on a collision,
    also with a concurrent request (the unique constraints decide)."""
    refuse_collisions(session, vips, deployment_id)
    session.execute(delete(VipClaim).where(VipClaim.deployment_id == deployment_id))
    _drop_stale(session, vips)
    try:
        with session.begin_nested():
            session.add_all(VipClaim(deployment_id=deployment_id, name=vip.name,
                                     segment=vip.segment, address=vip.address, vrid=vip.vrid,
                                     created_at=utcnow()) for vip in vips)
    except IntegrityError:
        raise Conflict("VIPs " + ", ".join(v.address for v in vips) + " were just claimed by "
                       "another deployment", errors={f"{FIELD}.{v.name}": ["claimed concurrently"]
                                                     for v in vips}) from None


def _drop_stale(session: Session, vips: list[Vip]) -> None:
    """Rows of deleted deployments that would stand in the way."""
    deleted = select(Deployment.id).where(Deployment.state == DELETED)
    for vip in vips:
        clauses = [VipClaim.address == vip.address]
        if vip.vrid is not None:
            clauses.append((VipClaim.segment == vip.segment) & (VipClaim.vrid == vip.vrid))
        session.execute(delete(VipClaim).where(or_(*clauses),
                                               VipClaim.deployment_id.in_(deleted)))


def release(row: Deployment) -> None:
    """The deployment is deleted: its VIPs are free again."""
    session = object_session(row)
    if session is not None:
        release_id(session, row.id)


def release_id(session: Session, deployment_id: str) -> None:
    session.execute(delete(VipClaim).where(VipClaim.deployment_id == deployment_id))


def held(session: Session, deployment_id: str) -> list[VipClaim]:
    return list(session.scalars(select(VipClaim).where(VipClaim.deployment_id == deployment_id)
                                .order_by(VipClaim.name)))
