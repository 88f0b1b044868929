"""Load: reads and score autosaves mixed, from many connections, against several workers,
beside a bare FastAPI app on the same uvicorn measured in the same run.

    python bench/load.py [--connections 200] [--seconds 60] [--workers 2] [--database postgres]

Prints figures and ratios only.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.harness import (  # noqa: E402
    Panel,
    bare_service,
    bench_environment,
    describe,
    run_load,
    seed_review_panel,
    service,
)

READ_SHARE = 0.7


async def mixed(base: str, bare: str, panel: Panel, connections: int, seconds: float) -> None:
    keys = [c["key"] for c in panel.criteria]

    async def request(http: httpx.AsyncClient, n: int, rng: random.Random) -> httpx.Response:
        assignment_id, headers = panel.assignments[n % len(panel.assignments)]
        roll = rng.random()
        if roll < READ_SHARE / 3:
            return await http.get("/api/v1/rfps?status=closed")
        if roll < 2 * READ_SHARE / 3:
            return await http.get(f"/api/v1/rfps/{panel.rfp_id}")
        if roll < READ_SHARE:
            return await http.get(f"/api/v1/assignments/{assignment_id}", headers=headers)
        body = {
            "scores": [
                {"criterion_key": k, "value": rng.randint(2, 4), "comment": ""}
                for k in rng.sample(keys, 3)
            ]
        }
        return await http.put(
            f"/api/v1/assignments/{assignment_id}/scores", json=body, headers=headers
        )

    async def bare_request(http: httpx.AsyncClient, n: int, rng: random.Random) -> httpx.Response:
        if rng.random() < READ_SHARE:
            return await http.get(f"/bare/{n}")
        body = {
            "scores": [
                {"criterion_key": k, "value": rng.randint(2, 4), "comment": ""}
                for k in rng.sample(keys, 3)
            ]
        }
        return await http.put(f"/bare/{n}", json=body)

    ours = await run_load(base, connections, seconds, request)
    baseline = await run_load(bare, connections, seconds, bare_request)
    print(
        f"{connections} connections for {seconds:.0f} s, {READ_SHARE:.0%} reads / {1 - READ_SHARE:.0%} autosaves"
    )
    print(describe("the service", ours))
    print(describe("bare FastAPI endpoints", baseline))
    print(
        f"  throughput ratio (service / bare)  {ours.rate / baseline.rate:.2f}   statuses {ours.statuses}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="postgres")
    parser.add_argument("--proposals", type=int, default=40)
    args = parser.parse_args(argv)
    print(f"seeding a review panel through the API ({args.database}, {args.workers} workers) ...")
    with (
        bench_environment(args.database) as env,
        service(env, args.workers) as base,
        bare_service(args.workers) as bare,
    ):
        panel = asyncio.run(
            seed_review_panel(
                base, env, args.proposals, 20, 5, lambda line: print(line, flush=True)
            )
        )
        asyncio.run(mixed(base, bare, panel, args.connections, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
