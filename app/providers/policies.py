"""The preferred-provider list is public: anyone, signed in or not, reads a listing while it
is valid. Listings are made only by the finalization of an RFP (the reviews domain); staff
of the agency that issued the RFP may correct a listing's categories, with a reason."""

from datetime import date
from typing import Any

from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import User
from app.accounts.policies import is_staff, is_staff_of
from app.providers.models import PreferredProvider
from app.rfps.models import Rfp


def current_listings(today: date) -> SelectOfScalar[Any]:
    """The listings anyone may read today."""
    return select(PreferredProvider).where(col(PreferredProvider.valid_until) >= today)


def may_edit_listings(user: User | None) -> bool:
    return is_staff(user)


def can_edit_listing(user: User | None, rfp: Rfp) -> bool:
    """Staff of the agency whose RFP made the listing."""
    return is_staff_of(user, rfp.agency_id)
