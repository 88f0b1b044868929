"""Accounts: agencies, staff, organizations and their partner users, invitations (sign-in
and passwords: `credentials`)."""

import logging
from datetime import timedelta

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import credentials, policies
from app.accounts.credentials import normalize_email
from app.accounts.models import (
    Agency,
    AgencyKind,
    Invitation,
    InvitationPurpose,
    Organization,
    OrganizationKind,
    Role,
    User,
)
from app.accounts.schemas import (
    AgencyCreate,
    OrganizationProfile,
    OrganizationSignUp,
    StaffCreate,
    UnitCreate,
)
from app.audit import service as audit
from app.core.config import get_settings
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.security import (
    hash_password,
    new_opaque_token,
)
from app.notifications import notices

logger = logging.getLogger("app.accounts")


def _email_taken(session: Session, email: str) -> bool:
    return session.exec(select(User.id).where(User.email == email)).first() is not None


def _commit_unique(session: Session, what: str) -> None:
    """Commit, turning a lost race on a unique key into the same 409 the pre-check gives."""
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(f"{what} already exists.", slug="duplicate") from exc


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
    if not policies.may_add_staff(actor):
        raise Forbidden("Only administrators and agency staff add staff.")
    agency = get_agency(session=session, user=actor, agency_id=agency_id)
    email = normalize_email(str(data.email))
    credentials.check_password_policy(data.password, email)
    if _email_taken(session, email):
        raise Conflict("An account with this email already exists.", slug="duplicate")
    user = User(
        email=email,
        name=data.name,
        password_hash=hash_password(data.password),
        role=policies.STAFF_ROLE,
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
    credentials.check_password_policy(password, email, ("password",))
    if _email_taken(session, email):
        raise Conflict("An account with this email already exists.", slug="duplicate")
    user = User(
        email=email, name=name, password_hash=hash_password(password), role=policies.ADMIN_ROLE
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


UNIT_ONLY_BY_DISTRICT = (
    "A district's own unit is registered by that district's staff, who invite its first user."
)


def sign_up_organization(*, session: Session, data: OrganizationSignUp) -> Organization:
    if data.kind == OrganizationKind.district_unit:
        raise Unprocessable.at(["body", "kind"], UNIT_ONLY_BY_DISTRICT)
    email = normalize_email(str(data.email))
    credentials.check_password_policy(data.password, email)
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
        role=policies.PARTNER_ROLE,
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
    # Only a district makes an organization its unit, and a unit stays one.
    new_kind = changes.get("kind", organization.kind)
    unit = OrganizationKind.district_unit
    if new_kind != organization.kind and unit in (new_kind, organization.kind):
        raise Unprocessable.at(["body", "kind"], UNIT_ONLY_BY_DISTRICT)
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
    organization_id: str | None = None,
) -> tuple[User, str | None]:
    """The invited account and a fresh single-use token to set its first password, or no
    token when the email already has an account (no commit).

    An invitation never sets credentials on an account someone already holds: an existing
    account of the invited role is returned without a token (the caller adds what it
    invites to); one of any other role is refused without saying which. An account whose
    person has not yet chosen a password belongs, until they do, to the agency whose staff
    created it: only its staff get new tokens for it, and others are refused, so nobody can
    invite an address first and later hold the key to another agency's panel."""
    email = normalize_email(email)
    context = context or {}
    user = session.exec(select(User).where(User.email == email)).first()
    if user is not None and not policies.invitation_may_reach(user, role):
        raise Conflict(
            "This email belongs to an account that cannot be invited here. "
            "Ask the person for another email address.",
            slug="email-in-use",
        )
    if user is not None and (user.password_hash is not None or not user.is_active):
        return user, None
    if user is not None and not _pending_for_agency_of(session, user, actor):
        raise Conflict(
            "This email has an invitation from elsewhere that has not been accepted yet. "
            "Invite them again once they have chosen a password.",
            slug="invitation-pending",
        )
    if user is None:
        user = User(
            email=email, name=name, role=role, agency_id=agency_id, organization_id=organization_id
        )
        session.add(user)
        session.flush()
    # One live token per email and panel: the newest replaces the earlier ones.
    credentials.revoke_tokens(
        session, user_id=user.id, purpose=purpose, panel=context.get("rfp_id")
    )
    token, digest = new_opaque_token()
    hours = get_settings().invite_token_hours
    session.add(
        Invitation(
            user_id=user.id,
            token_digest=digest,
            purpose=purpose,
            context=context,
            created_by=actor.id,
            expires_at=utcnow() + timedelta(hours=hours),
        )
    )
    return user, token


def create_unit(
    *, session: Session, actor: User, agency_id: str, data: UnitCreate
) -> tuple[Organization, User, str]:
    """A district's own unit (an internal Lead Partner), with its first user invited: the
    token sets that user's password (it is mailed to them and answered to the staff)."""
    agency = session.get(Agency, agency_id)
    if agency is None or not policies.can_create_units(actor, agency):
        raise NotFound("Agency")
    if agency.kind != AgencyKind.district:
        raise Unprocessable("Units belong to a district agency, not a state.")
    email = normalize_email(str(data.email))
    if _email_taken(session, email):
        raise Conflict(
            "This email already has an account: a unit's first user needs an address of their own.",
            slug="email-in-use",
        )
    organization = Organization(
        name=data.name,
        kind=OrganizationKind.district_unit,
        email=email,
        contact_name=data.contact_name,
        description=data.description,
        states=[agency.state],
        grade_levels=data.grade_levels,
        capacity_clusters=data.capacity_clusters,
        district_id=agency.id,
    )
    session.add(organization)
    session.flush()
    user, token = invite_user(
        session=session,
        actor=actor,
        email=email,
        name=data.contact_name,
        role=policies.PARTNER_ROLE,
        purpose=InvitationPurpose.unit_member,
        organization_id=organization.id,
    )
    assert token is not None  # the email was free, so the account is new
    audit.record(
        session=session,
        actor_id=actor.id,
        action="organization.unit_created",
        entity="organization",
        entity_id=organization.id,
        agency_id=agency.id,
        data={"name": organization.name, "email": email},
    )
    notices.unit_invited(session, organization=organization, agency=agency, user=user, token=token)
    _commit_unique(session, "An account with this email")
    return organization, user, token


def units_of(*, session: Session, actor: User, agency_id: str) -> list[Organization]:
    agency = session.get(Agency, agency_id)
    if agency is None or not policies.can_create_units(actor, agency):
        raise NotFound("Agency")
    return list(
        session.exec(
            select(Organization)
            .where(Organization.district_id == agency.id)
            .order_by(col(Organization.name))
        )
    )


def _pending_for_agency_of(session: Session, user: User, actor: User) -> bool:
    """Whether every invitation of this password-less account came from the actor's agency."""
    inviters = session.exec(
        select(User.agency_id)
        .join(Invitation, col(Invitation.created_by) == col(User.id))
        .where(Invitation.user_id == user.id)
    ).all()
    return all(agency == actor.agency_id for agency in inviters)


def accept_invitation(*, session: Session, token: str, password: str) -> User:
    invitation = credentials.live_token(session, token)
    user = session.get(User, invitation.user_id) if invitation is not None else None
    if (
        invitation is None
        or invitation.purpose == InvitationPurpose.password_reset
        or user is None
        # A token never sets a password on an account that has one, nor wakes a
        # deactivated one: the same answer as for an unknown token, which reveals nothing.
        or user.password_hash is not None
        or not user.is_active
    ):
        raise NotFound("Invitation (it may have been used or have expired)")
    credentials.check_password_policy(password, user.email)
    invitation.used_at = utcnow()
    session.add(invitation)
    # Staff were handed this token, so it proves nothing about the mailbox: remember whose.
    inviter = session.get(User, invitation.created_by) if invitation.created_by else None
    user.credentials_agency_id = inviter.agency_id if inviter else None
    # Accepting one invitation revokes every other live token of the account.
    credentials.set_password(session, user, password)
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
    """The organization if this caller may read it by the accounts' own rule (its partners
    and administrators); None otherwise. Later stages grant more readers through their own
    policies (staff of an RFP it applied to: the proposals domain)."""
    organization = session.get(Organization, organization_id)
    if organization is None or not policies.can_read_organization(user, organization):
        return None
    return organization


def find_organization(*, session: Session, organization_id: str) -> Organization | None:
    """The organization, for a caller whose right to read it another domain has checked."""
    return session.get(Organization, organization_id)
