"""Proposals: the working copy and sealed reading. Attachments and submission have their
own modules; all three load and check through the functions here."""

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import Organization, User
from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.etags import check_if_match, etag
from app.proposals import policies
from app.proposals.models import Attachment, Proposal, ProposalStatus, ProposalVersion
from app.proposals.schemas import (
    AttachmentRead,
    CompletenessItem,
    ProposalRead,
    SectionRead,
    SubmissionRow,
)
from app.rfps import policies as rfp_policies
from app.rfps import service as rfp_service
from app.rfps.models import Rfp, RfpStatus, Selection
from app.rfps.schemas import RfpContent
from app.self_audit import service as self_audit_service
from app.self_audit.models import SelfAudit


def word_count(text: str) -> int:
    """Words are runs of non-space characters: the rule the editor's live counter uses too.
    str.split() splits on the same Unicode whitespace as a regular expression's \\s."""
    return len(text.split())


def proposal_etag(proposal: Proposal) -> str:
    return etag("proposal", proposal.id, proposal.revision)


def record(
    session: Session, actor: User, proposal: Proposal, rfp: Rfp, action: str, **data: Any
) -> None:
    """A proposal event, in the caller's transaction, as its last statement before the
    commit: the audit log's head is locked from the event to the commit (one transaction at
    a time appends), so the change itself is flushed first, not while others wait for it.
    (Flushed after, the submit's four writes held every other writer back: p99 of the
    deadline surge on PostgreSQL 5.0 s.)"""
    session.flush()
    audit.record(
        session=session,
        actor_id=actor.id,
        action=action,
        entity="proposal",
        entity_id=proposal.id,
        # Partner events stay out of the agency's audit view until bids are opened.
        agency_id=None,
        data={"rfp_id": rfp.id, "organization_id": proposal.organization_id, **data},
        rfp_id=rfp.id,
    )


def touch(session: Session, proposal: Proposal, now: datetime | None = None) -> None:
    """The working copy changed: a new revision (its ETag) and time."""
    proposal.revision += 1
    proposal.updated_at = now or utcnow()
    session.add(proposal)


def ensure_open(rfp: Rfp) -> None:
    if rfp_service.effective_status(rfp) != RfpStatus.published:
        raise Conflict(
            "The submission deadline has passed; this proposal can no longer change.",
            slug="deadline-passed",
        )


# --- loading -------------------------------------------------------------------------------


def load(session: Session, proposal_id: str, lock: bool = False) -> tuple[Proposal, Rfp]:
    """The proposal and its RFP, the proposal row locked if asked (PostgreSQL; SQLite's
    writers already run one at a time); 404 if there is none. Callers check who may see it."""
    query = select(Proposal).where(Proposal.id == proposal_id)
    if lock:
        query = query.with_for_update()
    proposal = session.exec(query).first()
    if proposal is None:
        raise NotFound("Proposal")
    rfp = session.get(Rfp, proposal.rfp_id)
    assert rfp is not None  # a foreign key
    return proposal, rfp


def partners_only(user: User) -> None:
    """403 for a role that never works on proposals, before any proposal is looked up (so
    the answer says nothing about whether the id exists)."""
    if not policies.may_write_proposals(user):
        raise Forbidden("Only partner organizations work on proposals.")


def readers_only(user: User) -> None:
    if not policies.may_read_proposals(user):
        raise Forbidden("Your role does not read proposals.")


def check_owner(*, session: Session, user: User, proposal_id: str) -> None:
    """`get_own`'s refusal without loading the proposal and its RFP: for an upload, which is
    refused before its body is read and loads both once the body is in."""
    partners_only(user)
    owner = session.exec(select(Proposal.organization_id).where(Proposal.id == proposal_id))
    organization_id = owner.first()
    if organization_id is None or not policies.belongs_to(user, organization_id):
        raise NotFound("Proposal")


