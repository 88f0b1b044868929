"""Benchmark of MOU PDFs: the service's renderer against bare WeasyPrint, a cached download
against a render, and a batch of 50 on two renderer processes against one after another.

    python bench/pdf.py [--repeat 5] [--batch 50]

Everything runs in this process against a temporary SQLite database, driving the real API
in-process to create an accepted match and its MOU. Prints figures and ratios only.
"""

from __future__ import annotations

import argparse
import http.client
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
_TMP = Path(tempfile.mkdtemp(prefix="lpp-bench-pdf-"))
os.environ.update(
    {
        "ENVIRONMENT": "development",
        "DATA_DIR": str(_TMP),
        "DATABASE_URL": f"sqlite:///{_TMP / 'bench.db'}",
        "LOG_LEVEL": "WARNING",
        "PDF_WORKERS": "2",
    }
)

from fastapi.testclient import TestClient  # noqa: E402
from sqlmodel import Session  # noqa: E402
from weasyprint import HTML  # noqa: E402

from app.core import documents  # noqa: E402
from app.core.db import get_engine  # noqa: E402
from app.core.migrate import upgrade_to_head  # noqa: E402
from app.main import app  # noqa: E402
from app.mous import service as mou_service  # noqa: E402
from app.mous.models import Mou  # noqa: E402


def timed(fn: Callable[[], object], repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def make_mou(client: TestClient) -> tuple[str, str, dict[str, str]]:
    from tests.support import Api, finalized_list, unique

    api = Api(client)
    state = api.agency("state", "VA")
    state_staff = api.staff(state["id"])
    district = api.agency("district", "VA", parent_id=state["id"], nces_id="5100999")
    staff = api.staff(district["id"])
    partner = api.partner(states=["VA"], grade_levels=["06", "07", "08"], capacity_clusters=1)
    rfp = finalized_list(api, state_staff, [partner])
    ids = []
    for n in range(1, 5):
        body = {
            "nces_id": f"510099900{n:03d}",
            "name": unique("Middle School "),
            "grade_low": "06",
            "grade_high": "08",
        }
        ids.append(
            client.post(
                f"/api/v1/agencies/{district['id']}/schools", json=body, headers=staff.headers
            ).json()["id"]
        )
    client.post(
        f"/api/v1/agencies/{district['id']}/clusters",
        json={"name": "Bench cluster", "school_ids": ids},
        headers=staff.headers,
    )
    run = client.post(
        f"/api/v1/agencies/{district['id']}/matching-runs", json={}, headers=staff.headers
    ).json()
    match = run["matches"][0]
    client.post(f"/api/v1/matches/{match['id']}/accept", headers=staff.headers)
    mou = client.post(f"/api/v1/matches/{match['id']}/mou", headers=staff.headers).json()
    return mou["id"], rfp["id"], staff.headers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--batch", type=int, default=50)
    args = parser.parse_args(argv)
    upgrade_to_head()
    with TestClient(app) as client:
        print("setting up an accepted match and its MOU through the API ...", flush=True)
        mou_id, rfp_id, headers = make_mou(client)
        with Session(get_engine()) as session:
            mou = session.get(Mou, mou_id)
            assert mou is not None
            version = mou_service.version_of(session, mou)
        html = mou_service.documents.render_html(
            "mou.html", mou_service.render_context(mou, version, draft=True)
        )
        identifier = f"bench-{mou_id}"

        def bare() -> bytes:
            os.environ["SOURCE_DATE_EPOCH"] = documents.FIXED_EPOCH
            fetcher = documents.restricted_fetcher()
            return HTML(
                string=html, base_url=documents.STATIC_ORIGIN, url_fetcher=fetcher
            ).write_pdf(**documents.PDF_OPTIONS, pdf_identifier=identifier.encode())

        def service() -> bytes:
            return documents.html_to_pdf(html, identifier)

        # Start both renderer processes and warm their font caches outside the measurement.
        with ThreadPoolExecutor(max_workers=2) as warm:
            list(warm.map(lambda _: service(), range(4)))
        bare()
        service_times = timed(service, args.repeat)
        bare_times = timed(bare, args.repeat)
        pages = len(bare())

        # Downloads go over real HTTP to a server process, as a browser's would.
        from tests.support import start_server

        server, base = start_server(1, _TMP / "server.log")
        try:
            # A lean keep-alive HTTP client, so the figures are the server's and the
            # network's, not a heavy client library's.
            host, port = base.removeprefix("http://").split(":")
            conn = http.client.HTTPConnection(host, int(port), timeout=120)

            def get(url: str) -> bytes:
                conn.request("GET", url, headers=headers)
                response = conn.getresponse()
                body = response.read()
                assert response.status == 200, response.status
                return body

            url = f"/api/v1/mous/{mou_id}/document.pdf"
            # Warm the server's renderer process with another document first.
            get(f"/api/v1/rfps/{rfp_id}/document.pdf")
            start = time.perf_counter()
            first = get(url)
            render_download = time.perf_counter() - start
            cached_times = timed(lambda: get(url), 200)
            same = all(get(url) == first for _ in range(3))
            conn.close()
        finally:
            server.terminate()
            server.wait(timeout=30)

        variants = [
            html.replace("Eastside", f"Eastside {n}") + f"<!-- {n} -->" for n in range(args.batch)
        ]
        start = time.perf_counter()
        for n, page in enumerate(variants):
            os.environ["SOURCE_DATE_EPOCH"] = documents.FIXED_EPOCH
            HTML(
                string=page,
                base_url=documents.STATIC_ORIGIN,
                url_fetcher=documents.restricted_fetcher(),
            ).write_pdf(**documents.PDF_OPTIONS, pdf_identifier=f"b{n}".encode())
        serial = time.perf_counter() - start
        start = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as threads:
            list(
                threads.map(
                    lambda item: documents.html_to_pdf(item[1], f"b{item[0]}"), enumerate(variants)
                )
            )
        pooled = time.perf_counter() - start
    documents.shutdown()
    import shutil

    shutil.rmtree(_TMP, ignore_errors=True)

    med = statistics.median
    print()
    print(f"MOU PDF ({pages / 1024:.0f} KiB), median of {args.repeat} renders")
    print(f"  bare WeasyPrint in this process       {med(bare_times) * 1000:8.0f} ms")
    print(
        f"  through the service's renderer pool   {med(service_times) * 1000:8.0f} ms"
        f"   ratio {med(service_times) / med(bare_times):.2f}x  (target <= 1.15x)"
    )
    print(f"  first download (renders, over HTTP)   {render_download * 1000:8.0f} ms")
    print(
        f"  cached download (median of 200)        {med(cached_times) * 1000:8.1f} ms"
        f"   {render_download / med(cached_times):.0f}x faster than rendering (target >= 100x)"
    )
    print(f"  downloads byte-identical              {'yes' if same else 'NO'}")
    print(f"batch of {args.batch} MOUs")
    print(f"  one after another, one process        {serial:8.1f} s")
    print(
        f"  renderer pool, {os.environ['PDF_WORKERS']} processes             {pooled:8.1f} s"
        f"   speed-up {serial / pooled:.2f}x  (target >= 1.7x)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
