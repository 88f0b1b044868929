"""Pages for reviewers: invitation, attestation and conflicts, assignments, scoring."""

from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import User
from app.core.errors import ProblemError, Unprocessable
from app.core.routing import page_router
from app.deps import SessionDep
from app.reviews import assignments as assignment_service
from app.reviews import conflicts as conflict_service
from app.reviews import panel as panel_service
from app.reviews import policies as review_policies
from app.reviews import scores as score_service
from app.reviews import stage as review_stage
from app.reviews.schemas import AttestationCreate, ConflictCreate, ScoresWrite
from app.rfps import service as rfp_service
from app.rfps.schemas import Criterion
from app.web import sessions
from app.web.pages import (
    Csrf,
    FormDep,
    SignedIn,
    WebUser,
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


# --- invitation ----------------------------------------------------------------------------


@router.get("/accept-invite", response_class=HTMLResponse, name="accept_invite_form")
def accept_invite_form(request: Request, user: WebUser, token: str = "") -> HTMLResponse:
    return page(request, user, "reviewer/accept_invite.html", {"token": token})


@router.post("/accept-invite", response_class=HTMLResponse, dependencies=[Csrf])
def accept_invite(request: Request, session: SessionDep, form: FormDep) -> Response:
    token, password = text(form, "token"), str(form.get("password") or "")
    try:
        if password != str(form.get("password_again") or ""):
            raise Unprocessable.at(["password_again"], "The two passwords differ.")
        user = accounts_service.accept_invitation(session=session, token=token, password=password)
    except ProblemError as exc:
        keep_on_form(session, exc)
        errors = field_errors(exc)
        if "invite_token" in errors or exc.status in (404, 410):
            errors = {"form": exc.detail}
        return page(
            request,
            None,
            "reviewer/accept_invite.html",
            {"token": token, "errors": errors, "alert": exc.detail},
            status=exc.status,
        )
    response = redirect("/dashboard")
    sessions.start(response, user)
    return response


# --- attestation and conflicts -------------------------------------------------------------


def _panel_page(
    request: Request,
    session: Session,
    user: User,
    rfp_id: str,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    allowed(review_policies.may_review_at_all(user))
    rfp = review_stage.panel_rfp(session=session, actor=user, rfp_id=rfp_id)
    attested = any(
        r.id == rfp.id and a for r, a in panel_service.my_panels(session=session, actor=user)
    )
    conflicts = conflict_service.list_conflicts(session=session, actor=user, rfp_id=rfp_id)
    return page(
        request,
        user,
        "reviewer/panel.html",
        {
            "rfp": rfp_service.read_one(session, rfp),
            "attested": attested,
            "conflicts": conflicts,
            "organizations": conflict_service.conflict_candidates(
                session=session, actor=user, rfp_id=rfp_id
            ),
            **(extra or {}),
        },
        status=status,
    )


@router.get("/review/rfps/{rfp_id}", response_class=HTMLResponse)
def panel_page(request: Request, session: SessionDep, user: SignedIn, rfp_id: str) -> HTMLResponse:
    return _panel_page(request, session, user, rfp_id)


@router.post("/review/rfps/{rfp_id}/attest", response_class=HTMLResponse, dependencies=[Csrf])
def attest(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    allowed(review_policies.may_review_at_all(user))
    try:
        data = validated(
            AttestationCreate,
            {
                "no_conflict": bool(form.get("no_conflict")),
                "confidentiality": bool(form.get("confidentiality")),
            },
        )
        panel_service.attest(session=session, actor=user, rfp_id=rfp_id, data=data)
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _panel_page(
            request,
            session,
            user,
            rfp_id,
            refused(exc),
            exc.status,
        )
    return redirect("/dashboard", "attested")


@router.post("/review/rfps/{rfp_id}/conflicts", response_class=HTMLResponse, dependencies=[Csrf])
def declare_conflict(
    request: Request, session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep
) -> Response:
    allowed(review_policies.may_review_at_all(user))
    try:
        data = validated(
            ConflictCreate,
            {
                "organization_id": text(form, "organization_id"),
                "reason": text(form, "reason"),
                "withdraw": form.get("withdraw") == "yes",
            },
        )
        conflict_service.record_conflict(session=session, actor=user, rfp_id=rfp_id, data=data)
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _panel_page(
            request,
            session,
            user,
            rfp_id,
            refused(exc),
            exc.status,
        )
    return redirect(f"/review/rfps/{rfp_id}", "conflict")


# --- scoring -------------------------------------------------------------------------------


def _scoring_page(
    request: Request,
    session: Session,
    user: User,
    assignment_id: str,
    extra: dict[str, Any] | None = None,
    status: int = 200,
) -> Response:
    allowed(review_policies.may_score(user))
    try:
        detail = score_service.assignment_detail(
            session=session, actor=user, assignment_id=assignment_id
        )
    except ProblemError as exc:
        if exc.slug == "attestation-required":
            rfp_id = assignment_service.assignment_rfp_id(
                session=session, actor=user, assignment_id=assignment_id
            )
            return redirect(f"/review/rfps/{rfp_id}")
        raise
    rfp = rfp_service.get_visible(session=session, user=user, rfp_id=detail.rfp_id)
    return page(
        request,
        user,
        "reviewer/score.html",
        {
            "detail": detail,
            "rfp": rfp_service.read_one(session, rfp),
            "scores": {s.criterion_key: s for s in detail.scores},
            "open": rfp_service.effective_status(rfp) == "closed",
            **(extra or {}),
        },
        status=status,
    )


@router.get("/review/assignments/{assignment_id}")
def scoring_page(
    request: Request, session: SessionDep, user: SignedIn, assignment_id: str
) -> Response:
    return _scoring_page(request, session, user, assignment_id)


def _scores_of(form: Any, criteria: list[Criterion]) -> dict[str, Any]:
    scores = []
    for criterion in criteria:
        value = text(form, f"score.{criterion.key}")
        if value:
            scores.append(
                {
                    "criterion_key": criterion.key,
                    "value": value,
                    "comment": text(form, f"comment.{criterion.key}"),
                }
            )
    return {"scores": scores}


@router.post("/review/assignments/{assignment_id}", dependencies=[Csrf])
def save_scores(
    request: Request, session: SessionDep, user: SignedIn, assignment_id: str, form: FormDep
) -> Response:
    allowed(review_policies.may_score(user))
    assignment = assignment_service.assignment_of(
        session=session, actor=user, assignment_id=assignment_id
    )
    rfp = rfp_service.get_visible(session=session, user=user, rfp_id=assignment.rfp_id)
    submit = form.get("action") == "submit"
    body = _scores_of(form, review_stage.criteria_of(rfp, assignment.stage))
    try:
        data = validated(ScoresWrite, body)
        score_service.save_scores(
            session=session, actor=user, assignment_id=assignment_id, data=data
        )
        if submit:
            score_service.submit_assignment(
                session=session, actor=user, assignment_id=assignment_id
            )
    except ProblemError as exc:
        keep_on_form(session, exc)
        sent = [item["criterion_key"] for item in body["scores"]]
        errors = {_score_field(name, sent): msg for name, msg in field_errors(exc).items()}
        return _scoring_page(
            request,
            session,
            user,
            assignment_id,
            {"errors": errors, "alert": exc.detail},
            exc.status,
        )
    if form.get("autosave"):
        return Response(status_code=204)
    return redirect(f"/review/assignments/{assignment_id}", "submitted" if submit else "saved")


def _score_field(name: str, sent: list[str]) -> str:
    # "scores.2.value" (position among the scores sent) or "scores.<key>": the score's field.
    parts = name.split(".")
    if parts[0] == "scores" and len(parts) > 1:
        if parts[1].isdigit() and int(parts[1]) < len(sent):
            return f"score.{sent[int(parts[1])]}"
        return f"score.{parts[1]}"
    return name
