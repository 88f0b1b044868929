"""Shared pieces of the HTTP benchmarks: servers, a bare baseline app, seeding, load loops.

The real service runs as `python -m app serve` on a throw-away database; the baseline is a
bare FastAPI app served by the same uvicorn with the same worker count, measured in the
same run, so the ratio says what the service's own work costs.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "bench-password-123"
PG_ADMIN_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_ready(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited; see {log}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"server not ready; see {log}")


@dataclass
class Server:
    url: str
    pid: int


@contextmanager
def served(command: list[str], env: dict[str, str], log: Path, ready: str) -> Iterator[Server]:
    """`command --port P`, a server on a free port, until the block ends."""
    port = free_port()
    with log.open("ab") as out:
        process = subprocess.Popen(
            [*command, "--port", str(port)], env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}{ready}", process, log)
        yield Server(f"http://127.0.0.1:{port}", process.pid)
    finally:
        process.terminate()
        process.wait(timeout=30)


def uvicorn_server(
    asgi_app: str, env: dict[str, str], log: Path, ready: str = "/readyz"
) -> AbstractContextManager[Server]:
    """One uvicorn worker serving `asgi_app` with the settings `python -m app serve` gives
    uvicorn (proxy headers, no access log), so two apps served this way differ only in the app."""
    flags = ["--host", "127.0.0.1", "--workers", "1", "--no-access-log", "--log-level", "warning"]
    return served([sys.executable, "-m", "uvicorn", asgi_app, *flags], env, log, ready)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a live process has spent (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def recreate_database(url: str) -> None:
    """Drop and create the PostgreSQL database `url` names (never a shared one)."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import conninfo_to_dict, make_conninfo

    plain = url.replace("postgresql+psycopg://", "postgresql://", 1)
    name = str(conninfo_to_dict(plain).get("dbname") or "")
    if name in {"", "postgres", "template0", "template1", "test"}:
        raise SystemExit(f"refusing to drop the database {name!r}; name a bench database")
    with psycopg.connect(make_conninfo(plain, dbname="postgres"), autocommit=True) as conn:
        drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        conn.execute(drop)
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


@contextmanager
def bench_environment(database: str) -> Iterator[dict[str, str]]:
    """A fresh data folder and database (SQLite file, or a new PostgreSQL database)."""
    data = Path(tempfile.mkdtemp(prefix="lpp-bench-"))
    env = {
        **os.environ,
        "ENVIRONMENT": "development",
        "DATA_DIR": str(data),
        "LOG_LEVEL": "WARNING",
        "LOG_JSON": "false",
        "SECRET_KEY": "bench-secret-key-bench-secret-key",
        # A benchmark drives thousands of sign-ins and sign-ups from one address.
        "LOGIN_RATE_PER_MINUTE": "1000000",
        "SIGNUP_RATE_PER_HOUR": "1000000",
    }
    name = f"lpp_bench_{os.getpid()}"
    if database == "postgres":
        env["DATABASE_URL"] = f"postgresql://postgres@127.0.0.1:5432/{name}"
        recreate_database(env["DATABASE_URL"])
    else:
        env["DATABASE_URL"] = f"sqlite:///{data / 'bench.db'}"
    try:
        yield env
    finally:
        if database == "postgres":
            import psycopg

            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        import shutil

        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def service(env: dict[str, str], workers: int) -> Iterator[str]:
    port = free_port()
    log = Path(env["DATA_DIR"]) / "server.log"
    python = sys.executable
    subprocess.run(
        [python, "-m", "app", "migrate"], env=env, cwd=ROOT, check=True, capture_output=True
    )
    subprocess.run(
        [
            python,
            "-m",
            "app",
            "create-admin",
            "--email",
            "admin@bench.example",
            "--password",
            PASSWORD,
        ],
        env=env,
        cwd=ROOT,
        check=False,
        capture_output=True,
    )
    with log.open("ab") as out:
        process = subprocess.Popen(
            [python, "-m", "app", "serve", "--port", str(port), "--workers", str(workers)],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}/readyz", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


