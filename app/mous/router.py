from typing import Annotated, Any

from fastapi import Header, Query, Request, Response, status

from app.core.downloads import document_download
from app.core.pagination import Page
from app.core.routing import api_router
from app.deps import CurrentUser, SessionDep
from app.mous import service
from app.mous.models import MouStatus
from app.mous.schemas import MouDiff, MouRead, MouTerms, MouVersionRead, TerminateRequest

router = api_router(tags=["mous"])
IfMatch = Annotated[str | None, Header(alias="If-Match")]
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The MOU as a PDF"},
    304: {"description": "Not modified"},
}


def _answer(session: SessionDep, mou_id: str, user: CurrentUser, response: Response) -> MouRead:
    mou = service.get_readable(session=session, user=user, mou_id=mou_id)
    response.headers["ETag"] = service.mou_etag(mou)
    return service.read(session, mou)


@router.post("/matches/{match_id}/mou", response_model=MouRead, status_code=status.HTTP_201_CREATED)
def create_mou(
    session: SessionDep, user: CurrentUser, match_id: str, response: Response
) -> MouRead:
    mou = service.create(session=session, actor=user, match_id=match_id)
    return _answer(session, mou.id, user, response)


@router.get("/mous/{mou_id}", response_model=MouRead)
def get_mou(
    session: SessionDep,
    user: CurrentUser,
    mou_id: str,
    response: Response,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> MouRead:
    mou = service.get_readable(session=session, user=user, mou_id=mou_id)
    response.headers["ETag"] = service.mou_etag(mou)
    return service.read(session, mou, version)


@router.put("/mous/{mou_id}", response_model=MouRead)
def update_mou(
    session: SessionDep,
    user: CurrentUser,
    mou_id: str,
    body: MouTerms,
    response: Response,
    if_match: IfMatch = None,
) -> MouRead:
    service.update(session=session, actor=user, mou_id=mou_id, terms=body, if_match=if_match)
    return _answer(session, mou_id, user, response)


@router.get("/mous/{mou_id}/versions", response_model=Page[MouVersionRead])
def list_versions(session: SessionDep, user: CurrentUser, mou_id: str) -> Page[MouVersionRead]:
    mou, versions = service.list_versions(session=session, user=user, mou_id=mou_id)
    items = [
        MouVersionRead(
            number=v.number,
            author_id=v.author_id,
            created_at=v.created_at,
            executed=v.number == mou.executed_version and mou.status != MouStatus.draft,
        )
        for v in versions
    ]
    return Page(items=items, total=len(items))


@router.get("/mous/{mou_id}/diff", response_model=MouDiff)
def diff_versions(
    session: SessionDep,
    user: CurrentUser,
    mou_id: str,
    from_version: Annotated[int, Query(alias="from", ge=1)],
    to_version: Annotated[int, Query(alias="to", ge=1)],
) -> MouDiff:
    return service.diff(
        session=session, user=user, mou_id=mou_id, from_version=from_version, to_version=to_version
    )


@router.get("/mous/{mou_id}/document.pdf", response_class=Response, responses=PDF_RESPONSE)
def mou_document(
    request: Request,
    session: SessionDep,
    user: CurrentUser,
    mou_id: str,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    mou = service.get_readable(session=session, user=user, mou_id=mou_id)
    pdf, number, draft = service.document_pdf(session=session, mou=mou, number=version)
    return document_download(
        pdf,
        filename=f"mou-{mou.id}-v{number}.pdf",
        media_type="application/pdf",
        etag=service.document_etag(mou, number, draft),
        request=request,
        inline=True,
    )


@router.post("/mous/{mou_id}/execute", response_model=MouRead)
def execute_mou(session: SessionDep, user: CurrentUser, mou_id: str, response: Response) -> MouRead:
    service.execute(session=session, actor=user, mou_id=mou_id)
    return _answer(session, mou_id, user, response)


@router.post("/mous/{mou_id}/amend", response_model=MouRead)
def amend_mou(session: SessionDep, user: CurrentUser, mou_id: str, response: Response) -> MouRead:
    service.amend(session=session, actor=user, mou_id=mou_id)
    return _answer(session, mou_id, user, response)


@router.post("/mous/{mou_id}/terminate", response_model=MouRead)
def terminate_mou(
    session: SessionDep, user: CurrentUser, mou_id: str, body: TerminateRequest, response: Response
) -> MouRead:
    service.terminate(session=session, actor=user, mou_id=mou_id, reason=body.reason)
    return _answer(session, mou_id, user, response)
