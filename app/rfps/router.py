from typing import Annotated, Any

from fastapi import Header, Response, status
from fastapi.responses import Response as RawResponse

from app.core.caching import none_match, not_modified, public_headers
from app.core.errors import NotFound
from app.core.pagination import Page, PageDep
from app.core.routing import api_router
from app.deps import CurrentUser, OptionalUser, SessionDep
from app.rfps import service
from app.rfps.models import Rfp, RfpStatus
from app.rfps.schemas import (
    AddendumCreate,
    AddendumRead,
    AnswerCreate,
    QuestionCreate,
    QuestionRead,
    RfpCreate,
    RfpRead,
    RfpTemplate,
    RfpTemplateSummary,
    RfpUpdate,
)
from app.rfps.templates import all_templates

router = api_router(tags=["rfps"])
IfMatch = Annotated[str | None, Header(alias="If-Match")]
IfNoneMatch = Annotated[str | None, Header(alias="If-None-Match")]
NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "The copy whose ETag If-None-Match names is still this version"}
}
PDF_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/pdf": {}}, "description": "The document as a PDF"},
    **NOT_MODIFIED,
}


def _with_etag(response: Response, rfp: Rfp) -> None:
    response.headers["ETag"] = service.rfp_etag(rfp)


@router.get("/rfp-templates", response_model=Page[RfpTemplateSummary])
def list_templates() -> Page[RfpTemplateSummary]:
    items = [
        RfpTemplateSummary(key=t.key, title=t.title, kind=t.kind) for t in all_templates().values()
    ]
    return Page(items=items, total=len(items))


@router.get("/rfp-templates/{key}", response_model=RfpTemplate)
def get_template(key: str) -> RfpTemplate:
    template = all_templates().get(key)
    if template is None:
        raise NotFound("Template")
    return template


@router.post("/rfps", response_model=RfpRead, status_code=status.HTTP_201_CREATED)
def create_rfp(
    session: SessionDep, user: CurrentUser, body: RfpCreate, response: Response
) -> RfpRead:
    rfp = service.create_rfp(session=session, actor=user, data=body)
    _with_etag(response, rfp)
    return service.read_one(session, rfp)


@router.get("/rfps", response_model=Page[RfpRead])
def list_rfps(
    session: SessionDep, user: OptionalUser, page: PageDep, status: RfpStatus | None = None
) -> Page[RfpRead]:
    items, total = service.list_rfps(session=session, user=user, status=status, page=page)
    return Page(items=items, total=total)


# A version of a published RFP reads the same for everyone: shared caches may keep it (the
# middleware makes the answer to a signed-in caller no-store), and a conditional GET is
# answered from the version alone.
@router.get("/rfps/{rfp_id}", response_model=RfpRead, responses=NOT_MODIFIED)
def get_rfp(
    session: SessionDep, user: OptionalUser, rfp_id: str, if_none_match: IfNoneMatch = None
) -> Any:
    read = service.read_json(session=session, user=user, rfp_id=rfp_id, if_none_match=if_none_match)
    if read.body is None:
        return not_modified(public_headers(read.etag))
    # Already JSON: FastAPI would validate and serialize it again.
    return RawResponse(read.body, media_type="application/json", headers=public_headers(read.etag))


@router.patch("/rfps/{rfp_id}", response_model=RfpRead)
def update_rfp(
    session: SessionDep,
    user: CurrentUser,
    rfp_id: str,
    body: RfpUpdate,
    response: Response,
    if_match: IfMatch = None,
) -> RfpRead:
    rfp = service.update_rfp(
        session=session, actor=user, rfp_id=rfp_id, data=body, if_match=if_match
    )
    _with_etag(response, rfp)
    return service.read_one(session, rfp)


@router.post("/rfps/{rfp_id}/publish", response_model=RfpRead)
def publish_rfp(
    session: SessionDep,
    user: CurrentUser,
    rfp_id: str,
    response: Response,
    if_match: IfMatch = None,
) -> RfpRead:
    rfp = service.publish(session=session, actor=user, rfp_id=rfp_id, if_match=if_match)
    _with_etag(response, rfp)
    return service.read_one(session, rfp)


