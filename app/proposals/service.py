"""Proposals: the working copy, attachments, immutable submitted versions, sealed reading."""

import hashlib
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, RowMapping, Select, bindparam, insert, update
from sqlalchemy import select as sa_select
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts.models import Organization, User
from app.audit import service as audit
from app.core.db import advisory_lock, new_id, utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable, UnsupportedMediaType
from app.core.etags import check_if_match, etag
from app.core.storage import get_storage
from app.core.uploads import UploadedFile, safe_filename, sniff_type
from app.proposals import policies
from app.proposals.models import Attachment, Proposal, ProposalStatus, ProposalVersion
from app.proposals.schemas import (
    AttachmentRead,
    CompletenessItem,
    ProposalRead,
    SectionRead,
    SubmissionReceipt,
    SubmissionRow,
)
from app.rfps import policies as rfp_policies
from app.rfps import service as rfp_service
from app.rfps.models import Rfp, RfpStatus
from app.self_audit import service as self_audit_service
from app.self_audit.models import SelfAudit


def word_count(text: str) -> int:
    """Words are runs of non-space characters: the rule the editor's live counter uses too.
    str.split() splits on the same Unicode whitespace as a regular expression's \\s."""
    return len(text.split())


def proposal_etag(proposal: Proposal) -> str:
    return etag("proposal", proposal.id, proposal.revision)


def _record(
    session: Session, actor: User, proposal: Proposal, rfp: Rfp, action: str, **data: Any
) -> None:
    ids = {"organization_id": proposal.organization_id, "rfp_id": rfp.id}
    _audit(session, actor, proposal.id, ids, action, **data)


def _audit(
    session: Session,
    actor: User,
    proposal_id: str,
    owner: Mapping[Any, Any],
    action: str,
    **data: Any,
) -> None:
    """A proposal event; `owner` holds its RFP's and its organization's ids."""
    audit.record(
        session=session,
        actor_id=actor.id,
        action=action,
        entity="proposal",
        entity_id=proposal_id,
        # Partner events stay out of the agency's audit view until bids are opened.
        agency_id=None,
        data={"rfp_id": owner["rfp_id"], "organization_id": owner["organization_id"], **data},
        rfp_id=owner["rfp_id"],
    )


def _ensure_open(rfp: Rfp) -> None:
    _ensure_open_at(rfp.status, rfp.submission_deadline)


def _ensure_open_at(status: str, deadline: datetime) -> None:
    if rfp_service.status_at(status, deadline) != RfpStatus.published:
        raise Conflict(
            "The submission deadline has passed; this proposal can no longer change.",
            slug="deadline-passed",
        )


# --- loading -------------------------------------------------------------------------------


def _load(session: Session, proposal_id: str, lock: bool = False) -> tuple[Proposal, Rfp] | None:
    query = select(Proposal).where(Proposal.id == proposal_id)
    if lock:
        query = query.with_for_update()
    proposal = session.exec(query).first()
    if proposal is None:
        return None
    rfp = session.get(Rfp, proposal.rfp_id)
    assert rfp is not None
    return proposal, rfp


# --- the deadline rush's two writes: the upload and the submit -------------------------------
# They use Core statements built once, not the ORM: under a surge of partners at the deadline
# the ORM's per-row work, not the database, was most of their cost.

_P = Proposal.__table__  # type: ignore[attr-defined]
_R = Rfp.__table__  # type: ignore[attr-defined]
_A = Attachment.__table__  # type: ignore[attr-defined]
_V = ProposalVersion.__table__  # type: ignore[attr-defined]
_O = Organization.__table__  # type: ignore[attr-defined]
_S = SelfAudit.__table__  # type: ignore[attr-defined]

