"""Benchmark of the review stage: results arithmetic at national scale, and score autosaves
against a running server beside a bare FastAPI JSON endpoint.

    python bench/scoring.py [--connections 200] [--seconds 20] [--database sqlite|postgres]

Prints figures and ratios only.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402

from bench.harness import (  # noqa: E402
    bare_service,
    bench_environment,
    describe,
    run_load,
    seed_review_panel,
    service,
)
from scoring import agreement, ranking, rubric  # noqa: E402


def results_timing(proposals: int, reviewers: int, criteria: int, repeat: int) -> None:
    rng = random.Random(7)
    rubric_criteria = [
        rubric.Criterion(
            key=f"c{i}",
            title=f"Criterion {i}",
            weight=100 / criteria,
            levels=tuple(rubric.Level(v, f"level {v}") for v in range(5)),
        )
        for i in range(criteria)
    ]
    pool = [f"r{i}" for i in range(reviewers * 20)]
    scores = {
        f"p{p}": {
            r: {c.key: rng.randint(0, 4) for c in rubric_criteria}
            for r in rng.sample(pool, reviewers)
        }
        for p in range(proposals)
    }

    def service_path() -> None:
        # What the results endpoint computes: one score cube for totals, calibration,
        # flags and agreement, then the ranks.
        cube = rubric.build_score_cube(rubric_criteria, scores)
        results = rubric.results_from_cube(cube)
        ranking.competition_rank({r.proposal_id: r.weighted_total for r in results})
        agreement.agreement_from_cube(cube)

    def plain_python() -> None:
        # The baseline: raw weighted totals only, one loop per proposal (no calibration).
        totals = {}
        for pid, by_reviewer in scores.items():
            total = 0.0
            for c in rubric_criteria:
                values = [s[c.key] for s in by_reviewer.values()]
                total += c.weight * (sum(values) / len(values)) / 4
            totals[pid] = total
        sorted(totals.values(), reverse=True)

    def median_ms(fn: object) -> float:
        samples = []
        for _ in range(repeat):
            start = time.perf_counter()
            fn()  # type: ignore[operator]
            samples.append(time.perf_counter() - start)
        return statistics.median(samples) * 1000

    full = median_ms(service_path)
    raw = median_ms(plain_python)
    totals_only = median_ms(
        lambda: rubric.proposal_results(rubric_criteria, scores, calibrate=False)
    )
    print(
        f"results for {proposals} proposals x {reviewers} reviewers x {criteria} criteria (median of {repeat})"
    )
    print(f"  totals, calibration, flags, ranks, agreement   {full:8.1f} ms   (target < 100 ms)")
    print(f"  of which totals without calibration             {totals_only:8.1f} ms")
    print(
        f"  plain-Python raw totals only (baseline)         {raw:8.1f} ms   ratio {full / raw:.2f}x"
    )


async def autosave_load(
    base: str, bare: str, panel: object, connections: int, seconds: float
) -> None:
    from bench.harness import Panel

    assert isinstance(panel, Panel)
    keys = [c["key"] for c in panel.criteria]

    async def autosave(http: httpx.AsyncClient, n: int, rng: random.Random) -> httpx.Response:
        assignment_id, headers = panel.assignments[n % len(panel.assignments)]
        body = {
            "scores": [
                {"criterion_key": k, "value": rng.randint(2, 4), "comment": ""}
                for k in rng.sample(keys, 3)
            ]
        }
        return await http.put(
            f"/api/v1/assignments/{assignment_id}/scores", json=body, headers=headers
        )

    async def bare_put(http: httpx.AsyncClient, n: int, rng: random.Random) -> httpx.Response:
        body = {
            "scores": [
                {"criterion_key": k, "value": rng.randint(2, 4), "comment": ""}
                for k in rng.sample(keys, 3)
            ]
        }
        return await http.put(f"/bare/{n}", json=body)

    ours = await run_load(base, connections, seconds, autosave)
    baseline = await run_load(bare, connections, seconds, bare_put)
    print(f"score autosaves, {connections} concurrent connections for {seconds:.0f} s")
    print(describe("PUT /assignments/{id}/scores", ours))
    print(describe("bare FastAPI JSON endpoint", baseline))
    print(
        f"  throughput ratio (service / bare)  {ours.rate / baseline.rate:.2f}   statuses {ours.statuses}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--proposals", type=int, default=40)
    args = parser.parse_args(argv)
    results_timing(1000, 5, 20, repeat=21)
    print()
    print(f"seeding a review panel through the API ({args.database}, {args.workers} worker(s)) ...")
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
        asyncio.run(autosave_load(base, bare, panel, args.connections, args.seconds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
