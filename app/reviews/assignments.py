"""Assignments: one reviewer x one proposal, made by hand or by the balanced automatic
assignment, removed or reopened by staff."""

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import policies as accounts_policies
from app.accounts.models import Organization, User
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.proposals import policies as proposal_policies
from app.proposals.models import Proposal
from app.reviews import policies
from app.reviews.models import (
    Assignment,
    AssignmentStatus,
    PanelMember,
    Stage,
)
from app.reviews.stage import REVIEWABLE, record, require_review_phase
from app.rfps import service as rfp_service
from app.rfps.models import Rfp
from scoring.reviewer_assignment import InfeasibleAssignment, assign_reviewers


def reviewable_proposals(session: Session, rfp: Rfp) -> list[Proposal]:
    return list(
        session.exec(
            select(Proposal)
            .where(Proposal.rfp_id == rfp.id, col(Proposal.status).in_(REVIEWABLE))
            .order_by(col(Proposal.submitted_at), col(Proposal.id))
        )
    )


def active_assignments(
    session: Session, rfp: Rfp, stage: Stage | None = Stage.written
) -> list[Assignment]:
    """The RFP's assignments not removed, of one stage (None: every stage)."""
    query = select(Assignment).where(
        Assignment.rfp_id == rfp.id, col(Assignment.removed_at).is_(None)
    )
    if stage is not None:
        query = query.where(Assignment.stage == stage)
    return list(session.exec(query.order_by(col(Assignment.created_at), col(Assignment.id))))


def staff_interviewers(session: Session, rfp: Rfp) -> list[User]:
    """The issuing district's staff who may sit on its interview panel."""
    if rfp_service.content_of(rfp).stages.interview is None:
        return []
    users = session.exec(
        select(User).where(User.agency_id == rfp.agency_id, col(User.is_active).is_(True))
    )
    return [u for u in users if policies.may_interview(u, rfp)]


def finalists(session: Session, rfp: Rfp) -> list[Proposal]:
    return [p for p in reviewable_proposals(session, rfp) if p.finalist]


def mark_finalists(
    *, session: Session, actor: User, rfp_id: str, proposal_ids: list[str]
) -> list[Proposal]:
    """The proposals that go on to the interview, once every written review is in."""
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    require_review_phase(rfp)
    if rfp_service.content_of(rfp).stages.interview is None:
        raise Conflict("This RFP has no interview stage.", slug="no-interview-stage")
    written = active_assignments(session, rfp)
    if not written or any(a.status != AssignmentStatus.submitted for a in written):
        raise Conflict(
            "Finalists are chosen once every written review is submitted.",
            slug="reviews-pending",
        )
    proposals = {p.id: p for p in reviewable_proposals(session, rfp)}
    for index, proposal_id in enumerate(proposal_ids):
        if proposal_id not in proposals:
            raise Unprocessable.at(
                ["body", "proposal_ids", index], "No submitted proposal with this id on this RFP."
            )
    interviewed = {a.proposal_id for a in active_assignments(session, rfp, Stage.interview)}
    dropped = sorted(interviewed - set(proposal_ids))
    if dropped:
        raise Conflict(
            "A proposal with interview assignments stays a finalist; remove them first.",
            slug="interview-assigned",
        )
    chosen = set(proposal_ids)
    for proposal in proposals.values():
        proposal.finalist = proposal.id in chosen
        session.add(proposal)
    record(session, actor, rfp, "finalists.marked", "rfp", rfp.id, proposal_ids=sorted(chosen))
    session.commit()
    return finalists(session, rfp)


def _panel_ids(session: Session, rfp: Rfp) -> list[str]:
    """The reviewers the panel counts (not those still to prove their email)."""
    rows = session.exec(
        select(User, PanelMember.needs_verified_email)
        .join(PanelMember, col(PanelMember.user_id) == col(User.id))
        .where(PanelMember.rfp_id == rfp.id)
        .order_by(col(PanelMember.created_at))
    )
    return [user.id for user, needs in rows if accounts_policies.membership_counts(user, needs)]


def _place(
    session: Session,
    actor: User,
    rfp: Rfp,
    proposal_id: str,
    reviewer_id: str,
    stage: Stage = Stage.written,
) -> Assignment:
    """Create the assignment, or bring back one removed earlier (unique per stage)."""
    row = session.exec(
        select(Assignment).where(
            Assignment.proposal_id == proposal_id,
            Assignment.reviewer_id == reviewer_id,
            Assignment.stage == stage,
        )
    ).first()
    if row is None:
        row = Assignment(
            rfp_id=rfp.id,
            proposal_id=proposal_id,
            reviewer_id=reviewer_id,
            created_by=actor.id,
            stage=stage,
        )
    else:
        row.removed_at = None
        row.status = AssignmentStatus.assigned
        row.submitted_at = None
    session.add(row)
    return row