# The proposal row is locked (PostgreSQL; SQLite's writers already run one at a time) so an
# upload and a submit of one proposal follow each other.
_UPLOAD_HEADER = (
    sa_select(
        _P.c.organization_id,
        _P.c.rfp_id,
        _R.c.status.label("rfp_status"),
        _R.c.submission_deadline,
        _R.c.required_attachments,
    )
    .join(_R, _R.c.id == _P.c.rfp_id)
    .where(_P.c.id == bindparam("proposal_id"))
    .with_for_update(of=_P)
)
_SUBMIT_HEADER = (
    sa_select(
        _P.c.organization_id,
        _P.c.rfp_id,
        _P.c.status,
        _P.c.sections,
        _P.c.latest_version,
        _R.c.version.label("rfp_version"),
        _R.c.status.label("rfp_status"),
        _R.c.submission_deadline,
        _R.c.sections.label("rfp_sections"),
        _R.c.required_attachments,
        _O.c.name.label("organization_name"),
        _S.c["items"].label("audit_items"),
    )
    .join(_R, _R.c.id == _P.c.rfp_id)
    .join(_O, _O.c.id == _P.c.organization_id)
    .outerjoin(_S, _S.c.organization_id == _P.c.organization_id)
    .where(_P.c.id == bindparam("proposal_id"))
    .with_for_update(of=_P)
)
_ACTIVE_ATTACHMENTS = (
    sa_select(*(_A.c[name] for name in AttachmentRead.model_fields))
    .where(_A.c.proposal_id == bindparam("proposal_id"), _A.c.removed_at.is_(None))
    .order_by(_A.c.created_at, _A.c.id)
)
_VERSION_BY_KEY = sa_select(_V.c.number, _V.c.receipt, _V.c.submitted_at).where(
    _V.c.proposal_id == bindparam("proposal_id"), _V.c.idempotency_key == bindparam("key")
)
_VERSION_BY_NUMBER = sa_select(_V.c.number, _V.c.receipt, _V.c.submitted_at).where(
    _V.c.proposal_id == bindparam("proposal_id"), _V.c.number == bindparam("number")
)
_INSERT_ATTACHMENT = insert(_A)
_INSERT_VERSION = insert(_V)
_KEEP_ATTACHMENTS = (
    update(_A)
    .where(
        _A.c.proposal_id == bindparam("of_proposal"),
        _A.c.removed_at.is_(None),
        _A.c.in_version.is_(False),
    )
    .values(in_version=True)
)
_TOUCH = (
    update(_P)
    .where(_P.c.id == bindparam("proposal_id"))
    .values(revision=_P.c.revision + 1, updated_at=bindparam("now"))
)
_MARK_SUBMITTED = (
    update(_P)
    .where(_P.c.id == bindparam("proposal_id"))
    .values(
        revision=_P.c.revision + 1,
        updated_at=bindparam("now"),
        latest_version=bindparam("number"),
        status=ProposalStatus.submitted.value,
        submitted_at=bindparam("now"),
        withdrawn_at=None,
    )
)


def _partners_only(user: User) -> None:
    """403 for a role that never works on proposals, before any proposal is looked up (so
    the answer says nothing about whether the id exists)."""
    if not policies.may_write_proposals(user):
        raise Forbidden("Only partner organizations work on proposals.")


def _readers_only(user: User) -> None:
    if not policies.may_read_proposals(user):
        raise Forbidden("Your role does not read proposals.")


def _lock_own(session: Session, header: Select[Any], user: User, proposal_id: str) -> RowMapping:
    """The header of the caller's own proposal (404 for other partners), locked."""
    _partners_only(user)
    row = session.connection().execute(header, {"proposal_id": proposal_id}).mappings().first()
    if row is None or not policies.belongs_to(user, row["organization_id"]):
        raise NotFound("Proposal")
    return row


def get_own(
    *, session: Session, user: User, proposal_id: str, lock: bool = False
) -> tuple[Proposal, Rfp]:
    """A proposal of the caller's own organization (404 for other partners)."""
    _partners_only(user)
    loaded = _load(session, proposal_id, lock)
    if loaded is None or not policies.is_partner_of(user, loaded[0]):
        raise NotFound("Proposal")
    return loaded


def check_own(*, session: Session, user: User, proposal_id: str) -> None:
    """get_own's answer without loading the proposal and its RFP: for refusing an upload
    before its body is read."""
    _partners_only(user)
    organization_id = (
        session.connection()
        .execute(sa_select(_P.c.organization_id).where(_P.c.id == proposal_id))
        .scalar()
    )
    if organization_id is None or not policies.belongs_to(user, organization_id):
        raise NotFound("Proposal")


