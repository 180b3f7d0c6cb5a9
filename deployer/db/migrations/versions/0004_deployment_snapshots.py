"""Deployment snapshots: Heat's node resources and outputs per deployment, kept by one
refresher (deployer.deployments.stack_cache), so reading a deployment calls no Heat.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

from deployer.db.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deployment_snapshots",
        sa.Column("deployment_id", sa.String(36), nullable=False),
        sa.Column("stack_status", sa.String(32), nullable=False),
        sa.Column("nodes", sa.JSON(), nullable=False),
        sa.Column("outputs", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("refreshed_at", UTCDateTime(), nullable=True),
        sa.Column("lease_owner", sa.String(64), nullable=True),
        sa.Column("lease_until", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("deployment_id", name=op.f("pk_deployment_snapshots")),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="CASCADE",
                                name=op.f("fk_deployment_snapshots_deployment_id_deployments")),
    )


def downgrade() -> None:
    op.drop_table("deployment_snapshots")
