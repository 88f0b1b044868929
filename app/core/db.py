"""Engine, sessions and the column types every domain shares."""

import threading
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, create_engine, event
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import OperationalError
from sqlalchemy.types import TypeDecorator
from sqlmodel import Session, SQLModel
from starlette.requests import Request

from app.core.config import get_settings
from app.core.routing import is_page

# Constraint names are stable across SQLite and PostgreSQL, so migrations can name them.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex


class UTCDateTime(TypeDecorator[datetime]):
    """Stores instants in UTC and always hands back aware datetimes (SQLite drops offsets)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


JSONType = JSON().with_variant(JSONB(), "postgresql")


@lru_cache
def get_engine() -> Engine:
    settings = get_settings()
    url = settings.database_url
    if settings.is_sqlite:
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=settings.db_pool_size,
            max_overflow=settings.db_max_overflow,
        )
        _configure_sqlite(engine)
        return engine
    return create_engine(
        url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_pre_ping=True,
        pool_timeout=30,
    )


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, issue BEGIN (see _on_begin).
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    # This process's writers queue on a Python lock before taking SQLite's write lock.
    # SQLite's busy handler polls with sleeps of up to 100 ms, so under contention a freed
    # write lock sat idle while every waiter slept; a Python lock hands it over at once.
    # SQLite's own lock still guards the file against other processes.
    writer = threading.Lock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # SQLite fails a deferred transaction that read before another writer committed
        # instead of waiting; taking the write lock up front makes writers queue instead.
        # Read-only requests need no lock: in WAL mode they read alongside the writer.
        if conn.get_execution_options().get("read_only", False):
            conn.exec_driver_sql("BEGIN")
            return
        if not writer.acquire(timeout=30):
            raise OperationalError("BEGIN IMMEDIATE", {}, Exception("database is locked"))
        conn.info[_HOLDS_WRITER] = writer
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release_writer(conn.info)
            raise

    @event.listens_for(engine, "commit")
    @event.listens_for(engine, "rollback")
    def _on_end(conn: Any) -> None:
        _release_writer(conn.info)

    # A connection returned, reset or dropped without a commit or rollback event.
    @event.listens_for(engine.pool, "checkin")
    @event.listens_for(engine.pool, "invalidate")
    def _on_pool_end(_dbapi_conn: Any, record: Any, *_args: Any) -> None:
        _release_writer(record.info)


_HOLDS_WRITER = "lpp_sqlite_writer"


def _release_writer(info: dict[str, Any]) -> None:
    lock = info.pop(_HOLDS_WRITER, None)
    if lock is not None:
        lock.release()


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


@lru_cache
def _read_engine() -> Engine:
    return get_engine().execution_options(read_only=True)


def read_session() -> Session:
    return Session(_read_engine(), expire_on_commit=False)


_READ_AFTER_COMMIT = "lpp_read_after_commit"


# Listened for once on the class, for the sessions that ask: listening on each request's
# session cost 12% of the CPU of an anonymous RFP read on SQLite.
@event.listens_for(Session, "after_commit")
def _read_after_commit(session: Session) -> None:
    # What a request reads after its commit (to answer) must not take SQLite's write lock:
    # the lock would be held until the session closes, in a thread the request may wait for.
    if session.info.get(_READ_AFTER_COMMIT):
        session.bind = _read_engine()


async def get_session(request: Request) -> AsyncIterator[Session]:
    """The request's session. An async dependency on purpose: its clean-up (which returns the
    connection to the pool) then runs on the event loop. Run in the thread pool, it would
    wait for a thread while holding a connection, and under load every thread can be
    waiting for a connection: a deadlock until the pool times out."""
    engine = _read_engine() if request.method in SAFE_METHODS else get_engine()
    session = Session(engine, expire_on_commit=False)
    # Not for pages: a web form may write twice in one request (save, then submit), and
    # its second write must queue for the write lock like the first. Its page is rendered
    # before the session closes, so reading on the writer's connection holds nobody up long.
    if engine.dialect.name == "sqlite" and not is_page(request.scope):
        session.info[_READ_AFTER_COMMIT] = True
    try:
        yield session
    finally:
        session.close()


def insert_ignoring_conflict(session: Session, model: Any, values: dict[str, Any]) -> None:
    """INSERT that silently does nothing when the key exists (race-free get-or-create)."""
    table = model.__table__
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        session.execute(pg_insert(table).values(**values).on_conflict_do_nothing())
    else:
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        session.execute(sqlite_insert(table).values(**values).on_conflict_do_nothing())


def advisory_lock(session: Session, name: str) -> None:
    """Serialize transactions on one name until commit (PostgreSQL advisory lock).

    SQLite needs nothing: its write transactions (BEGIN IMMEDIATE) already run one at a time.
    """
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy import text

        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:n))"), {"n": name})
