"""Who sees and manages RFPs: drafts belong to their agency; anything published is public."""

from typing import Any

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import User
from app.accounts.policies import is_partner, is_staff, is_staff_of
from app.rfps.models import Rfp


def visible_rfps(user: User | None) -> SelectOfScalar[Any]:
    public = col(Rfp.published_at).is_not(None)
    if user is not None and is_staff(user):
        return select(Rfp).where(or_(public, col(Rfp.agency_id) == user.agency_id))
    return select(Rfp).where(public)


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
