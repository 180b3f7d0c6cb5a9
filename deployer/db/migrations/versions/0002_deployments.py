"""Deployments and parameter sets.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

from deployer.db.models import UTCDateTime

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parameter_sets",
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("template", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("secret_names", sa.JSON(), nullable=False),
        sa.Column("secret_blob", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_parameter_sets")),
    )
    op.create_index(op.f("ix_parameter_sets_template"), "parameter_sets", ["template"])

    op.create_table(
        "deployments",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("active_name", sa.String(255), nullable=True),
        sa.Column("template", sa.String(255), nullable=False),
        sa.Column("parameter_set", sa.String(255), nullable=True),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("secret_names", sa.JSON(), nullable=False),
        sa.Column("secret_blob", sa.LargeBinary(), nullable=True),
        sa.Column("heat_environments", sa.JSON(), nullable=False),
        sa.Column("stack_id", sa.String(64), nullable=True),
        sa.Column("stack_status", sa.String(32), nullable=False),
        sa.Column("status_reason", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.Column("deleted_at", UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.UniqueConstraint("active_name", name=op.f("uq_deployments_active_name")),
    )
    op.create_index(op.f("ix_deployments_name"), "deployments", ["name"])
    op.create_index(op.f("ix_deployments_template"), "deployments", ["template"])
    op.create_index(op.f("ix_deployments_stack_id"), "deployments", ["stack_id"])
    op.create_index(op.f("ix_deployments_state"), "deployments", ["state"])
    op.create_index(op.f("ix_deployments_created_at"), "deployments", ["created_at"])


def downgrade() -> None:
    op.drop_table("deployments")
    op.drop_table("parameter_sets")
