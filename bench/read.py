"""Public reads: anonymous GET of a published RFP, plain and conditional (304), beside a bare
FastAPI endpoint returning a document of the same size from memory. Both are served by the
same uvicorn set-up (bench.harness.uvicorn_server, one worker each, same flags) and measured
alternately in one run, so a busy moment falls on both.

    python bench/read.py [--connections 50] [--seconds 8] [--rounds 3] [--database postgres]

Prints figures and ratios only; asserts no time.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from fastapi import FastAPI, Response  # noqa: E402

from bench.harness import (  # noqa: E402
    PASSWORD,
    ROOT,
    LoadResult,
    _ok,
    bench_environment,
    describe,
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


def _merge(parts: list[LoadResult]) -> LoadResult:
    statuses: dict[int, int] = {}
    for part in parts:
        for code, count in part.statuses.items():
            statuses[code] = statuses.get(code, 0) + count
    return LoadResult(
        [x for p in parts for x in p.latencies],
        sum(p.errors for p in parts),
        sum(p.seconds for p in parts),
        statuses,
    )


async def measure(
    ours: str, bare: str, rfp_id: str, connections: int, seconds: float, rounds: int
) -> None:
    async with httpx.AsyncClient(base_url=ours) as http:
        first = await http.get(f"/api/v1/rfps/{rfp_id}")
    tag = first.headers["etag"]
    assert first.headers["cache-control"].startswith("public"), first.headers

    async def plain(http: httpx.AsyncClient, _n: int, _rng: object) -> httpx.Response:
        return await http.get(f"/api/v1/rfps/{rfp_id}")

    async def conditional(http: httpx.AsyncClient, _n: int, _rng: object) -> httpx.Response:
        return await http.get(f"/api/v1/rfps/{rfp_id}", headers={"If-None-Match": tag})

    async def baseline(http: httpx.AsyncClient, _n: int, _rng: object) -> httpx.Response:
        return await http.get(f"/bare/rfps/{rfp_id}")

    await run_load(ours, connections, 2, plain)  # warm both before measuring
    await run_load(bare, connections, 2, baseline)
    results: dict[str, list[LoadResult]] = {"plain": [], "conditional": [], "bare": []}
    for _ in range(rounds):
        results["plain"].append(await run_load(ours, connections, seconds, plain))
        results["bare"].append(await run_load(bare, connections, seconds, baseline))
        results["conditional"].append(await run_load(ours, connections, seconds, conditional))
        results["bare"].append(await run_load(bare, connections, seconds, baseline))
    got, cond, base = (_merge(results[k]) for k in ("plain", "conditional", "bare"))
    print(
        f"anonymous GET /api/v1/rfps/{{id}}, {len(first.content)} bytes, {connections} "
        f"connections, {rounds} alternated rounds of {seconds:.0f} s"
    )
    print(describe("the service (200)", got))
    print(describe("the service (If-None-Match: 304)", cond))
    print(describe("bare FastAPI, same document", base))
    print(f"  throughput ratio 200 / bare   {got.rate / base.rate:.2f}   statuses {got.statuses}")
    print(f"  throughput ratio 304 / bare   {cond.rate / base.rate:.2f}   statuses {cond.statuses}")


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
