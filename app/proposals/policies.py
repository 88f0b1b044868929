"""Sealed bids: who may read a proposal, and when.

- its organization's partners: the working copy, always;
- staff of the RFP's agency: who submitted and when while sealed; the submitted content once
  the RFP's effective status is `closed` or `finalized` (cancelling never opens bids, and a
  proposal withdrawn before the deadline is never opened);
- reviewers: after the close, only proposals assigned to them (the reviews domain decides who
  is assigned; this module decides that nothing opens before the close).
"""

from typing import TypeGuard

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import User
from app.accounts.policies import is_member_of, is_partner, is_reviewer, is_staff, is_staff_of
from app.proposals.models import Proposal, ProposalStatus
from app.reviews import policies as review_policies
from app.rfps.models import Rfp, RfpStatus
from app.rfps.service import effective_status

OPENED = (RfpStatus.closed, RfpStatus.finalized)


def bids_opened(rfp: Rfp) -> bool:
    """Have the RFP's sealed bids been opened? Only its deadline (or finalization) opens them."""
    return effective_status(rfp) in OPENED


def belongs_to(user: User | None, organization_id: str) -> bool:
    """Is the caller a partner of the organization that owns the proposal?"""
    return is_member_of(user, organization_id)


def is_partner_of(user: User | None, proposal: Proposal) -> bool:
    return belongs_to(user, proposal.organization_id)


def may_write_proposals(user: User | None) -> TypeGuard[User]:
    """Only partners (of an organization) create and edit proposals."""
    return is_partner(user)


def may_read_proposals(user: User | None) -> bool:
    """Partners (their own), staff (their agency's, once opened) and reviewers (their
    assignments, once opened); no other role ever reads a proposal, the admin included."""
    return is_partner(user) or is_staff(user) or is_reviewer(user)


def may_list_proposals(user: User | None) -> bool:
    """Only agency staff list an RFP's proposals (which RFPs, the RFP's policies decide)."""
    return is_staff(user)


def staff_may_open(user: User | None, rfp: Rfp) -> bool:
    return is_staff_of(user, rfp.agency_id) and bids_opened(rfp)


def was_submitted(proposal: Proposal) -> bool:
    """A submitted version exists and was not withdrawn before the deadline."""
    return proposal.latest_version > 0 and proposal.status != ProposalStatus.withdrawn


def may_read_submitted(session: Session, user: User | None, proposal: Proposal, rfp: Rfp) -> bool:
    """May this caller read the submitted content (the latest version)?"""
    if user is None or not was_submitted(proposal) or not bids_opened(rfp):
        return False
    if staff_may_open(user, rfp):
        return True
    return review_policies.may_review(session, user, proposal)


def visible_proposals(user: User | None, rfp: Rfp) -> SelectOfScalar[Proposal]:
    """The RFP's proposals this caller may know of, as rows: its own organization's for a
    partner; every submitted one (withdrawn included) for staff of the RFP's agency, whose
    content `staff_may_open` and `may_read_submitted` still decide; none for anyone else."""
    query = select(Proposal).where(Proposal.rfp_id == rfp.id)
    if is_partner(user):
        assert user is not None
        return query.where(Proposal.organization_id == user.organization_id)
    if is_staff_of(user, rfp.agency_id):
        return query.where(col(Proposal.latest_version) > 0)
    return query.where(col(Proposal.id).is_(None))  # nobody else lists an RFP's proposals


def staff_may_read_applicant(session: Session, user: User | None, organization_id: str) -> bool:
    """Staff read the profile of an organization that submitted to one of their agency's RFPs
    (they see who submitted while bids are sealed, so the profile reveals nothing more)."""
    if user is None or not is_staff(user):
        return False
    applied = session.exec(
        select(Proposal.id)
        .join(Rfp, col(Rfp.id) == col(Proposal.rfp_id))
        .where(
            Proposal.organization_id == organization_id,
            col(Proposal.latest_version) > 0,
            Rfp.agency_id == user.agency_id,
        )
    ).first()
    return applied is not None
