from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, new_id, utcnow


class RfpStatus(StrEnum):
    draft = "draft"
    published = "published"
    closed = "closed"
    finalized = "finalized"
    cancelled = "cancelled"


class Selection(StrEnum):
    preferred_list = "preferred_list"  # a state lists approved providers; districts match later
    direct_award = "direct_award"  # a district awards its own named clusters


class Applicants(StrEnum):
    any = "any"  # every partner organization may apply
    district_units = "district_units"  # only the issuing district's own units (internal LPs)


class Rfp(SQLModel, table=True):
    __tablename__ = "rfps"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    agency_id: str = Field(foreign_key="agencies.id", max_length=32, index=True)
    template_key: str | None = Field(default=None, max_length=64)
    title: str = Field(max_length=300)
    summary: str = Field(default="")
    # Stored as published; "closed" is also derived from the deadline on every read.
    status: str = Field(default=RfpStatus.draft, max_length=16, index=True)
    submission_deadline: datetime = Field(sa_type=UTCDateTime)
    sections: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    criteria: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    required_attachments: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    aggregation: str = Field(default="mean", max_length=16)
    approval: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    reviewers_per_proposal: int = 3
    categories: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    selection: str = Field(default=Selection.preferred_list, max_length=16)
    # Direct award: the issuing district's clusters on offer.
    cluster_ids: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    # A listed provider earns a criterion's needs areas at this level or above.
    category_min_level: int | None = None
    applicants: str = Field(default=Applicants.any, max_length=16)
    # Optional later stages: {"interview": {"criteria": [...], "weight": 30}}.
    stages: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSONType, nullable=False))
    # Bumped on every change; the ETag and the document cache key.
    version: int = 1
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    published_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    closed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finalized_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    cancelled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Addendum(SQLModel, table=True):
    __tablename__ = "rfp_addenda"
    __table_args__ = (UniqueConstraint("rfp_id", "number"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    rfp_id: str = Field(foreign_key="rfps.id", max_length=32, index=True)
    number: int
    text: str
    previous_deadline: datetime = Field(sa_type=UTCDateTime)
    submission_deadline: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Question(SQLModel, table=True):
    __tablename__ = "rfp_questions"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    rfp_id: str = Field(foreign_key="rfps.id", max_length=32, index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32)
    asked_by: str = Field(max_length=32)
    text: str
    answer: str | None = None
    answered_by: str | None = Field(default=None, max_length=32)
    answered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
