"""notices: the RFP whose sealed bids a notice reveals (hidden from the platform admin's
outbox and audit views until that RFP closes)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 02:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.add_column(
            sa.Column("sealed_rfp_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True)
        )
        batch.create_index("ix_notices_sealed_rfp_id", ["sealed_rfp_id"])


def downgrade() -> None:
    with op.batch_alter_table("notices") as batch:
        batch.drop_index("ix_notices_sealed_rfp_id")
        batch.drop_column("sealed_rfp_id")