@router.post("/rfps/{rfp_id}/cancel", response_model=RfpRead)
def cancel_rfp(
    session: SessionDep,
    user: CurrentUser,
    rfp_id: str,
    response: Response,
    if_match: IfMatch = None,
) -> RfpRead:
    rfp = service.cancel(session=session, actor=user, rfp_id=rfp_id, if_match=if_match)
    _with_etag(response, rfp)
    return service.read_one(session, rfp)


@router.post("/rfps/{rfp_id}/close", response_model=RfpRead)
def close_rfp(
    session: SessionDep,
    user: CurrentUser,
    rfp_id: str,
    response: Response,
    if_match: IfMatch = None,
) -> RfpRead:
    rfp = service.close(session=session, actor=user, rfp_id=rfp_id, if_match=if_match)
    _with_etag(response, rfp)
    return service.read_one(session, rfp)


@router.post(
    "/rfps/{rfp_id}/addenda", response_model=AddendumRead, status_code=status.HTTP_201_CREATED
)
def add_addendum(
    session: SessionDep, user: CurrentUser, rfp_id: str, body: AddendumCreate
) -> AddendumRead:
    addendum = service.add_addendum(session=session, actor=user, rfp_id=rfp_id, data=body)
    return AddendumRead.model_validate(addendum, from_attributes=True)


@router.get("/rfps/{rfp_id}/addenda", response_model=Page[AddendumRead])
def list_addenda(session: SessionDep, user: OptionalUser, rfp_id: str) -> Page[AddendumRead]:
    rfp = service.get_visible(session=session, user=user, rfp_id=rfp_id)
    items = [
        AddendumRead.model_validate(a, from_attributes=True)
        for a in service.list_addenda(session=session, rfp=rfp)
    ]
    return Page(items=items, total=len(items))


@router.post(
    "/rfps/{rfp_id}/questions", response_model=QuestionRead, status_code=status.HTTP_201_CREATED
)
def ask_question(
    session: SessionDep, user: CurrentUser, rfp_id: str, body: QuestionCreate
) -> QuestionRead:
    question = service.ask_question(session=session, actor=user, rfp_id=rfp_id, text=body.text)
    return QuestionRead.model_validate(question, from_attributes=True)


@router.get("/rfps/{rfp_id}/questions", response_model=Page[QuestionRead])
def list_questions(session: SessionDep, user: OptionalUser, rfp_id: str) -> Page[QuestionRead]:
    rfp = service.get_visible(session=session, user=user, rfp_id=rfp_id)
    items = []
    for question, attributed in service.list_questions(session=session, user=user, rfp=rfp):
        read = QuestionRead.model_validate(question, from_attributes=True)
        items.append(read if attributed else read.model_copy(update={"organization_id": None}))
    return Page(items=items, total=len(items))


@router.post("/questions/{question_id}/answer", response_model=QuestionRead)
def answer_question(
    session: SessionDep, user: CurrentUser, question_id: str, body: AnswerCreate
) -> QuestionRead:
    question = service.answer_question(
        session=session, actor=user, question_id=question_id, text=body.text
    )
    return QuestionRead.model_validate(question, from_attributes=True)


@router.get("/rfps/{rfp_id}/document.pdf", response_class=RawResponse, responses=PDF_RESPONSE)
def rfp_document(
    session: SessionDep, user: OptionalUser, rfp_id: str, if_none_match: IfNoneMatch = None
) -> RawResponse:
    if if_none_match:
        tag = service.current_etag(session=session, user=user, rfp_id=rfp_id, document=True)
        if tag is not None and none_match(if_none_match, tag):
            return not_modified(public_headers(tag))
    rfp = service.get_visible(session=session, user=user, rfp_id=rfp_id)
    pdf = service.document_pdf(session=session, rfp=rfp)
    return RawResponse(
        pdf,
        media_type="application/pdf",
        headers={
            **public_headers(service.rfp_etag(rfp)),
            "Content-Disposition": f'inline; filename="rfp-{rfp.id}-v{rfp.version}.pdf"',
        },
    )
