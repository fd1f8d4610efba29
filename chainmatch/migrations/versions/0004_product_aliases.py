"""product aliases: product_alias (administrators' aliases: alias, its look-up key, the product name
it stands for) and corpus_state.aliases_revision (each worker reloads them when it changes)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "product_alias",
        sa.Column("alias", AutoString(length=100), nullable=False),
        sa.Column("canonical", AutoString(length=200), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", AutoString(length=100), nullable=False),
        sa.Column("created_by_key_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key", "canonical", name="uq_product_alias"),
    )
    with op.batch_alter_table("product_alias", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_alias_canonical"), ["canonical"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_alias_key"), ["key"], unique=False)
    with op.batch_alter_table("corpus_state", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("aliases_revision", sa.Integer(), nullable=False, server_default=sa.text("0"))
        )


def downgrade() -> None:
    with op.batch_alter_table("corpus_state", schema=None) as batch_op:
        batch_op.drop_column("aliases_revision")
    with op.batch_alter_table("product_alias", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_product_alias_key"))
        batch_op.drop_index(batch_op.f("ix_product_alias_canonical"))
    op.drop_table("product_alias")
