"""Pages for a district's staff: register the district's own units (internal Lead
Partners) and invite each one's first user."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.accounts.schemas import UnitCreate
from app.core.errors import NotFound, ProblemError
from app.core.routing import page_router
from app.deps import SessionDep
from app.schools import policies as school_policies
from app.web.pages import (
    Csrf,
    FormDep,
    SignedIn,
    allowed,
    field_errors,
    keep_on_form,
    page,
    redirect,
    text,
    validated,
)

router = page_router()


def _units_page(
    request: Request,
    session: Session,
    user: User,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    allowed(school_policies.may_use_district_pages(user))
    if user.agency_id is None:
        raise NotFound("Page")
    units = accounts_service.units_of(session=session, actor=user, agency_id=user.agency_id)
    return page(
        request,
        user,
        "district/units.html",
        {"units": units, "values": {}, "errors": {}, **(extra or {})},
        status=status,
    )


@router.get("/district/units", response_class=HTMLResponse)
def units(request: Request, session: SessionDep, user: SignedIn) -> HTMLResponse:
    return _units_page(request, session, user)


@router.post("/district/units", response_class=HTMLResponse, dependencies=[Csrf])
def create_unit(request: Request, session: SessionDep, user: SignedIn, form: FormDep) -> Response:
    allowed(school_policies.may_use_district_pages(user))
    values = {k: text(form, k) for k in ("name", "contact_name", "email", "capacity_clusters")}
    try:
        data = validated(
            UnitCreate, {**values, "capacity_clusters": values["capacity_clusters"] or 1}
        )
        accounts_service.create_unit(
            session=session, actor=user, agency_id=user.agency_id or "", data=data
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _units_page(
            request,
            session,
            user,
            {"errors": field_errors(exc), "alert": exc.detail, "values": values},
            exc.status,
        )
    return redirect("/district/units", "unit_invited")
