from fastapi import Response
from fastapi import status as http

from app.core.pagination import Page, PageDep
from app.core.routing import api_router
from app.deps import CurrentUser, SessionDep
from app.notifications import service
from app.notifications.models import Notice, NoticeStatus
from app.notifications.schemas import NotificationPreferences, NotificationRead, OutboxRead

router = api_router()


def _read(notice: Notice) -> NotificationRead:
    return NotificationRead(
        id=notice.id,
        kind=notice.kind,
        subject=notice.subject,
        body=service.inbox_body(notice),
        link=notice.link,
        created_at=notice.created_at,
        read_at=notice.read_at,
    )


@router.get("/me/notifications", response_model=Page[NotificationRead], tags=["notifications"])
def my_notifications(
    session: SessionDep, user: CurrentUser, page: PageDep, unread: bool = False
) -> Page[NotificationRead]:
    items, total = service.inbox(session=session, user=user, unread=unread, params=page)
    return Page(items=[_read(n) for n in items], total=total)


@router.post(
    "/me/notifications/{notice_id}/read",
    response_model=NotificationRead,
    tags=["notifications"],
    responses={404: {"description": "No such notification of yours"}},
)
def mark_read(session: SessionDep, user: CurrentUser, notice_id: str) -> NotificationRead:
    return _read(service.mark_read(session=session, user=user, notice_id=notice_id))


@router.get(
    "/me/notification-preferences", response_model=NotificationPreferences, tags=["notifications"]
)
def get_preferences(session: SessionDep, user: CurrentUser) -> NotificationPreferences:
    return NotificationPreferences(email=service.preferences(session=session, user=user))


@router.put(
    "/me/notification-preferences", response_model=NotificationPreferences, tags=["notifications"]
)
def put_preferences(
    session: SessionDep, user: CurrentUser, body: NotificationPreferences
) -> NotificationPreferences:
    chosen = service.set_preferences(session=session, user=user, email=body.email)
    return NotificationPreferences(email=chosen)


@router.post(
    "/rfps/{rfp_id}/follow",
    status_code=http.HTTP_204_NO_CONTENT,
    response_class=Response,
    tags=["notifications"],
    responses={403: {"description": "Only partners follow RFPs"}, 404: {"description": "No RFP"}},
)
def follow(session: SessionDep, user: CurrentUser, rfp_id: str) -> Response:
    service.follow(session=session, user=user, rfp_id=rfp_id)
    return Response(status_code=http.HTTP_204_NO_CONTENT)


@router.delete(
    "/rfps/{rfp_id}/follow",
    status_code=http.HTTP_204_NO_CONTENT,
    response_class=Response,
    tags=["notifications"],
    responses={403: {"description": "Only partners follow RFPs"}, 404: {"description": "No RFP"}},
)
def unfollow(session: SessionDep, user: CurrentUser, rfp_id: str) -> Response:
    service.unfollow(session=session, user=user, rfp_id=rfp_id)
    return Response(status_code=http.HTTP_204_NO_CONTENT)


@router.get(
    "/admin/outbox",
    response_model=Page[OutboxRead],
    tags=["notifications"],
    responses={403: {"description": "Platform administrators only"}},
)
def outbox(
    session: SessionDep, user: CurrentUser, page: PageDep, status: NoticeStatus | None = None
) -> Page[OutboxRead]:
    items, total = service.outbox(session=session, actor=user, status=status, params=page)
    return Page(
        items=[OutboxRead.model_validate(n, from_attributes=True) for n in items], total=total
    )


@router.post(
    "/admin/outbox/{notice_id}/resend",
    response_model=OutboxRead,
    tags=["notifications"],
    responses={
        403: {"description": "Platform administrators only"},
        404: {"description": "No such notice"},
        409: {"description": "Only a failed notice is resent"},
    },
)
def resend(session: SessionDep, user: CurrentUser, notice_id: str) -> OutboxRead:
    notice = service.resend(session=session, actor=user, notice_id=notice_id)
    return OutboxRead.model_validate(notice, from_attributes=True)
