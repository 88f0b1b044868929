"""The task functions, shared by both runners: procrastinate on PostgreSQL (`queue.py`) and
the in-process worker on SQLite (`local.py`). Each is idempotent: running it twice, or on
two workers at once, sends nothing twice (claims, SKIP LOCKED, `job_done` keys, dedup keys)."""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import CursorResult, delete
from sqlmodel import Session, col

from app.accounts.models import Invitation, WebSession
from app.audit import service as audit
from app.core.config import get_settings
from app.core.db import get_engine, utcnow
from app.notifications import delivery, schedule

logger = logging.getLogger("app.jobs")

# Expired links are kept a day past their expiry (a late click is still told "expired"
# by a row that exists, in the logs), then removed.
TOKEN_GRACE = timedelta(days=1)


def deliver_outbox() -> dict[str, int]:
    report = delivery.deliver_due()
    return {"sent": report.sent, "retried": report.retried, "failed": report.failed}


def run_schedules() -> dict[str, int]:
    report = schedule.run()
    return dict(report.__dict__)


def anchor_audit() -> dict[str, int]:
    """The audit chain's head anchored once the newest anchor is 10 minutes old."""
    anchor = audit.anchor_if_stale(get_engine())
    return {"anchored": anchor.seq if anchor is not None else 0}


def purge_expired() -> dict[str, int]:
    """Expired invitations and reset links, and expired web sessions, removed."""
    now = utcnow()
    with Session(get_engine()) as session:
        tokens = session.execute(
            delete(Invitation).where(col(Invitation.expires_at) < now - TOKEN_GRACE)
        )
        sessions = session.execute(delete(WebSession).where(col(WebSession.expires_at) < now))
        session.commit()
    return {"tokens": _count(tokens), "web_sessions": _count(sessions)}


def _count(result: object) -> int:
    return int(result.rowcount) if isinstance(result, CursorResult) else 0


@dataclass(frozen=True)
class Periodic:
    name: str
    func: Callable[[], dict[str, Any]]
    every: Callable[[], float]  # seconds, read from the settings when the worker starts


PERIODIC: tuple[Periodic, ...] = (
    Periodic("deliver_outbox", deliver_outbox, lambda: get_settings().delivery_tick_seconds),
    Periodic("run_schedules", run_schedules, lambda: get_settings().schedule_tick_seconds),
    Periodic("anchor_audit", anchor_audit, lambda: 60),
    Periodic("purge_expired", purge_expired, lambda: 3600),
)
