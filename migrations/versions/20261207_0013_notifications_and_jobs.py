"""notifications: the outbox and inbox, preferences, RFP follows; jobs: the in-process
schedule, once-only keys, and (PostgreSQL) the procrastinate queue's schema

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 01:40:00+00:00
"""

from collections.abc import Sequence
from pathlib import Path

import sqlalchemy as sa
import sqlmodel
from alembic import op

import app.core.db

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# procrastinate's schema as its 3.10.0 release ships it, kept in the repository so this
# revision creates the same thing whatever version is installed later (a newer version's
# own migration SQL becomes a new revision). Its `apply_schema` is not idempotent, and the
# schema must exist before any worker starts, so Alembic installs it like any table.
PROCRASTINATE_SQL = Path(__file__).resolve().parents[1] / "procrastinate" / "schema-3.10.0.sql"

_str = sqlmodel.sql.sqltypes.AutoString
_at = app.core.db.UTCDateTime


def upgrade() -> None:
    op.create_table(
        "notices",
        sa.Column("id", _str(length=32), nullable=False),
        sa.Column("user_id", _str(length=32), nullable=True),
        sa.Column("email", _str(length=254), nullable=False),
        sa.Column("kind", _str(length=48), nullable=False),
        sa.Column("subject", _str(length=300), nullable=False),
        sa.Column("text_body", sa.Text(), nullable=False),
        sa.Column("html_body", sa.Text(), nullable=False),
        sa.Column("link", _str(length=2000), nullable=False),
        sa.Column("dedup_key", _str(length=300), nullable=False),
        sa.Column("secret", sa.Boolean(), nullable=False),
        sa.Column("status", _str(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _at(timezone=True), nullable=False),
        sa.Column("last_error", _str(length=500), nullable=True),
        sa.Column("message_id", _str(length=200), nullable=False),
        sa.Column("claimed_by", _str(length=64), nullable=True),
        sa.Column("claimed_until", _at(timezone=True), nullable=True),
        sa.Column("created_at", _at(timezone=True), nullable=False),
        sa.Column("sent_at", _at(timezone=True), nullable=True),
        sa.Column("failed_at", _at(timezone=True), nullable=True),
        sa.Column("read_at", _at(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notices_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notices")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_notices_dedup_key")),
    )
    op.create_index("ix_notices_due", "notices", ["status", "next_attempt_at"])
    op.create_index("ix_notices_inbox", "notices", ["user_id", "created_at"])
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", _str(length=32), nullable=False),
        sa.Column("kind", _str(length=48), nullable=False),
        sa.Column("email", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_notification_preferences_user_id_users")
        ),
        sa.PrimaryKeyConstraint("user_id", "kind", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "rfp_follows",
        sa.Column("user_id", _str(length=32), nullable=False),
        sa.Column("rfp_id", _str(length=32), nullable=False),
        sa.Column("created_at", _at(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_rfp_follows_user_id_users")
        ),
        sa.ForeignKeyConstraint(["rfp_id"], ["rfps.id"], name=op.f("fk_rfp_follows_rfp_id_rfps")),
        sa.PrimaryKeyConstraint("user_id", "rfp_id", name=op.f("pk_rfp_follows")),
    )
    op.create_index(op.f("ix_rfp_follows_rfp_id"), "rfp_follows", ["rfp_id"])
    op.create_table(
        "job_schedule",
        sa.Column("name", _str(length=64), nullable=False),
        sa.Column("next_run_at", _at(timezone=True), nullable=False),
        sa.Column("locked_by", _str(length=64), nullable=True),
        sa.Column("locked_until", _at(timezone=True), nullable=True),
        sa.Column("last_run_at", _at(timezone=True), nullable=True),
        sa.Column("last_error", _str(length=500), nullable=True),
        sa.Column("runs", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_job_schedule")),
    )
    op.create_table(
        "job_done",
        sa.Column("key", _str(length=200), nullable=False),
        sa.Column("done_at", _at(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_job_done")),
    )
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _run_script(bind, PROCRASTINATE_SQL.read_text())


def _run_script(bind: sa.Connection, script: str) -> None:
    # The driver's cursor, without parameters, in Alembic's transaction: psycopg then leaves
    # the script's '%' signs alone (SQLAlchemy would hand it an empty parameter list).
    with bind.connection.dbapi_connection.cursor() as cursor:  # type: ignore[union-attr]
        cursor.execute(script)


_DROP_PROCRASTINATE = """
DO $$
DECLARE item record;
BEGIN
    FOR item IN SELECT tablename FROM pg_tables
                WHERE schemaname = current_schema() AND tablename LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP TABLE IF EXISTS %I CASCADE', item.tablename);
    END LOOP;
    FOR item IN SELECT p.oid::regprocedure AS signature FROM pg_proc p
                JOIN pg_namespace n ON n.oid = p.pronamespace
                WHERE n.nspname = current_schema() AND p.proname LIKE 'procrastinate\\_%' LOOP
        EXECUTE format('DROP FUNCTION IF EXISTS %s CASCADE', item.signature);
    END LOOP;
    FOR item IN SELECT t.typname FROM pg_type t
                JOIN pg_namespace n ON n.oid = t.typnamespace
                WHERE n.nspname = current_schema() AND t.typname LIKE 'procrastinate\\_%'
                  AND t.typtype IN ('e', 'c') LOOP
        EXECUTE format('DROP TYPE IF EXISTS %I CASCADE', item.typname);
    END LOOP;
END $$;
"""


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        _run_script(bind, _DROP_PROCRASTINATE)
    op.drop_table("job_done")
    op.drop_table("job_schedule")
    op.drop_index(op.f("ix_rfp_follows_rfp_id"), table_name="rfp_follows")
    op.drop_table("rfp_follows")
    op.drop_table("notification_preferences")
    op.drop_index("ix_notices_inbox", table_name="notices")
    op.drop_index("ix_notices_due", table_name="notices")
    op.drop_table("notices")
