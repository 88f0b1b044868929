"""Upgrade the database to the newest Alembic revision (used by `serve` and the tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text

from app.core.db import get_engine

ROOT = Path(__file__).resolve().parents[2]
# Any fixed number: PostgreSQL advisory locks are named by integers.
_MIGRATION_LOCK = 2026_1207_23


def alembic_config() -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    return config


def upgrade_to_head() -> None:
    """On PostgreSQL, app servers started together (several machines, a rolling deploy)
    take turns: the first applies a new revision, the others then find nothing to do."""
    engine = get_engine()
    if engine.dialect.name != "postgresql":
        command.upgrade(alembic_config(), "head")
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
        conn.commit()  # the lock is the session's; no transaction stays open meanwhile
        try:
            command.upgrade(alembic_config(), "head")
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
            conn.commit()
