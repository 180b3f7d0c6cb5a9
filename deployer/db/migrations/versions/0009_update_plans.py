"""Update plans: why-run plans of an update of a complete deployment (deployer.whyrun), with
their temporary Chef environment, node runs and per-node changes; one running per deployment.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

from deployer.db.models import UTCDateTime

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "update_plans",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("deployment_id", sa.String(36), nullable=False),
        sa.Column("active_deployment_id", sa.String(36), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("environment", sa.String(255), nullable=False),
        sa.Column("environment_removed", sa.Boolean(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("nodes", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_update_plans")),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="CASCADE",
                                name=op.f("fk_update_plans_deployment_id_deployments")),
        sa.UniqueConstraint("active_deployment_id",
                            name=op.f("uq_update_plans_active_deployment_id")),
    )
    op.create_index(op.f("ix_update_plans_deployment_id"), "update_plans", ["deployment_id"])
    op.create_index(op.f("ix_update_plans_status"), "update_plans", ["status"])
    op.create_index(op.f("ix_update_plans_created_at"), "update_plans", ["created_at"])


def downgrade() -> None:
    op.drop_table("update_plans")
