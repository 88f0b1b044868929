from typing import Annotated, Any

from fastapi import Header, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse

from app.core.documents import FILE_KINDS
from app.core.downloads import file_download
from app.core.pagination import Page
from app.core.routing import api_router, streams_upload
from app.core.uploads import upload_from
from app.deps import CurrentUser, SessionDep, checked_before_upload
from app.proposals import attachments as attachment_service
from app.proposals import service
from app.proposals import submission as submission_service
from app.proposals.schemas import (
    AttachmentRead,
    ClustersWrite,
    ProposalRead,
    SectionWrite,
    SubmissionReceipt,
    SubmissionRow,
    VersionRead,
)

router = api_router(tags=["proposals"])
IfMatch = Annotated[str | None, Header(alias="If-Match")]

UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["key", "file"],
                    "properties": {
                        "key": {"type": "string", "description": "The RFP's attachment key"},
                        "file": {"type": "string", "format": "binary"},
                    },
                }
            }
        },
    }
}


def _own_read(
    session: SessionDep, user: CurrentUser, proposal_id: str, response: Response
) -> ProposalRead:
    proposal, rfp = service.get_own(session=session, user=user, proposal_id=proposal_id)
    response.headers["ETag"] = service.proposal_etag(proposal)
    return service.read(session=session, proposal=proposal, rfp=rfp, working_copy=True)


@router.post(
    "/rfps/{rfp_id}/proposals", response_model=ProposalRead, status_code=status.HTTP_201_CREATED
)
def create_proposal(
    session: SessionDep, user: CurrentUser, rfp_id: str, response: Response
) -> ProposalRead:
    proposal = service.create_proposal(session=session, actor=user, rfp_id=rfp_id)
    return _own_read(session, user, proposal.id, response)


@router.get("/rfps/{rfp_id}/proposals", response_model=Page[SubmissionRow] | Page[ProposalRead])
def list_rfp_proposals(
    session: SessionDep, user: CurrentUser, rfp_id: str
) -> Page[SubmissionRow] | Page[ProposalRead]:
    rows, opened = service.list_for_rfp(session=session, user=user, rfp_id=rfp_id)
    if opened:
        return Page[ProposalRead](items=rows, total=len(rows))
    return Page[SubmissionRow](items=rows, total=len(rows))


@router.get("/proposals/{proposal_id}", response_model=ProposalRead)
def get_proposal(
    session: SessionDep, user: CurrentUser, proposal_id: str, response: Response
) -> ProposalRead:
    proposal, rfp, working_copy = service.get_readable(
        session=session, user=user, proposal_id=proposal_id
    )
    if working_copy:
        response.headers["ETag"] = service.proposal_etag(proposal)
    return service.read(session=session, proposal=proposal, rfp=rfp, working_copy=working_copy)


@router.put("/proposals/{proposal_id}/sections/{key}", response_model=ProposalRead)
def save_section(
    session: SessionDep,
    user: CurrentUser,
    proposal_id: str,
    key: str,
    body: SectionWrite,
    response: Response,
    if_match: IfMatch = None,
) -> ProposalRead:
    service.save_section(
        session=session,
        actor=user,
        proposal_id=proposal_id,
        key=key,
        text=body.text,
        if_match=if_match,
    )
    return _own_read(session, user, proposal_id, response)


@router.put("/proposals/{proposal_id}/clusters", response_model=ProposalRead)
def set_clusters(
    session: SessionDep,
    user: CurrentUser,
    proposal_id: str,
    body: ClustersWrite,
    response: Response,
    if_match: IfMatch = None,
) -> ProposalRead:
    """Direct award: the clusters applied for, best first (before the deadline)."""
    service.set_clusters(
        session=session,
        actor=user,
        proposal_id=proposal_id,
        cluster_ids=body.cluster_ids,
        if_match=if_match,
    )
    return _own_read(session, user, proposal_id, response)


@router.post(
    "/proposals/{proposal_id}/attachments",
    response_model=AttachmentRead,
    status_code=status.HTTP_201_CREATED,
    openapi_extra=UPLOAD_BODY,
)
@streams_upload
async def upload_attachment(
    request: Request, session: SessionDep, user: CurrentUser, proposal_id: str
) -> AttachmentRead:
    await checked_before_upload(session, service.check_owner, user=user, proposal_id=proposal_id)
    async with upload_from(request) as upload:
        attachment = await run_in_threadpool(
            attachment_service.add,
            session=session,
            actor=user,
            proposal_id=proposal_id,
            upload=upload,
        )
    return AttachmentRead.model_validate(attachment, from_attributes=True)


@router.get(
    "/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={
        200: {
            "content": {kind: {} for kind in FILE_KINDS},
            "description": "The file, with the type found in its content at upload",
        }
    },
)
def download_attachment(
    request: Request, session: SessionDep, user: CurrentUser, attachment_id: str
) -> Response:
    attachment = attachment_service.get_for_download(
        session=session, user=user, attachment_id=attachment_id
    )
    return file_download(
        attachment.storage_key,
        filename=attachment.filename,
        media_type=attachment.content_type,
        etag=f'"{attachment.sha256}"',
        request=request,
    )


@router.delete("/attachments/{attachment_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_attachment(session: SessionDep, user: CurrentUser, attachment_id: str) -> Response:
    attachment_service.delete(session=session, actor=user, attachment_id=attachment_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/proposals/{proposal_id}/submit", response_model=SubmissionReceipt)
def submit_proposal(
    session: SessionDep,
    user: CurrentUser,
    proposal_id: str,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)] = None,
) -> SubmissionReceipt:
    return submission_service.submit(
        session=session, actor=user, proposal_id=proposal_id, idempotency_key=idempotency_key
    )


@router.post("/proposals/{proposal_id}/withdraw", response_model=ProposalRead)
def withdraw_proposal(
    session: SessionDep, user: CurrentUser, proposal_id: str, response: Response
) -> ProposalRead:
    service.withdraw(session=session, actor=user, proposal_id=proposal_id)
    return _own_read(session, user, proposal_id, response)


@router.get("/proposals/{proposal_id}/versions", response_model=Page[VersionRead])
def list_versions(session: SessionDep, user: CurrentUser, proposal_id: str) -> Page[VersionRead]:
    versions = service.list_versions(session=session, user=user, proposal_id=proposal_id)
    items = [VersionRead.model_validate(v, from_attributes=True) for v in versions]
    return Page(items=items, total=len(items))
