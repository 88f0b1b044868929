from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.notifications.models import NoticeStatus


class NotificationRead(BaseModel):
    """An inbox entry (a single-use link is never shown here: it went by email only)."""

    id: str
    kind: str
    subject: str
    body: str
    link: str
    created_at: datetime
    read_at: datetime | None


class NotificationPreferences(BaseModel):
    """Email on or off per optional kind; invitations, resets, receipts and decisions are
    always emailed."""

    model_config = ConfigDict(extra="forbid")

    email: dict[str, bool] = Field(default_factory=dict, max_length=100)


class OutboxRead(BaseModel):
    """An outbox row for the platform admin: who, what kind, and how delivery went; never
    the body (it may hold a single-use link)."""

    id: str
    kind: str
    email: str
    subject: str
    status: NoticeStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    message_id: str
    created_at: datetime
    sent_at: datetime | None
    failed_at: datetime | None
