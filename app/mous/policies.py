"""An MOU is read by both of its parties and drafted, edited, executed and ended by the
district."""

from app.accounts.models import User
from app.accounts.policies import is_member_of, is_staff, is_staff_of
from app.mous.models import Mou


def is_party_to(user: User | None, mou: Mou) -> bool:
    return is_staff_of(user, mou.agency_id) or is_member_of(user, mou.organization_id)


def may_draft_mous(user: User | None) -> bool:
    """The district drafts the MOU (for which match: the matching domain's `is_party_to`)."""
    return is_staff(user)


def can_manage(user: User | None, mou: Mou) -> bool:
    return is_staff_of(user, mou.agency_id)
