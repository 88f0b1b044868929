"""The deadline surge with its files in S3-compatible object storage, beside the local folder.

    eval "$(scripts/rgw.sh env)"   # a real S3 server: Ceph's RADOS Gateway on 127.0.0.1
    python bench/storage_surge.py [--partners 500] [--concurrency 100] [--size-mb 1]
                                  [--database-url postgresql://...]

Runs bench/submission_surge.py (the app only, no floor) three times in one go: local folder,
then STORAGE_URL, then the local folder again, so a busy moment on the machine weighs on
both sides; each run seeds its own database and checks that nothing acknowledged was lost
or duplicated. Prints the throughput of the object-storage run as a ratio of the local
runs' mean. Asserts no time; exits 1 if any run lost, duplicated or failed to verify.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

SURGE = Path(__file__).resolve().parent / "submission_surge.py"


def run(args: argparse.Namespace, storage_url: str | None, summary: Path) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if k != "STORAGE_URL"}
    if storage_url:
        env["STORAGE_URL"] = storage_url
    command = [
        sys.executable,
        str(SURGE),
        "--skip-floor",
        "--summary",
        str(summary),
        "--partners",
        str(args.partners),
        "--concurrency",
        str(args.concurrency),
        "--size-mb",
        str(args.size_mb),
    ]
    if args.database_url:
        command += ["--database-url", args.database_url]
    subprocess.run(command, env=env, check=False)
    figures: dict[str, float] = json.loads(summary.read_text()) if summary.exists() else {}
    return figures


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--partners", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--size-mb", type=float, default=1.0)
    parser.add_argument("--database-url", help="a PostgreSQL bench database (default SQLite)")
    args = parser.parse_args()
    base = os.environ.get("STORAGE_URL", "")
    if not base.startswith("s3://") or not os.environ.get("S3_ENDPOINT_URL"):
        # `make bench` runs every script: without a server this one has nothing to compare.
        print("storage_surge: needs STORAGE_URL=s3://bucket/prefix and S3_ENDPOINT_URL set")
        print('  (scripts/rgw.sh start, then eval "$(scripts/rgw.sh env)"); not run')
        return 0
    s3_url = f"{base.rstrip('/')}/surge-{uuid.uuid4().hex[:8]}"
    results: list[tuple[str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="lpp-storage-surge-") as work:
        for n, (label, storage) in enumerate(
            (("local folder", None), (s3_url, s3_url), ("local folder", None))
        ):
            print(f"== run {n + 1} of 3: files in {label}", flush=True)
            results.append((label, run(args, storage, Path(work) / f"run{n}.json")))
    print(
        f"\nStorage surge: {args.partners} partners, {args.size_mb:g} MB each, concurrency "
        f"{args.concurrency}, one uvicorn worker"
    )
    failed = False
    for label, figures in results:
        if not figures:
            print(f"  {label:<40} the run did not finish")
            failed = True
            continue
        print(
            f"  {label:<40} {figures['throughput']:6.1f} submissions/s   p99 "
            f"{figures['p99_seconds']:5.2f} s   acknowledged {figures['acknowledged']:.0f}   "
            f"lost {figures['lost']:.0f}   duplicated {figures['duplicated']:.0f}   "
            f"verified {figures['verified']:.0f}"
        )
        failed |= bool(figures["lost"] or figures["duplicated"])
        failed |= figures["verified"] < args.partners
    if not failed:
        local = statistics.mean([results[0][1]["throughput"], results[2][1]["throughput"]])
        print(
            f"  object storage / local folder throughput: {results[1][1]['throughput'] / local:.2f}"
        )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
