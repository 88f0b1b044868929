"""Who sees and manages RFPs: drafts belong to their agency; anything published is public."""

from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import Organization, OrganizationKind, User
from app.accounts.policies import is_partner, is_staff, is_staff_of
from app.rfps.models import Applicants, Rfp


def visible_rfps(user: User | None, unit_of: str | None = None) -> SelectOfScalar[Any]:
    """The RFPs this caller lists: published ones (a district's internal-Lead-Partner RFPs
    only to its staff and its own units, `unit_of` the caller's organization's district)
    and its own agency's drafts."""
    public = col(Rfp.published_at).is_not(None)
    if user is not None and is_staff(user):
        return select(Rfp).where(or_(public, col(Rfp.agency_id) == user.agency_id))
    open_to_all = col(Rfp.applicants) == Applicants.any
    if unit_of is None:
        return select(Rfp).where(public, open_to_all)
    return select(Rfp).where(public, or_(open_to_all, col(Rfp.agency_id) == unit_of))


def unit_district(organization: Organization | None) -> str | None:
    """The district whose own unit this organization is, if it is one."""
    if organization is None or organization.kind != OrganizationKind.district_unit:
        return None
    return organization.district_id


def may_apply(organization: Organization | None, rfp: Rfp) -> bool:
    """An internal-Lead-Partner RFP takes proposals only from the district's own units."""
    if rfp.applicants != Applicants.district_units:
        return True
    return unit_district(organization) == rfp.agency_id


def can_view(user: User | None, rfp: Rfp) -> bool:
    return rfp.published_at is not None or is_staff_of(user, rfp.agency_id)


def can_manage(user: User | None, rfp: Rfp) -> bool:
    return is_staff_of(user, rfp.agency_id)


def may_manage_rfps(user: User | None) -> bool:
    """Only agency staff create and manage RFPs (which ones: `can_manage`)."""
    return is_staff(user)


def may_ask_questions(user: User | None) -> bool:
    return is_partner(user)


def asking_organization(user: User | None) -> str | None:
    """The organization whose own questions this caller sees with their asker shown."""
    return user.organization_id if user is not None and is_partner(user) else None
