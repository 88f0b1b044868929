from typing import Annotated

from fastapi import Body, status

from app.core.pagination import Page
from app.core.routing import api_router
from app.deps import CurrentUser, SessionDep
from app.matching import service
from app.matching.schemas import DeclineRequest, MatchingRunCreate, MatchingRunRead, MatchRead

router = api_router(tags=["matching"])


@router.post(
    "/agencies/{agency_id}/matching-runs",
    response_model=MatchingRunRead,
    status_code=status.HTTP_201_CREATED,
)
def create_run(
    session: SessionDep,
    user: CurrentUser,
    agency_id: str,
    body: Annotated[MatchingRunCreate | None, Body()] = None,
) -> MatchingRunRead:
    body = body or MatchingRunCreate()
    run = service.create_run(
        session=session,
        actor=user,
        agency_id=agency_id,
        cluster_ids=body.cluster_ids,
        weights=body.weights,
    )
    return service.run_view(session, run)


@router.get("/agencies/{agency_id}/matching-runs", response_model=Page[MatchingRunRead])
def list_runs(session: SessionDep, user: CurrentUser, agency_id: str) -> Page[MatchingRunRead]:
    runs = service.list_runs(session=session, actor=user, agency_id=agency_id)
    return Page(items=[service.run_view(session, r) for r in runs], total=len(runs))


@router.get("/matching-runs/{run_id}", response_model=MatchingRunRead)
def get_run(session: SessionDep, user: CurrentUser, run_id: str) -> MatchingRunRead:
    return service.run_view(session, service.get_run(session=session, actor=user, run_id=run_id))


@router.get("/matches/{match_id}", response_model=MatchRead)
def get_match(session: SessionDep, user: CurrentUser, match_id: str) -> MatchRead:
    return service.match_view(
        session, service.get_match(session=session, actor=user, match_id=match_id)
    )


@router.post("/matches/{match_id}/accept", response_model=MatchRead)
def accept_match(session: SessionDep, user: CurrentUser, match_id: str) -> MatchRead:
    match = service.decide(session=session, actor=user, match_id=match_id, accept=True)
    return service.match_view(session, match)


@router.post("/matches/{match_id}/decline", response_model=MatchRead)
def decline_match(
    session: SessionDep,
    user: CurrentUser,
    match_id: str,
    body: Annotated[DeclineRequest | None, Body()] = None,
) -> MatchRead:
    match = service.decide(
        session=session,
        actor=user,
        match_id=match_id,
        accept=False,
        reason=body.reason if body else "",
    )
    return service.match_view(session, match)


@router.get("/organizations/{organization_id}/matches", response_model=Page[MatchRead])
def organization_matches(
    session: SessionDep, user: CurrentUser, organization_id: str
) -> Page[MatchRead]:
    matches = service.matches_for_organization(
        session=session, actor=user, organization_id=organization_id
    )
    return Page(items=[service.match_view(session, m) for m in matches], total=len(matches))