def auto_assign(*, session: Session, actor: User, rfp_id: str) -> list[Assignment]:
    rfp = rfp_service.get_managed(
        session=session, user=actor, rfp_id=rfp_id
    )  # locked: one run at a time
    require_review_phase(rfp)
    proposals = reviewable_proposals(session, rfp)
    by_org = {p.organization_id: p.id for p in proposals}
    reviewers = _panel_ids(session, rfp)
    forbidden = {
        (by_org[org], reviewer)
        for reviewer, org in policies.active_conflicts(session, rfp.id)
        if org in by_org
    }
    existing = {(a.proposal_id, a.reviewer_id) for a in active_assignments(session, rfp)}
    try:
        pairs = assign_reviewers(
            [p.id for p in proposals], reviewers, rfp.reviewers_per_proposal, forbidden, existing
        )
    except InfeasibleAssignment as exc:
        raise Conflict(str(exc), slug="assignment-infeasible") from exc
    for proposal_id, reviewer_id in pairs:
        _place(session, actor, rfp, proposal_id, reviewer_id)
    record(
        session,
        actor,
        rfp,
        "assignments.auto",
        "rfp",
        rfp.id,
        created=len(pairs),
        pairs=[{"proposal_id": p, "reviewer_id": r} for p, r in pairs],
    )
    session.commit()
    return active_assignments(session, rfp)


def add_assignment(
    *,
    session: Session,
    actor: User,
    rfp_id: str,
    proposal_id: str,
    reviewer_id: str,
    stage: Stage = Stage.written,
) -> Assignment:
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    require_review_phase(rfp)
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or proposal.rfp_id != rfp.id or proposal.status not in REVIEWABLE:
        raise Unprocessable.at(
            ["body", "proposal_id"], "No submitted proposal with this id on this RFP."
        )
    if stage == Stage.interview and not proposal.finalist:
        raise Unprocessable.at(
            ["body", "proposal_id"], "Only a finalist is interviewed: mark the finalists first."
        )
    reviewer = session.get(User, reviewer_id)
    interviewer = stage == Stage.interview and policies.may_interview(reviewer, rfp)
    if reviewer is None or not (interviewer or policies.is_panel_member(session, reviewer, rfp.id)):
        raise Unprocessable.at(["body", "reviewer_id"], "That reviewer is not on this RFP's panel.")
    if policies.is_conflicted(session, reviewer.id, rfp.id, proposal.organization_id):
        raise Conflict(
            "That reviewer declared a conflict with this organization.", slug="conflict-of-interest"
        )
    duplicate = session.exec(
        select(Assignment.id).where(
            Assignment.proposal_id == proposal.id,
            Assignment.reviewer_id == reviewer.id,
            Assignment.stage == stage,
            col(Assignment.removed_at).is_(None),
        )
    ).first()
    if duplicate is not None:
        raise Conflict("This reviewer is already assigned to this proposal.", slug="duplicate")
    assignment = _place(session, actor, rfp, proposal.id, reviewer.id, stage)
    session.flush()
    record(
        session,
        actor,
        rfp,
        "assignment.created",
        "assignment",
        assignment.id,
        proposal_id=proposal.id,
        reviewer_id=reviewer.id,
        stage=str(stage),
    )
    try:
        session.commit()
    except IntegrityError as exc:
        session.rollback()
        raise Conflict(
            "This reviewer is already assigned to this proposal.", slug="duplicate"
        ) from exc
    return assignment


def assignment_board(
    *, session: Session, actor: User, rfp_id: str
) -> tuple[list[Assignment], dict[str, tuple[str, str]]]:
    """Staff's view of an RFP's active assignments, and each reviewable proposal's
    organization (id and name)."""
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    proposals = reviewable_proposals(session, rfp)
    names = dict(
        session.exec(
            select(Organization.id, Organization.name).where(
                col(Organization.id).in_([p.organization_id for p in proposals])
            )
        ).all()
    )
    return active_assignments(session, rfp, None), {
        p.id: (p.organization_id, names.get(p.organization_id, "")) for p in proposals
    }


def _managed_assignment(
    session: Session, actor: User, assignment_id: str
) -> tuple[Assignment, Rfp]:
    assignment = session.exec(
        select(Assignment).where(Assignment.id == assignment_id).with_for_update()
    ).first()
    if assignment is None or assignment.removed_at is not None:
        raise NotFound("Assignment")
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=assignment.rfp_id)
    return assignment, rfp


