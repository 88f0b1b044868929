from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, StringConstraints

from app.matching.models import MatchStatus


class MatchingRunCreate(BaseModel):
    cluster_ids: list[str] | None = None
    weights: dict[str, float] | None = None


class MatchRead(BaseModel):
    id: str
    run_id: str
    cluster_id: str
    cluster_name: str
    organization_id: str
    organization_name: str
    fit: float
    breakdown: dict[str, float]
    explanation: str
    status: MatchStatus
    decided_at: datetime | None


class UnmatchedCluster(BaseModel):
    cluster_id: str
    reason: str
    cluster_name: str = ""


class MatchingRunRead(BaseModel):
    id: str
    agency_id: str
    objective: float
    matched: int
    first_choice: int
    weights: dict[str, float]
    matches: list[MatchRead]
    unmatched: list[UnmatchedCluster]
    created_at: datetime


class DeclineRequest(BaseModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""


class AwardRead(BaseModel):
    """A direct award: a proposed match the district accepts or declines."""

    match_id: str
    run_id: str
    cluster_id: str
    cluster_name: str
    organization_id: str
    organization_name: str
    fit: float
    explanation: str
    status: MatchStatus
    decline_reason: str | None = None


class AwardsRead(BaseModel):
    rfp_id: str
    run_id: str | None  # the latest award run
    awards: list[AwardRead]
    unawarded: list[UnmatchedCluster]
