"""reviewers: proof of mailbox before a second agency's panel counts an account

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 23:40:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import app.core.db

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(
            sa.Column("email_verified_at", app.core.db.UTCDateTime(timezone=True), nullable=True)
        )
        batch.add_column(sa.Column("credentials_agency_id", sa.String(length=32), nullable=True))
    # Existing reviewers: the agency whose invitation they accepted first.
    op.execute(
        "UPDATE users SET credentials_agency_id = ("
        " SELECT inviter.agency_id FROM invitations"
        " JOIN users AS inviter ON inviter.id = invitations.created_by"
        " WHERE invitations.user_id = users.id AND invitations.used_at IS NOT NULL"
        " ORDER BY invitations.used_at LIMIT 1)"
        " WHERE role = 'reviewer'"
    )
    with op.batch_alter_table("panel_members") as batch:
        batch.add_column(
            sa.Column(
                "needs_verified_email", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("panel_members") as batch:
        batch.drop_column("needs_verified_email")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("credentials_agency_id")
        batch.drop_column("email_verified_at")
