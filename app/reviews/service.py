"""Review panels: invitations, attestations, conflicts, assignment, scoring, results,
consensus, finalization with the approval rule, debriefs and the preferred-provider list."""

import csv
import io
from collections import defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from app.accounts import policies as accounts_policies
from app.accounts import service as accounts_service
from app.accounts.models import Agency, Organization, User
from app.accounts.policies import role_name
from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.proposals import policies as proposal_policies
from app.proposals import service as proposal_service
from app.proposals.models import Proposal, ProposalStatus
from app.reviews import policies
from app.reviews.models import (
    ApprovalDecision,
    Assignment,
    AssignmentStatus,
    Attestation,
    ConflictEvent,
    Consensus,
    PanelMember,
    PreferredProvider,
    Score,
    ScoreHistory,
)
from app.reviews.schemas import (
    AssignmentDetail,
    AttestationCreate,
    ConflictCreate,
    ConsensusWrite,
    CriterionResultRead,
    Debrief,
    DebriefCriterion,
    DecisionRead,
    PreferredProviderRead,
    ResultRow,
    ResultsRead,
    ReviewerInvite,
    ScoreItem,
    ScoresSaved,
    ScoresWrite,
)
from app.rfps import policies as rfp_policies
from app.rfps import service as rfp_service
from app.rfps import templates as rfp_templates
from app.rfps.models import Rfp, RfpStatus
from app.rfps.schemas import Criterion as CriterionSchema
from scoring import agreement as agreement_math
from scoring import approval as approval_math
from scoring import ranking as ranking_math
from scoring import rubric as rubric_math
from scoring.reviewer_assignment import InfeasibleAssignment, assign_reviewers

LISTING_YEARS = 3
REVIEWABLE = (ProposalStatus.submitted, ProposalStatus.approved, ProposalStatus.not_approved)


def _record(
    session: Session, actor: User, rfp: Rfp, action: str, entity: str, entity_id: str, **data: Any
) -> None:
    audit.record(
        session=session,
        actor_id=actor.id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        agency_id=rfp.agency_id,
        data={"rfp_id": rfp.id, **data},
    )


def _require_review_phase(rfp: Rfp) -> None:
    status = rfp_service.effective_status(rfp)
    if status in (RfpStatus.draft, RfpStatus.published):
        raise Conflict("Review starts after the submission deadline.", slug="rfp-still-open")
    if status != RfpStatus.closed:
        raise Conflict(f"The RFP is {status}; its review is over.", slug="review-over")


def _criterion(rfp: Rfp, key: str) -> dict[str, Any]:
    for criterion in rfp.criteria:
        if criterion["key"] == key:
            return criterion
    raise Unprocessable.at(
        ["body", "criterion_key"], f"'{key}' is not a criterion of this RFP's rubric."
    )


def _check_level(criterion: dict[str, Any], value: int, loc: list[str | int]) -> None:
    levels = sorted(level["value"] for level in criterion["levels"])
    if value not in levels:
        raise Unprocessable.at(
            loc,
            f"{value} is not a level of '{criterion['title']}' "
            f"(levels: {', '.join(map(str, levels))}).",
        )


# --- panel ---------------------------------------------------------------------------------


def invite_reviewer(
    *, session: Session, actor: User, rfp_id: str, data: ReviewerInvite
) -> tuple[User, str | None]:
    """Add a reviewer to the panel: a new account and its invitation token, or, for an
    email that already has a reviewer account, the membership alone (token None) and a
    message to its owner; never a way to set someone else's password."""
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    if rfp.status in (RfpStatus.cancelled, RfpStatus.finalized):
        raise Conflict(f"The RFP is {rfp.status}; its panel is closed.")
    user, token = accounts_service.invite_user(
        session=session,
        actor=actor,
        email=str(data.email),
        name=data.name,
        role=accounts_policies.REVIEWER_ROLE,
        purpose="reviewer",
        context={"rfp_id": rfp.id},
    )
    if not policies.is_panel_member(session, user, rfp.id):
        session.add(PanelMember(rfp_id=rfp.id, user_id=user.id, invited_by=actor.id))
    _record(
        session,
        actor,
        rfp,
        "panel.reviewer_invited",
        "user",
        user.id,
        email=user.email,
        existing_account=token is None,
    )
    session.commit()
    if token is None:
        accounts_service.notify(
            user=user,
            subject=f"You are on the review panel of {rfp.title}",
            body=(
                f"Hello {user.name},\n\nYou have been added to the review panel of "
                f'"{rfp.title}". Sign in with your existing account to see it:\n'
                f"{accounts_service.page_link('/sign-in')}\n"
            ),
        )
    return user, token


