"""Sign-in throttling by account email and source address, shared by every worker.

Failures slow down further attempts for that account from that source only, so a rival
guessing from their own network never locks the owner out; an account-wide ceiling bounds
the guesses an attacker with many addresses gets in a day. Unknown emails are throttled
exactly like known ones, so the answers reveal nothing about who has an account."""

import ipaddress
import logging
import math
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlmodel import Session, col, delete, select

from app.accounts import mail
from app.accounts.models import ACCOUNT_WIDE, LoginThrottle, User
from app.audit import service as audit
from app.core.config import get_settings
from app.core.db import insert_ignoring_conflict, utcnow
from app.core.errors import TooManyRequests, Unauthorized
from app.core.security import verify_password

logger = logging.getLogger("app.accounts")

SOURCE_MAX = 64
# How long a source the owner signed in from stays trusted past the account-wide ceiling.
TRUSTED_FOR = timedelta(days=90)


def source_key(address: str) -> str:
    """The source that failures count against: the address, or for IPv6 its /64 (one
    subscriber's network, which hands out addresses by the billion)."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address[:SOURCE_MAX]
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


@dataclass
class Attempt:
    email: str
    source: str
    channel: str  # "api" or "web": where the attempt came in, for the audit trail


def _locked_row(session: Session, email: str, source: str, now: datetime) -> LoginThrottle:
    insert_ignoring_conflict(
        session,
        LoginThrottle,
        {"email": email, "source": source, "failures": 0, "window_started_at": now},
    )
    return session.exec(
        select(LoginThrottle)
        .where(LoginThrottle.email == email, LoginThrottle.source == source)
        .with_for_update()
    ).one()


def _wait_text(seconds: int) -> str:
    if seconds < 120:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    if seconds < 7200:
        return f"{math.ceil(seconds / 60)} minutes"
    return f"{math.ceil(seconds / 3600)} hours"


def _refusal(until: datetime, now: datetime, account_wide: bool) -> TooManyRequests:
    wait = max(1, math.ceil((until - now).total_seconds()))
    if account_wide:
        detail = (
            "Sign-in to this account is paused after too many failed attempts. "
            f"Try again in {_wait_text(wait)}, or choose a new password with "
            '"Forgot your password?" on the sign-in page.'
        )
    else:
        detail = f"Too many failed sign-in attempts. Try again in {_wait_text(wait)}."
    return TooManyRequests(detail, headers={"Retry-After": str(wait)})


def _audit(session: Session, attempt: Attempt, user: User | None, action: str, **data: str) -> None:
    audit.record(
        session=session,
        actor_id=user.id if user else None,
        action=action,
        entity="user",
        entity_id=user.id if user else "unknown",
        agency_id=user.agency_id if user else None,
        data={"email": attempt.email, "source": attempt.source, "channel": attempt.channel, **data},
    )


def _delay(failures: int) -> timedelta:
    """The wait after this many failures from one source: none for the first few, then
    1 s, doubling, up to the cap."""
    settings = get_settings()
    beyond = failures - settings.login_free_failures
    if beyond <= 0:
        return timedelta(0)
    return timedelta(seconds=min(settings.login_max_delay_seconds, 2 ** min(beyond - 1, 30)))


def check(session: Session, attempt: Attempt, password: str, audit_success: bool = True) -> User:
    """The active account whose password this is, or a 401 (wrong) or 429 (throttled);
    commits either way, so a failure counts even though the request fails."""
    settings = get_settings()
    now = utcnow()
    window = timedelta(hours=settings.login_window_hours)
    attempt = replace(attempt, source=source_key(attempt.source))
    # The account-wide row first, always: it serializes every attempt on this email (across
    # workers), so parallel guesses cannot all pass the check before one is counted.
    account = _locked_row(session, attempt.email, ACCOUNT_WIDE, now)
    here = _locked_row(session, attempt.email, attempt.source, now)
    user = session.exec(select(User).where(User.email == attempt.email)).first()

    trusted = here.last_success_at is not None and now - here.last_success_at < TRUSTED_FOR
    if account.blocked_until is not None and account.blocked_until > now and not trusted:
        _audit(session, attempt, user, "user.sign_in_failed", reason="account_locked")
        session.commit()
        raise _refusal(account.blocked_until, now, account_wide=True)
    if here.blocked_until is not None and here.blocked_until > now:
        # Not checked; and an attempt during the wait makes it longer, so a client that
        # ignores Retry-After delays only itself (this source, this account). It does not
        # count against the account-wide ceiling: no password was tried.
        here.failures += 1
        here.last_failure_at = now
        here.blocked_until = now + _delay(here.failures)
        session.add(here)
        _audit(session, attempt, user, "user.sign_in_failed", reason="throttled")
        session.commit()
        raise _refusal(here.blocked_until, now, account_wide=False)

    valid = verify_password(password, user.password_hash if user else None)
    if valid and user is not None and user.is_active:
        here.failures, here.last_failure_at, here.blocked_until = 0, None, None
        here.last_success_at = now
        session.add(here)
        if audit_success:
            _audit(session, attempt, user, "user.signed_in")
        session.commit()
        return user

    if here.last_failure_at is not None and now - here.last_failure_at > window:
        here.failures = 0
    here.failures += 1
    here.last_failure_at = now
    delay = _delay(here.failures)
    here.blocked_until = now + delay if delay else None
    if now - account.window_started_at > window:
        account.failures, account.window_started_at = 0, now
    account.failures += 1
    account.last_failure_at = now
    locked = account.failures >= settings.login_account_max_failures
    if locked:
        account.blocked_until = now + window
        account.failures, account.window_started_at = 0, now
    session.add_all([here, account])
    # Rows of sources that have been quiet for a whole window are forgotten.
    session.execute(
        delete(LoginThrottle).where(
            col(LoginThrottle.email) == attempt.email,
            col(LoginThrottle.source).not_in([ACCOUNT_WIDE, attempt.source]),
            col(LoginThrottle.last_failure_at) < now - window,
        )
    )
    _audit(session, attempt, user, "user.sign_in_failed", reason="wrong_credentials")
    if locked:
        _audit(session, attempt, user, "user.sign_in_locked", reason="account_ceiling")
    session.commit()
    if locked and user is not None:
        _tell_owner_of_lock(user, account.blocked_until or now)
    raise Unauthorized("Incorrect email or password.")


def clear(session: Session, email: str) -> None:
    """Forget an account's failures (after its owner set a new password); no commit."""
    session.execute(delete(LoginThrottle).where(col(LoginThrottle.email) == email))


def _tell_owner_of_lock(user: User, until: datetime) -> None:
    body = (
        f"Hello {user.name},\n\n"
        "Someone has tried many wrong passwords for your Lead Partner Pipeline account, so "
        f"signing in to it is paused until {until:%Y-%m-%d %H:%M} UTC, from every network "
        "you have not signed in from before.\n\n"
        "If it was not you, nobody has signed in: the attempts failed. You can choose a new "
        "password now, which also ends the pause:\n"
        f"{mail.link('/forgot-password')}\n"
    )
    try:
        mail.write(to=user.email, subject="Sign-in to your account is paused", body=body)
    except OSError:
        logger.exception("could not write the account-lock message for user %s", user.id)
