from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

Text = Annotated[str, StringConstraints(max_length=10_000)]


class GapPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")

    strategy: Literal["leverage_existing", "hire", "develop", "outsource"]
    text: Text


class AuditItemAnswer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    key: Annotated[str, StringConstraints(max_length=64)]
    rating: Literal["met", "partial", "not_met"]
    evidence: Text = ""
    gap_plan: GapPlan | None = None


class SelfAuditWrite(BaseModel):
    items: list[AuditItemAnswer]


class DimensionProfile(BaseModel):
    share_met: float
    share_partial: float
    share_not_met: float
    answered: int
    unanswered: int
    without_plan: int


class SelfAuditRead(BaseModel):
    organization_id: str
    items: list[AuditItemAnswer]
    profile: dict[str, DimensionProfile]
    missing_responsibilities: list[str]
    missing_items: list[str]
    complete: bool
    updated_at: datetime | None


class AuditItemDefinition(BaseModel):
    key: str
    dimension: Literal["experience", "willingness", "readiness", "competencies"]
    text: str
