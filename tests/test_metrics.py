"""GET /metrics on a real two-worker server: every worker's requests summed in any scrape."""

import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from app.core.db import get_engine
from tests.support import Api, published_rfp, start_server


@pytest.fixture
def two_workers(tmp_path: Path) -> Iterator[str]:
    # A samples folder of its own: the suite's live server (if any) keeps its own.
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics")}
    (tmp_path / "metrics").mkdir()
    (tmp_path / "metrics" / "counter_1.db").write_bytes(b"stale")  # wiped at start
    server, base = start_server(2, tmp_path / "server.log", env=env)
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _value(samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_scrapes_sum_every_worker(api: Api, two_workers: str, tmp_path: Path) -> None:
    rfp = published_rfp(api, api.staff())
    missing, health = 40, 25
    limits = httpx.Limits(max_keepalive_connections=0)  # a new connection, any worker
    with httpx.Client(base_url=two_workers, limits=limits, timeout=60) as http:
        for n in range(missing):
            assert http.get(f"/api/v1/rfps/no-such-{n}").status_code == 404
        for _ in range(health):
            assert http.get("/healthz").status_code == 200
        assert http.get(f"/api/v1/rfps/{rfp['id']}/document.pdf").status_code == 200
        assert http.get("/no/such/page").status_code == 404
        scrapes = [http.get("/metrics") for _ in range(6)]
    # Two workers wrote samples (their files are named by process id); the stale file is gone.
    writers = {p.stem.rsplit("_", 1)[1] for p in (tmp_path / "metrics").glob("counter_*.db")}
    assert len(writers) >= 2 and "1" not in writers

    for scrape in scrapes:
        assert scrape.status_code == 200
        assert scrape.headers["content-type"].startswith("text/plain")
        assert scrape.headers["cache-control"] == "no-store"
        samples = _samples(scrape.text)
        requests = "lpp_http_requests_total"
        route = "/api/v1/rfps/{rfp_id}"
        assert _value(samples, requests, method="GET", route=route, status="404") == missing
        assert _value(samples, requests, method="GET", route="/healthz", status="200") == health
        assert _value(samples, requests, method="GET", route="unmatched", status="404") == 1
        latency = "lpp_http_request_duration_seconds_count"
        assert _value(samples, latency, method="GET", route=route) == missing
        pdf = "lpp_pdf_render_seconds_count"
        assert _value(samples, pdf, template="rfp.html") == 1
        assert _value(samples, "lpp_db_pool_capacity") == 2 * 40  # both workers' pools
        assert 0 <= _value(samples, "lpp_db_pool_connections_in_use") <= 80
        names = {family.name for family in text_string_to_metric_families(scrape.text)}
        assert {"lpp_outbox_notices", "lpp_storage_errors"} <= names
        if get_engine().dialect.name == "postgresql":
            assert "lpp_jobs" in names  # the PostgreSQL queue's table exists there

    promtool = shutil.which("promtool")
    if promtool is not None:  # .ci/run installs it; a laptop may not have it
        checked = subprocess.run(
            [promtool, "check", "metrics"], input=scrapes[-1].text, capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stdout + checked.stderr
