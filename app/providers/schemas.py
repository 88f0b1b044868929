from datetime import date

from pydantic import BaseModel


class PreferredProviderRead(BaseModel):
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
