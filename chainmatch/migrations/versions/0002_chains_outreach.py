"""chains, outreach and dashboard sessions: chain / chain_node / chain_edge, outreach_record /
outreach_event (the feedback), dashboard_session (logins; only token hashes stored)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 05:18:18.668472
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "chain",
        sa.Column("name", AutoString(length=200), nullable=False),
        sa.Column("description", AutoString(length=4000), nullable=True),
        sa.Column("id", AutoString(length=64), nullable=False),
        sa.Column("region_province", AutoString(length=40), nullable=True),
        sa.Column("region_city", AutoString(length=60), nullable=True),
        sa.Column(
            "source",
            sa.Enum("file", "graph", "api", name="chainsource", native_enum=False, length=13),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_key_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("chain", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_region_province"), ["region_province"], unique=False)

    op.create_table(
        "chain_edge",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", AutoString(length=64), nullable=False),
        sa.Column("source", AutoString(length=64), nullable=False),
        sa.Column("target", AutoString(length=64), nullable=False),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["chain.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain_id", "source", "target", name="uq_chain_edge"),
    )
    with op.batch_alter_table("chain_edge", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_edge_chain_id"), ["chain_id"], unique=False)

    op.create_table(
        "chain_node",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", AutoString(length=64), nullable=False),
        sa.Column("key", AutoString(length=64), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", AutoString(length=200), nullable=False),
        sa.Column(
            "segment",
            sa.Enum("upstream", "midstream", "downstream", name="segment", native_enum=False, length=18),
            nullable=False,
        ),
        sa.Column("products", sa.JSON(), nullable=False),
        sa.Column("description", AutoString(length=2000), nullable=True),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["chain.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("chain_id", "key", name="uq_chain_node_key"),
    )
    with op.batch_alter_table("chain_node", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_chain_node_chain_id"), ["chain_id"], unique=False)

    op.create_table(
        "dashboard_session",
        sa.Column("token_hash", AutoString(length=64), nullable=False),
        sa.Column("key_id", sa.Integer(), nullable=False),
        sa.Column("csrf_token", AutoString(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["key_id"],
            ["api_key.id"],
        ),
        sa.PrimaryKeyConstraint("token_hash"),
    )
    with op.batch_alter_table("dashboard_session", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dashboard_session_key_id"), ["key_id"], unique=False)

    op.create_table(
        "outreach_record",
        sa.Column("owner", AutoString(length=100), nullable=True),
        sa.Column("notes", AutoString(length=4000), nullable=True),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chain_id", AutoString(length=64), nullable=False),
        sa.Column("node_key", AutoString(length=64), nullable=False),
        sa.Column("product", AutoString(length=200), nullable=False),
        sa.Column("for_product", AutoString(length=200), nullable=True),
        sa.Column("firm_id", AutoString(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("target", "local", name="candidatekind", native_enum=False, length=14),
            nullable=False,
        ),
        sa.Column("region_province", AutoString(length=40), nullable=False),
        sa.Column("region_city", AutoString(length=60), nullable=True),
        sa.Column("region_key", AutoString(length=110), nullable=False),
        sa.Column(
            "stage",
            sa.Enum(
                "shortlisted",
                "contacted",
                "visited",
                "negotiating",
                "signed",
                "declined",
                name="stage",
                native_enum=False,
                length=19,
            ),
            nullable=False,
        ),
        sa.Column("decline_reason", AutoString(length=1000), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by_key_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["chain_id"],
            ["chain.id"],
        ),
        sa.ForeignKeyConstraint(
            ["firm_id"],
            ["firm.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "region_key", "chain_id", "node_key", "product", "firm_id", name="uq_outreach_candidate"
        ),
    )
    with op.batch_alter_table("outreach_record", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outreach_record_chain_id"), ["chain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_record_firm_id"), ["firm_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outreach_record_region_province"), ["region_province"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_outreach_record_stage"), ["stage"], unique=False)

    op.create_table(
        "outreach_event",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("record_id", sa.Integer(), nullable=False),
        sa.Column("chain_id", AutoString(length=64), nullable=False),
        sa.Column("node_key", AutoString(length=64), nullable=False),
        sa.Column("product", AutoString(length=200), nullable=False),
        sa.Column("for_product", AutoString(length=200), nullable=True),
        sa.Column("firm_id", AutoString(length=64), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("target", "local", name="candidatekind", native_enum=False, length=14),
            nullable=False,
        ),
        sa.Column("region_province", AutoString(length=40), nullable=False),
        sa.Column("region_city", AutoString(length=60), nullable=True),
        sa.Column(
            "from_stage",
            sa.Enum(
                "shortlisted",
                "contacted",
                "visited",
                "negotiating",
                "signed",
                "declined",
                name="stage",
                native_enum=False,
                length=19,
            ),
            nullable=True,
        ),
        sa.Column(
            "to_stage",
            sa.Enum(
                "shortlisted",
                "contacted",
                "visited",
                "negotiating",
                "signed",
                "declined",
                name="stage",
                native_enum=False,
                length=19,
            ),
            nullable=False,
        ),
        sa.Column("reason", AutoString(length=1000), nullable=True),
        sa.Column("note", AutoString(length=2000), nullable=True),
        sa.Column("rank", sa.Integer(), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("key_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["outreach_record.id"],
        ),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("outreach_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_outreach_event_at"), ["at"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_event_chain_id"), ["chain_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_outreach_event_record_id"), ["record_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_outreach_event_region_province"), ["region_province"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("outreach_event", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outreach_event_region_province"))
        batch_op.drop_index(batch_op.f("ix_outreach_event_record_id"))
        batch_op.drop_index(batch_op.f("ix_outreach_event_chain_id"))
        batch_op.drop_index(batch_op.f("ix_outreach_event_at"))

    op.drop_table("outreach_event")
    with op.batch_alter_table("outreach_record", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_outreach_record_stage"))
        batch_op.drop_index(batch_op.f("ix_outreach_record_region_province"))
        batch_op.drop_index(batch_op.f("ix_outreach_record_firm_id"))
        batch_op.drop_index(batch_op.f("ix_outreach_record_chain_id"))

    op.drop_table("outreach_record")
    with op.batch_alter_table("dashboard_session", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dashboard_session_key_id"))

    op.drop_table("dashboard_session")
    with op.batch_alter_table("chain_node", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_node_chain_id"))

    op.drop_table("chain_node")
    with op.batch_alter_table("chain_edge", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_edge_chain_id"))

    op.drop_table("chain_edge")
    with op.batch_alter_table("chain", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_chain_region_province"))

    op.drop_table("chain")
