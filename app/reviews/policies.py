"""Reviewers see only proposals assigned to them, after attesting, never a conflicted one."""

from sqlmodel import Session, col, select

from app.accounts.models import Role, User
from app.proposals.models import Proposal
from app.reviews.models import Assignment, Attestation, ConflictEvent, PanelMember


def is_panel_member(session: Session, user: User, rfp_id: str) -> bool:
    if user.role != Role.reviewer:
        return False
    return (
        session.exec(
            select(PanelMember.id).where(
                PanelMember.rfp_id == rfp_id, PanelMember.user_id == user.id
            )
        ).first()
        is not None
    )


def has_attested(session: Session, user: User, rfp_id: str) -> bool:
    return (
        session.exec(
            select(Attestation.id).where(
                Attestation.rfp_id == rfp_id, Attestation.user_id == user.id
            )
        ).first()
        is not None
    )


def active_conflicts(session: Session, rfp_id: str) -> set[tuple[str, str]]:
    """(reviewer_id, organization_id) pairs whose latest event is a declaration."""
    latest: dict[tuple[str, str], str] = {}
    events = session.exec(
        select(ConflictEvent)
        .where(ConflictEvent.rfp_id == rfp_id)
        .order_by(col(ConflictEvent.created_at), col(ConflictEvent.id))
    )
    for event in events:
        latest[(event.reviewer_id, event.organization_id)] = event.action
    return {pair for pair, action in latest.items() if action == "declared"}


def is_conflicted(session: Session, reviewer_id: str, rfp_id: str, organization_id: str) -> bool:
    return (reviewer_id, organization_id) in active_conflicts(session, rfp_id)


def may_review(session: Session, user: User, proposal: Proposal) -> bool:
    if user.role != Role.reviewer:
        return False
    assigned = session.exec(
        select(Assignment.id).where(
            Assignment.proposal_id == proposal.id,
            Assignment.reviewer_id == user.id,
            col(Assignment.removed_at).is_(None),
        )
    ).first()
    return (
        assigned is not None
        and has_attested(session, user, proposal.rfp_id)
        and not is_conflicted(session, user.id, proposal.rfp_id, proposal.organization_id)
    )