def list_panel(*, session: Session, actor: User, rfp_id: str) -> list[tuple[User, bool]]:
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    rows = session.exec(
        select(User)
        .join(PanelMember, col(PanelMember.user_id) == col(User.id))
        .where(PanelMember.rfp_id == rfp.id)
    ).all()
    return [(user, policies.has_attested(session, user, rfp.id)) for user in rows]


def my_panels(*, session: Session, actor: User) -> list[tuple[Rfp, bool]]:
    """The RFPs whose panel the reviewer sits on, and whether they have attested."""
    if not policies.may_review_at_all(actor):
        return []
    rfps = session.exec(
        select(Rfp)
        .join(PanelMember, col(PanelMember.rfp_id) == col(Rfp.id))
        .where(PanelMember.user_id == actor.id)
        .order_by(col(Rfp.submission_deadline).desc())
    ).all()
    return [(rfp, policies.has_attested(session, actor, rfp.id)) for rfp in rfps]


def panel_rfp(*, session: Session, actor: User, rfp_id: str) -> Rfp:
    return _panel_rfp(session, actor, rfp_id)


def _panel_rfp(session: Session, user: User, rfp_id: str) -> Rfp:
    rfp = session.get(Rfp, rfp_id)
    if rfp is None or not policies.is_panel_member(session, user, rfp_id):
        raise NotFound("RFP")
    return rfp


def attest(*, session: Session, actor: User, rfp_id: str, data: AttestationCreate) -> Attestation:
    if not policies.may_review_at_all(actor):
        raise Forbidden("Only reviewers attest.")
    rfp = _panel_rfp(session, actor, rfp_id)
    existing = session.exec(
        select(Attestation).where(Attestation.rfp_id == rfp.id, Attestation.user_id == actor.id)
    ).first()
    if existing is not None:
        return existing
    attestation = Attestation(
        rfp_id=rfp.id,
        user_id=actor.id,
        no_conflict=data.no_conflict,
        confidentiality=data.confidentiality,
    )
    session.add(attestation)
    _record(session, actor, rfp, "panel.attested", "user", actor.id)
    try:
        session.commit()
    except IntegrityError:
        session.rollback()
        again = session.exec(
            select(Attestation).where(Attestation.rfp_id == rfp.id, Attestation.user_id == actor.id)
        ).one()
        return again
    return attestation


