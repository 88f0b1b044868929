"""Sealed bids: who may read a proposal, and when.

- its organization's partners: the working copy, always;
- staff of the RFP's agency: who submitted and when before the deadline, content after;
- reviewers: only proposals assigned to them (the reviews domain decides).
"""

from sqlmodel import Session

from app.accounts.models import Role, User
from app.accounts.policies import is_member_of, is_staff_of
from app.proposals.models import Proposal
from app.rfps.models import Rfp, RfpStatus
from app.rfps.service import effective_status

SEALED_UNTIL_CLOSED = (RfpStatus.draft, RfpStatus.published)


def is_partner_of(user: User | None, proposal: Proposal) -> bool:
    return is_member_of(user, proposal.organization_id)


def staff_may_open(user: User | None, rfp: Rfp) -> bool:
    return is_staff_of(user, rfp.agency_id) and effective_status(rfp) not in SEALED_UNTIL_CLOSED


def may_read_submitted(session: Session, user: User | None, proposal: Proposal, rfp: Rfp) -> bool:
    """May this caller read the submitted content (the latest version)?"""
    if proposal.latest_version == 0:
        return False
    if staff_may_open(user, rfp):
        return True
    if user is not None and user.role == Role.reviewer:
        from app.reviews import policies as review_policies

        return review_policies.may_review(session, user, proposal)
    return False