def get_readable(*, session: Session, user: User, proposal_id: str) -> tuple[Proposal, Rfp, bool]:
    """The proposal and whether the caller sees the working copy (its partners) or only the
    latest submitted version (staff after the deadline, assigned reviewers)."""
    _readers_only(user)
    loaded = _load(session, proposal_id)
    if loaded is not None:
        proposal, rfp = loaded
        if policies.is_partner_of(user, proposal):
            return proposal, rfp, True
        if policies.may_read_submitted(session, user, proposal, rfp):
            return proposal, rfp, False
    raise NotFound("Proposal")


def _active_attachments(session: Session, proposal: Proposal) -> list[Attachment]:
    return list(
        session.exec(
            select(Attachment)
            .where(Attachment.proposal_id == proposal.id, col(Attachment.removed_at).is_(None))
            .order_by(col(Attachment.created_at), col(Attachment.id))
        )
    )


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
    _ensure_open(rfp)
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
    _record(session, actor, proposal, rfp, "proposal.created")
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
    _ensure_open(rfp)
    if key not in {s["key"] for s in rfp.sections}:
        raise NotFound("Section")
    proposal.sections = {**proposal.sections, key: text}
    proposal.revision += 1
    proposal.updated_at = utcnow()
    session.add(proposal)
    _record(
        session, actor, proposal, rfp, "proposal.section_saved", section=key, words=word_count(text)
    )
    session.commit()
    return proposal


# --- attachments ---------------------------------------------------------------------------


def add_attachment(
    *, session: Session, actor: User, proposal_id: str, upload: UploadedFile
) -> AttachmentRead:
    """Store an uploaded file for a proposal; the temporary file is consumed or left to the
    caller to remove, and a failure leaves no row and no stored file."""
    header = _lock_own(session, _UPLOAD_HEADER, actor, proposal_id)
    _ensure_open_at(header["rfp_status"], header["submission_deadline"])
    key = upload.fields.get("key", "").strip()
    slots = {a["key"]: a for a in header["required_attachments"]}
    if key not in slots:
        known = ", ".join(slots) or "none"
        raise Unprocessable.at(
            ["body", "key"], f"Unknown attachment key '{key}'; this RFP asks for: {known}."
        )
    real_type = sniff_type(upload.path)
    allowed = slots[key]["content_types"]
    if real_type is None or real_type not in allowed:
        what = "an unrecognized or refused file type" if real_type is None else real_type
        raise UnsupportedMediaType(
            f"The file's content is {what}; '{slots[key]['title']}' accepts {', '.join(allowed)}."
        )
    storage = get_storage()
    # Two uploads of the same bytes share one stored file; the lock keeps a failing upload's
    # clean-up from removing a file another upload has just come to rely on.
    advisory_lock(session, f"blob:{upload.sha256}")
    blob_existed = storage.exists(f"blobs/{upload.sha256[:2]}/{upload.sha256}")
    storage_key = storage.put_temp(upload.path, upload.sha256)
    try:
        now = utcnow()
        attachment = AttachmentRead(
            id=new_id(),
            key=key,
            filename=safe_filename(upload.filename),
            content_type=real_type,
            size=upload.size,
            sha256=upload.sha256,
            created_at=now,
        )
        conn = session.connection()
        conn.execute(
            _INSERT_ATTACHMENT,
            {
                **attachment.model_dump(),
                "proposal_id": proposal_id,
                "storage_key": storage_key,
                "uploaded_by": actor.id,
                "removed_at": None,
                "in_version": False,
            },
        )
        conn.execute(_TOUCH, {"proposal_id": proposal_id, "now": now})
        _audit(
            session,
            actor,
            proposal_id,
            header,
            "proposal.attachment_added",
            attachment_id=attachment.id,
            key=key,
            sha256=upload.sha256,
            size=upload.size,
        )
        session.commit()
    except BaseException:
        session.rollback()
        if not blob_existed:
            _forget_blob(session, upload.sha256, storage_key)
        raise
    return attachment


def _forget_blob(session: Session, sha256: str, storage_key: str) -> None:
    advisory_lock(session, f"blob:{sha256}")
    if session.exec(select(Attachment.id).where(Attachment.sha256 == sha256)).first() is None:
        get_storage().delete(storage_key)
    session.commit()


