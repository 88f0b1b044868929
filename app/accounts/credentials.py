"""Credentials: sign-in and sign-out, web sessions, the password policy, changing and
resetting a password (each ending every earlier token and web session), and the messages
that carry reset links to an account's owner."""

from collections.abc import Sequence
from datetime import timedelta

from sqlmodel import Session, col, delete, select

from app.accounts import throttle
from app.accounts.models import (
    Invitation,
    InvitationPurpose,
    User,
    WebSession,
)
from app.audit import service as audit
from app.core.config import get_settings
from app.core.db import get_engine, read_session, utcnow
from app.core.errors import NotFound, Unauthorized, Unprocessable
from app.core.security import (
    hash_password,
    new_opaque_token,
    password_problem,
    token_digest,
)
from app.notifications import notices


def normalize_email(email: str) -> str:
    return email.strip().lower()


# --- sign-in -------------------------------------------------------------------------------


def authenticate(
    *, session: Session, email: str, password: str, source: str, channel: str = "api"
) -> User:
    """Check a password from this source address, throttled per account and source (known
    emails or not, alike) and audited, failures included (never the password)."""
    attempt = throttle.Attempt(
        email=normalize_email(email)[:254], source=source[: throttle.SOURCE_MAX], channel=channel
    )
    return throttle.check(session, attempt, password)


def _record_sign_out(*, session: Session, user: User) -> None:
    """Audit a web sign-out, in the caller's transaction (the session row's deletion)."""
    audit.record(
        session=session,
        actor_id=user.id,
        action="user.signed_out",
        entity="user",
        entity_id=user.id,
        agency_id=user.agency_id,
        data={"channel": "web"},
    )


# --- web sessions (the browser's cookie holds the token, the table only its digest) -------


def start_web_session(*, user: User, lifetime: timedelta) -> str:
    """A new browser session for an account whose password was just checked, in its own
    transaction; the token for the browser's cookie is returned (only its digest is kept)."""
    token, digest = new_opaque_token()
    with Session(get_engine()) as session:
        session.add(
            WebSession(
                token_digest=digest,
                user_id=user.id,
                # The version the password was checked under: a change made meanwhile
                # leaves this session dead from the start.
                credentials_version=user.credentials_version,
                expires_at=utcnow() + lifetime,
            )
        )
        session.commit()
    return token


def end_web_session(*, token: str) -> None:
    """Sign a browser out: its session row goes, and the sign-out is audited."""
    with Session(get_engine()) as session:
        web = session.get(WebSession, token_digest(token))
        user = session.get(User, web.user_id) if web is not None else None
        session.execute(
            delete(WebSession).where(col(WebSession.token_digest) == token_digest(token))
        )
        if user is not None:
            _record_sign_out(session=session, user=user)
        session.commit()


def web_session_user(*, token: str) -> tuple[User, WebSession] | None:
    """The active account a browser's session token signs in, with its session; None when
    the session expired, or ended with a password change or a sign-out."""
    with read_session() as session:
        web = session.get(WebSession, token_digest(token))
        if web is None or web.expires_at <= utcnow():
            return None
        user = session.get(User, web.user_id)
        if (
            user is None
            or not user.is_active
            or user.credentials_version != web.credentials_version
        ):
            return None
        return user, web


# --- passwords -----------------------------------------------------------------------------


def check_password_policy(
    password: str, email: str | None, loc: Sequence[str] = ("body", "password")
) -> None:
    problem = password_problem(password, email)
    if problem is not None:
        raise Unprocessable.at(list(loc), problem)


def set_password(session: Session, user: User, password: str) -> None:
    """A new password, and with it the end of every token and web session issued before;
    no commit (the caller's transaction holds the rest of the change)."""
    user.password_hash = hash_password(password)
    user.credentials_version += 1
    session.add(user)
    session.execute(delete(WebSession).where(col(WebSession.user_id) == user.id))
    # No link sent before this change still sets a password.
    revoke_tokens(session, user_id=user.id)
    throttle.clear(session, user.email)


def _commit_new_password(session: Session, user: User, password: str, action: str) -> User:
    set_password(session, user, password)
    audit.record(
        session=session,
        actor_id=user.id,
        action=action,
        entity="user",
        entity_id=user.id,
        agency_id=user.agency_id,
    )
    session.commit()
    return user


