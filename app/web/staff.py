"""Pages for state and district RFP staff: build, publish, answer, review, finalize."""

from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts.models import User
from app.core.errors import ProblemError, Unprocessable
from app.core.routing import page_router
from app.deps import SessionDep
from app.proposals import policies as proposal_policies
from app.proposals import service as proposal_service
from app.reviews import assignments as assignment_service
from app.reviews import conflicts as conflict_service
from app.reviews import finalization as finalization_service
from app.reviews import panel as panel_service
from app.reviews import results as result_service
from app.reviews.schemas import ConflictCreate, ConsensusWrite, ReviewerInvite
from app.rfps import policies as rfp_policies
from app.rfps import service as rfp_service
from app.rfps.models import Rfp
from app.rfps.schemas import AddendumCreate, RfpCreate, RfpUpdate
from app.rfps.templates import all_templates
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


def _managed(session: Session, user: User, rfp_id: str) -> Rfp:
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


def _tab(
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


def _templates_for(user: User) -> list[tuple[str, str]]:
    return [(t.key, f"{t.title} ({t.kind} RFP)") for t in all_templates().values()]


@router.get("/manage/rfps/new", response_class=HTMLResponse)
def new_rfp_form(request: Request, user: SignedIn) -> HTMLResponse:
    allowed(rfp_policies.may_manage_rfps(user))
    return page(
        request,
        user,
        "staff/new_rfp.html",
        {"templates": _templates_for(user), "values": {}},
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
            {"templates": _templates_for(user), "values": values, "errors": field_errors(exc)},
            status=exc.status,
        )
    return redirect(f"/manage/rfps/{rfp.id}", "created")


@router.get("/manage/rfps/{rfp_id}", response_class=HTMLResponse)
def overview(request: Request, session: SessionDep, user: SignedIn, rfp_id: str) -> HTMLResponse:
    rfp = _managed(session, user, rfp_id)
    return _tab(request, session, user, rfp, "overview", {})


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
    return {
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
    rfp = _managed(session, user, rfp_id)
    publish = form.get("action") == "publish"
    try:
        data = validated(RfpUpdate, _builder_update(form, rfp))
        rfp_service.update_rfp(session=session, actor=user, rfp_id=rfp_id, data=data, if_match=None)
        if publish:
            rfp_service.publish(session=session, actor=user, rfp_id=rfp_id)
    except ProblemError as exc:
        keep_on_form(session, exc)
        rfp = _managed(session, user, rfp_id)
        return _tab(
            request,
            session,
            user,
            rfp,
            "overview",
            refused(exc),
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
    return _tab(
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
    return _questions_tab(request, session, user, _managed(session, user, rfp_id))


@router.post("/manage/rfps/{rfp_id}/addenda", response_class=HTMLResponse, dependencies=[Csrf])
def add_addendum(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = _managed(session, user, rfp_id)
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
    rfp = _managed(session, user, rfp_id)
    rows, opened = proposal_service.list_for_rfp(session=session, user=user, rfp_id=rfp_id)
    return _tab(request, session, user, rfp, "submissions", {"rows": rows, "opened": opened})


@router.get("/manage/proposals/{proposal_id}", response_class=HTMLResponse)
def submitted_proposal(
    request: Request, session: SessionDep, user: SignedIn, proposal_id: str
) -> HTMLResponse:
    allowed(rfp_policies.may_manage_rfps(user))
    proposal, rfp, working = proposal_service.get_readable(
        session=session, user=user, proposal_id=proposal_id
    )
    view = proposal_service.read(session=session, proposal=proposal, rfp=rfp, working_copy=False)
    return _tab(request, session, user, rfp, "proposal", {"proposal": view})


# --- panel and assignments -----------------------------------------------------------------


def _panel_tab(
    request: Request,
    session: Session,
    user: User,
    rfp: Rfp,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    panel = panel_service.list_panel(session=session, actor=user, rfp_id=rfp.id)
    assignments, board = assignment_service.assignment_board(
        session=session, actor=user, rfp_id=rfp.id
    )
    names = {seat.reviewer.id: seat.reviewer.name for seat in panel}
    organizations = dict(board.values())
    return _tab(
        request,
        session,
        user,
        rfp,
        "panel",
        {
            "panel": panel,
            "assignments": assignments,
            "proposals": {pid: name for pid, (_, name) in board.items()},
            "organizations": organizations,
            "reviewer_names": names,
            "conflicts": conflict_service.list_conflicts(
                session=session, actor=user, rfp_id=rfp.id
            ),
            "errors": {},
            **(extra or {}),
        },
        status,
    )


@router.get("/manage/rfps/{rfp_id}/panel", response_class=HTMLResponse)
def panel(request: Request, session: SessionDep, user: SignedIn, rfp_id: str) -> HTMLResponse:
    return _panel_tab(request, session, user, _managed(session, user, rfp_id))


@router.post("/manage/rfps/{rfp_id}/reviewers", response_class=HTMLResponse, dependencies=[Csrf])
def invite_reviewer(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = _managed(session, user, rfp_id)
    values = {"email": text(form, "email"), "name": text(form, "name")}
    try:
        data = validated(ReviewerInvite, values)
        reviewer, token, awaiting = panel_service.invite_reviewer(
            session=session, actor=user, rfp_id=rfp_id, data=data
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _panel_tab(
            request,
            session,
            user,
            rfp,
            {"errors": field_errors(exc), "alert": exc.detail, "values": values},
            exc.status,
        )
    if token is None:
        # An existing account joins the panel as it is: there is no link to hand on.
        return _panel_tab(
            request,
            session,
            user,
            rfp,
            {"invited": reviewer, "existing": True, "awaiting_email_proof": awaiting},
        )
    link = str(request.url_for("accept_invite_form")) + f"?token={token}"
    # The link is shown once, here, to pass on to the reviewer; only its digest is stored.
    return _panel_tab(request, session, user, rfp, {"invited": reviewer, "invite_link": link})


@router.post("/manage/rfps/{rfp_id}/conflicts", response_class=HTMLResponse, dependencies=[Csrf])
def record_conflict(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = _managed(session, user, rfp_id)
    try:
        data = validated(
            ConflictCreate,
            {
                "organization_id": text(form, "organization_id"),
                "reviewer_id": text(form, "reviewer_id") or None,
                "reason": text(form, "reason"),
            },
        )
        conflict_service.record_conflict(session=session, actor=user, rfp_id=rfp_id, data=data)
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _panel_tab(
            request,
            session,
            user,
            rfp,
            refused(exc),
            exc.status,
        )
    return redirect(f"/manage/rfps/{rfp_id}/panel", "conflict")


@router.post("/manage/rfps/{rfp_id}/assignments", response_class=HTMLResponse, dependencies=[Csrf])
def assign(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = _managed(session, user, rfp_id)
    try:
        if form.get("action") == "auto":
            assignment_service.auto_assign(session=session, actor=user, rfp_id=rfp_id)
        else:
            assignment_service.add_assignment(
                session=session,
                actor=user,
                rfp_id=rfp_id,
                proposal_id=text(form, "proposal_id"),
                reviewer_id=text(form, "reviewer_id"),
            )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _panel_tab(request, session, user, rfp, {"alert": exc.detail}, exc.status)
    return redirect(f"/manage/rfps/{rfp_id}/panel", "assigned")


@router.post("/manage/assignments/{assignment_id}/remove", dependencies=[Csrf])
def remove_assignment(
    session: SessionDep, user: SignedIn, assignment_id: str, form: FormDep
) -> Response:
    allowed(rfp_policies.may_manage_rfps(user))
    assignment_service.remove_assignment(session=session, actor=user, assignment_id=assignment_id)
    return redirect(f"/manage/rfps/{quote(text(form, 'rfp_id'))}/panel", "deleted")


# --- results, consensus, finalize ----------------------------------------------------------


def _results_tab(
    request: Request,
    session: Session,
    user: User,
    rfp: Rfp,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    context: dict[str, Any] = {"results": None, "decisions": [], "errors": {}}
    if proposal_policies.bids_opened(rfp):  # never for a cancelled RFP: its bids stay sealed
        context["results"] = result_service.results(session=session, actor=user, rfp_id=rfp.id)
        if rfp.finalized_at is not None:
            context["decisions"] = finalization_service.decisions(
                session=session, actor=user, rfp_id=rfp.id
            )
    return _tab(request, session, user, rfp, "results", {**context, **(extra or {})}, status)


@router.get("/manage/rfps/{rfp_id}/results", response_class=HTMLResponse)
def results(request: Request, session: SessionDep, user: SignedIn, rfp_id: str) -> HTMLResponse:
    return _results_tab(request, session, user, _managed(session, user, rfp_id))


@router.get("/manage/rfps/{rfp_id}/results.csv")
def results_csv(session: SessionDep, user: SignedIn, rfp_id: str) -> Response:
    _managed(session, user, rfp_id)
    table = result_service.results(session=session, actor=user, rfp_id=rfp_id)
    return Response(
        result_service.results_csv(table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="results-{rfp_id}.csv"'},
    )


@router.post("/manage/rfps/{rfp_id}/consensus", response_class=HTMLResponse, dependencies=[Csrf])
def set_consensus(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = _managed(session, user, rfp_id)
    try:
        data = validated(
            ConsensusWrite,
            {
                "criterion_key": text(form, "criterion_key"),
                "value": text(form, "value"),
                "rationale": text(form, "rationale"),
            },
        )
        result_service.set_consensus(
            session=session, actor=user, proposal_id=text(form, "proposal_id"), data=data
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _results_tab(
            request,
            session,
            user,
            rfp,
            refused(exc),
            exc.status,
        )
    return redirect(f"/manage/rfps/{rfp_id}/results", "saved")


@router.post("/manage/rfps/{rfp_id}/finalize", response_class=HTMLResponse, dependencies=[Csrf])
def finalize(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = _managed(session, user, rfp_id)
    try:
        raw = text(form, "valid_until")
        try:
            valid_until = date.fromisoformat(raw) if raw else None
        except ValueError:
            raise Unprocessable.at(["valid_until"], "Enter a date, such as 2029-06-30.") from None
        finalization_service.finalize(
            session=session, actor=user, rfp_id=rfp_id, valid_until=valid_until
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _results_tab(
            request,
            session,
            user,
            rfp,
            refused(exc),
            exc.status,
        )
    return redirect(f"/manage/rfps/{rfp_id}/results", "finalized")
