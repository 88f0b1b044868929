"""Server-rendered pages (U.S. Web Design System), calling the same services as the API."""

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Form, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError

from app.accounts import credentials
from app.accounts import service as accounts_service
from app.accounts.models import AgencyKind
from app.accounts.policies import role_name
from app.accounts.schemas import OrganizationSignUp
from app.core.caching import none_match, not_modified, public_headers
from app.core.downloads import document_download
from app.core.errors import ProblemError
from app.core.pagination import PageParams
from app.core.reference import US_STATES
from app.core.routing import page_router
from app.deps import SessionDep, client_address
from app.proposals import policies as proposal_policies
from app.proposals import service as proposal_service
from app.providers import service as provider_service
from app.reviews import assignments as assignment_service
from app.reviews import panel as panel_service
from app.reviews import policies as review_policies
from app.rfps import policies as rfp_policies
from app.rfps import service as rfp_service
from app.rfps.models import RfpStatus
from app.web import (
    account,
    district,
    district_units,
    notifications,
    partner,
    reviewer,
    sessions,
    staff,
    staff_reviews,
)
from app.web.pages import PAGE_SIZE, SELF_CHOSEN_KINDS, Csrf, WebUser, keep_on_form, page
from scoring.matching import NEEDS_AREA_TITLES

