"""Reviewers see only proposals assigned to them, after attesting, never a conflicted one;
conflicts are withdrawn only by whoever declared them."""

from collections.abc import Iterable

from sqlmodel import Session, col, select
from sqlmodel.sql.expression import SelectOfScalar

from app.accounts.models import Role, User
from app.accounts.policies import is_reviewer, is_staff, is_staff_of, membership_counts
from app.proposals.models import Proposal
from app.reviews.models import Assignment, Attestation, ConflictEvent, PanelMember
from app.rfps.models import Rfp, Selection

# Who stands behind a conflict declaration: the reviewer, or the agency's staff.
REVIEWER_SIDE = "reviewer"
STAFF_SIDE = "staff"


def may_review_at_all(user: User | None) -> bool:
    """Only reviewers attest, declare their own conflicts and score."""
    return is_reviewer(user)


def may_score(user: User | None) -> bool:
    """Reviewers score their assignments; agency staff score the interviews they sit on
    (which: `may_interview`)."""
    return is_reviewer(user) or is_staff(user)


def may_interview(user: User | None, rfp: Rfp) -> bool:
    """A district's staff sit on the interview panel of the district's own direct-award RFP
    (they read every proposal after the close already, so no reviewer attestation)."""
    return is_staff_of(user, rfp.agency_id) and rfp.selection == Selection.direct_award


def needs_attestation(user: User) -> bool:
    return is_reviewer(user)


def may_manage_reviews(user: User | None) -> bool:
    """Only agency staff run panels, assignments, results and finalization (which RFPs, the
    RFP's policies decide)."""
    return is_staff(user)


def may_record_conflicts(user: User | None) -> bool:
    return is_reviewer(user) or is_staff(user)


def is_panel_member(session: Session, user: User, rfp_id: str) -> bool:
    """On the panel, and counted there: an account whose owner still has to prove the
    mailbox (`accounts.policies.must_prove_email_to_join`) is not, until they do."""
    if not is_reviewer(user):
        return False
    needs = session.exec(
        select(PanelMember.needs_verified_email).where(
            PanelMember.rfp_id == rfp_id, PanelMember.user_id == user.id
        )
    ).first()
    return needs is not None and membership_counts(user, needs)


def has_attested(session: Session, user: User, rfp_id: str) -> bool:
    return (
        session.exec(
            select(Attestation.id).where(
                Attestation.rfp_id == rfp_id, Attestation.user_id == user.id
            )
        ).first()
        is not None
    )


def side_of(user: User) -> str:
    return REVIEWER_SIDE if user.role == Role.reviewer else STAFF_SIDE


def side_of_event(event: ConflictEvent) -> str:
    return REVIEWER_SIDE if event.recorded_by_role == Role.reviewer else STAFF_SIDE


def _events(session: Session, rfp_id: str) -> Iterable[ConflictEvent]:
    return session.exec(
        select(ConflictEvent)
        .where(ConflictEvent.rfp_id == rfp_id)
        .order_by(col(ConflictEvent.created_at), col(ConflictEvent.id))
    )


def standing_declarations(session: Session, rfp_id: str) -> dict[tuple[str, str], set[str]]:
    """For each (reviewer_id, organization_id) pair, the sides whose declaration stands.

    A reviewer's own declaration and one staff made for them are separate: each is withdrawn
    only by its own side, and the pair is conflicted while either stands."""
    standing: dict[tuple[str, str], set[str]] = {}
    for event in _events(session, rfp_id):
        sides = standing.setdefault((event.reviewer_id, event.organization_id), set())
        if event.action == "declared":
            sides.add(side_of_event(event))
        else:
            sides.discard(side_of_event(event))
    return {pair: sides for pair, sides in standing.items() if sides}


def active_conflicts(session: Session, rfp_id: str) -> set[tuple[str, str]]:
    """(reviewer_id, organization_id) pairs with a standing declaration."""
    return set(standing_declarations(session, rfp_id))


def is_conflicted(session: Session, reviewer_id: str, rfp_id: str, organization_id: str) -> bool:
    return (reviewer_id, organization_id) in active_conflicts(session, rfp_id)


def conflicts_seen_by_reviewer(
    rfp_id: str, reviewer: User, bids_opened: bool
) -> SelectOfScalar[ConflictEvent]:
    """A reviewer's own conflict history. What staff recorded for them shows only once the
    bids are open: before the close it would tell them who applied."""
    query = select(ConflictEvent).where(
        ConflictEvent.rfp_id == rfp_id, ConflictEvent.reviewer_id == reviewer.id
    )
    if not bids_opened:
        query = query.where(ConflictEvent.recorded_by_role == Role.reviewer)
    return query


def may_withdraw_conflict(actor: User, standing_sides: set[str]) -> bool:
    """A reviewer withdraws only their own declaration; staff only one staff made."""
    return side_of(actor) in standing_sides


def may_review(session: Session, user: User, proposal: Proposal) -> bool:
    if not is_reviewer(user):
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
