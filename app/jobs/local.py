"""The in-process worker `serve` runs on SQLite: one thread over the app-owned
`job_schedule` table, running the same task functions as the PostgreSQL workers. A task is
taken with a conditional UPDATE (its row's lock lapses if the process dies), so even several
`serve` processes on one database file run each due task once."""

import logging
import threading
from datetime import timedelta

from sqlalchemy import CursorResult, Engine, or_, update
from sqlmodel import Session, col

from app.core.db import get_engine, insert_ignoring_conflict, utcnow
from app.jobs.models import JobSchedule
from app.jobs.tasks import PERIODIC, Periodic
from app.notifications import delivery

logger = logging.getLogger("app.jobs")

LEASE = timedelta(minutes=10)  # longer than any task runs; a dead process's lease lapses


def _take(engine: Engine, task: Periodic, worker: str) -> bool:
    now = utcnow()
    with Session(engine) as session:
        insert_ignoring_conflict(session, JobSchedule, {"name": task.name, "next_run_at": now})
        taken = session.execute(
            update(JobSchedule)
            .where(
                col(JobSchedule.name) == task.name,
                col(JobSchedule.next_run_at) <= now,
                or_(col(JobSchedule.locked_until).is_(None), col(JobSchedule.locked_until) < now),
            )
            .values(locked_by=worker, locked_until=now + LEASE)
        )
        session.commit()
    return isinstance(taken, CursorResult) and taken.rowcount == 1


def _release(engine: Engine, task: Periodic, error: str | None) -> None:
    now = utcnow()
    with Session(engine) as session:
        row = session.get(JobSchedule, task.name)
        if row is None:
            return
        row.locked_by = row.locked_until = None
        row.last_run_at = now
        row.next_run_at = now + timedelta(seconds=task.every())
        row.last_error = error[:500] if error else None
        row.runs += 1
        session.add(row)
        session.commit()


def run_due(engine: Engine | None = None) -> list[str]:
    """Run every periodic task that is due and not taken by another worker; their names."""
    engine = engine or get_engine()
    worker = delivery.worker_name()
    ran = []
    for task in PERIODIC:
        if not _take(engine, task, worker):
            continue
        error = None
        try:
            task.func()
        except Exception as exc:  # one task's failure must not stop the others
            logger.exception("job %s failed", task.name)
            error = f"{type(exc).__name__}: {exc}"
        _release(engine, task, error)
        ran.append(task.name)
    return ran


class LocalWorker:
    def __init__(self, engine: Engine | None = None, poll_seconds: float = 1.0) -> None:
        self.engine = engine or get_engine()
        self.poll_seconds = poll_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="lpp-jobs", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        delivery.wake.set()
        self._thread.join(timeout)

    def _loop(self) -> None:
        logger.info("in-process job worker started")
        while not self._stop.is_set():
            woken = delivery.wake.is_set()
            delivery.wake.clear()
            try:
                if woken:  # notices were just committed here: send them now
                    delivery.deliver_due(engine=self.engine)
                run_due(self.engine)
            except Exception:  # the database away for a moment: try again next round
                logger.exception("in-process job round failed")
            delivery.wake.wait(self.poll_seconds)
        logger.info("in-process job worker stopped")
