from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Column, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.core.db import JSONType, UTCDateTime, new_id, utcnow


class ProposalStatus(StrEnum):
    draft = "draft"
    submitted = "submitted"
    withdrawn = "withdrawn"
    approved = "approved"
    not_approved = "not_approved"


class Proposal(SQLModel, table=True):
    """The partner's working copy; what counts is its latest submitted version."""

    __tablename__ = "proposals"
    __table_args__ = (UniqueConstraint("rfp_id", "organization_id"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    rfp_id: str = Field(foreign_key="rfps.id", max_length=32, index=True)
    organization_id: str = Field(foreign_key="organizations.id", max_length=32, index=True)
    status: str = Field(default=ProposalStatus.draft, max_length=16)
    sections: dict[str, str] = Field(
        default_factory=dict, sa_column=Column(JSONType, nullable=False)
    )
    # Direct award: the clusters applied for, best first.
    cluster_ids: list[str] = Field(default_factory=list, sa_column=Column(JSONType, nullable=False))
    latest_version: int = 0
    # Marked by staff after the written review: goes on to the interview stage.
    finalist: bool = False
    submitted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Bumped on every change of the working copy; the ETag.
    revision: int = 1
    created_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Attachment(SQLModel, table=True):
    __tablename__ = "attachments"

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    proposal_id: str = Field(foreign_key="proposals.id", max_length=32, index=True)
    key: str = Field(max_length=64)
    filename: str = Field(max_length=200)
    content_type: str = Field(max_length=100)
    size: int
    sha256: str = Field(max_length=64, index=True)
    storage_key: str = Field(max_length=200)
    uploaded_by: str = Field(max_length=32)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set when removed from the working copy after being part of a submitted version, which
    # still needs the file; never-submitted attachments are deleted outright.
    removed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    in_version: bool = False


class ProposalVersion(SQLModel, table=True):
    """An immutable submission: the content, the self-audit and attachment hashes, a receipt."""

    __tablename__ = "proposal_versions"
    __table_args__ = (
        UniqueConstraint("proposal_id", "number"),
        UniqueConstraint("proposal_id", "idempotency_key"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    proposal_id: str = Field(foreign_key="proposals.id", max_length=32, index=True)
    number: int
    content: dict[str, Any] = Field(sa_column=Column(JSONType, nullable=False))
    receipt: str = Field(max_length=64)
    idempotency_key: str | None = Field(default=None, max_length=200)
    submitted_by: str = Field(max_length=32)
    submitted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
