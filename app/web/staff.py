"""Pages for state and district RFP staff: create and build an RFP, publish it, addenda and
answers, submissions. The review stage's tabs (panel, results, finalize) are in
staff_reviews.py."""

from datetime import UTC, datetime
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts.models import User
from app.core.errors import ProblemError, Unprocessable
from app.core.routing import page_router
from app.deps import SessionDep
from app.proposals import service as proposal_service
from app.rfps import policies as rfp_policies
from app.rfps import service as rfp_service
from app.rfps.models import Rfp, RfpStatus, Selection
from app.rfps.schemas import AddendumCreate, RfpCreate, RfpUpdate
from app.rfps.templates import all_templates
from app.schools import service as school_service
from app.web.pages import (
    Csrf,
    FormDep,
    SignedIn,
    allowed,
    field_errors,
    keep_on_form,
    page,
    redirect,
    refused,
    text,
    texts,
    validated,
)

router = page_router()
TABS = [
    ("", "Overview and builder"),
    ("/questions", "Addenda and questions"),
    ("/submissions", "Submissions"),
    ("/panel", "Panel and assignments"),
    ("/results", "Results"),
]


def managed_rfp(session: Session, user: User, rfp_id: str) -> Rfp:
    allowed(rfp_policies.may_manage_rfps(user))
    return rfp_service.get_managed(session=session, user=user, rfp_id=rfp_id)


def _when(value: str, field: str) -> datetime | None:
    """A date and time typed in UTC (the form says so), as an aware datetime."""
    if not value:
        return None
    try:
        return datetime.fromisoformat(value).replace(tzinfo=UTC)
    except ValueError:
        raise Unprocessable.at(
            [field], "Enter a date and time, such as 2027-03-01 17:00."
        ) from None


def rfp_tab(
    request: Request,
    session: Session,
    user: User,
    rfp: Rfp,
    name: str,
    context: dict[str, Any],
    status: int = 200,
) -> HTMLResponse:
    return page(
        request,
        user,
        f"staff/{name}.html",
        {
            "rfp": rfp_service.read_one(session, rfp),
            "effective": rfp_service.effective_status(rfp),
            "tabs": TABS,
            "tab": name,
            **context,
        },
        status=status,
    )


# --- creating and building -----------------------------------------------------------------


def _template_choices() -> list[tuple[str, str]]:
    """Every template, for any staff member (rfps.create_rfp accepts each, as the API does)."""
    return [(t.key, f"{t.title} ({t.kind} RFP)") for t in all_templates().values()]


@router.get("/manage/rfps/new", response_class=HTMLResponse)
def new_rfp_form(request: Request, user: SignedIn) -> HTMLResponse:
    allowed(rfp_policies.may_manage_rfps(user))
    return page(
        request,
        user,
        "staff/new_rfp.html",
        {"templates": _template_choices(), "values": {}},
    )


@router.post("/manage/rfps/new", response_class=HTMLResponse, dependencies=[Csrf])
def create_rfp(request: Request, session: SessionDep, user: SignedIn, form: FormDep) -> Response:
    allowed(rfp_policies.may_manage_rfps(user))
    values = {k: text(form, k) for k in ("template_key", "title", "submission_deadline")}
    try:
        data = validated(
            RfpCreate,
            {
                "template_key": values["template_key"] or None,
                "title": values["title"],
                "submission_deadline": _when(values["submission_deadline"], "submission_deadline"),
            },
        )
        rfp = rfp_service.create_rfp(session=session, actor=user, data=data)
    except ProblemError as exc:
        keep_on_form(session, exc)
        return page(
            request,
            user,
            "staff/new_rfp.html",
            {"templates": _template_choices(), "values": values, "errors": field_errors(exc)},
            status=exc.status,
        )
    return redirect(f"/manage/rfps/{rfp.id}", "created")


def _builder(session: Session, user: User, rfp: Rfp) -> dict[str, Any]:
    """What the builder offers besides the RFP: a district's active clusters to choose from."""
    if rfp.selection != Selection.direct_award or rfp.status != RfpStatus.draft:
        return {}
    clusters = school_service.list_clusters(session=session, actor=user, agency_id=rfp.agency_id)
    return {"district_clusters": [(c.id, c.name) for c in clusters]}


@router.get("/manage/rfps/{rfp_id}", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, user: SignedIn, rfp_id: str) -> HTMLResponse:
    rfp = managed_rfp(session, user, rfp_id)
    return rfp_tab(request, session, user, rfp, "overview", _builder(session, user, rfp))


