from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator, model_validator

from app.core.reference import GRADE_CODES, grade_index
from app.rfps.schemas import NeedsArea

# Spelled out for the OpenAPI enum and the type checker; GRADE_CODES is the vocabulary.
GradeCode = Literal[
    "PK", "KG", "01", "02", "03", "04", "05", "06", "07", "08", "09", "10", "11", "12"
]
assert GradeCode.__args__ == GRADE_CODES  # type: ignore[attr-defined]


class SchoolCreate(BaseModel):
    nces_id: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    state_id: Annotated[str | None, StringConstraints(max_length=50)] = None
    grade_low: GradeCode
    grade_high: GradeCode
    enrollment: Annotated[int | None, Field(ge=0, le=100_000)] = None
    poverty_rate: Annotated[float | None, Field(ge=0, le=1)] = None
    needs: list[NeedsArea] = []

    @model_validator(mode="after")
    def _span(self) -> "SchoolCreate":
        if grade_index(self.grade_low) > grade_index(self.grade_high):
            raise ValueError("grade_low must not be above grade_high")
        return self

    @field_validator("needs")
    @classmethod
    def _unique(cls, needs: list[str]) -> list[str]:
        return sorted(set(needs))


class SchoolRead(BaseModel):
    id: str
    agency_id: str
    nces_id: str
    state_id: str | None
    name: str
    grade_low: str
    grade_high: str
    enrollment: int | None
    poverty_rate: float | None
    needs: list[str]
    cluster_id: str | None
    updated_at: datetime


class ImportError_(BaseModel):
    row: int
    msg: str


class ImportResult(BaseModel):
    created: int
    updated: int
    errors: list[ImportError_]


class ClusterCreate(BaseModel):
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
    school_ids: list[str]


class ClusterRead(BaseModel):
    id: str
    agency_id: str
    name: str
    school_ids: list[str]
    schools: list[SchoolRead]
    grade_low: str
    grade_high: str
    grades: list[str]
    needs: list[str]
    enrollment: int
    preferences: list[str]
    created_at: datetime


class PreferencesWrite(BaseModel):
    organization_ids: list[str]
