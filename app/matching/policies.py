"""Matches belong to two parties: the district that ran the matching and the partner matched."""

from app.accounts.models import User
from app.accounts.policies import is_member_of, is_partner, is_staff, is_staff_of
from app.matching.models import Match, MatchingRun


def is_party_to(user: User | None, match: Match) -> bool:
    return is_staff_of(user, match.agency_id) or is_member_of(user, match.organization_id)


def can_read_run(user: User | None, run: MatchingRun) -> bool:
    return is_staff_of(user, run.agency_id)


def may_decide_matches(user: User | None) -> bool:
    """Only the district's staff and partners decide on matches (which: `is_party_to`)."""
    return is_staff(user) or is_partner(user)


def can_accept(user: User | None, match: Match) -> bool:
    """Only the district accepts; either party declines."""
    return is_staff_of(user, match.agency_id)


def can_read_organization_matches(user: User | None, organization_id: str) -> bool:
    return is_member_of(user, organization_id)
