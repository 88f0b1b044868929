"""Fixed-window request counters kept in the database, so every worker shares them."""

import math
from datetime import datetime, timedelta

from sqlmodel import Field, Session, SQLModel, select

from app.core.db import UTCDateTime, insert_ignoring_conflict, utcnow
from app.core.errors import TooManyRequests


class RateLimitBucket(SQLModel, table=True):
    __tablename__ = "rate_limit_buckets"

    key: str = Field(primary_key=True, max_length=300)
    window_started_at: datetime = Field(sa_type=UTCDateTime)
    count: int = 0


def hit(session: Session, key: str, limit: int, window: timedelta, what: str) -> None:
    """Count one attempt for `key` and refuse it (429) past `limit` in the current window.
    Commits on its own, so the attempt counts even when the request later fails."""
    now = utcnow()
    insert_ignoring_conflict(
        session, RateLimitBucket, {"key": key, "window_started_at": now, "count": 0}
    )
    bucket = session.exec(
        select(RateLimitBucket).where(RateLimitBucket.key == key).with_for_update()
    ).one()
    if now - bucket.window_started_at >= window:
        bucket.window_started_at, bucket.count = now, 0
    bucket.count += 1
    session.add(bucket)
    session.commit()
    if bucket.count > limit:
        wait = math.ceil((bucket.window_started_at + window - now).total_seconds())
        raise TooManyRequests(
            f"Too many {what} from your network. "
            f"Try again in {max(1, math.ceil(wait / 60))} minute(s).",
            headers={"Retry-After": str(max(wait, 1))},
        )
