from datetime import date
from typing import Annotated

from pydantic import BaseModel, ConfigDict, StringConstraints, field_validator

from app.rfps.schemas import NeedsArea


class PreferredProviderRead(BaseModel):
    id: str
    organization_id: str
    organization_name: str
    rfp_id: str
    rfp_title: str
    agency_name: str
    state: str
    rank: int | None
    weighted_total: float | None
    grade_levels: list[str]
    states: list[str]
    capacity_clusters: int
    categories: list[str]
    valid_until: date


class ListingUpdate(BaseModel):
    """Staff of the listing agency correct the needs areas a listing covers, with why."""

    model_config = ConfigDict(extra="forbid")

    categories: list[NeedsArea]
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]

    @field_validator("categories")
    @classmethod
    def _sorted_once(cls, categories: list[str]) -> list[str]:
        return sorted(set(categories))
