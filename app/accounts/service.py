"""Accounts: agencies, staff, organizations and their partner users, sign-in, invitations."""

import math
from collections.abc import Callable
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from app.accounts import policies
from app.accounts.models import (
    Agency,
    AgencyKind,
    Invitation,
    LoginThrottle,
    Organization,
    Role,
    User,
)
from app.accounts.schemas import AgencyCreate, OrganizationProfile, OrganizationSignUp, StaffCreate
from app.audit import service as audit
from app.core.config import get_settings
from app.core.db import insert_ignoring_conflict, utcnow
from app.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    TooManyRequests,
    Unauthorized,
    Unprocessable,
)
from app.core.security import hash_password, new_opaque_token, token_digest, verify_password


def normalize_email(email: str) -> str:
    return email.strip().lower()


def _email_taken(session: Session, email: str) -> bool:
    return session.exec(select(User.id).where(User.email == email)).first() is not None


def _commit_unique(session: Session, what: str) -> None:
    """Commit, turning a lost race on a unique key into the same 409 the pre-check gives."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"{what} already exists.", slug="duplicate") from exc


# --- sign-in -------------------------------------------------------------------------------


def authenticate(*, session: Session, email: str, password: str) -> User:
    """Check a password, throttling repeated failures per email (known or not, alike)."""
    settings = get_settings()
    email = normalize_email(email)
    now = utcnow()
    insert_ignoring_conflict(
        session, LoginThrottle, {"email": email, "failures": 0, "window_started_at": now}
    )
    throttle = session.exec(
        select(LoginThrottle).where(LoginThrottle.email == email).with_for_update()
    ).one()
    if throttle.locked_until is not None and throttle.locked_until > now:
        session.commit()
        wait = math.ceil((throttle.locked_until - now).total_seconds())
        raise TooManyRequests(
            f"Too many failed sign-in attempts. Try again in {math.ceil(wait / 60)} minute(s).",
            headers={"Retry-After": str(wait)},
        )
    user = session.exec(select(User).where(User.email == email)).first()
    valid = verify_password(password, user.password_hash if user else None)
    if valid and user is not None and user.is_active:
        session.delete(throttle)
        session.commit()
        return user
    window = timedelta(minutes=settings.login_window_minutes)
    if now - throttle.window_started_at > window:
        throttle.failures, throttle.window_started_at = 0, now
    throttle.failures += 1
    if throttle.failures >= settings.login_max_failures:
        throttle.locked_until = now + window
        throttle.failures, throttle.window_started_at = 0, now
    session.add(throttle)
    session.commit()
    raise Unauthorized("Incorrect email or password.")


# --- agencies and staff --------------------------------------------------------------------


def get_agency(*, session: Session, user: User, agency_id: str) -> Agency:
    agency = session.get(Agency, agency_id)
    if agency is None or not policies.can_manage_agency(user, agency):
        raise NotFound("Agency")
    return agency


def create_agency(*, session: Session, actor: User, data: AgencyCreate) -> Agency:
    if not policies.is_admin(actor):
        raise Forbidden("Only a platform administrator creates agencies.")
    if data.cluster_min > data.cluster_max:
        raise Unprocessable.at(["body", "cluster_min"], "cluster_min must not exceed cluster_max")
    if data.parent_id is not None:
        parent = session.get(Agency, data.parent_id)
        if parent is None:
            raise Unprocessable.at(["body", "parent_id"], "parent agency does not exist")
        if data.kind != AgencyKind.district or parent.kind != AgencyKind.state:
            raise Unprocessable.at(["body", "parent_id"], "only a district has a parent, a state")
        if parent.state != data.state:
            raise Unprocessable.at(["body", "parent_id"], "a district's parent is its own state")
    elif data.kind == AgencyKind.district:
        raise Unprocessable.at(["body", "parent_id"], "a district needs its parent state agency")
    agency = Agency(**data.model_dump())
    session.add(agency)
    session.flush()
    audit.record(
        session=session,
        actor_id=actor.id,
        action="agency.created",
        entity="agency",
        entity_id=agency.id,
        agency_id=agency.id,
        data={"name": agency.name, "kind": agency.kind, "state": agency.state},
    )
    session.commit()
    return agency


def create_staff(*, session: Session, actor: User, agency_id: str, data: StaffCreate) -> User:
    if actor.role not in (Role.platform_admin, Role.agency_staff):
        raise Forbidden("Only administrators and agency staff add staff.")
    agency = get_agency(session=session, user=actor, agency_id=agency_id)
    email = normalize_email(str(data.email))
    if _email_taken(session, email):
        raise Conflict("An account with this email already exists.", slug="duplicate")
    user = User(
        email=email,
        name=data.name,
        password_hash=hash_password(data.password),
        role=Role.agency_staff,
        agency_id=agency.id,
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor_id=actor.id,
        action="staff.created",
        entity="user",
        entity_id=user.id,
        agency_id=agency.id,
        data={"email": email, "name": user.name},
    )
    _commit_unique(session, "An account with this email")
    return user


def create_admin(
    *, session: Session, email: str, password: str, name: str = "Administrator"
) -> User:
    email = normalize_email(email)
    if _email_taken(session, email):
        raise Conflict("An account with this email already exists.", slug="duplicate")
    user = User(
        email=email, name=name, password_hash=hash_password(password), role=Role.platform_admin
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor_id=None,
        action="admin.created",
        entity="user",
        entity_id=user.id,
        data={"email": email},
    )
    _commit_unique(session, "An account with this email")
    return user


# --- organizations -------------------------------------------------------------------------


def sign_up_organization(*, session: Session, data: OrganizationSignUp) -> Organization:
    email = normalize_email(str(data.email))
    if _email_taken(session, email):
        raise Conflict("An account with this email already exists.", slug="duplicate")
    profile = data.model_dump(exclude={"password", "email"}, exclude_none=True)
    organization = Organization(email=email, **profile)
    session.add(organization)
    session.flush()
    user = User(
        email=email,
        name=data.contact_name,
        password_hash=hash_password(data.password),
        role=Role.partner,
        organization_id=organization.id,
    )
    session.add(user)
    session.flush()
    audit.record(
        session=session,
        actor_id=user.id,
        action="organization.signed_up",
        entity="organization",
        entity_id=organization.id,
        data={"name": organization.name, "kind": organization.kind, "email": email},
    )
    _commit_unique(session, "An account with this email")
    return organization


def update_organization(
    *, session: Session, actor: User, organization: Organization, data: OrganizationProfile
) -> Organization:
    if not policies.is_member_of(actor, organization.id):
        raise NotFound("Organization")
    changes = data.model_dump(exclude_unset=True)
    for required in ("name", "kind", "contact_name", "capacity_clusters"):
        if required in changes and changes[required] is None:
            raise Unprocessable.at(["body", required], f"{required} cannot be empty")
    # An explicit null clears a field that has an empty value rather than no value.
    empty: dict[str, object] = {"description": "", "states": [], "grade_levels": []}
    for key, value in changes.items():
        setattr(organization, key, empty.get(key) if value is None and key in empty else value)
    organization.updated_at = utcnow()
    session.add(organization)
    audit.record(
        session=session,
        actor_id=actor.id,
        action="organization.updated",
        entity="organization",
        entity_id=organization.id,
        data={"fields": sorted(changes)},
    )
    session.commit()
    return organization


# --- invitations ---------------------------------------------------------------------------


def invite_user(
    *,
    session: Session,
    actor: User,
    email: str,
    name: str,
    role: Role,
    purpose: str,
    agency_id: str | None = None,
    context: dict[str, str] | None = None,
) -> tuple[User, str]:
    """Create (or reuse) the invited account and a fresh single-use token; no commit."""
    email = normalize_email(email)
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, name=name, role=role, agency_id=agency_id)
        session.add(user)
        session.flush()
    elif user.role != role:
        raise Conflict(f"This email belongs to an account with the role {user.role}.")
    token, digest = new_opaque_token()
    hours = get_settings().invite_token_hours
    session.add(
        Invitation(
            user_id=user.id,
            token_digest=digest,
            purpose=purpose,
            context=context or {},
            created_by=actor.id,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    return user, token


def accept_invitation(*, session: Session, token: str, password: str) -> User:
    invitation = session.exec(
        select(Invitation).where(Invitation.token_digest == token_digest(token)).with_for_update()
    ).first()
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= utcnow():
        # One answer for unknown, used and expired tokens: the token reveals nothing.
        raise NotFound("Invitation (it may have been used or have expired)")
    user = session.get(User, invitation.user_id)
    if user is None:
        raise NotFound("Invitation")
    invitation.used_at = utcnow()
    user.password_hash = hash_password(password)
    user.is_active = True
    session.add_all([invitation, user])
    audit.record(
        session=session,
        actor_id=user.id,
        action="invitation.accepted",
        entity="user",
        entity_id=user.id,
        agency_id=user.agency_id,
        data={"purpose": invitation.purpose, **invitation.context},
    )
    session.commit()
    return user


def get_organization(*, session: Session, user: User, organization_id: str) -> Organization | None:
    """The organization if this caller may read it (its partners, administrators, and staff
    of an agency it applied to); None otherwise, so the caller answers 404 either way."""
    organization = session.get(Organization, organization_id)
    if organization is None:
        return None
    if policies.is_member_of(user, organization.id) or policies.is_admin(user):
        return organization
    for rule in _organization_readers:
        if rule(session, user, organization.id):
            return organization
    return None


# Later stages add who else may read a profile (e.g. staff of an RFP the organization applied to)
# without accounts importing them.
OrganizationReader = Callable[[Session, User, str], bool]
_organization_readers: list[OrganizationReader] = []


def register_organization_reader(rule: OrganizationReader) -> None:
    _organization_readers.append(rule)
