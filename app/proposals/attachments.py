"""A proposal's attachments: checked by content, stored once per content, sealed like the bid."""

from sqlmodel import Session, select

from app.accounts.models import User
from app.core.db import advisory_lock, utcnow
from app.core.errors import NotFound, Unprocessable, UnsupportedMediaType
from app.core.storage import get_storage
from app.core.uploads import UploadedFile, safe_filename, sniff_type
from app.proposals import policies
from app.proposals import service as proposal_service
from app.proposals.models import Attachment
from app.rfps import service as rfp_service


def check_uploader(*, session: Session, user: User, proposal_id: str) -> None:
    """Refuse an upload to someone else's proposal before its body is read (403 for a role
    that never uploads, 404 for another organization's proposal).

    The check's read transaction ends here, so nothing is held while the body streams in:
    not SQLite's write lock, not a PostgreSQL connection."""
    try:
        proposal_service.get_own(session=session, user=user, proposal_id=proposal_id)
    finally:
        session.rollback()


def add(*, session: Session, actor: User, proposal_id: str, upload: UploadedFile) -> Attachment:
    """Store an uploaded file for the caller's proposal; a failure leaves no row and no
    stored file (the caller removes the temporary file)."""
    proposal, rfp = proposal_service.get_own(
        session=session, user=actor, proposal_id=proposal_id, lock=True
    )
    proposal_service.ensure_open(rfp)
    key = upload.fields.get("key", "").strip()
    slots = {slot.key: slot for slot in rfp_service.content_of(rfp).required_attachments}
    if key not in slots:
        known = ", ".join(slots) or "none"
        raise Unprocessable.at(
            ["body", "key"], f"Unknown attachment key '{key}'; this RFP asks for: {known}."
        )
    slot = slots[key]
    real_type = sniff_type(upload.path)
    if real_type is None or real_type not in slot.content_types:
        what = "an unrecognized or refused file type" if real_type is None else real_type
        raise UnsupportedMediaType(
            f"The file's content is {what}; '{slot.title}' accepts {', '.join(slot.content_types)}."
        )
    storage = get_storage()
    # Two uploads of the same bytes share one stored file; the lock keeps a failing upload's
    # clean-up from removing a file another upload has just come to rely on.
    advisory_lock(session, f"blob:{upload.sha256}")
    blob_existed = storage.exists(f"blobs/{upload.sha256[:2]}/{upload.sha256}")
    storage_key = storage.put_temp(upload.path, upload.sha256)
    try:
        attachment = Attachment(
            proposal_id=proposal.id,
            key=key,
            filename=safe_filename(upload.filename),
            content_type=real_type,
            size=upload.size,
            sha256=upload.sha256,
            storage_key=storage_key,
            uploaded_by=actor.id,
        )
        session.add(attachment)
        proposal_service.touch(session, proposal)
        session.flush()
        proposal_service.record(
            session,
            actor,
            proposal,
            rfp,
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


def delete(*, session: Session, actor: User, attachment_id: str) -> None:
    proposal_service.partners_only(actor)  # before the lookup: a 403 must not depend on the id
    attachment = session.get(Attachment, attachment_id)
    if attachment is None or attachment.removed_at is not None:
        raise NotFound("Attachment")
    proposal, rfp = proposal_service.get_own(
        session=session, user=actor, proposal_id=attachment.proposal_id, lock=True
    )
    proposal_service.ensure_open(rfp)
    proposal_service.touch(session, proposal)
    proposal_service.record(
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


def get_for_download(*, session: Session, user: User, attachment_id: str) -> Attachment:
    """A file its proposal's partners may fetch while it is in the working copy, and that
    staff and assigned reviewers may fetch once opened if the latest version holds it."""
    proposal_service.readers_only(user)
    attachment = session.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound("Attachment")
    proposal, rfp = proposal_service.load(session, attachment.proposal_id)
    if policies.is_partner_of(user, proposal) and attachment.removed_at is None:
        return attachment
    if policies.may_read_submitted(session, user, proposal, rfp):
        version = proposal_service.latest_version(session, proposal)
        if version is not None and attachment.id in {
            a["id"] for a in version.content["attachments"]
        }:
            return attachment
    raise NotFound("Attachment")
