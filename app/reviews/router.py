from typing import Annotated

from fastapi import Body, Response, status

from app.core.pagination import Page
from app.core.routing import api_router
from app.deps import CurrentUser, SessionDep
from app.matching.schemas import AwardsRead
from app.reviews import assignments as assignment_service
from app.reviews import conflicts as conflict_service
from app.reviews import finalization as finalization_service
from app.reviews import panel as panel_service
from app.reviews import results as result_service
from app.reviews import scores as score_service
from app.reviews.models import Assignment
from app.reviews.schemas import (
    AssignmentCreate,
    AssignmentDetail,
    AssignmentRow,
    AttestationCreate,
    AttestationRead,
    ConflictCreate,
    ConflictRead,
    ConsensusRead,
    ConsensusWrite,
    Debrief,
    DecisionRead,
    FinalistsRead,
    FinalistsWrite,
    FinalizeRead,
    FinalizeRequest,
    PanelMemberRead,
    ResultsRead,
    ReviewerInvite,
    ReviewerInvited,
    ScoresSaved,
    ScoresWrite,
)

router = api_router(tags=["review"])


def _rows(assignments: list[Assignment]) -> Page[AssignmentRow]:
    items = [AssignmentRow.model_validate(a, from_attributes=True) for a in assignments]
    return Page(items=items, total=len(items))


@router.post(
    "/rfps/{rfp_id}/reviewers",
    response_model=ReviewerInvited,
    status_code=status.HTTP_201_CREATED,
    responses={409: {"description": "The email belongs to an account that cannot be invited"}},
)
def invite_reviewer(
    session: SessionDep, user: CurrentUser, rfp_id: str, body: ReviewerInvite
) -> ReviewerInvited:
    reviewer, token, awaiting = panel_service.invite_reviewer(
        session=session, actor=user, rfp_id=rfp_id, data=body
    )
    return ReviewerInvited(
        user_id=reviewer.id,
        invite_token=token,
        existing_account=token is None,
        awaiting_email_proof=awaiting,
    )


@router.get("/rfps/{rfp_id}/reviewers", response_model=Page[PanelMemberRead])
def list_reviewers(session: SessionDep, user: CurrentUser, rfp_id: str) -> Page[PanelMemberRead]:
    members = panel_service.list_panel(session=session, actor=user, rfp_id=rfp_id)
    items = [
        PanelMemberRead(
            user_id=u.id,
            email=u.email,
            name=u.name,
            attested=attested,
            active=u.password_hash is not None,
            awaiting_email_proof=awaiting,
        )
        for u, attested, awaiting in members
    ]
    return Page(items=items, total=len(items))


@router.post(
    "/rfps/{rfp_id}/attestation",
    response_model=AttestationRead,
    status_code=status.HTTP_201_CREATED,
)
def attest(
    session: SessionDep, user: CurrentUser, rfp_id: str, body: AttestationCreate
) -> AttestationRead:
    attestation = panel_service.attest(session=session, actor=user, rfp_id=rfp_id, data=body)
    return AttestationRead.model_validate(attestation, from_attributes=True)


@router.post(
    "/rfps/{rfp_id}/conflicts", response_model=ConflictRead, status_code=status.HTTP_201_CREATED
)
def record_conflict(
    session: SessionDep, user: CurrentUser, rfp_id: str, body: ConflictCreate
) -> ConflictRead:
    event = conflict_service.record_conflict(session=session, actor=user, rfp_id=rfp_id, data=body)
    return ConflictRead.model_validate(event, from_attributes=True)


@router.get("/rfps/{rfp_id}/conflicts", response_model=Page[ConflictRead])
def list_conflicts(session: SessionDep, user: CurrentUser, rfp_id: str) -> Page[ConflictRead]:
    events = conflict_service.list_conflicts(session=session, actor=user, rfp_id=rfp_id)
    items = [ConflictRead.model_validate(e, from_attributes=True) for e in events]
    return Page(items=items, total=len(items))


@router.post("/rfps/{rfp_id}/assignments/auto", response_model=Page[AssignmentRow])
def auto_assign(session: SessionDep, user: CurrentUser, rfp_id: str) -> Page[AssignmentRow]:
    return _rows(assignment_service.auto_assign(session=session, actor=user, rfp_id=rfp_id))


@router.post(
    "/rfps/{rfp_id}/assignments", response_model=AssignmentRow, status_code=status.HTTP_201_CREATED
)
def add_assignment(
    session: SessionDep, user: CurrentUser, rfp_id: str, body: AssignmentCreate
) -> AssignmentRow:
    assignment = assignment_service.add_assignment(
        session=session,
        actor=user,
        rfp_id=rfp_id,
        proposal_id=body.proposal_id,
        reviewer_id=body.reviewer_id,
        stage=body.stage,
    )
    return AssignmentRow.model_validate(assignment, from_attributes=True)


@router.post("/rfps/{rfp_id}/finalists", response_model=FinalistsRead)
def mark_finalists(
    session: SessionDep, user: CurrentUser, rfp_id: str, body: FinalistsWrite
) -> FinalistsRead:
    """The proposals that go on to the interview stage (staff, once written reviews are in)."""
    chosen = assignment_service.mark_finalists(
        session=session, actor=user, rfp_id=rfp_id, proposal_ids=body.proposal_ids
    )
    return FinalistsRead(proposal_ids=[p.id for p in chosen])


