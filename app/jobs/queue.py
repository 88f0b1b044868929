"""The PostgreSQL job queue: procrastinate (its schema installed by migration 0013), shared
by any number of `python -m app worker` processes. Every task of `tasks.PERIODIC` is a
periodic procrastinate task: each tick is deferred once for all workers together (its
periodic defer is unique per task and timestamp), so two workers never run the same tick;
the task functions are the ones the in-process worker runs on SQLite."""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import procrastinate
import psycopg
from procrastinate import job_context

from app.core.config import get_settings
from app.jobs.tasks import PERIODIC, Periodic
from app.notifications import delivery

logger = logging.getLogger("app.jobs")

QUEUE = "lpp"
FINISHED_JOBS_KEPT_HOURS = 24


def cron_every(seconds: float) -> str:
    """A procrastinate cron (6th field: seconds) for 'every n seconds' (n < 60) or minutes."""
    whole = max(1, round(seconds))
    if whole < 60:
        return f"* * * * * */{whole}"
    return f"*/{max(1, whole // 60)} * * * *"


def _conninfo() -> str:
    url = get_settings().database_url
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def _runner(task: Periodic) -> Callable[[int], None]:
    def run(timestamp: int) -> None:
        result: dict[str, Any] = task.func()
        if any(result.values()):
            logger.info("job %s done", task.name, extra={"fields": {"job": task.name, **result}})

    run.__name__ = task.name
    return run


def build_app() -> procrastinate.App:
    app = procrastinate.App(
        connector=procrastinate.PsycopgConnector(conninfo=_conninfo(), min_size=1, max_size=4)
    )
    for task in PERIODIC:
        registered = app.task(name=task.name, queue=QUEUE, queueing_lock=task.name)(_runner(task))
        app.periodic(cron=cron_every(task.every()))(registered)

    @app.periodic(cron="17 * * * *")
    @app.task(name="remove_finished_jobs", queue=QUEUE, pass_context=True)
    async def remove_finished_jobs(context: job_context.JobContext, timestamp: int) -> None:
        # procrastinate keeps a row per job; a job every second would otherwise pile up.
        await context.app.job_manager.delete_old_jobs(
            nb_hours=FINISHED_JOBS_KEPT_HOURS, include_failed=True
        )

    return app


def _listen_for_notices() -> None:
    """Deliver as soon as a transaction that wrote notices commits (it NOTIFYs), instead of
    at the next one-second tick: commit-to-server p50 was 321 ms with the tick alone. The
    periodic task stays, for anything written while no worker listened."""
    while True:
        try:
            with psycopg.connect(_conninfo(), autocommit=True) as conn:
                conn.execute(f"LISTEN {delivery.WAKE_CHANNEL}")
                while True:
                    woken = any(True for _ in conn.notifies(timeout=30, stop_after=1))
                    if woken:
                        delivery.deliver_due()
        except Exception:  # the database away for a moment: listen again shortly
            logger.exception("notice listener failed; listening again in 5 s")
            time.sleep(5)


def run_worker(concurrency: int = 1) -> None:
    """Run one worker until SIGINT/SIGTERM (procrastinate stops it after the current jobs)."""
    app = build_app()
    threading.Thread(target=_listen_for_notices, name="lpp-notices", daemon=True).start()
    app.run_worker(queues=[QUEUE], concurrency=concurrency, wait=True)