router = page_router()


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    session: SessionDep,
    user: WebUser,
    page_number: Annotated[int, Query(alias="page", ge=1)] = 1,
) -> HTMLResponse:
    params = PageParams(limit=PAGE_SIZE, offset=(page_number - 1) * PAGE_SIZE)
    rfps, total = rfp_service.list_rfps(
        session=session, user=None, status=RfpStatus.published, page=params
    )
    pages = max(1, -(-total // PAGE_SIZE))
    return page(
        request,
        user,
        "home.html",
        {"rfps": rfps, "total": total, "page": page_number, "pages": pages},
    )


@router.get("/rfps/{rfp_id}", response_class=HTMLResponse)
def rfp_page(request: Request, session: SessionDep, user: WebUser, rfp_id: str) -> HTMLResponse:
    rfp = rfp_service.get_visible(session=session, user=user, rfp_id=rfp_id)
    own = None
    if proposal_policies.may_write_proposals(user):
        own = next(
            (
                p
                for p, _ in proposal_service.own_proposals(session=session, user=user)
                if p.rfp_id == rfp.id
            ),
            None,
        )
    return page(
        request,
        user,
        "rfp.html",
        {
            "rfp": rfp_service.read_one(session, rfp),
            "addenda": rfp_service.list_addenda(session=session, rfp=rfp),
            "questions": [
                q for q, _ in rfp_service.list_questions(session=session, user=None, rfp=rfp)
            ],
            "open": rfp_service.is_open_for_submissions(rfp),
            "own_proposal": own,
            "manage": user is not None and rfp_policies.can_manage(user, rfp),
        },
    )


@router.get("/rfps/{rfp_id}/document.pdf")
def rfp_document(request: Request, session: SessionDep, user: WebUser, rfp_id: str) -> Response:
    # A copy still current is confirmed from the version alone, before the PDF is fetched.
    tag = rfp_service.current_etag(session=session, user=user, rfp_id=rfp_id, document=True)
    if tag is not None and none_match(request.headers.get("if-none-match"), tag):
        return not_modified(public_headers(tag))
    rfp = rfp_service.get_visible(session=session, user=user, rfp_id=rfp_id)
    return document_download(
        rfp_service.document_pdf(session=session, rfp=rfp),
        filename=f"rfp-{rfp.id}-v{rfp.version}.pdf",
        media_type="application/pdf",
        etag=rfp_service.rfp_etag(rfp),
        request=request,
        inline=True,
        # A published RFP's version is the same document for everyone.
        public=rfp.published_at is not None,
    )


@router.get("/preferred-providers", response_class=HTMLResponse)
def providers_page(
    request: Request,
    session: SessionDep,
    user: WebUser,
    state: Annotated[str | None, Query(max_length=3)] = None,
    category: Annotated[str | None, Query(max_length=64)] = None,
) -> HTMLResponse:
    chosen = state.upper() if state and state.upper() in US_STATES else None
    area = category if category in NEEDS_AREA_TITLES else None
    items, total = provider_service.preferred_providers(
        session=session, state=chosen, limit=200, offset=0, category=area
    )
    return page(
        request,
        user,
        "providers.html",
        {
            "providers": items,
            "total": total,
            "state": chosen,
            "states": sorted(US_STATES),
            "category": area,
            "categories": list(NEEDS_AREA_TITLES.items()),
        },
    )


@router.get("/sign-in", response_class=HTMLResponse)
def sign_in_form(request: Request, user: WebUser, next: str = "/dashboard") -> HTMLResponse:
    return page(
        request, user, "sign_in.html", {"next": _safe_next(next), "email": "", "error": None}
    )


def _safe_next(target: str) -> str:
    # Only paths on this site: never an open redirect.
    return target if target.startswith("/") and not target.startswith("//") else "/dashboard"


@router.post("/sign-in", response_class=HTMLResponse, dependencies=[Csrf])
def sign_in(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()] = "",
    password: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/dashboard",
) -> Response:
    try:
        user = credentials.authenticate(
            session=session,
            email=email,
            password=password,
            source=client_address(request),
            channel="web",
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return page(
            request,
            None,
            "sign_in.html",
            {"next": _safe_next(next), "email": email, "error": exc.detail},
            status=exc.status,
        )
    response = RedirectResponse(_safe_next(next), status_code=303)
    sessions.start(response, user)
    return response


@router.post("/sign-out", dependencies=[Csrf])
def sign_out(request: Request) -> Response:
    response = RedirectResponse("/", status_code=303)
    sessions.end(request, response)
    return response


@router.get("/sign-up", response_class=HTMLResponse)
def sign_up_form(request: Request, user: WebUser) -> HTMLResponse:
    return page(
        request,
        user,
        "sign_up.html",
        {"values": {}, "errors": {}, "kinds": SELF_CHOSEN_KINDS, "states": sorted(US_STATES)},
    )


@router.post("/sign-up", response_class=HTMLResponse, dependencies=[Csrf])
async def sign_up(request: Request, session: SessionDep) -> Response:
    form = await request.form()
    values: dict[str, Any] = {
        k: v for k, v in form.items() if k != "csrf_token" and isinstance(v, str)
    }
    values["states"] = [v for v in form.getlist("states") if isinstance(v, str)]
    errors: dict[str, str] = {}
    try:
        data = OrganizationSignUp.model_validate({k: v for k, v in values.items() if v != ""})
    except ValidationError as exc:
        for error in exc.errors():
            field = str(error["loc"][0]) if error["loc"] else "form"
            errors.setdefault(field, error["msg"].removeprefix("Value error, "))
    if errors:
        return page(
            request,
            None,
            "sign_up.html",
            {
                "values": values,
                "errors": errors,
                "kinds": SELF_CHOSEN_KINDS,
                "states": sorted(US_STATES),
            },
            status=422,
        )
    try:
        await run_in_threadpool(accounts_service.sign_up_organization, session=session, data=data)
        user = await run_in_threadpool(
            credentials.authenticate,
            session=session,
            email=str(data.email),
            password=data.password,
            source=client_address(request),
            channel="web",
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        errors["email" if exc.status == 409 else "form"] = exc.detail
        return page(
            request,
            None,
            "sign_up.html",
            {
                "values": values,
                "errors": errors,
                "kinds": SELF_CHOSEN_KINDS,
                "states": sorted(US_STATES),
            },
            status=exc.status,
        )
    response = RedirectResponse("/dashboard", status_code=303)
    sessions.start(response, user)
    return response


@router.get("/dashboard", response_class=HTMLResponse)
def dashboard(request: Request, session: SessionDep, user: WebUser) -> Response:
    if user is None:
        return RedirectResponse(f"/sign-in?next={quote('/dashboard')}", status_code=303)
    context: dict[str, Any] = {"role": role_name(user)}
    if rfp_policies.may_manage_rfps(user) and user.agency_id:
        rfps, _ = rfp_service.list_rfps(
            session=session, user=user, status=None, page=PageParams(limit=200)
        )
        context["rfps"] = [r for r in rfps if r.agency_id == user.agency_id]
        agency = accounts_service.get_agency(session=session, user=user, agency_id=user.agency_id)
        context["district"] = agency.kind == AgencyKind.district
        # The finalist interviews they sit on, for a district's direct-award RFP.
        context["interviews"] = assignment_service.my_assignment_list(session=session, actor=user)
    elif review_policies.may_review_at_all(user):
        context["assignments"] = assignment_service.my_assignment_list(session=session, actor=user)
        context["panels"] = panel_service.my_panels(session=session, actor=user)
    elif proposal_policies.may_write_proposals(user) and user.organization_id:
        context["organization"] = accounts_service.get_organization(
            session=session, user=user, organization_id=user.organization_id
        )
        # Open to this organization: a district's internal RFPs only to its own units.
        rfps, _ = rfp_service.list_rfps(
            session=session, user=user, status=RfpStatus.published, page=PageParams(limit=200)
        )
        context["open_rfps"] = rfps
        context["proposals"] = proposal_service.own_proposals(session=session, user=user)
    return page(request, user, "dashboard.html", context)


for pages in (
    account,
    partner,
    reviewer,
    staff,
    staff_reviews,
    district,
    district_units,
    notifications,
):
    router.include_router(pages.router)
