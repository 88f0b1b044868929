"""reviews: the role of whoever declared or withdrew a conflict

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 22:45:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows were recorded before the role was kept: read it from the account, which
    # cannot have changed role since (roles are fixed at creation).
    with op.batch_alter_table("conflict_events") as batch:
        batch.add_column(sa.Column("recorded_by_role", sa.String(length=32), nullable=True))
    op.execute(
        "UPDATE conflict_events SET recorded_by_role = "
        "(SELECT role FROM users WHERE users.id = conflict_events.recorded_by)"
    )
    op.execute(
        "UPDATE conflict_events SET recorded_by_role = 'reviewer' WHERE recorded_by_role IS NULL"
    )
    with op.batch_alter_table("conflict_events") as batch:
        batch.alter_column("recorded_by_role", existing_type=sa.String(length=32), nullable=False)


def downgrade() -> None:
    with op.batch_alter_table("conflict_events") as batch:
        batch.drop_column("recorded_by_role")