def get_own(
    *, session: Session, user: User, proposal_id: str, lock: bool = False
) -> tuple[Proposal, Rfp]:
    """A proposal of the caller's own organization (404 for other partners)."""
    partners_only(user)
    proposal, rfp = load(session, proposal_id, lock)
    if not policies.is_partner_of(user, proposal):
        raise NotFound("Proposal")
    return proposal, rfp


def get_readable(*, session: Session, user: User, proposal_id: str) -> tuple[Proposal, Rfp, bool]:
    """The proposal and whether the caller sees the working copy (its partners) or only the
    latest submitted version (staff after the deadline, assigned reviewers)."""
    readers_only(user)
    proposal, rfp = load(session, proposal_id)
    if policies.is_partner_of(user, proposal):
        return proposal, rfp, True
    if policies.may_read_submitted(session, user, proposal, rfp):
        return proposal, rfp, False
    raise NotFound("Proposal")


def latest_version(session: Session, proposal: Proposal) -> ProposalVersion | None:
    if proposal.latest_version == 0:
        return None
    return session.exec(
        select(ProposalVersion).where(
            ProposalVersion.proposal_id == proposal.id,
            ProposalVersion.number == proposal.latest_version,
        )
    ).first()


# --- the working copy ----------------------------------------------------------------------


def create_proposal(*, session: Session, actor: User, rfp_id: str) -> Proposal:
    if not policies.may_write_proposals(actor) or actor.organization_id is None:
        raise Forbidden("Only partner organizations submit proposals.")
    rfp = rfp_service.get_visible(session=session, user=actor, rfp_id=rfp_id)
    if not rfp_policies.may_apply(session.get(Organization, actor.organization_id), rfp):
        raise NotFound("RFP")  # an internal-Lead-Partner RFP is not open to this organization
    ensure_open(rfp)
    existing = session.exec(
        select(Proposal.id).where(
            Proposal.rfp_id == rfp.id, Proposal.organization_id == actor.organization_id
        )
    ).first()
    if existing is not None:
        raise Conflict(
            f"Your organization already has a proposal for this RFP (id {existing}).",
            slug="duplicate",
        )
    proposal = Proposal(rfp_id=rfp.id, organization_id=actor.organization_id, created_by=actor.id)
    session.add(proposal)
    session.flush()
    record(session, actor, proposal, rfp, "proposal.created")
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            "Your organization already has a proposal for this RFP.", slug="duplicate"
        ) from exc
    return proposal


def save_section(
    *, session: Session, actor: User, proposal_id: str, key: str, text: str, if_match: str | None
) -> Proposal:
    proposal, rfp = get_own(session=session, user=actor, proposal_id=proposal_id, lock=True)
    check_if_match(if_match, proposal_etag(proposal))
    ensure_open(rfp)
    if key not in {s.key for s in rfp_service.content_of(rfp).sections}:
        raise NotFound("Section")
    proposal.sections = {**proposal.sections, key: text}
    proposal.revision += 1
    proposal.updated_at = utcnow()
    session.add(proposal)
    record(
        session, actor, proposal, rfp, "proposal.section_saved", section=key, words=word_count(text)
    )
    session.commit()
    return proposal


def set_clusters(
    *, session: Session, actor: User, proposal_id: str, cluster_ids: list[str], if_match: str | None
) -> Proposal:
    """The clusters a direct-award proposal applies for, best first: some or all of those
    the RFP offers."""
    proposal, rfp = get_own(session=session, user=actor, proposal_id=proposal_id, lock=True)
    check_if_match(if_match, proposal_etag(proposal))
    ensure_open(rfp)
    if rfp.selection != Selection.direct_award:
        raise Conflict(
            "This RFP builds a preferred-provider list; it offers no clusters to choose.",
            slug="not-direct-award",
        )
    for index, cluster_id in enumerate(cluster_ids):
        if cluster_id not in rfp.cluster_ids:
            raise Unprocessable.at(
                ["body", "cluster_ids", index], "This RFP does not offer this cluster."
            )
    proposal.cluster_ids = list(cluster_ids)
    touch(session, proposal)
    record(session, actor, proposal, rfp, "proposal.clusters_ranked", cluster_ids=cluster_ids)
    session.commit()
    return proposal


