from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, new_id, utcnow


class AssignmentStatus(StrEnum):
    assigned = "assigned"
    submitted = "submitted"


class PanelMember(SQLModel, table=True):
    __tablename__ = "panel_members"
    __table_args__ = (UniqueConstraint("rfp_id", "user_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    rfp_id: str = Field(foreign_key="rfps.id", max_length=32, index=True)
    user_id: str = Field(foreign_key="users.id", max_length=32, index=True)
    invited_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The account's password was set with a token another agency's staff held: it counts
    # on this panel once its owner proves the mailbox (`accounts.policies`).
    needs_verified_email: bool = False


class Attestation(SQLModel, table=True):
    __tablename__ = "attestations"
    __table_args__ = (UniqueConstraint("rfp_id", "user_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    rfp_id: str = Field(foreign_key="rfps.id", max_length=32, index=True)
    user_id: str = Field(foreign_key="users.id", max_length=32)
    no_conflict: bool
    confidentiality: bool
    attested_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ConflictEvent(SQLModel, table=True):
    """Conflicts are kept forever: withdrawing one is a new event, not a deletion."""

    __tablename__ = "conflict_events"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    rfp_id: str = Field(foreign_key="rfps.id", max_length=32, index=True)
    reviewer_id: str = Field(foreign_key="users.id", max_length=32, index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32)
    action: str = Field(max_length=16)  # declared | withdrawn
    reason: str = Field(default="")
    recorded_by: str = Field(max_length=32)
    # The recorder's role: a reviewer's own declaration, or one staff made for the reviewer.
    recorded_by_role: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Stage(StrEnum):
    written = "written"
    interview = "interview"


class Assignment(SQLModel, table=True):
    __tablename__ = "assignments"
    __table_args__ = (UniqueConstraint("proposal_id", "reviewer_id", "stage"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    rfp_id: str = Field(foreign_key="rfps.id", max_length=32, index=True)
    proposal_id: str = Field(foreign_key="proposals.id", max_length=32, index=True)
    reviewer_id: str = Field(foreign_key="users.id", max_length=32, index=True)
    stage: str = Field(default=Stage.written, max_length=16)
    status: str = Field(default=AssignmentStatus.assigned, max_length=16)
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Removed by staff or by a later conflict; kept so its scores stay on record.
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Score(SQLModel, table=True):
    """The current score of one criterion in one assignment."""

    __tablename__ = "scores"
    __table_args__ = (UniqueConstraint("assignment_id", "criterion_key"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    assignment_id: str = Field(foreign_key="assignments.id", max_length=32, index=True)
    criterion_key: str = Field(max_length=64)
    value: int
    comment: str = Field(default="")
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ScoreHistory(SQLModel, table=True):
    """One row per saved score, so an earlier value is never lost."""

    __tablename__ = "score_history"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    assignment_id: str = Field(foreign_key="assignments.id", max_length=32, index=True)
    criterion_key: str = Field(max_length=64)
    value: int
    comment: str = Field(default="")
    saved_by: str = Field(max_length=32)
    saved_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Consensus(SQLModel, table=True):
    __tablename__ = "consensus_scores"
    __table_args__ = (UniqueConstraint("proposal_id", "criterion_key"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    proposal_id: str = Field(foreign_key="proposals.id", max_length=32, index=True)
    criterion_key: str = Field(max_length=64)
    value: int
    rationale: str
    set_by: str = Field(max_length=32)
    set_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ApprovalDecision(SQLModel, table=True):
    __tablename__ = "approval_decisions"

    proposal_id: str = Field(foreign_key="proposals.id", primary_key=True, max_length=32)
    rfp_id: str = Field(foreign_key="rfps.id", max_length=32, index=True)
    approved: bool
    reason: str
    weighted_total: float | None = None
    normalized_total: float | None = None
    rank: int | None = None
    # Two-stage RFPs: each stage's total (weighted_total is then the combined one).
    written_total: float | None = None
    interview_total: float | None = None
    # The per-criterion values the decision rested on, kept for the debrief.
    criteria: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSONType, nullable=False)
    )
    decided_by: str = Field(max_length=32)
    decided_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
