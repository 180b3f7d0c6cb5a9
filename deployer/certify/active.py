"""The one thing other layers ask of certifications: is one queued or running for a deployment?

A certification injects faults on the deployment's controllers; a stack update or
delete under it would be measured as an outage, or pull the nodes from under the
engine.  So both wait until it ends, as a second certification does.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from deployer.db.models import Certification, Deployment
from deployer.errors import Conflict


def active_certification(session: Session, deployment_id: str) -> Certification | None:
    return session.scalars(select(Certification).where(
        Certification.active_deployment_id == deployment_id)).first()


def refuse_while_certifying(session: Session, deployment: Deployment, doing: str) -> None:
    """409 naming the certification when one of ``deployment`` is queued or running."""
    active = active_certification(session, deployment.id)
    if active is not None:
        raise Conflict(f"certification {active.id} of deployment {deployment.name} is "
                       f"{active.status}; {doing} once it has ended")
