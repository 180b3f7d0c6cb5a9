"""Environment secrets: each rendered Chef environment's data bag item secret and values,
encrypted with the SecretBox (deployer.chef.environment_secrets).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa

from deployer.db.models import UTCDateTime

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "environment_secrets",
        sa.Column("environment", sa.String(255), nullable=False),
        sa.Column("data_bag", sa.String(255), nullable=False),
        sa.Column("secret_blob", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("environment", name=op.f("pk_environment_secrets")),
        sa.UniqueConstraint("data_bag", name=op.f("uq_environment_secrets_data_bag")),
    )


def downgrade() -> None:
    op.drop_table("environment_secrets")