def delete_attachment(*, session: Session, actor: User, attachment_id: str) -> None:
    _partners_only(actor)  # before the lookup: a 403 must not depend on the id existing
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.removed_at is not None:
        raise NotFound("Attachment")
    proposal, rfp = get_own(
        session=session, user=actor, proposal_id=attachment.proposal_id, lock=True
    )
    _ensure_open(rfp)
    proposal.revision += 1
    proposal.updated_at = utcnow()
    session.add(proposal)
    _record(
        session, actor, proposal, rfp, "proposal.attachment_removed", attachment_id=attachment.id
    )
    if attachment.in_version:
        attachment.removed_at = utcnow()  # a submitted version still needs it
        session.add(attachment)
        session.commit()
        return
    session.delete(attachment)
    advisory_lock(session, f"blob:{attachment.sha256}")
    shared = session.exec(
        select(Attachment.id).where(
            Attachment.sha256 == attachment.sha256, Attachment.id != attachment.id
        )
    ).first()
    session.commit()
    if shared is None:
        get_storage().delete(attachment.storage_key)


def get_attachment_for_download(*, session: Session, user: User, attachment_id: str) -> Attachment:
    _readers_only(user)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("Attachment")
    loaded = _load(session, attachment.proposal_id)
    assert loaded is not None
    proposal, rfp = loaded
    if policies.is_partner_of(user, proposal) and attachment.removed_at is None:
        return attachment
    if policies.may_read_submitted(session, user, proposal, rfp):
        version = latest_version(session, proposal)
        if version is not None and attachment.id in {
            a["id"] for a in version.content["attachments"]
        }:
            return attachment
    raise NotFound("Attachment")


# --- completeness and submission -----------------------------------------------------------


def completeness(
    sections: Sequence[dict[str, Any]],
    required_attachments: Sequence[dict[str, Any]],
    texts: dict[str, str],
    attached_keys: set[str],
    audit_items: Sequence[dict[str, Any]],
) -> list[CompletenessItem]:
    """Everything submit would refuse, each with where it is: the RFP's sections and required
    attachments against the proposal's texts, attachments and self-audit."""
    missing: list[CompletenessItem] = []
    for section in sections:
        text = texts.get(section["key"], "")
        words = word_count(text)
        if section["required"] and words == 0:
            missing.append(
                CompletenessItem(
                    loc=["sections", section["key"]], msg=f"'{section['title']}' is required."
                )
            )
        elif words > section["word_limit"]:
            missing.append(
                CompletenessItem(
                    loc=["sections", section["key"]],
                    msg=f"'{section['title']}' has {words} words; "
                    f"the limit is {section['word_limit']}.",
                )
            )
    for slot in required_attachments:
        if slot["key"] not in attached_keys:
            missing.append(
                CompletenessItem(loc=["attachments", slot["key"]], msg=f"Attach '{slot['title']}'.")
            )
    for message in self_audit_service.problems(audit_items):
        missing.append(CompletenessItem(loc=["self_audit"], msg=message))
    return missing


