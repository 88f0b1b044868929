"""The preferred-provider list is public: anyone, signed in or not, reads a listing while it
is valid. Listings are made only by the finalization of an RFP (the reviews domain), never
edited by hand."""

from datetime import date
from typing import Any

from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.providers.models import PreferredProvider


def current_listings(today: date) -> SelectOfScalar[Any]:
    """The listings anyone may read today."""
    return select(PreferredProvider).where(col(PreferredProvider.valid_until) >= today)
