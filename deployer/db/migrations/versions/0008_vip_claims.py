"""VIP claims: every VIP address and VRRP virtual_router_id of every deployment by segment
(deployer.preflight.registry), and what the preflight said when a deployment was created.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

from deployer.db.models import UTCDateTime

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "vip_claims",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("deployment_id", sa.String(36), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("segment", sa.String(255), nullable=False),
        sa.Column("address", sa.String(64), nullable=False),
        sa.Column("vrid", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_vip_claims")),
        sa.ForeignKeyConstraint(["deployment_id"], ["deployments.id"], ondelete="CASCADE",
                                name=op.f("fk_vip_claims_deployment_id_deployments")),
        sa.UniqueConstraint("segment", "vrid", name=op.f("uq_vip_claims_segment")),
        sa.UniqueConstraint("address", name=op.f("uq_vip_claims_address")),
    )
    op.create_index(op.f("ix_vip_claims_deployment_id"), "vip_claims", ["deployment_id"])
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("preflight", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("preflight")
    op.drop_index(op.f("ix_vip_claims_deployment_id"), table_name="vip_claims")
    op.drop_table("vip_claims")
