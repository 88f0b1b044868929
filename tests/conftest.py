"""Test set-up: a real database built by the migrations, the real app over HTTP.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (as `.ci/run` does). With
TEST_SERVER_WORKERS=N the suite talks to a real `python -m app serve --workers N` over the
network instead of the in-process app, so nothing may live in one worker's memory.

Set-up paid once a run, not once a test: one client (the in-process app's lifespan and its
PDF process pool start once), the schema, cheap argon2. Each test still starts on an empty
database. Under pytest-xdist every worker process has its own files, database and server.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# "gw0", "gw1"... in a pytest-xdist worker; empty in a plain run.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_TMP = Path(tempfile.mkdtemp(prefix=f"lpp-tests-{_WORKER}-" if _WORKER else "lpp-tests-"))
os.environ["ENVIRONMENT"] = "test"
os.environ["DATA_DIR"] = str(_TMP)
os.environ["STORAGE_DIR"] = str(_TMP / "files")
# With object storage (STORAGE_URL=s3://...), each xdist worker writes under its own prefix:
# one worker's backup-and-restore test must not empty another's files.
if _WORKER and os.environ.get("STORAGE_URL", "").startswith("s3://"):
    os.environ["STORAGE_URL"] = f"{os.environ['STORAGE_URL'].rstrip('/')}/{_WORKER}"
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ["MAX_UPLOAD_MB"] = "1"  # small, so the over-limit test need not send megabytes
# The cheapest argon2id (8 KiB, 1 pass): the suite hashes and verifies thousands of passwords,
# about 50 ms each at the production cost. The server and CLI children inherit it.
os.environ["ARGON2_MEMORY_KIB"] = "8"
os.environ["ARGON2_TIME_COST"] = "1"

import httpx  # noqa: E402
import pytest  # noqa: E402
from fastapi.testclient import TestClient  # noqa: E402
from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402


def _database_url() -> str:
    """TEST_DATABASE_URL, with the worker's name added to the database's under xdist."""
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        return f"sqlite:///{_TMP / 'test.db'}"
    if not _WORKER:
        return url
    parsed = make_url(url)
    return parsed.set(database=f"{parsed.database}_{_WORKER}").render_as_string(hide_password=False)


os.environ["DATABASE_URL"] = _database_url()

from app.all_models import metadata  # noqa: E402
from app.core.config import get_settings  # noqa: E402
from app.core.db import get_engine  # noqa: E402
from app.core.migrate import upgrade_to_head  # noqa: E402
from tests.support import Api, start_server  # noqa: E402


def _create_worker_database() -> None:
    """A worker's PostgreSQL database, made beside TEST_DATABASE_URL's on first use."""
    import psycopg

    base = make_url(os.environ["TEST_DATABASE_URL"])
    name = make_url(os.environ["DATABASE_URL"]).database
    conninfo = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(conninfo, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if found is None:
            conn.execute(f'CREATE DATABASE "{name}"')


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[None]:
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        if _WORKER:
            _create_worker_database()
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade_to_head()
    yield
    engine.dispose()
    shutil.rmtree(_TMP, ignore_errors=True)


def _wipe() -> None:
    # Read each time: the test modules' imports register more tables as the run goes on.
    tables = [t.name for t in reversed(metadata.sorted_tables) if t.name != "audit_head"]
    engine = get_engine()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            # One round trip of DELETEs, children first: TRUNCATE of every table costs about
            # 0.25 s on PostgreSQL (new files for each table and index), a test's whole set-up.
            conn.exec_driver_sql("; ".join(f"DELETE FROM {name}" for name in tables))  # noqa: S608
        else:
            for name in tables:
                conn.execute(text(f"DELETE FROM {name}"))  # noqa: S608 - our own table names
        conn.execute(
            text("UPDATE audit_head SET seq = 0, hash = :h, keyed_from = NULL"), {"h": "0" * 64}
        )
    files = get_settings().files_dir
    shutil.rmtree(files, ignore_errors=True)
    shutil.rmtree(get_settings().anchors_dir, ignore_errors=True)  # anchors of the wiped log


@pytest.fixture(autouse=True)
def clean_database() -> Iterator[None]:
    _wipe()
    yield


@pytest.fixture(scope="session")
def live_server(database: None) -> Iterator[str | None]:
    workers = os.environ.get("TEST_SERVER_WORKERS")
    if not workers:
        yield None
        return
    server, base = start_server(int(workers), _TMP / "server.log")
    yield base
    server.terminate()
    server.wait(timeout=30)


@pytest.fixture(scope="session")
def session_client(live_server: str | None) -> Iterator[httpx.Client]:
    """The run's one client: to the live server, or to the in-process app, whose lifespan
    (and PDF process pool) then starts once for the run instead of once for every test."""
    if live_server is not None:
        with httpx.Client(base_url=live_server, timeout=120) as http:
            yield http
        return
    from app.main import app

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def client(session_client: httpx.Client) -> Iterator[httpx.Client]:
    session_client.cookies.clear()  # each test starts signed out, as with a new client
    yield session_client
    session_client.cookies.clear()


@pytest.fixture
def api(client: httpx.Client) -> Api:
    return Api(client)
