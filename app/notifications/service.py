"""Notices: written in the caller's transaction (`notify`), read in the inbox, chosen per
kind in the preferences, and RFPs followed. Delivery is in `delivery.py`."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import event, text
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.audit import service as audit
from app.core.config import get_settings
from app.core.db import insert_ignoring_conflict, new_id, utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.pagination import PageParams, paginate
from app.notifications import delivery, policies
from app.notifications.kinds import KINDS, OPTIONAL
from app.notifications.models import (
    Notice,
    NoticeStatus,
    NotificationPreference,
    RfpFollow,
)
from app.notifications.render import render
from app.rfps import policies as rfp_policies
from app.rfps.models import Rfp

# Keys of Session.info: ids of the notices this transaction wrote (delivered after commit),
# and whether it has woken the workers.
WRITTEN = "notices_written"
WOKEN = "notices_woke_workers"


def link(path: str) -> str:
    """An absolute link to a page, from PUBLIC_BASE_URL (never from a request's Host)."""
    return get_settings().public_base_url.rstrip("/") + path


def emails_sent() -> bool:
    """Whether notices go out by email (SMTP_URL set), or only to files and the inbox."""
    return delivery.smtp_target(get_settings().smtp_url) is not None


def message_id(notice_id: str) -> str:
    """Stable per notice: a retry or a resend carries the same Message-ID, so a mail system
    that saw it once can tell."""
    host = urlsplit(get_settings().public_base_url).hostname or "lead-partner-pipeline"
    return f"<{notice_id}@{host}>"


@dataclass(frozen=True)
class Recipient:
    user: User
    reason: dict[str, Any] = field(default_factory=dict)  # extra template values for them


def notify(
    session: Session,
    *,
    kind: str,
    recipients: Iterable[User | Recipient],
    event_key: str,
    path: str,
    context: dict[str, Any],
    facts: Sequence[tuple[str, str]] = (),
    sealed_rfp_id: str | None = None,
) -> int:
    """Write one notice per recipient in the caller's transaction (no commit). The same
    `event_key` for the same person never makes a second notice. Returns how many rows the
    statement offered (duplicates included)."""
    spec = KINDS[kind]
    url = link(path)
    _wake_workers(session)
    wanted = _email_wanted(session, kind, recipients := list(recipients))
    now = utcnow()
    count = 0
    for entry in recipients:
        recipient = entry if isinstance(entry, Recipient) else Recipient(entry)
        user = recipient.user
        notice_id = new_id()
        body = render(
            kind,
            {**context, **recipient.reason, "name": user.name, "link": url, "facts": list(facts)},
        )
        insert_ignoring_conflict(
            session,
            Notice,
            {
                "id": notice_id,
                "user_id": user.id,
                "email": user.email,
                "kind": kind,
                "subject": body.subject,
                "text_body": body.text,
                "html_body": body.html,
                "link": url,
                "dedup_key": f"{kind}:{event_key}:{user.id}"[:300],
                "secret": spec.secret,
                "sealed_rfp_id": sealed_rfp_id,
                "status": NoticeStatus.pending if user.id in wanted else NoticeStatus.inbox_only,
                "attempts": 0,
                "next_attempt_at": now,
                "message_id": message_id(notice_id),
                "created_at": now,
            },
        )
        session.info.setdefault(WRITTEN, []).append(notice_id)
        count += 1
    return count


def _wake_workers(session: Session) -> None:
    """On PostgreSQL, tell the `worker` processes at the commit (NOTIFY is transactional:
    a rolled-back change wakes nobody) so they send at once, not at their next round."""
    if session.info.get(WOKEN) or session.get_bind().dialect.name != "postgresql":
        return
    session.execute(text(f"SELECT pg_notify('{delivery.WAKE_CHANNEL}', '')"))
    session.info[WOKEN] = True


def _email_wanted(session: Session, kind: str, recipients: list[User | Recipient]) -> set[str]:
    ids = {(r.user if isinstance(r, Recipient) else r).id for r in recipients}
    if not KINDS[kind].optional or not ids:
        return ids
    off = session.exec(
        select(NotificationPreference.user_id).where(
            NotificationPreference.kind == kind,
            col(NotificationPreference.user_id).in_(ids),
            col(NotificationPreference.email).is_(False),
        )
    ).all()
    return ids - set(off)


@event.listens_for(OrmSession, "after_commit")
def _hand_over(session: OrmSession) -> None:
    # Only after the commit: a notice of a rolled-back change never leaves.
    session.info.pop(WOKEN, None)
    ids = session.info.pop(WRITTEN, None)
    if ids:
        delivery.after_commit(list(ids))


@event.listens_for(OrmSession, "after_rollback")
def _forget(session: OrmSession) -> None:
    session.info.pop(WRITTEN, None)
    session.info.pop(WOKEN, None)


# --- the inbox -----------------------------------------------------------------------------


def inbox(
    *, session: Session, user: User, unread: bool, params: PageParams
) -> tuple[Sequence[Notice], int]:
    query = policies.inbox_of(user)
    if unread:
        query = query.where(col(Notice.read_at).is_(None))
    return paginate(session, query.order_by(col(Notice.created_at).desc()), params)


def unread_count(*, session: Session, user: User) -> int:
    query = policies.inbox_of(user).where(col(Notice.read_at).is_(None))
    return int(session.exec(select(func.count()).select_from(query.subquery())).one())


def mark_read(*, session: Session, user: User, notice_id: str) -> Notice:
    notice = session.exec(policies.inbox_of(user).where(Notice.id == notice_id)).first()
    if notice is None:
        raise NotFound("Notification")
    if notice.read_at is None:
        notice.read_at = utcnow()
        session.add(notice)
        session.commit()
    return notice


def inbox_body(notice: Notice) -> str:
    """What the inbox shows: a secret link is never shown there (it was emailed)."""
    if notice.secret:
        return "This message carried a single-use link; it was sent by email only."
    return notice.text_body


# --- preferences ---------------------------------------------------------------------------


def preferences(*, session: Session, user: User) -> dict[str, bool]:
    chosen = {
        p.kind: p.email
        for p in session.exec(
            select(NotificationPreference).where(NotificationPreference.user_id == user.id)
        )
    }
    return {kind: chosen.get(kind, True) for kind in OPTIONAL}


def set_preferences(*, session: Session, user: User, email: dict[str, bool]) -> dict[str, bool]:
    for kind, value in email.items():
        if kind not in KINDS:
            raise Unprocessable.at(["body", "email", kind], "No notice of this kind exists.")
        if not KINDS[kind].optional and not value:
            raise Unprocessable.at(
                ["body", "email", kind], "This notice is always emailed; it cannot be turned off."
            )
    for kind, value in email.items():
        if not KINDS[kind].optional:
            continue
        row = session.get(NotificationPreference, (user.id, kind))
        if row is None:
            row = NotificationPreference(user_id=user.id, kind=kind)
        row.email = value
        session.add(row)
    session.commit()
    return preferences(session=session, user=user)


# --- following an RFP ----------------------------------------------------------------------


def _visible_rfp(session: Session, user: User, rfp_id: str) -> Rfp:
    rfp = session.get(Rfp, rfp_id)
    if rfp is None or not rfp_policies.can_view(user, rfp):
        raise NotFound("RFP")
    return rfp


def follow(*, session: Session, user: User, rfp_id: str) -> None:
    if not policies.may_follow(user):
        raise Forbidden("Only partner organizations follow RFPs.")
    rfp = _visible_rfp(session, user, rfp_id)
    if session.get(RfpFollow, (user.id, rfp.id)) is None:
        insert_ignoring_conflict(
            session, RfpFollow, {"user_id": user.id, "rfp_id": rfp.id, "created_at": utcnow()}
        )
        audit.record(
            session=session,
            actor_id=user.id,
            action="rfp.followed",
            entity="rfp",
            entity_id=rfp.id,
            agency_id=rfp.agency_id,
        )
    session.commit()


def unfollow(*, session: Session, user: User, rfp_id: str) -> None:
    if not policies.may_follow(user):
        raise Forbidden("Only partner organizations follow RFPs.")
    rfp = _visible_rfp(session, user, rfp_id)
    row = session.get(RfpFollow, (user.id, rfp.id))
    if row is not None:
        session.delete(row)
        audit.record(
            session=session,
            actor_id=user.id,
            action="rfp.unfollowed",
            entity="rfp",
            entity_id=rfp.id,
            agency_id=rfp.agency_id,
        )
    session.commit()


def is_following(*, session: Session, user: User | None, rfp_id: str) -> bool:
    return user is not None and session.get(RfpFollow, (user.id, rfp_id)) is not None


# --- the admin's outbox --------------------------------------------------------------------


def outbox(
    *, session: Session, actor: User, status: str | None, params: PageParams
) -> tuple[Sequence[Notice], int]:
    if not policies.may_work_outbox(actor):
        raise Forbidden("Only platform administrators see the outbox.")
    query = policies.outbox_for(actor, utcnow())
    if status is not None:
        query = query.where(Notice.status == status)
    return paginate(session, query.order_by(col(Notice.created_at).desc()), params)


def resend(*, session: Session, actor: User, notice_id: str) -> Notice:
    """A failed notice goes back to pending with fresh attempts (same Message-ID)."""
    if not policies.may_work_outbox(actor):
        raise Forbidden("Only platform administrators resend notices.")
    notice = session.exec(
        policies.outbox_for(actor, utcnow()).where(Notice.id == notice_id).with_for_update()
    ).first()
    if notice is None:
        raise NotFound("Notice")
    if notice.status != NoticeStatus.failed:
        raise Conflict(f"Only a failed notice is resent; this one is {notice.status}.")
    notice.status = NoticeStatus.pending
    notice.attempts = 0
    notice.next_attempt_at = utcnow()
    notice.claimed_by = notice.claimed_until = None
    notice.failed_at = None
    session.add(notice)
    audit.record(
        session=session,
        actor_id=actor.id,
        action="notice.resent",
        entity="notice",
        entity_id=notice.id,
        data={"kind": notice.kind, "message_id": notice.message_id},
        rfp_id=notice.sealed_rfp_id,
    )
    session.info.setdefault(WRITTEN, []).append(notice.id)
    session.commit()
    return notice
