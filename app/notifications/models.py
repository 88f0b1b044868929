from datetime import datetime
from enum import StrEnum

from sqlalchemy import Index, Text
from sqlmodel import Field, SQLModel

from app.core.db import UTCDateTime, new_id, utcnow


class NoticeStatus(StrEnum):
    pending = "pending"  # email waiting for (another) delivery attempt
    sent = "sent"  # accepted by the SMTP server, or written as an .eml file
    failed = "failed"  # the last attempt failed; an admin may resend
    inbox_only = "inbox_only"  # the recipient turned email off for this kind


class Notice(SQLModel, table=True):
    """One notice to one person: the email outbox row and the in-app inbox entry at once."""

    __tablename__ = "notices"
    __table_args__ = (
        Index("ix_notices_due", "status", "next_attempt_at"),
        Index("ix_notices_inbox", "user_id", "created_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    user_id: str | None = Field(default=None, foreign_key="users.id", max_length=32)
    email: str = Field(max_length=254)
    kind: str = Field(max_length=48)
    subject: str = Field(max_length=300)
    text_body: str = Field(sa_type=Text)
    html_body: str = Field(sa_type=Text)
    link: str = Field(default="", max_length=2000)
    # The same event for the same person makes this key again: the unique index drops it.
    dedup_key: str = Field(max_length=300, unique=True)
    # A single-use link inside: hidden from the inbox, and the bodies are scrubbed once sent.
    secret: bool = False
    # Who is told reveals who bids on this RFP (a receipt, a reminder to a draft's owners, an
    # addendum to its applicants): the admin's outbox and audit views hide it until it closes.
    sealed_rfp_id: str | None = Field(default=None, max_length=32, index=True)
    status: str = Field(default=NoticeStatus.pending, max_length=16)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_error: str | None = Field(default=None, max_length=500)
    message_id: str = Field(max_length=200)
    # The worker delivering it, and until when (a killed worker's claim lapses).
    claimed_by: str | None = Field(default=None, max_length=64)
    claimed_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    sent_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    failed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    read_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class NotificationPreference(SQLModel, table=True):
    """A person's choice for one optional kind; no row means email on."""

    __tablename__ = "notification_preferences"

    user_id: str = Field(foreign_key="users.id", primary_key=True, max_length=32)
    kind: str = Field(primary_key=True, max_length=48)
    email: bool = True


class RfpFollow(SQLModel, table=True):
    """A partner user who asked to hear of an RFP's addenda, answers and deadlines."""

    __tablename__ = "rfp_follows"

    user_id: str = Field(foreign_key="users.id", primary_key=True, max_length=32)
    rfp_id: str = Field(foreign_key="rfps.id", primary_key=True, max_length=32, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