# --- completeness -----------------------------------------------------------


def completeness(
    content: RfpContent,
    texts: dict[str, str],
    attached_keys: set[str],
    audit_items: Sequence[dict[str, Any]],
    cluster_ids: Sequence[str] = (),
) -> list[CompletenessItem]:
    """Everything submit would refuse, each with where it is: the RFP's sections and required
    attachments against the proposal's texts, attachments and self-audit."""
    missing: list[CompletenessItem] = []
    for section in content.sections:
        words = word_count(texts.get(section.key, ""))
        where = ["sections", section.key]
        if section.required and words == 0:
            missing.append(CompletenessItem(loc=where, msg=f"'{section.title}' is required."))
        elif words > section.word_limit:
            missing.append(
                CompletenessItem(
                    loc=where,
                    msg=f"'{section.title}' has {words} words; the limit is {section.word_limit}.",
                )
            )
    for slot in content.required_attachments:
        if slot.key not in attached_keys:
            missing.append(
                CompletenessItem(loc=["attachments", slot.key], msg=f"Attach '{slot.title}'.")
            )
    for message in self_audit_service.problems(audit_items):
        missing.append(CompletenessItem(loc=["self_audit"], msg=message))
    if content.selection == Selection.direct_award and not cluster_ids:
        missing.append(
            CompletenessItem(loc=["cluster_ids"], msg="Choose at least one cluster to apply for.")
        )
    return missing


def active_attachments(session: Session, proposal_id: str) -> list[Attachment]:
    """The working copy's attachments, oldest first."""
    return list(
        session.exec(
            select(Attachment)
            .where(Attachment.proposal_id == proposal_id, col(Attachment.removed_at).is_(None))
            .order_by(col(Attachment.created_at), col(Attachment.id))
        )
    )


def withdraw(*, session: Session, actor: User, proposal_id: str) -> Proposal:
    proposal, rfp = get_own(session=session, user=actor, proposal_id=proposal_id, lock=True)
    ensure_open(rfp)
    if proposal.status != ProposalStatus.submitted:
        raise Conflict("Only a submitted proposal can be withdrawn.")
    proposal.status = ProposalStatus.withdrawn
    proposal.withdrawn_at = utcnow()
    proposal.revision += 1
    session.add(proposal)
    record(session, actor, proposal, rfp, "proposal.withdrawn")
    session.commit()
    return proposal


# --- reading -------------------------------------------------------------------------------


def _sections_view(rfp: Rfp, texts: dict[str, str]) -> list[SectionRead]:
    return [
        SectionRead(
            key=s.key,
            title=s.title,
            prompt=s.prompt,
            required=s.required,
            word_limit=s.word_limit,
            text=texts.get(s.key, ""),
            word_count=word_count(texts.get(s.key, "")),
        )
        for s in rfp_service.content_of(rfp).sections
    ]


def read(*, session: Session, proposal: Proposal, rfp: Rfp, working_copy: bool) -> ProposalRead:
    organization = session.get(Organization, proposal.organization_id)
    version = latest_version(session, proposal)
    if working_copy:
        attachments = active_attachments(session, proposal.id)
        audit_row = session.get(SelfAudit, proposal.organization_id)
        missing = completeness(
            rfp_service.content_of(rfp),
            proposal.sections,
            {a.key for a in attachments},
            audit_row.items if audit_row else [],
            proposal.cluster_ids,
        )
        return ProposalRead(
            id=proposal.id,
            rfp_id=rfp.id,
            organization_id=proposal.organization_id,
            organization_name=organization.name if organization else "",
            status=ProposalStatus(proposal.status),
            sections=_sections_view(rfp, proposal.sections),
            attachments=[
                AttachmentRead.model_validate(a, from_attributes=True) for a in attachments
            ],
            version=version.number if version else None,
            receipt=version.receipt if version else None,
            submitted_at=proposal.submitted_at,
            updated_at=proposal.updated_at,
            missing=missing,
            cluster_ids=proposal.cluster_ids,
        )
    assert version is not None
    content = version.content
    return ProposalRead(
        id=proposal.id,
        rfp_id=rfp.id,
        organization_id=proposal.organization_id,
        organization_name=content["organization_name"],
        status=ProposalStatus(proposal.status),
        sections=_sections_view(rfp, content["sections"]),
        attachments=[AttachmentRead.model_validate(a) for a in content["attachments"]],
        version=version.number,
        receipt=version.receipt,
        submitted_at=version.submitted_at,
        updated_at=version.submitted_at,
        missing=[],
        self_audit=self_audit_service.read_items(
            proposal.organization_id, content["self_audit"], version.submitted_at
        ).model_dump(mode="json"),
        cluster_ids=content.get("cluster_ids", []),
    )


