"""RFP shapes, shared by the API and the YAML templates in rfp_templates/."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal, TypeVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from app.rfps.models import Applicants, RfpStatus, Selection
from scoring import approval as approval_math
from scoring import categories as categories_math
from scoring import rubric as rubric_math
from scoring.matching import NEEDS_AREAS

Key = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
LongText = Annotated[str, StringConstraints(max_length=50_000)]

# The file types partners may upload (checked by content, not by name).
ContentType = Literal[
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "text/csv",
    "image/png",
    "image/jpeg",
]
NeedsArea = Literal[
    "human_capital",
    "rigorous_instruction",
    "social_emotional_learning",
    "extended_day",
    "community_engagement",
    "administrative_needs",
    "policy_and_legal",
    "knowledge_management",
]
assert set(NeedsArea.__args__) == set(NEEDS_AREAS)  # type: ignore[attr-defined]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Level(_Strict):
    value: int
    descriptor: Annotated[str, StringConstraints(max_length=2000)]


class Criterion(_Strict):
    key: Key
    title: Title
    description: LongText = ""
    weight: Annotated[float, Field(ge=0, le=100)]
    levels: list[Level]
    min_level: int | None = None
    multiplier: Annotated[float, Field(gt=0, le=100)] = 1.0
    # The needs areas a listed provider earns by reaching the RFP's category level here.
    needs_areas: list[NeedsArea] = []

    def for_scoring(self) -> rubric_math.Criterion:
        """This criterion as the scoring core computes with it."""
        return rubric_math.Criterion(
            key=self.key,
            title=self.title,
            weight=self.weight,
            levels=tuple(rubric_math.Level(lv.value, lv.descriptor) for lv in self.levels),
            min_level=self.min_level,
            multiplier=self.multiplier,
        )


class Section(_Strict):
    key: Key
    title: Title
    prompt: LongText = ""
    word_limit: Annotated[int, Field(ge=1, le=50_000)]
    required: bool = True


class RequiredAttachment(_Strict):
    key: Key
    title: Title
    content_types: Annotated[list[ContentType], Field(min_length=1)]


class ApprovalRule(_Strict):
    threshold: Annotated[float, Field(ge=0, le=100)] = approval_math.DEFAULT_THRESHOLD
    top_n: Annotated[int | None, Field(ge=1)] = None
    all_sections_meet: bool = False

    def for_scoring(self) -> approval_math.ApprovalRule:
        """This rule as the scoring core applies it."""
        return approval_math.ApprovalRule(
            threshold=self.threshold, top_n=self.top_n, all_sections_meet=self.all_sections_meet
        )


KeyedT = TypeVar("KeyedT", Section, Criterion, RequiredAttachment)


def _unique_keys(items: list[KeyedT]) -> list[KeyedT]:
    keys = [item.key for item in items]
    duplicates = sorted({k for k in keys if keys.count(k) > 1})
    if duplicates:
        raise ValueError(f"keys must be unique; repeated: {', '.join(duplicates)}")
    return items


def _unique_ids(ids: list[str]) -> list[str]:
    if len(set(ids)) != len(ids):
        raise ValueError("each cluster may be named once")
    return ids


ClusterIds = Annotated[
    list[Annotated[str, StringConstraints(min_length=1, max_length=32)]],
    Field(max_length=50),
    AfterValidator(_unique_ids),
]
Sections = Annotated[list[Section], AfterValidator(_unique_keys)]
Criteria = Annotated[list[Criterion], AfterValidator(_unique_keys)]
Attachments = Annotated[list[RequiredAttachment], AfterValidator(_unique_keys)]


class InterviewStage(_Strict):
    """Finalists are interviewed and scored on their own rubric; the final total combines
    the written and interview totals, `weight` percent from the interview."""

    criteria: Annotated[Criteria, Field(min_length=1)]
    weight: Annotated[float, Field(gt=0, lt=100)] = 30.0


class Stages(_Strict):
    interview: InterviewStage | None = None


DEADLINE_YEARS_AHEAD = 10


def _plausible_deadline(deadline: datetime) -> datetime:
    # A deadline before 2000 or decades away is a slip of the keyboard; year 9999 with a
    # western offset is not even a date once moved to UTC.
    try:
        in_utc = deadline.astimezone(UTC)
    except OverflowError:
        in_utc = datetime.max.replace(tzinfo=UTC)
    latest = datetime.now(UTC) + timedelta(days=366 * DEADLINE_YEARS_AHEAD)
    if in_utc.year < 2000 or in_utc > latest:
        raise ValueError(
            f"Choose a deadline between the year 2000 and {DEADLINE_YEARS_AHEAD} years from now."
        )
    return deadline


Deadline = Annotated[AwareDatetime, AfterValidator(_plausible_deadline)]


class RfpContent(_Strict):
    """Everything an RFP (or a template) says; validated structurally here and fully at publish."""

    summary: LongText = ""
    sections: Sections = []
    criteria: Criteria = []
    required_attachments: Attachments = []
    aggregation: Literal["mean", "consensus"] = "mean"
    approval: ApprovalRule = ApprovalRule()
    reviewers_per_proposal: Annotated[int, Field(ge=1, le=20)] = 3
    categories: list[NeedsArea] = []
    selection: Selection = Selection.preferred_list
    cluster_ids: ClusterIds = []
    category_min_level: Annotated[int | None, Field(ge=0, le=100)] = None
    applicants: Applicants = Applicants.any
    stages: Stages = Stages()

    @model_validator(mode="after")
    def _clusters_only_for_direct_award(self) -> "RfpContent":
        if self.cluster_ids and self.selection != Selection.direct_award:
            raise ValueError("cluster_ids: clusters are offered only by a direct-award RFP")
        if (
            self.applicants == Applicants.district_units
            and self.selection != Selection.direct_award
        ):
            raise ValueError("applicants: only a district's RFP is limited to its own units")
        if self.stages.interview is not None:
            written = {c.key for c in self.criteria}
            shared = sorted(written & {c.key for c in self.stages.interview.criteria})
            if shared:
                raise ValueError(
                    "stages.interview: interview criteria need keys of their own; "
                    f"also written criteria: {', '.join(shared)}"
                )
        return self

    def interview_rubric(self) -> list[rubric_math.Criterion]:
        """The interview stage's criteria as the scoring core's rubric (none without one)."""
        stage = self.stages.interview
        return [c.for_scoring() for c in stage.criteria] if stage else []

    def rubric(self) -> list[rubric_math.Criterion]:
        """The criteria as the scoring core's rubric."""
        return [criterion.for_scoring() for criterion in self.criteria]

    def category_evidence(self) -> list[categories_math.Evidence]:
        """The criteria that earn needs areas, each with the level that earns them."""
        return [
            categories_math.Evidence(
                criterion.key,
                tuple(criterion.needs_areas),
                self.category_min_level
                if self.category_min_level is not None
                else categories_math.default_min_level([lv.value for lv in criterion.levels]),
            )
            for criterion in self.criteria
            if criterion.needs_areas
        ]


