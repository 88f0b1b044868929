from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, new_id, utcnow


class MatchStatus(StrEnum):
    proposed = "proposed"
    accepted = "accepted"
    declined = "declined"


class MatchingRun(SQLModel, table=True):
    """One optimal assignment of providers to a district's clusters, with what it used."""

    __tablename__ = "matching_runs"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    agency_id: str = Field(foreign_key="agencies.id", max_length=32, index=True)
    # Set for the award of a direct-award RFP; None for a matching against the list.
    rfp_id: str | None = Field(default=None, foreign_key="rfps.id", max_length=32, index=True)
    weights: dict[str, float] = Field(sa_column=Column(JSONType, nullable=False))
    inputs: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    objective: float
    matched: int
    first_choice: int
    unmatched: list[dict[str, str]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Match(SQLModel, table=True):
    __tablename__ = "matches"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    run_id: str = Field(foreign_key="matching_runs.id", max_length=32, index=True)
    agency_id: str = Field(foreign_key="agencies.id", max_length=32, index=True)
    cluster_id: str = Field(foreign_key="clusters.id", max_length=32, index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32, index=True)
    fit: float
    breakdown: dict[str, float] = Field(sa_column=Column(JSONType, nullable=False))
    explanation: str
    status: str = Field(default=MatchStatus.proposed, max_length=16)
    decided_by: str | None = Field(default=None, max_length=32)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    decline_reason: str | None = None
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
