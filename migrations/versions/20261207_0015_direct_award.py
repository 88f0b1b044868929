"""district selection: direct-award RFPs for named clusters, ranked clusters on proposals,
award runs, earned listing categories, and districts' own units as applicants

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 15:30:00+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from app.core.db import JSONType

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("rfps") as batch:
        batch.add_column(
            sa.Column(
                "selection", sa.String(length=16), nullable=False, server_default="preferred_list"
            )
        )
        batch.add_column(sa.Column("cluster_ids", JSONType, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("category_min_level", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("applicants", sa.String(length=16), nullable=False, server_default="any")
        )
    # A district's own units (internal Lead Partners) belong to it.
    with op.batch_alter_table("organizations") as batch:
        batch.add_column(sa.Column("district_id", sa.String(length=32), nullable=True))
        batch.create_index("ix_organizations_district_id", ["district_id"])
        batch.create_foreign_key(
            "fk_organizations_district_id", "agencies", ["district_id"], ["id"]
        )
    with op.batch_alter_table("rfps") as batch:
        batch.add_column(sa.Column("stages", JSONType, nullable=False, server_default="{}"))
    # Existing district RFPs keep what they did (a list) until their staff choose otherwise.
    with op.batch_alter_table("proposals") as batch:
        batch.add_column(sa.Column("cluster_ids", JSONType, nullable=False, server_default="[]"))
        batch.add_column(
            sa.Column("finalist", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    # Finalist interviews: an assignment belongs to a stage; a reviewer may have one of each.
    with op.batch_alter_table("assignments") as batch:
        batch.add_column(
            sa.Column("stage", sa.String(length=16), nullable=False, server_default="written")
        )
        batch.drop_constraint("uq_assignments_proposal_id_reviewer_id", type_="unique")
        batch.create_unique_constraint(
            "uq_assignments_proposal_id_reviewer_id_stage", ["proposal_id", "reviewer_id", "stage"]
        )
    with op.batch_alter_table("approval_decisions") as batch:
        batch.add_column(sa.Column("written_total", sa.Float(), nullable=True))
        batch.add_column(sa.Column("interview_total", sa.Float(), nullable=True))
    with op.batch_alter_table("matching_runs") as batch:
        batch.add_column(sa.Column("rfp_id", sa.String(length=32), nullable=True))
        batch.create_index("ix_matching_runs_rfp_id", ["rfp_id"])
        batch.create_foreign_key("fk_matching_runs_rfp_id", "rfps", ["rfp_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("matching_runs") as batch:
        batch.drop_constraint("fk_matching_runs_rfp_id", type_="foreignkey")
        batch.drop_index("ix_matching_runs_rfp_id")
        batch.drop_column("rfp_id")
    with op.batch_alter_table("approval_decisions") as batch:
        batch.drop_column("interview_total")
        batch.drop_column("written_total")
    with op.batch_alter_table("assignments") as batch:
        batch.drop_constraint("uq_assignments_proposal_id_reviewer_id_stage", type_="unique")
        batch.create_unique_constraint(
            "uq_assignments_proposal_id_reviewer_id", ["proposal_id", "reviewer_id"]
        )
        batch.drop_column("stage")
    with op.batch_alter_table("proposals") as batch:
        batch.drop_column("finalist")
        batch.drop_column("cluster_ids")
    with op.batch_alter_table("organizations") as batch:
        batch.drop_constraint("fk_organizations_district_id", type_="foreignkey")
        batch.drop_index("ix_organizations_district_id")
        batch.drop_column("district_id")
    with op.batch_alter_table("rfps") as batch:
        batch.drop_column("stages")
        batch.drop_column("applicants")
        batch.drop_column("category_min_level")
        batch.drop_column("cluster_ids")
        batch.drop_column("selection")
