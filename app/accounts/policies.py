"""Who may see and change agencies, staff and organizations."""

from typing import Any

from sqlmodel import select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import Agency, Organization, Role, User


def is_admin(user: User | None) -> bool:
    return user is not None and user.role == Role.platform_admin


def is_staff_of(user: User | None, agency_id: str | None) -> bool:
    return (
        user is not None
        and user.role == Role.agency_staff
        and agency_id is not None
        and user.agency_id == agency_id
    )


def can_create_units(user: User | None, agency: Agency) -> bool:
    """A district's own staff create its units (internal Lead Partners)."""
    return is_staff_of(user, agency.id)


def can_manage_agency(user: User, agency: Agency) -> bool:
    return is_admin(user) or is_staff_of(user, agency.id)


def visible_agencies(user: User) -> SelectOfScalar[Any]:
    query = select(Agency)
    if is_admin(user):
        return query
    if user.role == Role.agency_staff:
        return query.where(Agency.id == user.agency_id)
    return query.where(Agency.id == "")  # nobody else lists agencies


def is_member_of(user: User | None, organization_id: str) -> bool:
    return (
        user is not None and user.role == Role.partner and user.organization_id == organization_id
    )


# The role each way of creating an account grants (sign-up, staff creation, the admin
# command, a reviewer invitation); roles never change afterwards.
PARTNER_ROLE = Role.partner
STAFF_ROLE = Role.agency_staff
ADMIN_ROLE = Role.platform_admin
REVIEWER_ROLE = Role.reviewer


# --- roles: what kind of account this is (each domain's policies build on these) ----------


def is_staff(user: User | None) -> bool:
    return user is not None and user.role == Role.agency_staff and user.agency_id is not None


def is_partner(user: User | None) -> bool:
    return user is not None and user.role == Role.partner and user.organization_id is not None


def is_reviewer(user: User | None) -> bool:
    return user is not None and user.role == Role.reviewer


def may_add_staff(user: User | None) -> bool:
    return is_admin(user) or is_staff(user)


def role_name(user: User) -> str:
    """The account's role as recorded beside what it did (audit data, conflict rows)."""
    return str(user.role)


def can_read_organization(user: User | None, organization: Organization) -> bool:
    return is_member_of(user, organization.id) or is_admin(user)


def invitation_may_reach(existing: User, invited_role: str) -> bool:
    """Whether an invitation for this role may name an existing account: only one of the
    same role (a reviewer invited to another panel); staff, partners and administrators
    are never reached by an invitation."""
    return existing.role == invited_role


def must_prove_email_to_join(user: User, actor: User) -> bool:
    """Does this existing account need its owner to prove the mailbox before the actor's
    agency's panel counts it? Yes when its password was set with a token staff of another
    agency held (they could have set it themselves) and the owner never used a mailed link."""
    return user.email_verified_at is None and user.credentials_agency_id != actor.agency_id


def membership_counts(user: User, needs_verified_email: bool) -> bool:
    return not needs_verified_email or user.email_verified_at is not None
