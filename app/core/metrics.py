"""Prometheus metrics, summed over every worker of one server.

`python -m app serve` points PROMETHEUS_MULTIPROC_DIR at a folder it empties first (before
anything imports prometheus_client, which reads the variable once), so each uvicorn worker
writes its samples there and a scrape of any worker reads them all. Without that variable
(tests in-process, a bare uvicorn) the process's own registry is served. What lives in the
database (the job queue, the outbox) is counted when scraped, so any server answers the same.
"""

import logging
import os
from collections.abc import Iterator, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import event, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import Pool

logger = logging.getLogger("app.metrics")

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter(
    "lpp_http_requests",
    "HTTP requests answered, by route template and status.",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "lpp_http_request_duration_seconds",
    "Time from a request's arrival to the end of its answer, by route template.",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
POOL_IN_USE = Gauge(
    "lpp_db_pool_connections_in_use",
    "Database connections checked out of the workers' pools.",
    multiprocess_mode="livesum",
)
POOL_CAPACITY = Gauge(
    "lpp_db_pool_capacity",
    "Connections the workers' pools may open (pool size plus overflow).",
    multiprocess_mode="livesum",
)
PDF_RENDER = Histogram(
    "lpp_pdf_render_seconds",
    "Time to render one PDF (a cached rendering is not counted).",
    ["template"],
    buckets=(0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60),
)
STORAGE_ERRORS = Counter(
    "lpp_storage_errors",
    "Storage operations that failed (not a missing file, which callers expect).",
    ["backend", "operation"],
)

# Routes come from templates, so a label cannot grow with ids; a path no route serves is
# counted under one label rather than under whatever a scanner sent.
UNMATCHED = "unmatched"


def route_label(scope: Mapping[str, Any]) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    if "endpoint" in scope and scope.get("root_path"):
        return str(scope["root_path"])  # a mounted app (the static files): its mount point
    return UNMATCHED


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    REQUESTS.labels(method, route, str(status)).inc()
    LATENCY.labels(method, route).observe(seconds)


# Every pool the process makes (the app's, Alembic's at start) reports to one gauge.
@event.listens_for(Pool, "checkout")
def _checked_out(*_args: Any) -> None:
    POOL_IN_USE.inc()


@event.listens_for(Pool, "checkin")
def _checked_in(*_args: Any) -> None:
    POOL_IN_USE.dec()


def watch_pool(capacity: int) -> None:
    POOL_CAPACITY.set(capacity)


# --- counted when scraped --------------------------------------------------------------------

_QUEUE_SQL = text(
    "SELECT queue_name, status, count(*) FROM procrastinate_jobs GROUP BY queue_name, status"
)
_OUTBOX_SQL = text("SELECT status, count(*) FROM notices GROUP BY status")
_SCHEDULE_SQL = text("SELECT count(*) FROM job_schedule WHERE last_error IS NOT NULL")


class DatabaseCollector(Collector):
    """The job queue and the outbox, read from the database at each scrape. A table this
    database does not have (procrastinate's, on SQLite) is left out."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from app.core.db import get_engine

        jobs = GaugeMetricFamily(
            "lpp_jobs",
            "Jobs in the PostgreSQL queue, by queue and status.",
            labels=["queue", "status"],
        )
        outbox = GaugeMetricFamily(
            "lpp_outbox_notices", "Notices in the outbox, by delivery status.", labels=["status"]
        )
        failing = GaugeMetricFamily(
            "lpp_job_schedules_failing", "Periodic jobs whose last run failed."
        )
        engine = get_engine()
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                for queue, status, count in _rows(conn, _QUEUE_SQL):
                    jobs.add_metric([queue, status], count)
                yield jobs
            rows = _rows(conn, _OUTBOX_SQL)
            for status, count in rows:
                outbox.add_metric([status], count)
            yield outbox
            rows = _rows(conn, _SCHEDULE_SQL)
            if rows:
                failing.add_metric([], rows[0][0])
                yield failing


def _rows(conn: Any, statement: Any) -> list[tuple[Any, ...]]:
    try:
        return [tuple(row) for row in conn.execute(statement)]
    except SQLAlchemyError:
        conn.rollback()  # a table this deployment lacks; the rest of the scrape goes on
        return []


_DATABASE = DatabaseCollector()


def exposition() -> tuple[bytes, str]:
    """The text a scrape gets: every worker's samples and the database's counts."""
    if os.environ.get(MULTIPROC_ENV):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    else:
        registry = REGISTRY
    scraped = CollectorRegistry()
    scraped.register(_Combined(registry))
    return generate_latest(scraped), CONTENT_TYPE_LATEST


class _Combined(Collector):
    def __init__(self, registry: CollectorRegistry) -> None:
        self.registry = registry

    def collect(self) -> Iterator[Any]:
        yield from self.registry.collect()
        try:
            yield from _DATABASE.collect()
        except SQLAlchemyError as exc:  # the database is down: still serve the rest
            logger.warning("metrics: database counts unavailable: %s", exc.__class__.__name__)


def worker_exited() -> None:
    """Drop this worker's live gauges (pool use) from the sums."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(os.getpid())
