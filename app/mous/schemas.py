from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from app.mous.defaults import AUTONOMIES, MATRIX_AREAS
from app.mous.models import MouStatus

Text = Annotated[str, StringConstraints(max_length=20_000)]
Short = Annotated[str, StringConstraints(strip_whitespace=True, max_length=300)]
Party = Literal["district", "lead_partner", "shared"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Contact(_Strict):
    name: Short
    contact_name: Short = ""
    contact_email: EmailStr | None = None


class Parties(_Strict):
    district: Contact
    lead_partner: Contact


class MouSchool(_Strict):
    nces_id: Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
    name: Short
    grade_low: Short
    grade_high: Short


class AutonomyClause(_Strict):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
    title: Short
    enabled: bool


class Autonomies(_Strict):
    people: list[AutonomyClause]
    time: list[AutonomyClause]
    money: list[AutonomyClause]
    program: list[AutonomyClause]


class Benchmark(_Strict):
    metric: Short
    kind: Literal["leading", "achievement"]
    baseline: float | None = None
    targets: dict[str, float]  # year ("1".."5") -> target


class Funding(_Strict):
    per_pupil: Annotated[float | None, Field(ge=0)] = None
    fixed_amount: Annotated[float | None, Field(ge=0)] = None
    management_fee_percent: Annotated[float | None, Field(ge=0, le=100)] = None
    notes: Text = ""


class Signatory(_Strict):
    party: Literal["district", "lead_partner"]
    name: Short
    title: Short


class MouTerms(_Strict):
    """The whole of an MOU's terms: every PUT sends all of them."""

    title: Short
    parties: Parties
    schools: Annotated[list[MouSchool], Field(min_length=1)]
    term_years: Annotated[int, Field(ge=3, le=5)]
    start_date: date
    lead_partner_responsibilities: list[Text]
    autonomies: Autonomies
    responsibilities: dict[str, Party]
    benchmarks: list[Benchmark]
    funding: Funding
    reporting_cadence: Literal["monthly", "quarterly", "semiannual", "annual"] = "quarterly"
    renewal_terms: Text = ""
    termination_terms: Text = ""
    signatories: list[Signatory] = []
    notes: Text = ""

    @model_validator(mode="after")
    def _rules(self) -> "MouTerms":
        areas = [key for key, _ in MATRIX_AREAS]
        if sorted(self.responsibilities) != sorted(areas):
            raise ValueError(
                f"responsibilities must assign exactly these areas: {', '.join(areas)}"
            )
        for area in AUTONOMIES:
            keys = [c.key for c in getattr(self.autonomies, area)]
            if len(keys) != len(set(keys)):
                raise ValueError(f"autonomies.{area} lists a clause twice")
        for benchmark in self.benchmarks:
            for year_text in benchmark.targets:
                if not year_text.isdigit() or not 1 <= int(year_text) <= self.term_years:
                    raise ValueError(
                        f"'{benchmark.metric}': target year {year_text} is outside the "
                        f"{self.term_years}-year term"
                    )
                year = int(year_text)
                # Leading indicators carry years 1-2; student achievement is judged from year 3.
                if benchmark.kind == "leading" and year > 2:
                    raise ValueError(
                        f"'{benchmark.metric}': leading indicators set targets for years 1-2 only"
                    )
                if benchmark.kind == "achievement" and year < 3:
                    raise ValueError(f"'{benchmark.metric}': achievement targets start in year 3")
        return self


class MouRead(MouTerms):
    model_config = ConfigDict(extra="ignore")

    id: str
    match_id: str
    agency_id: str
    organization_id: str
    version: int
    status: MouStatus
    executed_version: int | None
    executed_at: datetime | None
    executed_pdf_sha256: str | None
    terminated_at: datetime | None
    termination_reason: str | None
    version_created_at: datetime
    version_author_id: str


class MouVersionRead(BaseModel):
    number: int
    author_id: str
    created_at: datetime
    executed: bool


class DiffEntry(BaseModel):
    path: str
    change: Literal["added", "removed", "changed"]
    before: Any = None
    after: Any = None


class MouDiff(BaseModel):
    from_version: int
    to_version: int
    changes: list[DiffEntry]


class TerminateRequest(BaseModel):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]
