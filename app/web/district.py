"""Pages for districts: schools, clusters and rankings, matching, and the MOU (which the
matched partner reads and downloads too)."""

from typing import Any

from fastapi import Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts.models import User
from app.core.downloads import document_download
from app.core.errors import NotFound, ProblemError
from app.core.routing import page_router, streams_upload
from app.core.uploads import upload_from
from app.deps import SessionDep, checked_before_upload
from app.matching import service as matching_service
from app.mous import defaults as mou_defaults
from app.mous import policies as mou_policies
from app.mous import service as mou_service
from app.mous.models import MouStatus
from app.mous.schemas import MouTerms, TerminateRequest
from app.providers import service as provider_service
from app.schools import policies as school_policies
from app.schools import service as school_service
from app.schools.schemas import ClusterCreate
from app.web.pages import (
    Csrf,
    FormDep,
    SignedIn,
    allowed,
    check_csrf,
    field_errors,
    keep_on_form,
    page,
    redirect,
    refused,
    text,
    texts,
    validated,
)
from scoring.matching import NEEDS_AREA_TITLES

router = page_router()
YEARS = ("1", "2", "3", "4", "5")


def _district_id(*, session: Session, user: User) -> str:
    allowed(school_policies.may_use_district_pages(user))
    if user.agency_id is None:
        raise NotFound("Page")
    return school_service.district_of(session, user, user.agency_id).id


# --- schools -------------------------------------------------------------------------------


