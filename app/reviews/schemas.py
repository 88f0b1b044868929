from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import AliasChoices, BaseModel, EmailStr, Field, StringConstraints, field_validator

from app.matching.schemas import AwardRead, UnmatchedCluster
from app.proposals.schemas import ProposalRead
from app.reviews.models import AssignmentStatus, Stage
from app.rfps.schemas import Criterion

Comment = Annotated[str, StringConstraints(max_length=10_000)]


class ReviewerInvite(BaseModel):
    email: EmailStr
    name: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ReviewerInvited(BaseModel):
    user_id: str
    # Null when the email already has a reviewer account: it is added to the panel, and
    # its password stays its owner's.
    invite_token: str | None
    existing_account: bool = False
    # The account's password was set with a token another agency's staff held: it counts
    # on this panel once its owner proves the mailbox through the link mailed to them.
    awaiting_email_proof: bool = False


class PanelMemberRead(BaseModel):
    user_id: str
    email: str
    name: str
    attested: bool
    active: bool  # has set a password
    awaiting_email_proof: bool = False  # not counted on the panel until they prove it


class AttestationCreate(BaseModel):
    no_conflict: bool
    confidentiality: bool

    @field_validator("no_conflict", "confidentiality")
    @classmethod
    def _must_affirm(cls, value: bool) -> bool:
        if value is not True:
            raise ValueError("must be true: the attestation affirms it")
        return value


class AttestationRead(BaseModel):
    rfp_id: str
    user_id: str
    no_conflict: bool
    confidentiality: bool
    attested_at: datetime


class ConflictCreate(BaseModel):
    organization_id: str
    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)] = ""
    reviewer_id: str | None = None
    withdraw: bool = False


class ConflictRead(BaseModel):
    id: str
    rfp_id: str
    reviewer_id: str
    organization_id: str
    action: Literal["declared", "withdrawn"]
    reason: str
    created_at: datetime
    # Who recorded this declaration or withdrawal, and in which role (a reviewer for
    # themselves, or staff for a reviewer): each side withdraws only its own declarations.
    declared_by: str = Field(validation_alias=AliasChoices("declared_by", "recorded_by"))
    declared_by_role: str = Field(
        validation_alias=AliasChoices("declared_by_role", "recorded_by_role")
    )


class AssignmentCreate(BaseModel):
    proposal_id: str
    reviewer_id: str
    stage: Stage = Stage.written  # interview: a finalist's interview, on its own rubric


class AssignmentRow(BaseModel):
    id: str
    rfp_id: str
    proposal_id: str
    reviewer_id: str
    stage: Stage = Stage.written
    status: AssignmentStatus
    submitted_at: datetime | None


class ScoreItem(BaseModel):
    criterion_key: str
    value: int
    comment: Comment = ""

    @field_validator("comment", mode="before")
    @classmethod
    def _no_comment(cls, value: object) -> object:
        return "" if value is None else value  # clients send null for "no comment"


class ScoresWrite(BaseModel):
    scores: list[ScoreItem]


class ScoresSaved(BaseModel):
    """What an autosave answers: the assignment's current scores, without the proposal
    (which a reviewer's page already has; sending it back on every save would multiply
    an autosave's cost)."""

    id: str
    rfp_id: str
    status: AssignmentStatus
    scores: list[ScoreItem]


class AssignmentDetail(BaseModel):
    id: str
    rfp_id: str
    stage: Stage = Stage.written
    status: AssignmentStatus
    proposal: ProposalRead
    criteria: list[Criterion]
    scores: list[ScoreItem]


class CriterionResultRead(BaseModel):
    key: str
    title: str
    mean: float | None
    consensus: int | None
    calibrated_mean: float | None
    scores: list[int]
    flagged: bool


class ResultRow(BaseModel):
    proposal_id: str
    organization_id: str
    organization_name: str
    rank: int | None
    weighted_total: float | None
    normalized_total: float | None
    criteria: list[CriterionResultRead]
    reviews_submitted: int
    reviews_assigned: int
    # Two-stage RFPs: a finalist's interview total (0-100) and the combined total.
    finalist: bool = False
    interview_total: float | None = None
    combined_total: float | None = None


class ResultsRead(BaseModel):
    items: list[ResultRow]
    total: int
    agreement: dict[str, float | None]


class ConsensusWrite(BaseModel):
    criterion_key: str
    value: int
    rationale: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=10_000)
    ]


class ConsensusRead(BaseModel):
    proposal_id: str
    criterion_key: str
    value: int
    rationale: str
    set_at: datetime


class FinalistsWrite(BaseModel):
    proposal_ids: list[str]


class FinalistsRead(BaseModel):
    proposal_ids: list[str]


class FinalizeRequest(BaseModel):
    valid_until: date | None = None


class DecisionRead(BaseModel):
    proposal_id: str
    organization_id: str
    organization_name: str
    decision: Literal["approved", "not_approved"]
    reason: str
    weighted_total: float | None  # the combined total where finalists were interviewed
    rank: int | None
    written_total: float | None = None
    interview_total: float | None = None


class FinalizeRead(BaseModel):
    """The decisions ({"items", "total"}, as the list of decisions) and, for a direct
    award, the awards made and the clusters left without one."""

    items: list[DecisionRead]
    total: int
    awards: list[AwardRead] = []
    unawarded: list[UnmatchedCluster] = []


class DebriefCriterion(BaseModel):
    key: str
    title: str
    scores: list[int]
    comments: list[str]
    consensus: int | None


class Debrief(BaseModel):
    decision: Literal["approved", "not_approved"]
    reason: str
    weighted_total: float | None
    rank: int | None
    criteria: list[DebriefCriterion]
    # Two-stage RFPs: each stage's total and the interview's criteria (scores sorted, no
    # names), empty for a proposal that was not a finalist.
    written_total: float | None = None
    interview_total: float | None = None
    interview_criteria: list[DebriefCriterion] = []