def record_conflict(
    *, session: Session, actor: User, rfp_id: str, data: ConflictCreate
) -> ConflictEvent:
    if not policies.may_record_conflicts(actor):
        raise Forbidden("Only reviewers and agency staff record conflicts.")
    if policies.may_review_at_all(actor):
        rfp = _panel_rfp(session, actor, rfp_id)
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
    _record(
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
        rfp = _panel_rfp(session, actor, rfp_id)
        query = select(ConflictEvent).where(
            ConflictEvent.rfp_id == rfp.id, ConflictEvent.reviewer_id == actor.id
        )
    else:
        rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
        query = select(ConflictEvent).where(ConflictEvent.rfp_id == rfp.id)
    return list(session.exec(query.order_by(col(ConflictEvent.created_at), col(ConflictEvent.id))))


# --- assignments ---------------------------------------------------------------------------


def _reviewable_proposals(session: Session, rfp: Rfp) -> list[Proposal]:
    return list(
        session.exec(
            select(Proposal)
            .where(Proposal.rfp_id == rfp.id, col(Proposal.status).in_(REVIEWABLE))
            .order_by(col(Proposal.submitted_at), col(Proposal.id))
        )
    )


def _active_assignments(session: Session, rfp: Rfp) -> list[Assignment]:
    return list(
        session.exec(
            select(Assignment)
            .where(Assignment.rfp_id == rfp.id, col(Assignment.removed_at).is_(None))
            .order_by(col(Assignment.created_at), col(Assignment.id))
        )
    )


def _panel_ids(session: Session, rfp: Rfp) -> list[str]:
    return list(
        session.exec(
            select(PanelMember.user_id)
            .where(PanelMember.rfp_id == rfp.id)
            .order_by(col(PanelMember.created_at))
        )
    )


def _place(
    session: Session, actor: User, rfp: Rfp, proposal_id: str, reviewer_id: str
) -> Assignment:
    """Create the assignment, or bring back one removed earlier (the pair is unique)."""
    row = session.exec(
        select(Assignment).where(
            Assignment.proposal_id == proposal_id, Assignment.reviewer_id == reviewer_id
        )
    ).first()
    if row is None:
        row = Assignment(
            rfp_id=rfp.id, proposal_id=proposal_id, reviewer_id=reviewer_id, created_by=actor.id
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
    _require_review_phase(rfp)
    proposals = _reviewable_proposals(session, rfp)
    by_org = {p.organization_id: p.id for p in proposals}
    reviewers = _panel_ids(session, rfp)
    forbidden = {
        (by_org[org], reviewer)
        for reviewer, org in policies.active_conflicts(session, rfp.id)
        if org in by_org
    }
    existing = {(a.proposal_id, a.reviewer_id) for a in _active_assignments(session, rfp)}
    try:
        pairs = assign_reviewers(
            [p.id for p in proposals], reviewers, rfp.reviewers_per_proposal, forbidden, existing
        )
    except InfeasibleAssignment as exc:
        raise Conflict(str(exc), slug="assignment-infeasible") from exc
    for proposal_id, reviewer_id in pairs:
        _place(session, actor, rfp, proposal_id, reviewer_id)
    _record(
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
    return _active_assignments(session, rfp)


def add_assignment(
    *, session: Session, actor: User, rfp_id: str, proposal_id: str, reviewer_id: str
) -> Assignment:
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    _require_review_phase(rfp)
    proposal = session.get(Proposal, proposal_id)
    if proposal is None or proposal.rfp_id != rfp.id or proposal.status not in REVIEWABLE:
        raise Unprocessable.at(
            ["body", "proposal_id"], "No submitted proposal with this id on this RFP."
        )
    reviewer = session.get(User, reviewer_id)
    if reviewer is None or not policies.is_panel_member(session, reviewer, rfp.id):
        raise Unprocessable.at(["body", "reviewer_id"], "That reviewer is not on this RFP's panel.")
    if policies.is_conflicted(session, reviewer.id, rfp.id, proposal.organization_id):
        raise Conflict(
            "That reviewer declared a conflict with this organization.", slug="conflict-of-interest"
        )
    duplicate = session.exec(
        select(Assignment.id).where(
            Assignment.proposal_id == proposal.id,
            Assignment.reviewer_id == reviewer.id,
            col(Assignment.removed_at).is_(None),
        )
    ).first()
    if duplicate is not None:
        raise Conflict("This reviewer is already assigned to this proposal.", slug="duplicate")
    assignment = _place(session, actor, rfp, proposal.id, reviewer.id)
    session.flush()
    _record(
        session,
        actor,
        rfp,
        "assignment.created",
        "assignment",
        assignment.id,
        proposal_id=proposal.id,
        reviewer_id=reviewer.id,
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
    proposals = _reviewable_proposals(session, rfp)
    names = dict(
        session.exec(
            select(Organization.id, Organization.name).where(
                col(Organization.id).in_([p.organization_id for p in proposals])
            )
        ).all()
    )
    return _active_assignments(session, rfp), {
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
    _require_review_phase(rfp)
    assignment.removed_at = utcnow()
    session.add(assignment)
    _record(session, actor, rfp, "assignment.removed", "assignment", assignment.id)
    session.commit()


def reopen_assignment(*, session: Session, actor: User, assignment_id: str) -> Assignment:
    if not policies.may_manage_reviews(actor):
        raise Forbidden("Only agency staff reopen assignments.")
    assignment, rfp = _managed_assignment(session, actor, assignment_id)
    _require_review_phase(rfp)
    if assignment.status != AssignmentStatus.submitted:
        raise Conflict("Only a submitted review can be reopened.")
    assignment.status = AssignmentStatus.assigned
    assignment.submitted_at = None
    session.add(assignment)
    _record(session, actor, rfp, "assignment.reopened", "assignment", assignment.id)
    session.commit()
    return assignment


def my_assignments(*, session: Session, actor: User) -> list[Assignment]:
    if not policies.may_review_at_all(actor):
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


def _own_assignment(
    session: Session, actor: User, assignment_id: str, lock: bool = False
) -> tuple[Assignment, Rfp, Proposal]:
    if not policies.may_review_at_all(actor):
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
    if not policies.has_attested(session, actor, assignment.rfp_id):
        raise Conflict(
            "Attest to having no conflict of interest and to keeping proposals confidential "
            "before opening an assignment.",
            slug="attestation-required",
        )
    rfp = session.get(Rfp, assignment.rfp_id)
    proposal = session.get(Proposal, assignment.proposal_id)
    assert rfp is not None and proposal is not None
    return assignment, rfp, proposal


def assignment_rfp_id(*, session: Session, actor: User, assignment_id: str) -> str:
    """The RFP of the reviewer's own assignment, before attestation too (to send them there)."""
    assignment = session.get(Assignment, assignment_id)
    if (
        assignment is None
        or assignment.removed_at is not None
        or assignment.reviewer_id != actor.id
        or not _visible_to_reviewer(session, actor, assignment)
    ):
        raise NotFound("Assignment")
    return assignment.rfp_id


def conflict_candidates(*, session: Session, actor: User, rfp_id: str) -> list[tuple[str, str]]:
    """The organizations (id, name) a panel member may declare a conflict with: those of
    the proposals assigned to them, and those they declared before. A reviewer learns
    nothing about who applied before the close, and only their own assignments after it."""
    rfp = _panel_rfp(session, actor, rfp_id)
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
    declared = session.exec(
        select(ConflictEvent.organization_id).where(
            ConflictEvent.rfp_id == rfp.id, ConflictEvent.reviewer_id == actor.id
        )
    )
    ids = set(assigned) | set(declared)
    return [
        (organization.id, organization.name)
        for organization in session.exec(
            select(Organization)
            .where(col(Organization.id).in_(ids))
            .order_by(col(Organization.name), col(Organization.id))
        )
    ]


def _current_scores(session: Session, assignment_id: str) -> list[Score]:
    return list(session.exec(select(Score).where(Score.assignment_id == assignment_id)))


def assignment_detail(*, session: Session, actor: User, assignment_id: str) -> AssignmentDetail:
    assignment, rfp, proposal = _own_assignment(session, actor, assignment_id)
    scores = {s.criterion_key: s for s in _current_scores(session, assignment.id)}
    return AssignmentDetail(
        id=assignment.id,
        rfp_id=rfp.id,
        status=AssignmentStatus(assignment.status),
        proposal=proposal_service.read(
            session=session, proposal=proposal, rfp=rfp, working_copy=False
        ),
        criteria=[CriterionSchema.model_validate(c) for c in rfp.criteria],
        scores=[
            ScoreItem(
                criterion_key=c["key"],
                value=scores[c["key"]].value,
                comment=scores[c["key"]].comment,
            )
            for c in rfp.criteria
            if c["key"] in scores
        ],
    )


def save_scores(
    *, session: Session, actor: User, assignment_id: str, data: ScoresWrite
) -> ScoresSaved:
    assignment, rfp, _ = _own_assignment(session, actor, assignment_id, lock=True)
    _require_review_phase(rfp)
    if assignment.status != AssignmentStatus.assigned:
        raise Conflict(
            "This review was submitted; ask the RFP staff to reopen it to change scores."
        )
    for n, item in enumerate(data.scores):
        criterion = _criterion(rfp, item.criterion_key)
        _check_level(criterion, item.value, ["body", "scores", n, "value"])
    current = {s.criterion_key: s for s in _current_scores(session, assignment.id)}
    now = utcnow()
    for item in data.scores:
        score = current.get(item.criterion_key) or Score(
            assignment_id=assignment.id, criterion_key=item.criterion_key, value=item.value
        )
        score.value, score.comment, score.updated_at = item.value, item.comment, now
        session.add(score)
        session.add(
            ScoreHistory(
                assignment_id=assignment.id,
                criterion_key=item.criterion_key,
                value=item.value,
                comment=item.comment,
                saved_by=actor.id,
                saved_at=now,
            )
        )
    _record(
        session,
        actor,
        rfp,
        "scores.saved",
        "assignment",
        assignment.id,
        criteria=[i.criterion_key for i in data.scores],
    )
    session.commit()
    saved = {key: (s.value, s.comment) for key, s in current.items()}
    saved.update({item.criterion_key: (item.value, item.comment) for item in data.scores})
    return ScoresSaved(
        id=assignment.id,
        rfp_id=rfp.id,
        status=AssignmentStatus(assignment.status),
        scores=[
            ScoreItem(criterion_key=c["key"], value=saved[c["key"]][0], comment=saved[c["key"]][1])
            for c in rfp.criteria
            if c["key"] in saved
        ],
    )


def submit_assignment(*, session: Session, actor: User, assignment_id: str) -> Assignment:
    assignment, rfp, _ = _own_assignment(session, actor, assignment_id, lock=True)
    _require_review_phase(rfp)
    if assignment.status != AssignmentStatus.assigned:
        raise Conflict("This review was already submitted.")
    scores = {s.criterion_key: s for s in _current_scores(session, assignment.id)}
    errors: list[dict[str, Any]] = []
    for criterion in rubric_of(rfp):
        score = scores.get(criterion.key)
        if score is None:
            errors.append({"loc": ["scores", criterion.key], "msg": f"Score '{criterion.title}'."})
        elif rubric_math.is_low_score(criterion, score.value) and not score.comment.strip():
            errors.append(
                {
                    "loc": ["scores", criterion.key],
                    "msg": f"Explain the low score for '{criterion.title}' in a comment.",
                }
            )
    if errors:
        raise Unprocessable(
            f"The review is not complete: {len(errors)} item(s).",
            slug="incomplete-review",
            errors=errors,
        )
    assignment.status = AssignmentStatus.submitted
    assignment.submitted_at = utcnow()
    session.add(assignment)
    _record(session, actor, rfp, "assignment.submitted", "assignment", assignment.id)
    session.commit()
    return assignment


def rubric_of(rfp: Rfp) -> list[rubric_math.Criterion]:
    return rfp_templates.rubric_of(rfp.criteria)


# --- results -------------------------------------------------------------------------------


def _gather(
    session: Session, rfp: Rfp
) -> tuple[
    list[Proposal],
    dict[str, dict[str, dict[str, int]]],
    dict[str, dict[str, int]],
    dict[str, tuple[int, int]],
    dict[str, dict[str, list[str]]],
]:
    proposals = _reviewable_proposals(session, rfp)
    assignments = _active_assignments(session, rfp)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    submitted_ids: dict[str, Assignment] = {}
    for a in assignments:
        counts[a.proposal_id][1] += 1
        if a.status == AssignmentStatus.submitted:
            counts[a.proposal_id][0] += 1
            submitted_ids[a.id] = a
    scores: dict[str, dict[str, dict[str, int]]] = {p.id: {} for p in proposals}
    comments: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    if submitted_ids:
        rows = session.exec(select(Score).where(col(Score.assignment_id).in_(list(submitted_ids))))
        for score in rows:
            a = submitted_ids[score.assignment_id]
            if a.proposal_id in scores:
                scores[a.proposal_id].setdefault(a.reviewer_id, {})[score.criterion_key] = (
                    score.value
                )
                if score.comment.strip():
                    comments[a.proposal_id][score.criterion_key].append(score.comment.strip())
    consensus: dict[str, dict[str, int]] = defaultdict(dict)
    for row in session.exec(
        select(Consensus).where(col(Consensus.proposal_id).in_([p.id for p in proposals]))
    ):
        consensus[row.proposal_id][row.criterion_key] = row.value
    totals = {p.id: (counts[p.id][0], counts[p.id][1]) for p in proposals}
    return proposals, scores, dict(consensus), totals, comments


def compute_results(session: Session, rfp: Rfp) -> ResultsRead:
    proposals, scores, consensus, counts, _ = _gather(session, rfp)
    rubric = rubric_of(rfp)
    cube = rubric_math.build_score_cube(rubric, scores)  # once, for results and agreement
    computed = {r.proposal_id: r for r in rubric_math.results_from_cube(cube, consensus)}
    ranks = ranking_math.competition_rank({pid: r.weighted_total for pid, r in computed.items()})
    names = dict(
        session.exec(
            select(Organization.id, Organization.name).where(
                col(Organization.id).in_([p.organization_id for p in proposals])
            )
        ).all()
    )
    titles = {c.key: c.title for c in rubric}
    items = []
    for proposal in proposals:
        result = computed[proposal.id]
        items.append(
            ResultRow(
                proposal_id=proposal.id,
                organization_id=proposal.organization_id,
                organization_name=names.get(proposal.organization_id, ""),
                rank=ranks.get(proposal.id),
                weighted_total=result.weighted_total,
                normalized_total=result.normalized_total,
                criteria=[
                    CriterionResultRead(
                        key=c.key,
                        title=titles[c.key],
                        mean=c.mean,
                        consensus=c.consensus,
                        calibrated_mean=c.calibrated_mean,
                        scores=list(c.scores),
                        flagged=c.flagged,
                    )
                    for c in result.criteria
                ],
                reviews_submitted=counts[proposal.id][0],
                reviews_assigned=counts[proposal.id][1],
            )
        )
    items.sort(key=lambda row: (row.rank is None, row.rank or 0, row.organization_name))
    return ResultsRead(
        items=items,
        total=len(items),
        agreement=agreement_math.agreement_from_cube(cube),
    )


def results(*, session: Session, actor: User, rfp_id: str) -> ResultsRead:
    if not policies.may_manage_reviews(actor):
        raise Forbidden("Only agency staff see review results.")
    rfp = rfp_service.get_visible(session=session, user=actor, rfp_id=rfp_id)
    if not rfp_policies.can_manage(actor, rfp):
        raise NotFound("RFP")
    status = rfp_service.effective_status(rfp)
    if status in (RfpStatus.draft, RfpStatus.published):
        raise Conflict(
            "Results exist once the submission deadline has passed.", slug="rfp-still-open"
        )
    if status == RfpStatus.cancelled:
        # A cancelled RFP's bids are never opened, so there is nothing to score or rank.
        raise Conflict("The RFP was cancelled; it has no review results.", slug="rfp-cancelled")
    return compute_results(session, rfp)


def results_csv(results_read: ResultsRead) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    keys = [c.key for c in results_read.items[0].criteria] if results_read.items else []
    writer.writerow(
        [
            "rank",
            "organization",
            "organization_id",
            "proposal_id",
            "weighted_total",
            "normalized_total",
            "reviews_submitted",
            "reviews_assigned",
        ]
        + [f"{k} mean" for k in keys]
        + [f"{k} consensus" for k in keys]
        + [f"{k} flagged" for k in keys]
    )

    def fmt(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    for row in results_read.items:
        by_key = {c.key: c for c in row.criteria}
        writer.writerow(
            [
                row.rank or "",
                _csv_safe(row.organization_name),
                row.organization_id,
                row.proposal_id,
                fmt(row.weighted_total),
                fmt(row.normalized_total),
                row.reviews_submitted,
                row.reviews_assigned,
            ]
            + [fmt(by_key[k].mean) for k in keys]
            + ["" if by_key[k].consensus is None else by_key[k].consensus for k in keys]
            + ["yes" if by_key[k].flagged else "" for k in keys]
        )
    return buffer.getvalue()


def _csv_safe(text: str) -> str:
    # Spreadsheet programs run cells that start with these as formulas.
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def set_consensus(
    *, session: Session, actor: User, proposal_id: str, data: ConsensusWrite
) -> Consensus:
    if not policies.may_manage_reviews(actor):
        raise Forbidden("Only agency staff set consensus scores.")
    proposal = session.get(Proposal, proposal_id)
    if proposal is None:
        raise NotFound("Proposal")
    rfp = session.get(Rfp, proposal.rfp_id)
    if rfp is None or not rfp_policies.can_manage(actor, rfp) or proposal.status not in REVIEWABLE:
        raise NotFound("Proposal")
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp.id)
    _require_review_phase(rfp)
    criterion = _criterion(rfp, data.criterion_key)
    _check_level(criterion, data.value, ["body", "value"])
    row = session.exec(
        select(Consensus).where(
            Consensus.proposal_id == proposal.id, Consensus.criterion_key == data.criterion_key
        )
    ).first()
    if row is None:
        row = Consensus(
            proposal_id=proposal.id,
            criterion_key=data.criterion_key,
            value=data.value,
            rationale=data.rationale,
            set_by=actor.id,
        )
    else:
        row.value, row.rationale, row.set_by, row.set_at = (
            data.value,
            data.rationale,
            actor.id,
            utcnow(),
        )
    session.add(row)
    _record(
        session,
        actor,
        rfp,
        "consensus.set",
        "proposal",
        proposal.id,
        criterion_key=data.criterion_key,
        value=data.value,
    )
    session.commit()
    return row


# --- finalization --------------------------------------------------------------------------


def finalize(
    *, session: Session, actor: User, rfp_id: str, valid_until: date | None
) -> list[DecisionRead]:
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)  # locked
    _require_review_phase(rfp)
    proposals, scores, consensus, counts, _ = _gather(session, rfp)
    pending = [
        a for a in _active_assignments(session, rfp) if a.status != AssignmentStatus.submitted
    ]
    if pending:
        raise Conflict(f"{len(pending)} review(s) are not submitted yet.", slug="reviews-pending")
    unreviewed = [p for p in proposals if counts[p.id][0] == 0 and not consensus.get(p.id)]
    if unreviewed:
        raise Conflict(
            f"{len(unreviewed)} proposal(s) have no submitted review.", slug="reviews-pending"
        )
    rubric = rubric_of(rfp)
    if rfp.aggregation == "consensus":
        missing = sum(1 for p in proposals for c in rubric if c.key not in consensus.get(p.id, {}))
        if missing:
            raise Conflict(
                f"Consensus mode: {missing} consensus score(s) are still to be set.",
                slug="consensus-missing",
            )
    computed = rubric_math.proposal_results(rubric, scores, consensus)
    rule = approval_math.ApprovalRule(
        threshold=float(rfp.approval.get("threshold", 70)),
        top_n=rfp.approval.get("top_n"),
        all_sections_meet=bool(rfp.approval.get("all_sections_meet", False)),
    )
    decisions = {d.proposal_id: d for d in approval_math.decide(rubric, computed, rule)}
    by_id = {r.proposal_id: r for r in computed}
    agency = session.get(Agency, rfp.agency_id)
    assert agency is not None
    now = utcnow()
    listing_end = valid_until or now.date() + timedelta(days=365 * LISTING_YEARS)
    if listing_end <= now.date():
        raise Unprocessable.at(
            ["body", "valid_until"], "The listing must be valid until a future date."
        )
    names = dict(session.exec(select(Organization.id, Organization.name)).all())
    out: list[DecisionRead] = []
    for proposal in proposals:
        decision = decisions[proposal.id]
        result = by_id[proposal.id]
        session.add(
            ApprovalDecision(
                proposal_id=proposal.id,
                rfp_id=rfp.id,
                approved=decision.approved,
                reason=decision.reason,
                weighted_total=result.weighted_total,
                normalized_total=result.normalized_total,
                rank=decision.rank,
                criteria=[
                    {"key": c.key, "value": c.value, "mean": c.mean, "consensus": c.consensus}
                    for c in result.criteria
                ],
                decided_by=actor.id,
                decided_at=now,
            )
        )
        proposal.status = (
            ProposalStatus.approved if decision.approved else ProposalStatus.not_approved
        )
        session.add(proposal)
        if decision.approved:
            session.add(
                PreferredProvider(
                    rfp_id=rfp.id,
                    organization_id=proposal.organization_id,
                    state=agency.state,
                    rank=decision.rank,
                    weighted_total=result.weighted_total,
                    categories=list(rfp.categories),
                    valid_until=listing_end,
                )
            )
        out.append(
            DecisionRead(
                proposal_id=proposal.id,
                organization_id=proposal.organization_id,
                organization_name=names.get(proposal.organization_id, ""),
                decision="approved" if decision.approved else "not_approved",
                reason=decision.reason,
                weighted_total=result.weighted_total,
                rank=decision.rank,
            )
        )
    rfp.status = RfpStatus.finalized
    rfp.finalized_at = now
    rfp.closed_at = rfp.closed_at or now
    rfp.version += 1
    session.add(rfp)
    _record(
        session,
        actor,
        rfp,
        "rfp.finalized",
        "rfp",
        rfp.id,
        approved=sum(d.decision == "approved" for d in out),
        decided=len(out),
    )
    session.commit()
    out.sort(key=lambda d: (d.rank is None, d.rank or 0))
    return out


def decisions(*, session: Session, actor: User, rfp_id: str) -> list[DecisionRead]:
    rfp = rfp_service.get_managed(session=session, user=actor, rfp_id=rfp_id)
    names = dict(session.exec(select(Organization.id, Organization.name)).all())
    rows = session.exec(
        select(ApprovalDecision, Proposal)
        .join(Proposal, col(Proposal.id) == col(ApprovalDecision.proposal_id))
        .where(ApprovalDecision.rfp_id == rfp.id)
    )
    out = [
        DecisionRead(
            proposal_id=d.proposal_id,
            organization_id=p.organization_id,
            organization_name=names.get(p.organization_id, ""),
            decision="approved" if d.approved else "not_approved",
            reason=d.reason,
            weighted_total=d.weighted_total,
            rank=d.rank,
        )
        for d, p in rows
    ]
    return sorted(out, key=lambda d: (d.rank is None, d.rank or 0))


def debrief(*, session: Session, actor: User, proposal_id: str) -> Debrief:
    proposal, rfp = proposal_service.get_own(session=session, user=actor, proposal_id=proposal_id)
    decision = session.get(ApprovalDecision, proposal.id)
    if decision is None:
        raise NotFound("Debrief (available once the RFP is finalized)")
    _, scores, consensus, _, comments = _gather(session, rfp)
    per_criterion: dict[str, list[int]] = defaultdict(list)
    for reviewer_scores in scores.get(proposal.id, {}).values():
        for key, value in reviewer_scores.items():
            per_criterion[key].append(value)
    return Debrief(
        decision="approved" if decision.approved else "not_approved",
        reason=decision.reason,
        weighted_total=decision.weighted_total,
        rank=decision.rank,
        # Sorted, so neither order nor position links a score or comment to a reviewer.
        criteria=[
            DebriefCriterion(
                key=c["key"],
                title=c["title"],
                scores=sorted(per_criterion.get(c["key"], [])),
                comments=sorted(comments.get(proposal.id, {}).get(c["key"], [])),
                consensus=consensus.get(proposal.id, {}).get(c["key"]),
            )
            for c in rfp.criteria
        ],
    )


# --- the preferred-provider list -----------------------------------------------------------


def preferred_providers(
    *, session: Session, state: str | None, limit: int, offset: int
) -> tuple[list[PreferredProviderRead], int]:
    today = utcnow().date()
    query = (
        select(PreferredProvider, Organization, Rfp, Agency)
        .join(Organization, col(Organization.id) == col(PreferredProvider.organization_id))
        .join(Rfp, col(Rfp.id) == col(PreferredProvider.rfp_id))
        .join(Agency, col(Agency.id) == col(Rfp.agency_id))
        .where(col(PreferredProvider.valid_until) >= today)
    )
    if state:
        query = query.where(PreferredProvider.state == state.upper())
    rows = session.exec(
        query.order_by(
            col(PreferredProvider.state),
            col(Rfp.finalized_at).desc(),
            col(PreferredProvider.rank),
            col(Organization.name),
        )
    ).all()
    items = [
        PreferredProviderRead(
            organization_id=org.id,
            organization_name=org.name,
            rfp_id=rfp.id,
            rfp_title=rfp.title,
            agency_name=agency.name,
            state=listing.state,
            rank=listing.rank,
            weighted_total=listing.weighted_total,
            grade_levels=org.grade_levels,
            states=org.states,
            capacity_clusters=org.capacity_clusters,
            categories=listing.categories,
            valid_until=listing.valid_until,
        )
        for listing, org, rfp, agency in rows
    ]
    return items[offset : offset + limit], len(items)


def listed_providers(session: Session, agency: Agency) -> list[PreferredProvider]:
    """Current listings covering the district's state, best (latest, highest) first."""
    return list(
        session.exec(
            select(PreferredProvider)
            .where(
                PreferredProvider.state == agency.state,
                col(PreferredProvider.valid_until) >= utcnow().date(),
            )
            .order_by(
                col(PreferredProvider.created_at).desc(),
                col(PreferredProvider.weighted_total).desc(),
            )
        )
    )