BARE_APP = """
from fastapi import FastAPI
from pydantic import BaseModel

app = FastAPI()


class Item(BaseModel):
    criterion_key: str
    value: int
    comment: str = ""


class Scores(BaseModel):
    scores: list[Item]


@app.get("/bare/{item_id}")
def read(item_id: str) -> dict[str, str]:
    return {"id": item_id, "status": "assigned"}


@app.put("/bare/{item_id}")
def write(item_id: str, body: Scores) -> Scores:
    return body
"""


@contextmanager
def bare_service(workers: int) -> Iterator[str]:
    folder = Path(tempfile.mkdtemp(prefix="lpp-bare-"))
    (folder / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    log = folder / "bare.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bare_app:app",
                "--port",
                str(port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
                "--no-access-log",
            ],
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_ready(f"http://127.0.0.1:{port}/bare/ready", process, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        import shutil

        shutil.rmtree(folder, ignore_errors=True)


# --- seeding through the API ---------------------------------------------------------------


def _ok(response: httpx.Response, status: int = 200) -> Any:
    if response.status_code != status:
        raise RuntimeError(
            f"{response.request.method} {response.request.url} -> {response.status_code}: "
            f"{response.text[:300]}"
        )
    return response.json()


async def login(http: httpx.AsyncClient, email: str) -> dict[str, str]:
    token = _ok(
        await http.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    )
    return {"Authorization": f"Bearer {token['access_token']}"}


@dataclass
class Panel:
    rfp_id: str
    criteria: list[dict[str, Any]]
    reviewers: list[dict[str, str]] = field(default_factory=list)  # their auth headers
    assignments: list[tuple[str, dict[str, str]]] = field(default_factory=list)  # (id, headers)


def pass_deadline(env: dict[str, str], rfp_id: str) -> None:
    """Let the submission deadline pass now (the bench's shortcut for waiting for it)."""
    from sqlalchemy import create_engine, text

    from app.core.config import normalize_database_url

    engine = create_engine(normalize_database_url(env["DATABASE_URL"]))
    with engine.begin() as conn:
        conn.execute(
            text("UPDATE rfps SET submission_deadline = :t WHERE id = :id"),
            {"t": "2000-01-01 00:00:00+00:00", "id": rfp_id},
        )
    engine.dispose()


async def seed_review_panel(
    base: str,
    env: dict[str, str],
    proposals: int,
    reviewers: int,
    per_proposal: int,
    say: Callable[[str], None],
) -> Panel:
    """An RFP past its deadline, `proposals` submitted proposals, a panel of attested
    reviewers, and the automatic assignment. Returns what the load needs."""
    from datetime import UTC, datetime, timedelta

    async with httpx.AsyncClient(base_url=base, timeout=120) as http:
        admin = await login(http, "admin@bench.example")
        state = _ok(
            await http.post(
                "/api/v1/agencies",
                json={"name": "Bench State", "kind": "state", "state": "VA"},
                headers=admin,
            ),
            201,
        )
        _ok(
            await http.post(
                f"/api/v1/agencies/{state['id']}/staff",
                json={"email": "staff@bench.example", "name": "Staff", "password": PASSWORD},
                headers=admin,
            ),
            201,
        )
        staff = await login(http, "staff@bench.example")
        deadline = datetime.now(UTC) + timedelta(days=1)
        rfp = _ok(
            await http.post(
                "/api/v1/rfps",
                json={
                    "template_key": "state-preferred-provider",
                    "title": "Bench RFP",
                    "submission_deadline": deadline.isoformat(),
                    "reviewers_per_proposal": per_proposal,
                },
                headers=staff,
            ),
            201,
        )
        _ok(await http.post(f"/api/v1/rfps/{rfp['id']}/publish", headers=staff))
        items = _ok(await http.get("/api/v1/self-audit/items"))["items"]
        audit = {
            "items": [{"key": i["key"], "rating": "met", "evidence": "Evidence."} for i in items]
        }
        limit = asyncio.Semaphore(8)

        async def partner(n: int) -> None:
            async with limit:
                email = f"partner{n}@bench.example"
                org = _ok(
                    await http.post(
                        "/api/v1/organizations",
                        json={
                            "name": f"Bench Partner {n}",
                            "kind": "nonprofit",
                            "email": email,
                            "contact_name": "P",
                            "password": PASSWORD,
                            "states": ["VA"],
                            "grade_levels": ["06", "07", "08"],
                        },
                    ),
                    201,
                )
                headers = await login(http, email)
                _ok(
                    await http.put(
                        f"/api/v1/organizations/{org['id']}/self-audit", json=audit, headers=headers
                    )
                )
                proposal = _ok(
                    await http.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=headers), 201
                )
                for section in rfp["sections"]:
                    _ok(
                        await http.put(
                            f"/api/v1/proposals/{proposal['id']}/sections/{section['key']}",
                            json={"text": "A plan. " * 40},
                            headers=headers,
                        )
                    )
                for slot in rfp["required_attachments"]:
                    files = {"file": ("a.pdf", b"%PDF-1.4\n" + os.urandom(1024), "application/pdf")}
                    _ok(
                        await http.post(
                            f"/api/v1/proposals/{proposal['id']}/attachments",
                            data={"key": slot["key"]},
                            files=files,
                            headers=headers,
                        ),
                        201,
                    )
                _ok(await http.post(f"/api/v1/proposals/{proposal['id']}/submit", headers=headers))

        for start in range(0, proposals, 25):
            await asyncio.gather(*(partner(n) for n in range(start, min(proposals, start + 25))))
            say(f"  {min(proposals, start + 25)}/{proposals} proposals submitted")
        panel = Panel(rfp_id=rfp["id"], criteria=rfp["criteria"])

        async def reviewer(n: int) -> None:
            async with limit:
                invite = _ok(
                    await http.post(
                        f"/api/v1/rfps/{rfp['id']}/reviewers",
                        json={"email": f"reviewer{n}@bench.example", "name": f"R{n}"},
                        headers=staff,
                    ),
                    201,
                )
                _ok(
                    await http.post(
                        "/api/v1/auth/accept-invite",
                        json={"invite_token": invite["invite_token"], "password": PASSWORD},
                    )
                )
                headers = await login(http, f"reviewer{n}@bench.example")
                _ok(
                    await http.post(
                        f"/api/v1/rfps/{rfp['id']}/attestation",
                        json={"no_conflict": True, "confidentiality": True},
                        headers=headers,
                    ),
                    201,
                )
                panel.reviewers.append(headers)

        await asyncio.gather(*(reviewer(n) for n in range(reviewers)))
        say(f"  {reviewers} reviewers invited and attested")
        pass_deadline(env, rfp["id"])
        _ok(await http.post(f"/api/v1/rfps/{rfp['id']}/assignments/auto", headers=staff))
        for headers in panel.reviewers:
            mine = _ok(await http.get("/api/v1/me/assignments", headers=headers))["items"]
            panel.assignments += [(a["id"], headers) for a in mine]
        say(f"  {len(panel.assignments)} assignments")
        return panel


# --- load ----------------------------------------------------------------------------------


@dataclass
class LoadResult:
    latencies: list[float]
    errors: int
    seconds: float
    statuses: dict[int, int]
    failures: dict[str, int] = field(default_factory=dict)  # exceptions by kind

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return (
            ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000
            if ordered
            else float("nan")
        )


async def run_load(
    base: str,
    connections: int,
    seconds: float,
    request: Callable[[httpx.AsyncClient, int, random.Random], Awaitable[httpx.Response]],
) -> LoadResult:
    """`connections` clients, each sending one request after another for `seconds`."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    failures: dict[str, int] = {}
    errors = 0
    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as http:
        stop = time.perf_counter() + seconds

        async def client(n: int) -> None:
            nonlocal errors
            rng = random.Random(n)
            while time.perf_counter() < stop:
                start = time.perf_counter()
                try:
                    response = await request(http, n, rng)
                except httpx.HTTPError as exc:
                    errors += 1
                    failures[type(exc).__name__] = failures.get(type(exc).__name__, 0) + 1
                    continue
                latencies.append(time.perf_counter() - start)
                statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                if response.status_code >= 400:
                    errors += 1

        began = time.perf_counter()
        await asyncio.gather(*(client(n) for n in range(connections)))
        elapsed = time.perf_counter() - began
    return LoadResult(latencies, errors, elapsed, statuses, failures)


def describe(label: str, result: LoadResult) -> str:
    return (
        f"  {label:<34} {result.rate:8.1f} req/s   p50 {result.pct(0.5):7.1f} ms   "
        f"p99 {result.pct(0.99):7.1f} ms   errors {result.errors}"
        + (f" {result.failures}" if result.failures else "")
    )


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000
