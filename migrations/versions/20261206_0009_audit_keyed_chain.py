"""audit: keyed chain and the RFP of partner events

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 22:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows stay unkeyed and keep verifying with their plain SHA-256.
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("keyed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )
        batch_op.add_column(
            sa.Column("rfp_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_audit_events_rfp_id"), ["rfp_id"], unique=False)
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.add_column(sa.Column("keyed_from", sa.Integer(), nullable=True))

    # Earlier proposal events carry their RFP in `data`; the column seals them the same way.
    # An unkeyed row's hash does not cover the column, so filling it breaks nothing.
    if op.get_bind().dialect.name == "postgresql":
        rfp_of = "data->>'rfp_id'"
    else:
        rfp_of = "json_extract(data, '$.rfp_id')"
    op.execute(
        f"UPDATE audit_events SET rfp_id = {rfp_of} "  # noqa: S608 - a constant expression
        "WHERE entity = 'proposal' AND NOT keyed"
    )


def downgrade() -> None:
    with op.batch_alter_table("audit_head", schema=None) as batch_op:
        batch_op.drop_column("keyed_from")
    with op.batch_alter_table("audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_events_rfp_id"))
        batch_op.drop_column("rfp_id")
        batch_op.drop_column("keyed")