def remove_assignment(*, session: Session, actor: User, assignment_id: str) -> None:
    if not policies.may_manage_reviews(actor):
        raise Forbidden("Only agency staff remove assignments.")
    assignment, rfp = _managed_assignment(session, actor, assignment_id)
    require_review_phase(rfp)
    assignment.removed_at = utcnow()
    session.add(assignment)
    record(session, actor, rfp, "assignment.removed", "assignment", assignment.id)
    session.commit()


def reopen_assignment(*, session: Session, actor: User, assignment_id: str) -> Assignment:
    if not policies.may_manage_reviews(actor):
        raise Forbidden("Only agency staff reopen assignments.")
    assignment, rfp = _managed_assignment(session, actor, assignment_id)
    require_review_phase(rfp)
    if assignment.status != AssignmentStatus.submitted:
        raise Conflict("Only a submitted review can be reopened.")
    assignment.status = AssignmentStatus.assigned
    assignment.submitted_at = None
    session.add(assignment)
    record(session, actor, rfp, "assignment.reopened", "assignment", assignment.id)
    session.commit()
    return assignment


def my_assignments(*, session: Session, actor: User) -> list[Assignment]:
    if not policies.may_score(actor):
        raise Forbidden("Only reviewers have assignments.")
    rows = session.exec(
        select(Assignment)
        .where(Assignment.reviewer_id == actor.id, col(Assignment.removed_at).is_(None))
        .order_by(col(Assignment.created_at))
    ).all()
    return [a for a in rows if _visible_to_reviewer(session, actor, a)]


def my_assignment_list(*, session: Session, actor: User) -> list[tuple[Assignment, str, str]]:
    """The reviewer's assignments with their RFP's title and the organization's name."""
    found = []
    for assignment in my_assignments(session=session, actor=actor):
        rfp = session.get(Rfp, assignment.rfp_id)
        proposal = session.get(Proposal, assignment.proposal_id)
        organization = session.get(Organization, proposal.organization_id) if proposal else None
        found.append(
            (assignment, rfp.title if rfp else "", organization.name if organization else "")
        )
    return found


def _visible_to_reviewer(session: Session, user: User, assignment: Assignment) -> bool:
    proposal = session.get(Proposal, assignment.proposal_id)
    return proposal is not None and not policies.is_conflicted(
        session, user.id, assignment.rfp_id, proposal.organization_id
    )


def own_assignment(
    session: Session, actor: User, assignment_id: str, lock: bool = False
) -> tuple[Assignment, Rfp, Proposal]:
    if not policies.may_score(actor):
        raise Forbidden("Only the assigned reviewer opens and scores an assignment.")
    query = select(Assignment).where(Assignment.id == assignment_id)
    if lock:
        query = query.with_for_update()
    assignment = session.exec(query).first()
    if (
        assignment is None
        or assignment.removed_at is not None
        or assignment.reviewer_id != actor.id
        or not _visible_to_reviewer(session, actor, assignment)
    ):
        raise NotFound("Assignment")
    if policies.needs_attestation(actor) and not policies.has_attested(
        session, actor, assignment.rfp_id
    ):
        raise Conflict(
            "Attest to having no conflict of interest and to keeping proposals confidential "
            "before opening an assignment.",
            slug="attestation-required",
        )
    rfp = session.get(Rfp, assignment.rfp_id)
    proposal = session.get(Proposal, assignment.proposal_id)
    assert rfp is not None and proposal is not None
    # The sealing rule decides too: an assignment row (even one written straight into the
    # database) opens nothing before the close, nor a proposal withdrawn before it.
    if not proposal_policies.may_read_submitted(session, actor, proposal, rfp):
        raise NotFound("Assignment")
    return assignment, rfp, proposal


def assignment_of(*, session: Session, actor: User, assignment_id: str) -> Assignment:
    """The caller's own assignment, before attestation too (to send them there)."""
    assignment = session.get(Assignment, assignment_id)
    if (
        assignment is None
        or assignment.removed_at is not None
        or assignment.reviewer_id != actor.id
        or not _visible_to_reviewer(session, actor, assignment)
    ):
        raise NotFound("Assignment")
    return assignment


def assignment_rfp_id(*, session: Session, actor: User, assignment_id: str) -> str:
    """The RFP of the caller's own assignment, before attestation too."""
    return assignment_of(session=session, actor=actor, assignment_id=assignment_id).rfp_id
