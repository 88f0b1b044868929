"""Pages for notices: the inbox (its unread count in every page's header), email choices
per kind, following an RFP, and the platform admin's outbox with Resend. They call the same
notification services as the JSON API."""

from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import HTMLResponse, Response

from app.accounts.models import User
from app.core.db import read_session
from app.core.errors import ProblemError
from app.core.pagination import PageParams
from app.core.routing import page_router
from app.deps import SessionDep
from app.notifications import policies, service
from app.notifications.kinds import KINDS
from app.notifications.models import NoticeStatus
from app.web.pages import PAGE_SIZE, Csrf, FormDep, SignedIn, allowed, keep_on_form, page, redirect
from app.web.pages import templates as page_templates

router = page_router()


def unread_notices(user: User | None) -> int:
    """The header's count: one indexed count on a read-only connection."""
    if user is None:
        return 0
    with read_session() as session:
        return service.unread_count(session=session, user=user)


def follows(user: User | None, rfp_id: str) -> bool | None:
    """For the public RFP page: None when this visitor cannot follow (not a partner)."""
    if not policies.may_follow(user):
        return None
    with read_session() as session:
        return service.is_following(session=session, user=user, rfp_id=rfp_id)


page_templates.env.globals["unread_notices"] = unread_notices
page_templates.env.globals["follows_rfp"] = follows


def _params(number: int) -> PageParams:
    return PageParams(limit=PAGE_SIZE, offset=(number - 1) * PAGE_SIZE)


@router.get("/notifications", response_class=HTMLResponse)
def inbox_page(
    request: Request,
    session: SessionDep,
    user: SignedIn,
    page_number: Annotated[int, Query(alias="page", ge=1)] = 1,
) -> HTMLResponse:
    notices, total = service.inbox(
        session=session, user=user, unread=False, params=_params(page_number)
    )
    entries = [(n, service.inbox_body(n)) for n in notices]
    return page(
        request,
        user,
        "notifications/inbox.html",
        {
            "entries": entries,
            "total": total,
            "page": page_number,
            "pages": max(1, -(-total // PAGE_SIZE)),
        },
    )


@router.post("/notifications/{notice_id}/read", dependencies=[Csrf])
def mark_read(session: SessionDep, user: SignedIn, notice_id: str) -> Response:
    service.mark_read(session=session, user=user, notice_id=notice_id)
    return redirect("/notifications")


@router.get("/notifications/preferences", response_class=HTMLResponse)
def preferences_page(request: Request, session: SessionDep, user: SignedIn) -> HTMLResponse:
    chosen = service.preferences(session=session, user=user)
    return page(
        request,
        user,
        "notifications/preferences.html",
        {"choices": [(KINDS[k], v) for k, v in chosen.items()], "always": _always()},
    )


def _always() -> list[str]:
    return [k.label for k in KINDS.values() if not k.optional]


@router.post("/notifications/preferences", response_class=HTMLResponse, dependencies=[Csrf])
def save_preferences(
    request: Request, session: SessionDep, user: SignedIn, form: FormDep
) -> Response:
    wanted = {
        k: form.get(f"email.{k}") == "on" for k in service.preferences(session=session, user=user)
    }
    try:
        service.set_preferences(session=session, user=user, email=wanted)
    except ProblemError as exc:
        keep_on_form(session, exc)
        return page(
            request,
            user,
            "notifications/preferences.html",
            {
                "choices": [(KINDS[k], v) for k, v in wanted.items()],
                "always": _always(),
                "alert": exc.detail,
            },
            status=exc.status,
        )
    return redirect("/notifications/preferences?saved=1")


@router.post("/rfps/{rfp_id}/follow", dependencies=[Csrf])
def follow(session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep) -> Response:
    if form.get("follow") == "no":
        service.unfollow(session=session, user=user, rfp_id=rfp_id)
    else:
        service.follow(session=session, user=user, rfp_id=rfp_id)
    return redirect(f"/rfps/{rfp_id}")


@router.get("/admin/outbox", response_class=HTMLResponse)
def outbox_page(
    request: Request,
    session: SessionDep,
    user: SignedIn,
    status: NoticeStatus | None = NoticeStatus.failed,
    page_number: Annotated[int, Query(alias="page", ge=1)] = 1,
) -> HTMLResponse:
    allowed(policies.may_work_outbox(user))
    rows, total = service.outbox(
        session=session, actor=user, status=status, params=_params(page_number)
    )
    return page(
        request,
        user,
        "notifications/outbox.html",
        {
            "rows": rows,
            "total": total,
            "status": status,
            "statuses": list(NoticeStatus),
            "page": page_number,
            "pages": max(1, -(-total // PAGE_SIZE)),
        },
    )


@router.post("/admin/outbox/{notice_id}/resend", dependencies=[Csrf])
def resend(session: SessionDep, user: SignedIn, notice_id: str) -> Response:
    allowed(policies.may_work_outbox(user))
    service.resend(session=session, actor=user, notice_id=notice_id)
    return redirect("/admin/outbox?status=failed&resent=1")