@router.delete("/assignments/{assignment_id}", status_code=status.HTTP_204_NO_CONTENT)
def remove_assignment(session: SessionDep, user: CurrentUser, assignment_id: str) -> Response:
    assignment_service.remove_assignment(session=session, actor=user, assignment_id=assignment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/assignments/{assignment_id}/reopen", response_model=AssignmentRow)
def reopen_assignment(session: SessionDep, user: CurrentUser, assignment_id: str) -> AssignmentRow:
    assignment = assignment_service.reopen_assignment(
        session=session, actor=user, assignment_id=assignment_id
    )
    return AssignmentRow.model_validate(assignment, from_attributes=True)


@router.get("/me/assignments", response_model=Page[AssignmentRow])
def my_assignments(session: SessionDep, user: CurrentUser) -> Page[AssignmentRow]:
    return _rows(assignment_service.my_assignments(session=session, actor=user))


@router.get("/assignments/{assignment_id}", response_model=AssignmentDetail)
def get_assignment(session: SessionDep, user: CurrentUser, assignment_id: str) -> AssignmentDetail:
    return score_service.assignment_detail(session=session, actor=user, assignment_id=assignment_id)


@router.put("/assignments/{assignment_id}/scores", response_model=ScoresSaved)
def save_scores(
    session: SessionDep, user: CurrentUser, assignment_id: str, body: ScoresWrite
) -> ScoresSaved:
    return score_service.save_scores(
        session=session, actor=user, assignment_id=assignment_id, data=body
    )


@router.post("/assignments/{assignment_id}/submit", response_model=AssignmentRow)
def submit_assignment(session: SessionDep, user: CurrentUser, assignment_id: str) -> AssignmentRow:
    assignment = score_service.submit_assignment(
        session=session, actor=user, assignment_id=assignment_id
    )
    return AssignmentRow.model_validate(assignment, from_attributes=True)


@router.get("/rfps/{rfp_id}/results", response_model=ResultsRead)
def get_results(session: SessionDep, user: CurrentUser, rfp_id: str) -> ResultsRead:
    return result_service.results(session=session, actor=user, rfp_id=rfp_id)


@router.get(
    "/rfps/{rfp_id}/results.csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "The results table as CSV"}},
)
def get_results_csv(session: SessionDep, user: CurrentUser, rfp_id: str) -> Response:
    table = result_service.results(session=session, actor=user, rfp_id=rfp_id)
    return Response(
        result_service.results_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="results-{rfp_id}.csv"'},
    )


@router.put("/proposals/{proposal_id}/consensus", response_model=ConsensusRead)
def set_consensus(
    session: SessionDep, user: CurrentUser, proposal_id: str, body: ConsensusWrite
) -> ConsensusRead:
    row = result_service.set_consensus(
        session=session, actor=user, proposal_id=proposal_id, data=body
    )
    return ConsensusRead.model_validate(row, from_attributes=True)


@router.post("/rfps/{rfp_id}/finalize", response_model=FinalizeRead)
def finalize(
    session: SessionDep,
    user: CurrentUser,
    rfp_id: str,
    body: Annotated[FinalizeRequest | None, Body()] = None,
) -> FinalizeRead:
    """Decide every proposal; a state's approved partners are listed, a district's RFP
    also answers the awards of its clusters."""
    items, awards = finalization_service.finalize(
        session=session, actor=user, rfp_id=rfp_id, valid_until=body.valid_until if body else None
    )
    return FinalizeRead(
        items=items,
        total=len(items),
        awards=awards.awards if awards else [],
        unawarded=awards.unawarded if awards else [],
    )


@router.get("/rfps/{rfp_id}/awards", response_model=AwardsRead)
def list_awards(session: SessionDep, user: CurrentUser, rfp_id: str) -> AwardsRead:
    """A direct-award RFP's awards and the clusters still without one (staff)."""
    return finalization_service.awards(session=session, actor=user, rfp_id=rfp_id)


@router.post("/rfps/{rfp_id}/awards", response_model=AwardsRead)
def award_again(session: SessionDep, user: CurrentUser, rfp_id: str) -> AwardsRead:
    """Award the clusters left open (declined, or unawarded) to the next best approved
    applicants, never a declined pair."""
    return finalization_service.award_again(session=session, actor=user, rfp_id=rfp_id)


@router.get("/rfps/{rfp_id}/decisions", response_model=Page[DecisionRead])
def list_decisions(session: SessionDep, user: CurrentUser, rfp_id: str) -> Page[DecisionRead]:
    items = finalization_service.decisions(session=session, actor=user, rfp_id=rfp_id)
    return Page(items=items, total=len(items))


@router.get("/proposals/{proposal_id}/debrief", response_model=Debrief)
def debrief(session: SessionDep, user: CurrentUser, proposal_id: str) -> Debrief:
    return finalization_service.debrief(session=session, actor=user, proposal_id=proposal_id)
