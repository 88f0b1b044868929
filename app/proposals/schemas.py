from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, StringConstraints

from app.proposals.models import ProposalStatus
from app.rfps.schemas import ClusterIds


class ClustersWrite(BaseModel):
    cluster_ids: ClusterIds  # best first


class SectionWrite(BaseModel):
    text: Annotated[str, StringConstraints(max_length=400_000)]


class AttachmentRead(BaseModel):
    id: str
    key: str
    filename: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


class SectionRead(BaseModel):
    key: str
    title: str
    prompt: str
    required: bool
    word_limit: int
    text: str
    word_count: int


class CompletenessItem(BaseModel):
    loc: list[str | int]
    msg: str


class ProposalRead(BaseModel):
    id: str
    rfp_id: str
    organization_id: str
    organization_name: str
    status: ProposalStatus
    sections: list[SectionRead]
    attachments: list[AttachmentRead]
    version: int | None
    receipt: str | None
    submitted_at: datetime | None
    updated_at: datetime
    # For the partner: what submit would still refuse. Empty when complete.
    missing: list[CompletenessItem]
    self_audit: dict[str, Any] | None = None
    # Direct award: the clusters applied for, best first.
    cluster_ids: list[str] = []


class SubmissionReceipt(BaseModel):
    status: ProposalStatus
    version: int
    receipt: str
    submitted_at: datetime


class SubmissionRow(BaseModel):
    """What staff see of each proposal while bids are sealed."""

    id: str
    organization_id: str
    organization_name: str
    status: ProposalStatus
    submitted_at: datetime | None
    version: int | None = None
    receipt: str | None = None


class VersionRead(BaseModel):
    number: int
    receipt: str
    submitted_at: datetime