def _builder_update(form: Any, rfp: Rfp) -> dict[str, Any]:
    content = rfp_service.content_of(rfp)
    sections = []
    for index, section in enumerate(content.sections):
        if form.get(f"sections.{index}.remove"):
            continue
        sections.append(
            {
                **section.model_dump(),
                "title": text(form, f"sections.{index}.title"),
                "prompt": text(form, f"sections.{index}.prompt"),
                "word_limit": text(form, f"sections.{index}.word_limit") or 0,
                "required": bool(form.get(f"sections.{index}.required")),
            }
        )
    new_title = text(form, "new_section.title")
    if new_title:
        sections.append(
            {
                "key": text(form, "new_section.key") or _key_of(new_title),
                "title": new_title,
                "prompt": text(form, "new_section.prompt"),
                "word_limit": text(form, "new_section.word_limit") or 500,
                "required": True,
            }
        )
    criteria = [
        {
            **criterion.model_dump(),
            "title": text(form, f"criteria.{index}.title"),
            "weight": text(form, f"criteria.{index}.weight") or 0,
        }
        for index, criterion in enumerate(content.criteria)
    ]
    top_n = text(form, "approval.top_n")
    threshold = text(form, "approval.threshold")
    offer = (
        {"cluster_ids": texts(form, "cluster_ids")}
        if rfp.selection == Selection.direct_award
        else {}
    )
    return {
        **offer,
        "category_min_level": text(form, "category_min_level") or None,
        "title": text(form, "title"),
        "submission_deadline": _when(text(form, "submission_deadline"), "submission_deadline"),
        "summary": text(form, "summary"),
        "sections": sections,
        "criteria": criteria,
        "aggregation": text(form, "aggregation") or "mean",
        "reviewers_per_proposal": text(form, "reviewers_per_proposal") or None,
        "approval": {
            # A blank threshold is the approval rule's default, as in the API.
            **({"threshold": threshold} if threshold else {}),
            "top_n": top_n or None,
            "all_sections_meet": bool(form.get("approval.all_sections_meet")),
        },
    }


def _key_of(title: str) -> str:
    key = "".join(c if c.isalnum() else "_" for c in title.lower()).strip("_")
    return (key or "section")[:40]


@router.post("/manage/rfps/{rfp_id}", response_class=HTMLResponse, dependencies=[Csrf])
def save_builder(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = managed_rfp(session, user, rfp_id)
    publish = form.get("action") == "publish"
    try:
        data = validated(RfpUpdate, _builder_update(form, rfp))
        rfp_service.update_rfp(session=session, actor=user, rfp_id=rfp_id, data=data, if_match=None)
        if publish:
            rfp_service.publish(session=session, actor=user, rfp_id=rfp_id)
    except ProblemError as exc:
        keep_on_form(session, exc)
        rfp = managed_rfp(session, user, rfp_id)
        return rfp_tab(
            request,
            session,
            user,
            rfp,
            "overview",
            {**_builder(session, user, rfp), **refused(exc)},
            exc.status,
        )
    return redirect(f"/manage/rfps/{rfp_id}", "published" if publish else "saved")


# --- addenda and questions -----------------------------------------------------------------


def _questions_tab(
    request: Request,
    session: Session,
    user: User,
    rfp: Rfp,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    return rfp_tab(
        request,
        session,
        user,
        rfp,
        "questions",
        {
            "addenda": rfp_service.list_addenda(session=session, rfp=rfp),
            "questions": [
                q for q, _ in rfp_service.list_questions(session=session, user=user, rfp=rfp)
            ],
            "errors": errors or {},
            "alert": alert,
        },
        status,
    )


@router.get("/manage/rfps/{rfp_id}/questions", response_class=HTMLResponse)
def questions(request: Request, session: SessionDep, user: SignedIn, rfp_id: str) -> HTMLResponse:
    return _questions_tab(request, session, user, managed_rfp(session, user, rfp_id))


@router.post("/manage/rfps/{rfp_id}/addenda", response_class=HTMLResponse, dependencies=[Csrf])
def add_addendum(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = managed_rfp(session, user, rfp_id)
    try:
        data = validated(
            AddendumCreate,
            {
                "text": text(form, "text"),
                "submission_deadline": _when(
                    text(form, "submission_deadline"), "submission_deadline"
                ),
            },
        )
        rfp_service.add_addendum(session=session, actor=user, rfp_id=rfp_id, data=data)
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _questions_tab(
            request, session, user, rfp, field_errors(exc), exc.detail, exc.status
        )
    return redirect(f"/manage/rfps/{rfp_id}/questions", "addendum")


@router.post("/questions/{question_id}/answer", response_class=HTMLResponse, dependencies=[Csrf])
def answer_question(
    request: Request, session: SessionDep, user: SignedIn, question_id: str, form: FormDep
) -> Response:
    allowed(rfp_policies.may_manage_rfps(user))
    question = rfp_service.answer_question(
        session=session, actor=user, question_id=question_id, text=text(form, "answer") or " "
    )
    return redirect(f"/manage/rfps/{question.rfp_id}/questions", "answered")


# --- submissions ---------------------------------------------------------------------------


@router.get("/manage/rfps/{rfp_id}/submissions", response_class=HTMLResponse)
def submissions(request: Request, session: SessionDep, user: SignedIn, rfp_id: str) -> HTMLResponse:
    rfp = managed_rfp(session, user, rfp_id)
    rows, opened = proposal_service.list_for_rfp(session=session, user=user, rfp_id=rfp_id)
    return rfp_tab(request, session, user, rfp, "submissions", {"rows": rows, "opened": opened})


@router.get("/manage/proposals/{proposal_id}", response_class=HTMLResponse)
def submitted_proposal(
    request: Request, session: SessionDep, user: SignedIn, proposal_id: str
) -> HTMLResponse:
    allowed(rfp_policies.may_manage_rfps(user))
    proposal, rfp, working = proposal_service.get_readable(
        session=session, user=user, proposal_id=proposal_id
    )
    view = proposal_service.read(session=session, proposal=proposal, rfp=rfp, working_copy=False)
    return rfp_tab(request, session, user, rfp, "proposal", {"proposal": view})