def list_for_rfp(
    *, session: Session, user: User, rfp_id: str
) -> tuple[list[SubmissionRow] | list[ProposalRead], bool]:
    """Staff's view of an RFP's proposals: rows while sealed, full content once closed."""
    if not policies.may_list_proposals(user):
        raise Forbidden("Only agency staff list an RFP's proposals.")
    rfp = rfp_service.get_visible(session=session, user=user, rfp_id=rfp_id)
    if not rfp_policies.can_manage(user, rfp):
        raise NotFound("RFP")
    proposals = list(
        session.exec(
            policies.visible_proposals(user, rfp).order_by(
                col(Proposal.submitted_at), col(Proposal.id)
            )
        )
    )
    if not policies.staff_may_open(user, rfp):
        names = _organization_names(session, [p.organization_id for p in proposals])
        return [
            SubmissionRow(
                id=p.id,
                organization_id=p.organization_id,
                organization_name=names.get(p.organization_id, ""),
                status=ProposalStatus(p.status),
                submitted_at=p.submitted_at,
            )
            for p in proposals
        ], False
    return [
        read(session=session, proposal=p, rfp=rfp, working_copy=False)
        if policies.was_submitted(p)
        else _withdrawn_row(session, p)
        for p in proposals
    ], True


def _withdrawn_row(session: Session, proposal: Proposal) -> ProposalRead:
    """A proposal withdrawn before the deadline is never opened: its row, no content."""
    organization = session.get(Organization, proposal.organization_id)
    return ProposalRead(
        id=proposal.id,
        rfp_id=proposal.rfp_id,
        organization_id=proposal.organization_id,
        organization_name=organization.name if organization else "",
        status=ProposalStatus(proposal.status),
        sections=[],
        attachments=[],
        version=None,
        receipt=None,
        submitted_at=proposal.submitted_at,
        updated_at=proposal.withdrawn_at or proposal.updated_at,
        missing=[],
    )


def own_proposals(*, session: Session, user: User) -> list[tuple[Proposal, Rfp]]:
    """The caller's organization's proposals, newest RFP deadline first."""
    if not policies.may_write_proposals(user) or user.organization_id is None:
        return []
    rows = session.exec(
        select(Proposal, Rfp)
        .join(Rfp, col(Rfp.id) == Proposal.rfp_id)
        .where(Proposal.organization_id == user.organization_id)
        .order_by(col(Rfp.submission_deadline).desc(), col(Proposal.id))
    )
    return [(p, r) for p, r in rows.all()]


def _organization_names(session: Session, ids: Sequence[str]) -> dict[str, str]:
    rows = session.exec(
        select(Organization.id, Organization.name).where(col(Organization.id).in_(ids))
    )
    return dict(rows.all())


def list_versions(*, session: Session, user: User, proposal_id: str) -> list[ProposalVersion]:
    """The submission history, for the proposal's own organization."""
    readers_only(user)
    proposal, _ = load(session, proposal_id)
    if not policies.is_partner_of(user, proposal):
        raise NotFound("Proposal")
    return list(
        session.exec(
            select(ProposalVersion)
            .where(ProposalVersion.proposal_id == proposal.id)
            .order_by(col(ProposalVersion.number))
        )
    )
