"""Test set-up: a real database built by the migrations, the real app over HTTP.

SQLite by default; PostgreSQL when TEST_DATABASE_URL is set (as `.ci/run` does). With
TEST_SERVER_WORKERS=N the suite talks to a real `python -m app serve --workers N` over the
network instead of the in-process app, so nothing may live in one worker's memory.
"""

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="lpp-tests-"))
os.environ["ENVIRONMENT"] = "test"
os.environ["DATA_DIR"] = str(_TMP)
os.environ["STORAGE_DIR"] = str(_TMP / "files")
os.environ["DATABASE_URL"] = os.environ.get("TEST_DATABASE_URL") or f"sqlite:///{_TMP / 'test.db'}"
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

from app.all_models import metadata  # noqa: E402
from app.core.config import get_settings  # noqa: E402
from app.core.db import get_engine  # noqa: E402
from app.core.migrate import upgrade_to_head  # noqa: E402
from tests.support import Api, start_server  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def database() -> Iterator[None]:
    engine = get_engine()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade_to_head()
    yield
    engine.dispose()
    shutil.rmtree(_TMP, ignore_errors=True)


def _wipe() -> None:
    tables = [t.name for t in reversed(metadata.sorted_tables) if t.name != "audit_head"]
    engine = get_engine()
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text(f"TRUNCATE {', '.join(tables)} CASCADE"))
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


@pytest.fixture
def client(live_server: str | None) -> Iterator[httpx.Client]:
    if live_server is not None:
        with httpx.Client(base_url=live_server, timeout=120) as http:
            yield http
        return
    from app.main import app

    with TestClient(app, raise_server_exceptions=False) as test_client:
        yield test_client


@pytest.fixture
def api(client: httpx.Client) -> Api:
    return Api(client)
