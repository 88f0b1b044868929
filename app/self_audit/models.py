from datetime import datetime
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, utcnow


class SelfAudit(SQLModel, table=True):
    """An organization's current self-audit; each submitted proposal keeps its own copy."""

    __tablename__ = "self_audits"

    organization_id: str = Field(foreign_key="organizations.id", primary_key=True, max_length=32)
    items: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    updated_by: str = Field(max_length=32)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
