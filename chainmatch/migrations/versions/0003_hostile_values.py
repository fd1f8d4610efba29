"""hostile values: audit rows name the route and the version of what was read (audit_event.route,
audit_event.object_version); outreach records keep the chain version they were made for
(outreach_record.chain_version)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02 09:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlmodel.sql.sqltypes import AutoString

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.add_column(sa.Column("object_version", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("route", AutoString(length=200), nullable=True))
    with op.batch_alter_table("outreach_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_version", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outreach_record", schema=None) as batch_op:
        batch_op.drop_column("chain_version")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_column("route")
        batch_op.drop_column("object_version")
