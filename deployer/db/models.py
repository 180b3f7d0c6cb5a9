"""Typed SQLAlchemy models of the deployer's own state (no I/O here).

Alembic migrations in ``deployer/db/migrations`` are the only schema source;
these classes describe the same tables for the ORM and for autogenerate.
"""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, LargeBinary,
                        MetaData, String, Text, TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Stable constraint names so migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC: the same on SQLite and PostgreSQL."""
    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(dt.timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: dt.datetime | None, dialect):
        return None if value is None else value.replace(tzinfo=dt.timezone.utc)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class Run(Base):
    """One node run: bootstrap a server into Chef and converge it (or remove it)."""
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    node_name: Mapped[str] = mapped_column(String(255), index=True)
    action: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), index=True)
    phase: Mapped[str | None] = mapped_column(String(32))
    # The RunSpec with the password replaced by a marker; the password itself
    # is in secret_blob, encrypted, and only the worker decrypts it.
    spec_json: Mapped[dict] = mapped_column(JSON)
    secret_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    exit_code: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    worker_id: Mapped[str | None] = mapped_column(String(255))
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    stack_id: Mapped[str | None] = mapped_column(String(64), index=True)
    stack_name: Mapped[str | None] = mapped_column(String(255))
    resource_name: Mapped[str | None] = mapped_column(String(255))
    # The deployment whose node resource asked for the run (its run credential);
    # None for a run an admin started directly.
    deployment_id: Mapped[str | None] = mapped_column(String(36), index=True)

    phases: Mapped[list[RunPhase]] = relationship(
        back_populates="run", order_by="RunPhase.id", cascade="all, delete-orphan")


class Worker(Base):
    """One worker process: who it is (deployer.runs.liveness) and when it last wrote.

    A run's own heartbeat_at says when its worker last wrote for it; this row says
    which process that worker is, so a reaper on the same machine asks the kernel
    whether it is alive instead of trusting a heartbeat that a busy database delayed.
    """
    __tablename__ = "workers"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    boot_id: Mapped[str] = mapped_column(String(64))
    pid: Mapped[int] = mapped_column(Integer)
    start_ticks: Mapped[int] = mapped_column(BigInteger)   # clock ticks since boot
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class RunPhase(Base):
    """One phase of a run (connect, install, ...) with its own outcome."""
    __tablename__ = "run_phases"
    __table_args__ = (UniqueConstraint("run_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    run: Mapped[Run] = relationship(back_populates="phases")


class RunOutput(Base):
    """A chunk of a run's stdout or stderr, numbered per run in arrival order."""
    __tablename__ = "run_output"
    __table_args__ = (UniqueConstraint("run_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    stream: Mapped[str] = mapped_column(String(8))
    text: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ParameterSet(Base):
    """Named parameter values for one over-cloud template (hidden ones encrypted)."""
    __tablename__ = "parameter_sets"

    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    template: Mapped[str] = mapped_column(String(255), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    # Values of parameters the template does not hide; the hidden ones are a
    # JSON object encrypted with the SecretBox in secret_blob (their names,
    # not secret, in secret_names so responses redact them without decrypting).
    parameters: Mapped[dict] = mapped_column(JSON)
    secret_names: Mapped[list] = mapped_column(JSON, default=list)
    secret_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Deployment(Base):
    """One over-cloud: a Heat stack made from a template and parameters.

    Heat is the source of truth for the stack's status; ``stack_status``,
    ``status_reason`` and ``state`` cache it for listing.  ``active_name`` is
    the name while the deployment is not deleted and NULL after, so names are
    unique among live deployments on every backend (NULLs never collide).
    """
    __tablename__ = "deployments"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), index=True)
    active_name: Mapped[str | None] = mapped_column(String(255), unique=True)
    template: Mapped[str] = mapped_column(String(255), index=True)
    parameter_set: Mapped[str | None] = mapped_column(String(255))
    parameters: Mapped[dict] = mapped_column(JSON)
    secret_names: Mapped[list] = mapped_column(JSON, default=list)
    secret_blob: Mapped[bytes | None] = mapped_column(LargeBinary)
    heat_environments: Mapped[list] = mapped_column(JSON)
    stack_id: Mapped[str | None] = mapped_column(String(64), index=True)
    stack_status: Mapped[str] = mapped_column(String(32), default="")
    status_reason: Mapped[str] = mapped_column(Text, default="")
    state: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    # What the preflight said when it was created (deployer.preflight): {"status":
    # passed | failed | skipped, "checked_at", "skipped_by_request"}; None before 0008.
    preflight: Mapped[dict | None] = mapped_column(JSON)


class NodeClaim(Base):
    """A Chef node name held by one deployment: no other deployment (and no run of
    another) may register, rekey or remove it while the holder is not deleted."""
    __tablename__ = "node_claims"

    node_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class VipClaim(Base):
    """A VIP held by one deployment (deployer.preflight.registry): its address, the segment
    it is on and, when keepalived moves it, its VRRP virtual_router_id.  No two deployments
    share an address, nor a VRID on one segment (a NULL vrid never collides); the rows go
    when their deployment is deleted."""
    __tablename__ = "vip_claims"
    __table_args__ = (UniqueConstraint("segment", "vrid"), UniqueConstraint("address"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(255))         # its key in deployer.vips
    segment: Mapped[str] = mapped_column(String(255))      # "10.0.0.0/24", or the VIP's segment
    address: Mapped[str] = mapped_column(String(64))
    vrid: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeploymentSnapshot(Base):
    """What deployer.deployments.stack_cache last read from Heat for one deployment
    (never a secret: outputs are redacted before they are stored); its lease names
    the one process refreshing it."""
    __tablename__ = "deployment_snapshots"

    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True)
    # The row's stack_status this snapshot was taken with: a row whose status
    # differs (a request changed it) gets a refresher again.
    stack_status: Mapped[str] = mapped_column(String(32), default="")
    # [{resource, resource_name, stack_id, resource_status, physical_resource_id, order}]
    nodes: Mapped[list] = mapped_column(JSON, default=list)
    outputs: Mapped[dict] = mapped_column(JSON, default=dict)
    version: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_until: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class EnvironmentSecrets(Base):
    """The secrets of one Chef environment (deployer.chef.environment_secrets): the item
    secret and every item's values, one JSON object encrypted with the SecretBox.  The
    values are kept here too, so concurrent renders agree on them (the first commit wins)
    and the Chef server's copy can be rewritten from them."""
    __tablename__ = "environment_secrets"

    environment: Mapped[str] = mapped_column(String(255), primary_key=True)
    data_bag: Mapped[str] = mapped_column(String(255), unique=True)
    secret_blob: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class Certification(Base):
    """One failover certification of a deployment (deployer.certify): what was asked,
    the worker that runs it and one row per fault, appended as each fault ends.

    ``active_deployment_id`` is the deployment's id while the certification is queued
    or running and NULL once it ended, so at most one is active per deployment on
    every backend (NULLs never collide), as ``Deployment.active_name`` does for names.
    """
    __tablename__ = "certifications"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    active_deployment_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    options: Mapped[dict] = mapped_column(JSON, default=dict)    # e.g. {"test_nodes": "/dir"}
    rows: Mapped[list] = mapped_column(JSON, default=list)       # FaultOutcome.to_dict() each
    reason: Mapped[str] = mapped_column(Text, default="")
    worker_id: Mapped[str | None] = mapped_column(String(255))
    requested_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class UpdatePlan(Base):
    """A why-run plan of an update of a complete deployment (deployer.whyrun): the temporary
    Chef environment holding the update's parameters, one why-run node run per node, and
    what each converge would change once they ended.

    ``active_deployment_id`` is the deployment's id while the plan runs and NULL once it
    ended, so one runs at a time per deployment; ``environment_removed`` says whether the
    temporary environment is gone (an ended plan whose environment could not be removed
    is retried by every later plan request or read).
    """
    __tablename__ = "update_plans"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    deployment_id: Mapped[str] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), index=True)
    active_deployment_id: Mapped[str | None] = mapped_column(String(36), unique=True)
    status: Mapped[str] = mapped_column(String(16), index=True)
    environment: Mapped[str] = mapped_column(String(255))
    environment_removed: Mapped[bool] = mapped_column(Boolean, default=False)
    parameters: Mapped[dict] = mapped_column(JSON)     # the update's values, hidden ones redacted
    nodes: Mapped[list] = mapped_column(JSON, default=list)   # [{node_name, resource, run_id}]
    result: Mapped[list] = mapped_column(JSON, default=list)  # per node, once ended
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
