"""Node ownership: which deployment a run works for, and which deployment holds a node name.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

from deployer.db.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("runs") as batch:
        batch.add_column(sa.Column("deployment_id", sa.String(36), nullable=True))
        batch.create_index(batch.f("ix_runs_deployment_id"), ["deployment_id"])
    op.create_table(
        "node_claims",
        sa.Column("node_name", sa.String(255), nullable=False),
        sa.Column("deployment_id", sa.String(36), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("node_name", name=op.f("pk_node_claims")),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="CASCADE",
                                name=op.f("fk_node_claims_deployment_id_deployments")),
    )
    op.create_index(op.f("ix_node_claims_deployment_id"), "node_claims", ["deployment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_node_claims_deployment_id"), table_name="node_claims")
    op.drop_table("node_claims")
    with op.batch_alter_table("runs") as batch:
        batch.drop_index(batch.f("ix_runs_deployment_id"))
        batch.drop_column("deployment_id")