def revoke_tokens(
    session: Session, *, user_id: str, purpose: str | None = None, panel: str | None = None
) -> None:
    """Mark the account's live tokens revoked: all of them, or those of one purpose (and,
    for invitations, one panel); no commit."""
    now = utcnow()
    live = session.exec(
        select(Invitation).where(
            Invitation.user_id == user_id,
            col(Invitation.used_at).is_(None),
            col(Invitation.revoked_at).is_(None),
        )
    )
    for invitation in live:  # an account has a handful; the panel lives in the JSON context
        if purpose is not None and invitation.purpose != purpose:
            continue
        if panel is not None and invitation.context.get("rfp_id") != panel:
            continue
        invitation.revoked_at = now
        session.add(invitation)


def change_password(
    *, session: Session, actor: User, current_password: str, new_password: str, source: str
) -> User:
    """Self-service change with the current password; the current password is checked
    through the sign-in throttle, so a stolen token cannot be used to guess it."""
    user = session.get(User, actor.id)
    if user is None:
        raise NotFound("Account")
    try:
        throttle.check(
            session,
            throttle.Attempt(
                email=user.email, source=source[: throttle.SOURCE_MAX], channel="password_change"
            ),
            current_password,
            audit_success=False,
        )
    except Unauthorized as exc:
        raise Unprocessable.at(
            ["body", "current_password"], "The current password is not correct."
        ) from exc
    user = session.get(User, actor.id)
    assert user is not None
    check_password_policy(new_password, user.email, ("body", "new_password"))
    return _commit_new_password(session, user, new_password, "user.password_changed")


def send_email_proof(*, session: Session, user: User, subject: str, reason: str) -> None:
    """Mail the owner a link that sets a new password and with it proves the mailbox (a
    password-reset link); `reason` says why they get it. Commits."""
    token = _new_reset_token(session, user)
    notices.email_proof(session, user=user, token=token, subject=subject, reason=reason)
    session.commit()


def _new_reset_token(session: Session, user: User) -> str:
    token, digest = new_opaque_token()
    session.add(
        Invitation(
            user_id=user.id,
            token_digest=digest,
            purpose=InvitationPurpose.password_reset,
            created_by=None,
            expires_at=utcnow() + timedelta(minutes=get_settings().password_reset_minutes),
        )
    )
    return token


def request_password_reset(*, session: Session, email: str) -> None:
    """Write a reset link to the account's owner, if there is an active account with this
    email; nothing otherwise. The caller answers the same either way."""
    email = normalize_email(email)
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None or not user.is_active:
        return
    now = utcnow()
    recent = session.exec(
        select(Invitation.id).where(
            Invitation.user_id == user.id,
            Invitation.purpose == InvitationPurpose.password_reset,
            col(Invitation.created_at) > now - RESET_INTERVAL,
        )
    ).first()
    if recent is not None:
        return  # one message a minute at most: nobody floods an owner's mailbox
    # Earlier links stay valid until they expire or one of them is used (which ends them
    # all): otherwise anyone could kill the owner's link by asking for another.
    token = _new_reset_token(session, user)
    notices.password_reset(session, user=user, token=token)
    audit.record(
        session=session,
        actor_id=None,
        action="user.password_reset_requested",
        entity="user",
        entity_id=user.id,
        agency_id=user.agency_id,
    )
    session.commit()


RESET_INTERVAL = timedelta(minutes=1)


def live_token(session: Session, token: str) -> Invitation | None:
    invitation = session.exec(
        select(Invitation).where(Invitation.token_digest == token_digest(token)).with_for_update()
    ).first()
    if (
        invitation is None
        or invitation.used_at is not None
        or invitation.revoked_at is not None
        or invitation.expires_at <= utcnow()
    ):
        return None
    return invitation


def confirm_password_reset(*, session: Session, token: str, new_password: str) -> User:
    invitation = live_token(session, token)
    user = session.get(User, invitation.user_id) if invitation is not None else None
    if (
        invitation is None
        or invitation.purpose != InvitationPurpose.password_reset
        or user is None
        or not user.is_active
    ):
        raise NotFound("Password reset link (it may have been used or have expired)")
    check_password_policy(new_password, user.email, ("body", "new_password"))
    invitation.used_at = utcnow()
    session.add(invitation)
    # The link was mailed to this address: whoever used it reads that mailbox.
    user.email_verified_at = user.email_verified_at or utcnow()
    return _commit_new_password(session, user, new_password, "user.password_reset")
