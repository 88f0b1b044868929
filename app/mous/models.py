from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, new_id, utcnow


class MouStatus(StrEnum):
    draft = "draft"
    executed = "executed"
    amended = "amended"  # executed once; an amendment is being drafted
    terminated = "terminated"


class Mou(SQLModel, table=True):
    __tablename__ = "mous"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    match_id: str = Field(foreign_key="matches.id", max_length=32, unique=True)
    agency_id: str = Field(foreign_key="agencies.id", max_length=32, index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32, index=True)
    status: str = Field(default=MouStatus.draft, max_length=16)
    current_version: int = 1
    executed_version: int | None = None
    executed_pdf_sha256: str | None = Field(default=None, max_length=64)
    executed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    terminated_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    termination_reason: str | None = None
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class MouVersion(SQLModel, table=True):
    """Immutable: every edit of the terms is a new version, with its author and time."""

    __tablename__ = "mou_versions"
    __table_args__ = (UniqueConstraint("mou_id", "number"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    mou_id: str = Field(foreign_key="mous.id", max_length=32, index=True)
    number: int
    terms: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    author_id: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
