"""Certifications: failover certifications of deployments (deployer.certify), with the
outcome of each fault and at most one queued or running per deployment.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa

from deployer.db.models import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "certifications",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("deployment_id", sa.String(36), nullable=False),
        sa.Column("active_deployment_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("options", sa.JSON(), nullable=False),
        sa.Column("rows", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("worker_id", sa.String(255), nullable=True),
        sa.Column("requested_at", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=True),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_certifications")),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="CASCADE",
                                name=op.f("fk_certifications_deployment_id_deployments")),
        sa.UniqueConstraint("active_deployment_id",
                            name=op.f("uq_certifications_active_deployment_id")),
    )
    op.create_index(op.f("ix_certifications_deployment_id"), "certifications", ["deployment_id"])
    op.create_index(op.f("ix_certifications_status"), "certifications", ["status"])
    op.create_index(op.f("ix_certifications_requested_at"), "certifications", ["requested_at"])


def downgrade() -> None:
    op.drop_table("certifications")
