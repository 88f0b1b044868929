"""Public reads: anonymous GET of a published RFP, plain and conditional (304), beside a bare
FastAPI endpoint returning a document of the same size from memory. Both are served by the
same uvicorn set-up (bench.harness.uvicorn_server, one worker each, same flags) and measured
alternately in one run, so a busy moment falls on both. A third endpoint, the floor, is the
bare one plus the one indexed lookup of the version that any conditional read must make: it
shows what part of the gap to the bare endpoint no implementation of the read can close.

    python bench/read.py [--connections 50] [--seconds 8] [--rounds 3] [--database postgres]

The load comes from `wrk` (Debian package `wrk`) when it is installed: a Python client
tops out near the bare endpoint's rate on a small machine, which would make every ratio
look like 1. Without it, the httpx load loop of bench/harness.py is used, saying so.
Prints figures and ratios only; asserts no time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from fastapi import FastAPI, Header, Response  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402

from bench.harness import (  # noqa: E402
    PASSWORD,
    ROOT,
    _ok,
    bench_environment,
    login,
    run_load,
    uvicorn_server,
)

# The baseline: the same document's bytes, from memory (no database, no serialization).
bare_app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
_DOCUMENT = (
    Path(os.environ["BENCH_DOCUMENT"]).read_bytes() if os.environ.get("BENCH_DOCUMENT") else b"{}"
)


@bare_app.get("/readyz")
def bare_ready() -> dict[str, str]:
    return {"status": "ready"}


@bare_app.get("/bare/rfps/{rfp_id}")
def bare_rfp(rfp_id: str) -> Response:
    return Response(_DOCUMENT, media_type="application/json")


# The floor of any read that asks the database whether its copy is current: the same bare
# endpoint plus one primary-key lookup of the version (SQLAlchemy Core, the service's pool
# settings), answering 304 or the bytes from memory. No dependencies, no ORM, no middleware.
_FLOOR_SQL = text("SELECT version FROM rfps WHERE id = :id")


@lru_cache
def _floor_engine() -> Engine:
    url = os.environ["DATABASE_URL"]
    if url.startswith("sqlite"):
        return create_engine(url, connect_args={"check_same_thread": False}, pool_size=20)
    return create_engine(url, pool_size=20, max_overflow=20, pool_pre_ping=True)


@bare_app.get("/floor/rfps/{rfp_id}")
def floor_rfp(rfp_id: str, if_none_match: Annotated[str | None, Header()] = None) -> Response:
    with _floor_engine().connect() as conn:
        version = conn.execute(_FLOOR_SQL, {"id": rfp_id}).scalar_one_or_none()
    tag = f'"rfp-{rfp_id}-v{version}"'
    if if_none_match == tag:
        return Response(status_code=304, headers={"ETag": tag})
    return Response(_DOCUMENT, media_type="application/json", headers={"ETag": tag})


async def seed(base: str) -> str:
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
        rfp = _ok(
            await http.post(
                "/api/v1/rfps",
                json={
                    "template_key": "state-preferred-provider",
                    "title": "Bench RFP",
                    "submission_deadline": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
                },
                headers=staff,
            ),
            201,
        )
        _ok(await http.post(f"/api/v1/rfps/{rfp['id']}/publish", headers=staff))
        return str(rfp["id"])


@dataclass
class Figures:
    requests: int = 0
    seconds: float = 0.0
    errors: int = 0
    p50s: list[float] = field(default_factory=list)  # seconds, one per round
    p99s: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def add(self, requests: int, seconds: float, errors: int, p50: float, p99: float) -> None:
        self.requests += requests
        self.seconds += seconds
        self.errors += errors
        self.p50s.append(p50)
        self.p99s.append(p99)

    def describe(self, label: str) -> str:
        return (
            f"  {label:<34} {self.rate:8.1f} req/s   p50 {statistics.median(self.p50s) * 1000:6.1f} ms"
            f"   p99 {max(self.p99s) * 1000:6.1f} ms (worst round)   errors {self.errors}"
        )


def _wrk(
    url: str, connections: int, seconds: float, headers: dict[str, str], into: Figures
) -> None:
    command = ["wrk", "-t", "1", "-c", str(connections), "-d", f"{seconds:.0f}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run([*command, url], capture_output=True, text=True, check=True).stdout

    def number(pattern: str) -> float:
        found = re.search(pattern, out)
        return float(found.group(1)) if found else 0.0

    rate = number(r"Requests/sec:\s+([\d.]+)")
    total = int(number(r"(\d+) requests in"))
    errors = int(number(r"Non-2xx or 3xx responses: (\d+)")) + (1 if "Socket errors" in out else 0)
    pct = {
        label: float(value) / {"us": 1e6, "ms": 1e3, "s": 1.0}[unit]
        for label, value, unit in re.findall(r"(50|99)%\s+([\d.]+)(us|ms|s)\b", out)
    }
    into.add(total, total / rate, errors, pct["50"], pct["99"])


async def _httpx(
    url: str, connections: int, seconds: float, headers: dict[str, str], into: Figures
) -> None:
    parts = urlsplit(url)
    base, path = f"{parts.scheme}://{parts.netloc}", parts.path

    async def request(http: httpx.AsyncClient, _n: int, _rng: object) -> httpx.Response:
        return await http.get(path, headers=headers)

    result = await run_load(base, connections, seconds, request)
    into.add(
        len(result.latencies),
        result.seconds,
        result.errors,
        result.pct(0.5) / 1000,
        result.pct(0.99) / 1000,
    )
    for code, count in result.statuses.items():
        into.statuses[code] = into.statuses.get(code, 0) + count


async def measure(
    ours: str, bare: str, rfp_id: str, connections: int, seconds: float, rounds: int
) -> None:
    async with httpx.AsyncClient(base_url=ours) as http:
        first = await http.get(f"/api/v1/rfps/{rfp_id}")
        tag = first.headers["etag"]
        assert first.headers["cache-control"].startswith("public"), first.headers
        conditional_status = (
            await http.get(f"/api/v1/rfps/{rfp_id}", headers={"If-None-Match": tag})
        ).status_code
        assert conditional_status == 304, conditional_status
    use_wrk = shutil.which("wrk") is not None

    async def load(url: str, headers: dict[str, str], span: float, into: Figures) -> None:
        if use_wrk:
            _wrk(url, connections, span, headers, into)
        else:
            await _httpx(url, connections, span, headers, into)

    plain, bare_url = f"{ours}/api/v1/rfps/{rfp_id}", f"{bare}/bare/rfps/{rfp_id}"
    floor_url = f"{bare}/floor/rfps/{rfp_id}"
    conditional = {"If-None-Match": tag}
    for url in (plain, bare_url, floor_url):  # warm all three before measuring
        await load(url, {}, 2, Figures())
    got, cond, base, floor, floor_cond = Figures(), Figures(), Figures(), Figures(), Figures()
    for _ in range(rounds):
        await load(plain, {}, seconds, got)
        await load(bare_url, {}, seconds, base)
        await load(floor_url, {}, seconds, floor)
        await load(plain, conditional, seconds, cond)
        await load(floor_url, conditional, seconds, floor_cond)
        await load(bare_url, {}, seconds, base)
    print(
        f"anonymous GET /api/v1/rfps/{{id}}, {len(first.content)} bytes, {connections} "
        f"connections, {rounds} alternated rounds of {seconds:.0f} s, load from "
        + ("wrk" if use_wrk else "httpx (install wrk: a Python client caps the bare rate)")
    )
    print(got.describe("the service (200)"))
    print(cond.describe("the service (If-None-Match: 304)"))
    print(base.describe("bare FastAPI, same document"))
    print(floor.describe("floor: bare + version lookup (200)"))
    print(floor_cond.describe("floor: bare + version lookup (304)"))
    print(f"  throughput ratio 200 / bare    {got.rate / base.rate:.2f}   (bar 0.3)")
    print(f"  throughput ratio 304 / bare    {cond.rate / base.rate:.2f}   (bar 0.6)")
    print(f"  floor 200 / bare               {floor.rate / base.rate:.2f}")
    print(f"  floor 304 / bare               {floor_cond.rate / base.rate:.2f}")
    print(f"  the service / floor, 200       {got.rate / floor.rate:.2f}")
    print(f"  the service / floor, 304       {cond.rate / floor_cond.rate:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", choices=["sqlite", "postgres"], default="postgres")
    args = parser.parse_args(argv)
    with bench_environment(args.database) as env:
        data = Path(env["DATA_DIR"])
        for command in (
            ["migrate"],
            ["create-admin", "--email", "admin@bench.example", "--password", PASSWORD],
        ):
            subprocess.run(
                [sys.executable, "-m", "app", *command],
                env=env,
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
        with uvicorn_server("app.main:app", env, data / "service.log") as ours:
            rfp_id = asyncio.run(seed(ours.url))
            document = httpx.get(f"{ours.url}/api/v1/rfps/{rfp_id}").content
            (data / "document.json").write_bytes(document)
            bare_env = {**env, "BENCH_DOCUMENT": str(data / "document.json")}
            with uvicorn_server("bench.read:bare_app", bare_env, data / "bare.log") as bare:
                asyncio.run(
                    measure(ours.url, bare.url, rfp_id, args.connections, args.seconds, args.rounds)
                )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