def _canonical_receipt(content: dict[str, Any]) -> str:
    payload = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def submit(
    *, session: Session, actor: User, proposal_id: str, idempotency_key: str | None
) -> SubmissionReceipt:
    header = _lock_own(session, _SUBMIT_HEADER, actor, proposal_id)
    conn = session.connection()
    if idempotency_key:
        replay = _receipt(conn, _VERSION_BY_KEY, proposal_id=proposal_id, key=idempotency_key)
        if replay is not None:
            return replay
    _ensure_open_at(header["rfp_status"], header["submission_deadline"])
    attachments = [
        AttachmentRead.model_validate(row)
        for row in conn.execute(_ACTIVE_ATTACHMENTS, {"proposal_id": proposal_id}).mappings()
    ]
    texts: dict[str, str] = header["sections"]
    audit_items = header["audit_items"] or []
    missing = completeness(
        header["rfp_sections"],
        header["required_attachments"],
        texts,
        {a.key for a in attachments},
        audit_items,
    )
    if missing:
        raise Unprocessable(
            f"The proposal is not complete: {len(missing)} item(s) to fix.",
            slug="incomplete-proposal",
            errors=[m.model_dump() for m in missing],
        )
    content = {
        "rfp_id": header["rfp_id"],
        "rfp_version": header["rfp_version"],
        "proposal_id": proposal_id,
        "organization_id": header["organization_id"],
        "organization_name": header["organization_name"],
        "sections": {s["key"]: texts.get(s["key"], "") for s in header["rfp_sections"]},
        "attachments": [a.model_dump(mode="json") for a in attachments],
        "self_audit": audit_items,
    }
    receipt = _canonical_receipt(content)
    latest_number: int = header["latest_version"]
    if latest_number and header["status"] == ProposalStatus.submitted:
        latest = _receipt(conn, _VERSION_BY_NUMBER, proposal_id=proposal_id, number=latest_number)
        if latest is not None and latest.receipt == receipt:
            return latest  # nothing changed since the last submission: same version, receipt
    version = SubmissionReceipt(
        status=ProposalStatus.submitted,
        version=latest_number + 1,
        receipt=receipt,
        submitted_at=utcnow(),
    )
    try:
        conn.execute(
            _INSERT_VERSION,
            {
                "id": new_id(),
                "proposal_id": proposal_id,
                "number": version.version,
                "content": content,
                "receipt": receipt,
                "idempotency_key": idempotency_key,
                "submitted_by": actor.id,
                "submitted_at": version.submitted_at,
            },
        )
        conn.execute(_KEEP_ATTACHMENTS, {"of_proposal": proposal_id})
        conn.execute(
            _MARK_SUBMITTED,
            {"proposal_id": proposal_id, "now": version.submitted_at, "number": version.version},
        )
        _audit(
            session,
            actor,
            proposal_id,
            header,
            "proposal.submitted",
            version=version.version,
            receipt=receipt,
        )
        session.commit()
    except IntegrityError:
        # A concurrent retry with the same Idempotency-Key won; answer with its version.
        session.rollback()
        winner = None
        if idempotency_key:
            winner = _receipt(
                session.connection(), _VERSION_BY_KEY, proposal_id=proposal_id, key=idempotency_key
            )
        if winner is None:
            raise
        return winner
    return version


def _receipt(conn: Connection, query: Select[Any], **params: Any) -> SubmissionReceipt | None:
    row = conn.execute(query, params).first()
    if row is None:
        return None
    number, receipt, submitted_at = row
    return SubmissionReceipt(
        status=ProposalStatus.submitted,
        version=number,
        receipt=receipt,
        submitted_at=submitted_at,
    )


def withdraw(*, session: Session, actor: User, proposal_id: str) -> Proposal:
    proposal, rfp = get_own(session=session, user=actor, proposal_id=proposal_id, lock=True)
    _ensure_open(rfp)
    if proposal.status != ProposalStatus.submitted:
        raise Conflict("Only a submitted proposal can be withdrawn.")
    proposal.status = ProposalStatus.withdrawn
    proposal.withdrawn_at = utcnow()
    proposal.revision += 1
    session.add(proposal)
    _record(session, actor, proposal, rfp, "proposal.withdrawn")
    session.commit()
    return proposal


# --- reading -------------------------------------------------------------------------------


def _sections_view(rfp: Rfp, texts: dict[str, str]) -> list[SectionRead]:
    return [
        SectionRead(
            key=s["key"],
            title=s["title"],
            prompt=s.get("prompt", ""),
            required=s["required"],
            word_limit=s["word_limit"],
            text=texts.get(s["key"], ""),
            word_count=word_count(texts.get(s["key"], "")),
        )
        for s in rfp.sections
    ]


def read(*, session: Session, proposal: Proposal, rfp: Rfp, working_copy: bool) -> ProposalRead:
    organization = session.get(Organization, proposal.organization_id)
    version = latest_version(session, proposal)
    if working_copy:
        attachments = _active_attachments(session, proposal)
        audit_row = session.get(SelfAudit, proposal.organization_id)
        missing = completeness(
            rfp.sections,
            rfp.required_attachments,
            proposal.sections,
            {a.key for a in attachments},
            audit_row.items if audit_row else [],
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
    _readers_only(user)
    loaded = _load(session, proposal_id)
    if loaded is None or not policies.is_partner_of(user, loaded[0]):
        raise NotFound("Proposal")
    proposal = loaded[0]
    return list(
        session.exec(
            select(ProposalVersion)
            .where(ProposalVersion.proposal_id == proposal.id)
            .order_by(col(ProposalVersion.number))
        )
    )
