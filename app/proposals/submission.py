"""Submitting a proposal: an immutable version with a receipt, at most once per change."""

import hashlib
import json
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts.models import Organization, User
from app.core.db import utcnow
from app.core.errors import Unprocessable
from app.notifications import notices
from app.proposals import service as proposal_service
from app.proposals.models import ProposalStatus, ProposalVersion
from app.proposals.schemas import AttachmentRead, SubmissionReceipt
from app.rfps import service as rfp_service
from app.rfps.models import Selection
from app.self_audit.models import SelfAudit


def submit(
    *, session: Session, actor: User, proposal_id: str, idempotency_key: str | None
) -> SubmissionReceipt:
    """Seal the working copy as the next version. A retry with the same Idempotency-Key, or
    a submit with nothing changed since the last version, answers with that version."""
    # The proposal row is locked (PostgreSQL; SQLite's writers already run one at a time), so
    # an upload and a submit of one proposal follow each other.
    proposal, rfp = proposal_service.get_own(
        session=session, user=actor, proposal_id=proposal_id, lock=True
    )
    if idempotency_key:
        replay = _version_by_key(session, proposal_id, idempotency_key)
        if replay is not None:
            return _receipt_of(replay)
    proposal_service.ensure_open(rfp)
    attachments = proposal_service.active_attachments(session, proposal_id)
    audit_row = session.get(SelfAudit, proposal.organization_id)
    audit_items = audit_row.items if audit_row else []
    rfp_content = rfp_service.content_of(rfp)
    missing = proposal_service.completeness(
        rfp_content,
        proposal.sections,
        {a.key for a in attachments},
        audit_items,
        proposal.cluster_ids,
    )
    if missing:
        raise Unprocessable(
            f"The proposal is not complete: {len(missing)} item(s) to fix.",
            slug="incomplete-proposal",
            errors=[m.model_dump() for m in missing],
        )
    organization = session.get(Organization, proposal.organization_id)
    sections = rfp_content.sections
    content = {
        "rfp_id": rfp.id,
        "rfp_version": rfp.version,
        "proposal_id": proposal.id,
        "organization_id": proposal.organization_id,
        "organization_name": organization.name if organization else "",
        "sections": {s.key: proposal.sections.get(s.key, "") for s in sections},
        "attachments": [
            AttachmentRead.model_validate(a, from_attributes=True).model_dump(mode="json")
            for a in attachments
        ],
        "self_audit": audit_items,
    }
    if rfp_content.selection == Selection.direct_award:
        content["cluster_ids"] = list(proposal.cluster_ids)
    receipt = _canonical_receipt(content)
    if proposal.latest_version and proposal.status == ProposalStatus.submitted:
        latest = proposal_service.latest_version(session, proposal)
        if latest is not None and latest.receipt == receipt:
            return _receipt_of(latest)  # nothing changed since: same version, same receipt
    now = utcnow()
    version = ProposalVersion(
        proposal_id=proposal.id,
        number=proposal.latest_version + 1,
        content=content,
        receipt=receipt,
        idempotency_key=idempotency_key,
        submitted_by=actor.id,
        submitted_at=now,
    )
    session.add(version)
    for attachment in attachments:
        attachment.in_version = True  # kept while any version holds it
        session.add(attachment)
    proposal.latest_version = version.number
    proposal.status = ProposalStatus.submitted
    proposal.submitted_at = now
    proposal.withdrawn_at = None
    proposal_service.touch(session, proposal, now)
    notices.submission_receipt(
        session,
        rfp=rfp,
        proposal=proposal,
        version=version.number,
        receipt=receipt,
        submitted_at=now,
    )
    try:
        session.flush()  # where a concurrent retry's version (the same key) is refused
        proposal_service.record(
            session,
            actor,
            proposal,
            rfp,
            "proposal.submitted",
            version=version.number,
            receipt=receipt,
        )
        session.commit()
    except IntegrityError:
        # A concurrent retry with the same Idempotency-Key won; answer with its version.
        session.rollback()
        winner = _version_by_key(session, proposal_id, idempotency_key) if idempotency_key else None
        if winner is None:
            raise
        return _receipt_of(winner)
    return _receipt_of(version)


def _canonical_receipt(content: dict[str, Any]) -> str:
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def _version_by_key(session: Session, proposal_id: str, key: str) -> ProposalVersion | None:
    return session.exec(
        select(ProposalVersion).where(
            ProposalVersion.proposal_id == proposal_id, ProposalVersion.idempotency_key == key
        )
    ).first()


def _receipt_of(version: ProposalVersion) -> SubmissionReceipt:
    return SubmissionReceipt(
        status=ProposalStatus.submitted,
        version=version.number,
        receipt=version.receipt,
        submitted_at=version.submitted_at,
    )
