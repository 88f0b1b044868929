"""Pages for RFP staff running the review: the panel and its assignments, conflicts, the
results with consensus scores and the CSV, and finalization."""

from datetime import date
from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts.models import User
from app.core.downloads import document_download
from app.core.errors import ProblemError, Unprocessable
from app.core.routing import page_router
from app.deps import SessionDep
from app.notifications import service as notification_service
from app.proposals import policies as proposal_policies
from app.reviews import assignments as assignment_service
from app.reviews import conflicts as conflict_service
from app.reviews import finalization as finalization_service
from app.reviews import panel as panel_service
from app.reviews import results as result_service
from app.reviews.models import Stage
from app.reviews.schemas import ConflictCreate, ConsensusWrite, ReviewerInvite
from app.rfps import policies as rfp_policies
from app.rfps.models import Rfp, Selection
from app.web.pages import (
    Csrf,
    FormDep,
    SignedIn,
    allowed,
    field_errors,
    keep_on_form,
    redirect,
    refused,
    text,
    texts,
    validated,
)
from app.web.staff import managed_rfp, rfp_tab

router = page_router()


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
    for member in assignment_service.staff_interviewers(session, rfp):
        names[member.id] = f"{member.name} (district staff, interviews only)"
    organizations = dict(board.values())
    return rfp_tab(
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
    return _panel_tab(request, session, user, managed_rfp(session, user, rfp_id))


@router.post("/manage/rfps/{rfp_id}/reviewers", response_class=HTMLResponse, dependencies=[Csrf])
def invite_reviewer(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = managed_rfp(session, user, rfp_id)
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
    if notification_service.emails_sent():
        # The invitation went by email, link and all: staff never hold the reviewer's token.
        return _panel_tab(request, session, user, rfp, {"invited": reviewer, "emailed": True})
    link = str(request.url_for("accept_invite_form")) + f"?token={token}"
    # The link is shown once, here, to pass on to the reviewer; only its digest is stored.
    return _panel_tab(request, session, user, rfp, {"invited": reviewer, "invite_link": link})


@router.post("/manage/rfps/{rfp_id}/conflicts", response_class=HTMLResponse, dependencies=[Csrf])
def record_conflict(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = managed_rfp(session, user, rfp_id)
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
    rfp = managed_rfp(session, user, rfp_id)
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
                stage=Stage.interview if text(form, "stage") == "interview" else Stage.written,
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
        context["finalist_options"] = [
            (row.proposal_id, row.organization_name) for row in context["results"].items
        ]
        if rfp.finalized_at is not None:
            context["decisions"] = finalization_service.decisions(
                session=session, actor=user, rfp_id=rfp.id
            )
            if rfp.selection == Selection.direct_award:
                context["awards"] = finalization_service.awards(
                    session=session, actor=user, rfp_id=rfp.id
                )
    return rfp_tab(request, session, user, rfp, "results", {**context, **(extra or {})}, status)


@router.get("/manage/rfps/{rfp_id}/results", response_class=HTMLResponse)
def results(request: Request, session: SessionDep, user: SignedIn, rfp_id: str) -> HTMLResponse:
    return _results_tab(request, session, user, managed_rfp(session, user, rfp_id))


@router.post("/manage/rfps/{rfp_id}/finalists", response_class=HTMLResponse, dependencies=[Csrf])
def mark_finalists(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = managed_rfp(session, user, rfp_id)
    try:
        assignment_service.mark_finalists(
            session=session, actor=user, rfp_id=rfp_id, proposal_ids=texts(form, "proposal_ids")
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _results_tab(request, session, user, rfp, refused(exc), exc.status)
    return redirect(f"/manage/rfps/{rfp_id}/results", "finalists")


@router.post("/manage/rfps/{rfp_id}/awards", response_class=HTMLResponse, dependencies=[Csrf])
def award_again(request: Request, session: SessionDep, user: SignedIn, rfp_id: str) -> Response:
    rfp = managed_rfp(session, user, rfp_id)
    try:
        finalization_service.award_again(session=session, actor=user, rfp_id=rfp_id)
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _results_tab(request, session, user, rfp, refused(exc), exc.status)
    return redirect(f"/manage/rfps/{rfp_id}/results", "awarded")


@router.get("/manage/rfps/{rfp_id}/results.csv")
def results_csv(request: Request, session: SessionDep, user: SignedIn, rfp_id: str) -> Response:
    managed_rfp(session, user, rfp_id)
    table = result_service.results(session=session, actor=user, rfp_id=rfp_id)
    return document_download(
        result_service.results_csv(table).encode(),
        filename=f"results-{rfp_id}.csv",
        media_type="text/csv; charset=utf-8",
        request=request,
    )


@router.post("/manage/rfps/{rfp_id}/consensus", response_class=HTMLResponse, dependencies=[Csrf])
def set_consensus(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    rfp = managed_rfp(session, user, rfp_id)
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
    rfp = managed_rfp(session, user, rfp_id)
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
    done = "awarded" if rfp.selection == Selection.direct_award else "finalized"
    return redirect(f"/manage/rfps/{rfp_id}/results", done)
