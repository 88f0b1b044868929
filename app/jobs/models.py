from datetime import datetime

from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, utcnow


class JobSchedule(SQLModel, table=True):
    """The in-process worker's queue (SQLite): one row per periodic task, taken by setting
    `locked_until` in a conditional UPDATE, so even several `serve` workers run each due
    task once."""

    __tablename__ = "job_schedule"

    name: str = Field(primary_key=True, max_length=64)
    next_run_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    locked_by: str | None = Field(default=None, max_length=64)
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_run_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    runs: int = 0


class JobDone(SQLModel, table=True):
    """Work that must happen once ever (an RFP's close, one reminder): its key is inserted
    in the transaction that does it, so a second run, on any worker, finds it and stops."""

    __tablename__ = "job_done"

    key: str = Field(primary_key=True, max_length=200)
    done_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