class RfpTemplate(RfpContent):
    key: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9-]{0,63}$")]
    title: Title
    kind: Literal["state", "district"]

    @model_validator(mode="after")
    def _selection_of_its_kind(self) -> "RfpTemplate":
        expected = Selection.direct_award if self.kind == "district" else Selection.preferred_list
        if self.selection != expected:
            raise ValueError(f"a {self.kind} template's selection is {expected}")
        return self


class RfpTemplateSummary(BaseModel):
    key: str
    title: str
    kind: Literal["state", "district"]


class RfpCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    template_key: str | None = None
    title: Title
    submission_deadline: Deadline
    summary: LongText | None = None
    sections: Sections | None = None
    criteria: Criteria | None = None
    required_attachments: Attachments | None = None
    aggregation: Literal["mean", "consensus"] | None = None
    approval: ApprovalRule | None = None
    reviewers_per_proposal: Annotated[int | None, Field(ge=1, le=20)] = None
    categories: list[NeedsArea] | None = None
    selection: Selection | None = None
    cluster_ids: ClusterIds | None = None
    category_min_level: Annotated[int | None, Field(ge=0, le=100)] = None
    applicants: Applicants | None = None
    stages: Stages | None = None


class RfpUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: Title | None = None
    submission_deadline: Deadline | None = None
    summary: LongText | None = None
    sections: Sections | None = None
    criteria: Criteria | None = None
    required_attachments: Attachments | None = None
    aggregation: Literal["mean", "consensus"] | None = None
    approval: ApprovalRule | None = None
    reviewers_per_proposal: Annotated[int | None, Field(ge=1, le=20)] = None
    categories: list[NeedsArea] | None = None
    selection: Selection | None = None
    cluster_ids: ClusterIds | None = None
    category_min_level: Annotated[int | None, Field(ge=0, le=100)] = None
    applicants: Applicants | None = None
    stages: Stages | None = None


class OfferedSchool(BaseModel):
    nces_id: str
    name: str
    grades: str
    enrollment: int | None
    needs: list[str]


class OfferedCluster(BaseModel):
    id: str
    name: str
    grades: str
    enrollment: int
    needs: list[str]
    schools: list[OfferedSchool]


class RfpRead(BaseModel):
    id: str
    agency_id: str
    agency_name: str
    template_key: str | None
    title: str
    status: RfpStatus
    summary: str
    submission_deadline: datetime
    sections: list[Section]
    criteria: list[Criterion]
    required_attachments: list[RequiredAttachment]
    aggregation: Literal["mean", "consensus"]
    approval: ApprovalRule
    reviewers_per_proposal: int
    categories: list[str]
    selection: Selection
    cluster_ids: list[str]
    category_min_level: int | None
    applicants: Applicants
    stages: Stages
    # Direct award: the clusters on offer, as applicants need to know them.
    clusters: list[OfferedCluster] = []
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    closed_at: datetime | None
    finalized_at: datetime | None
    cancelled_at: datetime | None


class AddendumCreate(BaseModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=50_000)]
    submission_deadline: Deadline | None = None


class AddendumRead(BaseModel):
    id: str
    rfp_id: str
    number: int
    text: str
    previous_deadline: datetime
    submission_deadline: datetime | None
    created_at: datetime


class QuestionCreate(BaseModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000)]


class AnswerCreate(BaseModel):
    text: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]


class QuestionRead(BaseModel):
    id: str
    rfp_id: str
    text: str
    answer: str | None
    answered_at: datetime | None
    created_at: datetime
    # Shown to staff and to the asking organization only; the public sees questions unattributed.
    organization_id: str | None = None
