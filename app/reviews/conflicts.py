"""Conflicts of interest: declared by a reviewer for themselves or by staff for a reviewer,
withdrawn only by the side that declared them, kept forever."""

from sqlmodel import Session, col, select

from app.accounts.models import Organization, User
from app.accounts.policies import role_name
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, Unprocessable
from app.proposals import policies as proposal_policies
from app.proposals.models import Proposal
from app.reviews import policies
from app.reviews.models import (
    Assignment,
    ConflictEvent,
)
from app.reviews.schemas import (
    ConflictCreate,
)
from app.reviews.stage import panel_rfp, record
from app.rfps import service as rfp_service


def record_conflict(
    *, session: Session, actor: User, rfp_id: str, data: ConflictCreate
) -> ConflictEvent:
    if not policies.may_record_conflicts(actor):
        raise Forbidden("Only reviewers and agency staff record conflicts.")
    if policies.may_review_at_all(actor):
        rfp = panel_rfp(session=session, actor=actor, rfp_id=rfp_id)
        reviewer_id = actor.id
        if data.reviewer_id not in (None, actor.id):
            raise Forbidden("A reviewer declares only their own conflicts.")
    else:
        rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
        if data.reviewer_id is None:
            raise Unprocessable.at(
                ["body", "reviewer_id"], "Name the reviewer the conflict is recorded for."
            )
        reviewer = session.get(User, data.reviewer_id)
        if reviewer is None or not policies.is_panel_member(session, reviewer, rfp.id):
            raise Unprocessable.at(
                ["body", "reviewer_id"], "That reviewer is not on this RFP's panel."
            )
        reviewer_id = reviewer.id
    if session.get(Organization, data.organization_id) is None:
        raise Unprocessable.at(["body", "organization_id"], "No such organization.")
    if data.withdraw:
        standing = policies.standing_declarations(session, rfp.id).get(
            (reviewer_id, data.organization_id), set()
        )
        if not standing:
            raise Conflict("There is no declared conflict to withdraw.", slug="no-conflict")
        if not policies.may_withdraw_conflict(actor, standing):
            who = "staff" if policies.STAFF_SIDE in standing else "the reviewer"
            raise Forbidden(f"This conflict was declared by {who}; only {who} may withdraw it.")
    event = ConflictEvent(
        rfp_id=rfp.id,
        reviewer_id=reviewer_id,
        organization_id=data.organization_id,
        action="withdrawn" if data.withdraw else "declared",
        reason=data.reason,
        recorded_by=actor.id,
        recorded_by_role=role_name(actor),
    )
    session.add(event)
    if not data.withdraw:
        # A declared conflict ends any assignment of that reviewer to that organization.
        for assignment in session.exec(
            select(Assignment)
            .join(Proposal, col(Proposal.id) == col(Assignment.proposal_id))
            .where(
                Assignment.rfp_id == rfp.id,
                Assignment.reviewer_id == reviewer_id,
                Proposal.organization_id == data.organization_id,
                col(Assignment.removed_at).is_(None),
            )
        ):
            assignment.removed_at = utcnow()
            session.add(assignment)
    session.flush()
    record(
        session,
        actor,
        rfp,
        f"conflict.{event.action}",
        "conflict",
        event.id,
        reviewer_id=reviewer_id,
        organization_id=data.organization_id,
        declared_by_role=role_name(actor),
    )
    session.commit()
    return event


def list_conflicts(*, session: Session, actor: User, rfp_id: str) -> list[ConflictEvent]:
    """The whole history: staff see every declaration and withdrawal, a reviewer their own."""
    if policies.may_review_at_all(actor):
        rfp = panel_rfp(session=session, actor=actor, rfp_id=rfp_id)
        query = policies.conflicts_seen_by_reviewer(
            rfp.id, actor, proposal_policies.bids_opened(rfp)
        )
    else:
        rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
        query = select(ConflictEvent).where(ConflictEvent.rfp_id == rfp.id)
    return list(session.exec(query.order_by(col(ConflictEvent.created_at), col(ConflictEvent.id))))


def conflict_candidates(*, session: Session, actor: User, rfp_id: str) -> list[tuple[str, str]]:
    """The organizations (id, name) a panel member may declare a conflict with: those of
    the proposals assigned to them, and those they declared before. A reviewer learns
    nothing about who applied before the close, and only their own assignments after it."""
    rfp = panel_rfp(session=session, actor=actor, rfp_id=rfp_id)
    if not proposal_policies.bids_opened(rfp):
        assigned: list[str] = []
    else:
        assigned = list(
            session.exec(
                select(Proposal.organization_id)
                .join(Assignment, col(Assignment.proposal_id) == col(Proposal.id))
                .where(
                    Assignment.rfp_id == rfp.id,
                    Assignment.reviewer_id == actor.id,
                    col(Assignment.removed_at).is_(None),
                )
            )
        )
    seen = policies.conflicts_seen_by_reviewer(rfp.id, actor, proposal_policies.bids_opened(rfp))
    ids = set(assigned) | {event.organization_id for event in session.exec(seen)}
    return [
        (organization.id, organization.name)
        for organization in session.exec(
            select(Organization)
            .where(col(Organization.id).in_(ids))
            .order_by(col(Organization.name), col(Organization.id))
        )
    ]
