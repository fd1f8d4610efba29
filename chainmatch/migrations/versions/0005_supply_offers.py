"""supply offers and leaders' requirements: supply_offer (配套意愿, versioned: supply_offer_revision),
gap_requirement (per weak-link item of a gap list), and the api_key role column widened for the
new role ``supplier``

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 12:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "supply_offer",
        sa.Column("title", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=2000), nullable=True),
        sa.Column("capacity", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("annual_capacity_cny", sa.Float(), nullable=True),
        sa.Column("lead_time_days", sa.Integer(), nullable=True),
        sa.Column("invest_locally", sa.Boolean(), nullable=False),
        sa.Column("contact_name", sqlmodel.sql.sqltypes.AutoString(length=60), nullable=True),
        sa.Column("contact_phone", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=True),
        sa.Column("contact_email", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True),
        sa.Column("valid_until", sa.Date(), nullable=False),
        sa.Column("id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("firm_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("certifications", sa.JSON(), nullable=False),
        sa.Column("supply_provinces", sa.JSON(), nullable=False),
        sa.Column("invest_provinces", sa.JSON(), nullable=False),
        sa.Column("target_chain_ids", sa.JSON(), nullable=False),
        sa.Column("target_leader_ids", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_key_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firm.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supply_offer", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supply_offer_firm_id"), ["firm_id"], unique=False)

    op.create_table(
        "gap_requirement",
        sa.Column("item", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column(
            "min_scale",
            sa.Enum(
                "micro", "small", "medium", "large", "unknown", name="scale", native_enum=False, length=15
            ),
            nullable=True,
        ),
        sa.Column("min_annual_capacity_cny", sa.Float(), nullable=True),
        sa.Column("max_distance_km", sa.Integer(), nullable=True),
        sa.Column("note", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("gap_list_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("certifications", sa.JSON(), nullable=False),
        sa.Column("provinces", sa.JSON(), nullable=False),
        sa.Column("excluded_firm_ids", sa.JSON(), nullable=False),
        sa.Column("preferred_firm_ids", sa.JSON(), nullable=False),
        sa.Column("soft", sa.JSON(), nullable=False),
        sa.Column("updated_by_key_id", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["gap_list_id"],
            ["gap_list.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("gap_list_id", "item", name="uq_gap_requirement_item"),
    )
    with op.batch_alter_table("gap_requirement", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_gap_requirement_gap_list_id"), ["gap_list_id"], unique=False)

    op.create_table(
        "supply_offer_revision",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("offer_id", sqlmodel.sql.sqltypes.AutoString(length=40), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("snapshot", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["offer_id"],
            ["supply_offer.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("supply_offer_revision", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supply_offer_revision_offer_id"), ["offer_id"], unique=False)

    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.alter_column(
            "role",
            existing_type=sa.VARCHAR(length=14),
            type_=sa.Enum("admin", "bureau", "leader", "supplier", name="role", native_enum=False, length=16),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("api_key", schema=None) as batch_op:
        batch_op.alter_column(
            "role",
            existing_type=sa.Enum(
                "admin", "bureau", "leader", "supplier", name="role", native_enum=False, length=16
            ),
            type_=sa.VARCHAR(length=14),
            existing_nullable=False,
        )

    with op.batch_alter_table("supply_offer_revision", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_offer_revision_offer_id"))

    op.drop_table("supply_offer_revision")
    with op.batch_alter_table("gap_requirement", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_gap_requirement_gap_list_id"))

    op.drop_table("gap_requirement")
    with op.batch_alter_table("supply_offer", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supply_offer_firm_id"))

    op.drop_table("supply_offer")