def _schools_page(
    request: Request,
    session: Session,
    user: User,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    agency_id = _district_id(session=session, user=user)
    schools = school_service.list_schools(session=session, actor=user, agency_id=agency_id)
    return page(
        request,
        user,
        "district/schools.html",
        {"schools": schools, "result": None, "needs": NEEDS_AREA_TITLES, **(extra or {})},
        status=status,
    )


@router.get("/district/schools", response_class=HTMLResponse)
def schools(request: Request, session: SessionDep, user: SignedIn) -> HTMLResponse:
    return _schools_page(request, session, user)


@router.post("/district/schools/import", response_class=HTMLResponse)
@streams_upload
async def import_schools(request: Request, session: SessionDep, user: SignedIn) -> Response:
    agency_id = await checked_before_upload(session, _district_id, user=user)
    try:
        async with upload_from(request) as upload:
            check_csrf(request, upload.fields.get("csrf_token"))
            data = upload.path.read_bytes()
        result = await run_in_threadpool(
            school_service.import_schools,
            session=session,
            actor=user,
            agency_id=agency_id,
            data=data,
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return await run_in_threadpool(
            _schools_page, request, session, user, {"errors": {"file": exc.detail}}, exc.status
        )
    # The result (with each refused row) is shown here, not after a redirect, so it is seen.
    return await run_in_threadpool(
        _schools_page,
        request,
        session,
        user,
        {"result": result},
        422 if result.errors and not (result.created or result.updated) else 200,
    )


# --- clusters and rankings -----------------------------------------------------------------


def _clusters_page(
    request: Request,
    session: Session,
    user: User,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    agency_id = _district_id(session=session, user=user)
    clusters = school_service.list_clusters(session=session, actor=user, agency_id=agency_id)
    schools = school_service.list_schools(session=session, actor=user, agency_id=agency_id)
    agency = school_service.district_of(session, user, agency_id)
    listed, _ = provider_service.preferred_providers(
        session=session, state=agency.state, limit=200, offset=0
    )
    providers = {p.organization_id: p.organization_name for p in listed}
    return page(
        request,
        user,
        "district/clusters.html",
        {
            "clusters": [school_service.cluster_view(session, c) for c in clusters],
            "free_schools": [
                (s.id, f"{s.name} ({s.grade_low}-{s.grade_high})")
                for s in schools
                if s.cluster_id is None
            ],
            "providers": list(providers.items()),
            "values": {},
            **(extra or {}),
        },
        status=status,
    )


@router.get("/district/clusters", response_class=HTMLResponse)
def clusters(request: Request, session: SessionDep, user: SignedIn) -> HTMLResponse:
    return _clusters_page(request, session, user)


@router.post("/district/clusters", response_class=HTMLResponse, dependencies=[Csrf])
def create_cluster(
    request: Request, session: SessionDep, user: SignedIn, form: FormDep
) -> Response:
    agency_id = _district_id(session=session, user=user)
    values = {"name": text(form, "name"), "school_ids": texts(form, "school_ids")}
    try:
        data = validated(ClusterCreate, values)
        school_service.create_cluster(session=session, actor=user, agency_id=agency_id, data=data)
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _clusters_page(
            request,
            session,
            user,
            {"errors": field_errors(exc), "alert": exc.detail, "values": values},
            exc.status,
        )
    return redirect("/district/clusters", "created")


@router.post(
    "/district/clusters/{cluster_id}/preferences", response_class=HTMLResponse, dependencies=[Csrf]
)
def rank_providers(
    request: Request, session: SessionDep, user: SignedIn, cluster_id: str, form: FormDep
) -> Response:
    allowed(school_policies.may_use_district_pages(user))
    ranked: list[str] = []
    for position in range(1, 11):
        choice = text(form, f"choice.{position}")
        if choice and choice not in ranked:
            ranked.append(choice)
    try:
        school_service.set_preferences(
            session=session, actor=user, cluster_id=cluster_id, organization_ids=ranked
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _clusters_page(request, session, user, {"alert": exc.detail}, exc.status)
    return redirect("/district/clusters", "ranked")


# --- matching ------------------------------------------------------------------------------


def _matching_page(
    request: Request,
    session: Session,
    user: User,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    agency_id = _district_id(session=session, user=user)
    runs = matching_service.list_runs(session=session, actor=user, agency_id=agency_id)
    latest = matching_service.run_view(session, runs[0]) if runs else None
    awards = matching_service.open_awards(session=session, actor=user, agency_id=agency_id)
    shown = [m.id for m in latest.matches] if latest else []
    mous = mou_service.ids_for_matches(session, shown + [m.id for m in awards])
    return page(
        request,
        user,
        "district/matching.html",
        {"run": latest, "runs": len(runs), "awards": awards, "mous": mous, **(extra or {})},
        status=status,
    )


@router.get("/district/matching", response_class=HTMLResponse)
def matching(request: Request, session: SessionDep, user: SignedIn) -> HTMLResponse:
    return _matching_page(request, session, user)


@router.post("/district/matching", response_class=HTMLResponse, dependencies=[Csrf])
def run_matching(request: Request, session: SessionDep, user: SignedIn) -> Response:
    agency_id = _district_id(session=session, user=user)
    try:
        matching_service.create_run(
            session=session, actor=user, agency_id=agency_id, cluster_ids=None, weights=None
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _matching_page(request, session, user, {"alert": exc.detail}, exc.status)
    return redirect("/district/matching", "matched")


@router.post("/district/matches/{match_id}/{decision}", dependencies=[Csrf])
def decide(
    request: Request,
    session: SessionDep,
    user: SignedIn,
    match_id: str,
    decision: str,
    form: FormDep,
) -> Response:
    allowed(school_policies.may_use_district_pages(user))
    if decision == "mou":
        mou = mou_service.create(session=session, actor=user, match_id=match_id)
        return redirect(f"/mous/{mou.id}", "created")
    if decision not in ("accept", "decline"):
        raise NotFound("Page")
    try:
        matching_service.decide(
            session=session,
            actor=user,
            match_id=match_id,
            accept=decision == "accept",
            reason=text(form, "reason"),
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _matching_page(request, session, user, {"alert": exc.detail}, exc.status)
    return redirect("/district/matching", "accepted" if decision == "accept" else "declined")


# --- the MOU -------------------------------------------------------------------------------


def _mou_page(
    request: Request,
    session: Session,
    user: User,
    mou_id: str,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    mou = mou_service.get_readable(session=session, user=user, mou_id=mou_id)
    _, versions = mou_service.list_versions(session=session, user=user, mou_id=mou_id)
    return page(
        request,
        user,
        "district/mou.html",
        {
            "mou": mou_service.read(session, mou),
            "versions": versions,
            "editable": mou_policies.can_manage(user, mou)
            and mou.status in (MouStatus.draft, MouStatus.amended),
            "district": mou_policies.can_manage(user, mou),
            "matrix_areas": mou_defaults.MATRIX_AREAS,
            "party_titles": mou_defaults.PARTY_TITLES,
            "years": YEARS,
            "diff": None,
            **(extra or {}),
        },
        status=status,
    )


@router.get("/mous/{mou_id}", response_class=HTMLResponse)
def mou_page(
    request: Request,
    session: SessionDep,
    user: SignedIn,
    mou_id: str,
    from_version: int | None = Query(None, alias="from", ge=1),
    to_version: int | None = Query(None, alias="to", ge=1),
) -> HTMLResponse:
    diff = None
    if from_version and to_version:
        diff = mou_service.diff(
            session=session,
            user=user,
            mou_id=mou_id,
            from_version=from_version,
            to_version=to_version,
        )
    return _mou_page(request, session, user, mou_id, {"diff": diff})


def _number(value: str) -> float | str | None:
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        return value  # the schema names the field that is not a number


def _terms_from(form: Any, current: MouTerms) -> dict[str, Any]:
    terms = current.model_dump(mode="json")
    for name in (
        "title",
        "start_date",
        "reporting_cadence",
        "renewal_terms",
        "termination_terms",
        "notes",
    ):
        terms[name] = text(form, name)
    terms["term_years"] = text(form, "term_years")
    for party in ("district", "lead_partner"):
        contact = terms["parties"][party]
        contact["contact_name"] = text(form, f"parties.{party}.contact_name")
        contact["contact_email"] = text(form, f"parties.{party}.contact_email") or None
    for area, clauses in terms["autonomies"].items():
        for clause in clauses:
            clause["enabled"] = bool(form.get(f"autonomy.{area}.{clause['key']}"))
    for key, _title in mou_defaults.MATRIX_AREAS:
        terms["responsibilities"][key] = text(form, f"matrix.{key}")
    benchmarks = []
    rows = len(current.benchmarks) + 1  # the existing rows and one blank row to add
    for index in range(rows):
        prefix = f"benchmarks.{index}"
        metric = text(form, f"{prefix}.metric")
        if not metric or form.get(f"{prefix}.remove"):
            continue
        targets = {
            year: _number(text(form, f"{prefix}.targets.{year}"))
            for year in YEARS
            if text(form, f"{prefix}.targets.{year}")
        }
        benchmarks.append(
            {
                "metric": metric,
                "kind": text(form, f"{prefix}.kind") or "leading",
                "baseline": _number(text(form, f"{prefix}.baseline")),
                "targets": targets,
            }
        )
    terms["benchmarks"] = benchmarks
    terms["funding"] = {
        "per_pupil": _number(text(form, "funding.per_pupil")),
        "fixed_amount": _number(text(form, "funding.fixed_amount")),
        "management_fee_percent": _number(text(form, "funding.management_fee_percent")),
        "notes": text(form, "funding.notes"),
    }
    return terms


@router.post("/mous/{mou_id}", response_class=HTMLResponse, dependencies=[Csrf])
def save_mou(
    request: Request, session: SessionDep, user: SignedIn, mou_id: str, form: FormDep
) -> Response:
    allowed(school_policies.may_use_district_pages(user))
    mou = mou_service.get_readable(session=session, user=user, mou_id=mou_id)
    current = MouTerms.model_validate(mou_service.version_of(session, mou).terms)
    try:
        terms = validated(MouTerms, _terms_from(form, current))
        mou_service.update(session=session, actor=user, mou_id=mou_id, terms=terms, if_match=None)
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _mou_page(
            request,
            session,
            user,
            mou_id,
            refused(exc),
            exc.status,
        )
    return redirect(f"/mous/{mou_id}", "saved")


@router.post("/mous/{mou_id}/{action}", response_class=HTMLResponse, dependencies=[Csrf])
def mou_action(
    request: Request,
    session: SessionDep,
    user: SignedIn,
    mou_id: str,
    action: str,
    form: FormDep,
) -> Response:
    allowed(school_policies.may_use_district_pages(user))
    try:
        if action == "execute":
            mou_service.execute(session=session, actor=user, mou_id=mou_id)
        elif action == "amend":
            mou_service.amend(session=session, actor=user, mou_id=mou_id)
        elif action == "terminate":
            reason = validated(TerminateRequest, {"reason": text(form, "reason")}).reason
            mou_service.terminate(session=session, actor=user, mou_id=mou_id, reason=reason)
        else:
            raise NotFound("Page")
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _mou_page(
            request,
            session,
            user,
            mou_id,
            refused(exc),
            exc.status,
        )
    return redirect(f"/mous/{mou_id}", {"execute": "executed"}.get(action, "saved"))


@router.get("/mous/{mou_id}/document.pdf")
def mou_document(
    request: Request,
    session: SessionDep,
    user: SignedIn,
    mou_id: str,
    version: int | None = Query(None, ge=1),
) -> Response:
    mou = mou_service.get_readable(session=session, user=user, mou_id=mou_id)
    pdf, number, draft = mou_service.document_pdf(session=session, mou=mou, number=version)
    return document_download(
        pdf,
        filename=f"mou-{mou.id}-v{number}.pdf",
        media_type="application/pdf",
        etag=mou_service.document_etag(mou, number, draft),
        request=request,
    )
