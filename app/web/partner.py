"""Pages for partner organizations: profile, self-audit, proposals, questions, debrief."""

from typing import Any
from urllib.parse import quote

from fastapi import Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from sqlmodel import Session

from app.accounts import service as accounts_service
from app.accounts.models import Organization, User
from app.accounts.schemas import OrganizationProfile
from app.core.downloads import file_download
from app.core.errors import NotFound, ProblemError, Unprocessable
from app.core.reference import GRADE_CODES, US_STATES
from app.core.routing import page_router, streams_upload
from app.core.uploads import upload_from
from app.deps import SessionDep, checked_before_upload
from app.matching import service as matching_service
from app.mous import service as mou_service
from app.proposals import attachments as attachment_service
from app.proposals import policies as proposal_policies
from app.proposals import service as proposal_service
from app.proposals import submission as submission_service
from app.proposals.models import ProposalStatus
from app.reviews import finalization as finalization_service
from app.rfps import service as rfp_service
from app.self_audit import service as self_audit_service
from app.self_audit.schemas import SelfAuditWrite
from app.web.pages import (
    ORGANIZATION_KINDS,
    SELF_CHOSEN_KINDS,
    Csrf,
    FormDep,
    SignedIn,
    allowed,
    check_csrf,
    field_errors,
    keep_on_form,
    page,
    redirect,
    text,
    texts,
    validated,
)
from scoring import self_audit as audit_math

router = page_router()

RATINGS = list(audit_math.RATING_TITLES.items())
GAP_STRATEGIES = list(audit_math.STRATEGY_TITLES.items())


def _organization(session: Session, user: User) -> Organization:
    allowed(proposal_policies.may_write_proposals(user))
    if user.organization_id is None:
        raise NotFound("Organization")
    organization = accounts_service.get_organization(
        session=session, user=user, organization_id=user.organization_id
    )
    if organization is None:
        raise NotFound("Organization")
    return organization


# --- organization profile ------------------------------------------------------------------


def _profile_page(
    request: Request, user: User, values: dict[str, Any], errors: dict[str, str], status: int
) -> HTMLResponse:
    return page(
        request,
        user,
        "partner/profile.html",
        {
            "values": values,
            "errors": errors,
            # A unit's kind is shown as it is; nobody else may choose it.
            "kinds": list(
                (
                    ORGANIZATION_KINDS
                    if values.get("kind") == "district_unit"
                    else SELF_CHOSEN_KINDS
                ).items()
            ),
            "states": [(s, s) for s in sorted(US_STATES)],
            "grades": [(g, g) for g in GRADE_CODES],
        },
        status=status,
    )


@router.get("/organization", response_class=HTMLResponse)
def profile_form(request: Request, session: SessionDep, user: SignedIn) -> HTMLResponse:
    organization = _organization(session, user)
    return _profile_page(request, user, organization.model_dump(), {}, 200)


@router.post("/organization", response_class=HTMLResponse, dependencies=[Csrf])
def save_profile(request: Request, session: SessionDep, user: SignedIn, form: FormDep) -> Response:
    organization = _organization(session, user)
    values: dict[str, Any] = {
        name: text(form, name)
        for name in ("name", "kind", "contact_name", "phone", "website", "description")
    }
    values["states"] = texts(form, "states")
    values["grade_levels"] = texts(form, "grade_levels")
    values["capacity_clusters"] = text(form, "capacity_clusters") or None
    try:
        data = validated(
            OrganizationProfile,
            {k: v for k, v in values.items() if v != "" or k in ("phone", "description")},
        )
        accounts_service.update_organization(
            session=session, actor=user, organization=organization, data=data
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _profile_page(request, user, values, field_errors(exc), exc.status)
    return redirect("/organization", "saved")


# --- self-audit ----------------------------------------------------------------------------


def _self_audit_page(
    request: Request,
    user: User,
    answers: dict[str, dict[str, Any]],
    computed: Any,
    errors: dict[str, str],
    status: int = 200,
) -> HTMLResponse:
    dimensions = [
        (d, [i for i in audit_math.ITEMS if i.dimension == d]) for d in audit_math.DIMENSIONS
    ]
    return page(
        request,
        user,
        "partner/self_audit.html",
        {
            "dimensions": dimensions,
            "answers": answers,
            "audit": computed,
            "errors": errors,
            "ratings": RATINGS,
            "strategies": GAP_STRATEGIES,
            "responsibilities": audit_math.RESPONSIBILITIES,
        },
        status=status,
    )


@router.get("/self-audit", response_class=HTMLResponse)
def self_audit_form(request: Request, session: SessionDep, user: SignedIn) -> HTMLResponse:
    organization = _organization(session, user)
    row = self_audit_service.get_for_member(
        session=session, user=user, organization_id=organization.id
    )
    computed = self_audit_service.read(organization.id, row)
    answers = {item.key: item.model_dump() for item in computed.items}
    return _self_audit_page(request, user, answers, computed, {})


@router.post("/self-audit", response_class=HTMLResponse, dependencies=[Csrf])
def save_self_audit(
    request: Request, session: SessionDep, user: SignedIn, form: FormDep
) -> Response:
    organization = _organization(session, user)
    items: list[dict[str, Any]] = []
    answers: dict[str, dict[str, Any]] = {}
    for item in audit_math.ITEMS:
        rating = text(form, f"rating.{item.key}")
        strategy = text(form, f"strategy.{item.key}")
        plan = text(form, f"plan.{item.key}")
        answer: dict[str, Any] = {
            "key": item.key,
            "rating": rating,
            "evidence": text(form, f"evidence.{item.key}"),
            "gap_plan": {"strategy": strategy, "text": plan} if strategy or plan else None,
        }
        answers[item.key] = answer
        if rating:
            items.append(answer)
    try:
        data = validated(SelfAuditWrite, {"items": items})
        self_audit_service.save(
            session=session, actor=user, organization_id=organization.id, data=data
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        errors = {_audit_field(k, items): v for k, v in field_errors(exc).items()}
        computed = self_audit_service.read(
            organization.id,
            self_audit_service.get_for_member(
                session=session, user=user, organization_id=organization.id
            ),
        )
        return _self_audit_page(request, user, answers, computed, errors, exc.status)
    return redirect("/self-audit", "saved")


def _audit_field(name: str, items: list[dict[str, Any]]) -> str:
    # Schema errors name the item by position ("items.3.gap_plan"); the service by key.
    parts = name.split(".")
    if (
        len(parts) >= 2
        and parts[0] == "items"
        and parts[1].isdigit()
        and int(parts[1]) < len(items)
    ):
        return f"items.{items[int(parts[1])]['key']}"
    return name


# --- proposals -----------------------------------------------------------------------------


@router.post("/rfps/{rfp_id}/proposal", dependencies=[Csrf])
def start_proposal(session: SessionDep, user: SignedIn, rfp_id: str) -> Response:
    allowed(proposal_policies.may_write_proposals(user))
    for proposal, _rfp in proposal_service.own_proposals(session=session, user=user):
        if proposal.rfp_id == rfp_id:
            return redirect(f"/proposals/{proposal.id}")
    proposal = proposal_service.create_proposal(session=session, actor=user, rfp_id=rfp_id)
    return redirect(f"/proposals/{proposal.id}", "created")


def _editor(
    request: Request,
    session: Session,
    user: User,
    proposal_id: str,
    errors: dict[str, str] | None = None,
    alert: str | None = None,
    drafts: dict[str, str] | None = None,
    status: int = 200,
    drafts_ranks: dict[str, str] | None = None,
) -> HTMLResponse:
    proposal, rfp = proposal_service.get_own(session=session, user=user, proposal_id=proposal_id)
    view = proposal_service.read(session=session, proposal=proposal, rfp=rfp, working_copy=True)
    if drafts:
        view.sections = [
            s.model_copy(
                update={
                    "text": drafts.get(s.key, s.text),
                    "word_count": proposal_service.word_count(drafts.get(s.key, s.text)),
                }
            )
            for s in view.sections
        ]
    ranks = drafts_ranks or {c: str(n) for n, c in enumerate(view.cluster_ids, start=1)}
    return page(
        request,
        user,
        "partner/proposal.html",
        {
            "proposal": view,
            "rank_options": [(str(n), f"Choice {n}") for n in range(1, len(rfp.cluster_ids) + 1)],
            "cluster_choice": ranks,
            "rfp": rfp_service.read_one(session, rfp),
            "attachment_options": [
                (a.key, a.title) for a in rfp_service.content_of(rfp).required_attachments
            ],
            "open": rfp_service.is_open_for_submissions(rfp),
            "versions": proposal_service.list_versions(
                session=session, user=user, proposal_id=proposal.id
            ),
            "errors": errors or {},
            "alert": alert,
            "submitted": proposal.status == ProposalStatus.submitted,
        },
        status=status,
    )


@router.get("/proposals/{proposal_id}", response_class=HTMLResponse)
def proposal_editor(
    request: Request, session: SessionDep, user: SignedIn, proposal_id: str
) -> HTMLResponse:
    return _editor(request, session, user, proposal_id)


@router.post("/proposals/{proposal_id}/sections", dependencies=[Csrf])
def save_sections(
    request: Request, session: SessionDep, user: SignedIn, proposal_id: str, form: FormDep
) -> Response:
    proposal, rfp = proposal_service.get_own(session=session, user=user, proposal_id=proposal_id)
    drafts = {
        s.key: str(form.get(f"section.{s.key}") or "").replace("\r\n", "\n")
        for s in rfp_service.content_of(rfp).sections
    }
    try:
        for key, value in drafts.items():
            if value != proposal.sections.get(key, ""):
                proposal_service.save_section(
                    session=session,
                    actor=user,
                    proposal_id=proposal_id,
                    key=key,
                    text=value,
                    if_match=None,
                )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _editor(
            request, session, user, proposal_id, field_errors(exc), exc.detail, drafts, exc.status
        )
    return redirect(f"/proposals/{proposal_id}", "saved")


@router.post("/proposals/{proposal_id}/clusters", dependencies=[Csrf])
def save_clusters(
    request: Request, session: SessionDep, user: SignedIn, proposal_id: str, form: FormDep
) -> Response:
    """The clusters applied for, from a choice number per cluster ("Not applying" is blank)."""
    _, rfp = proposal_service.get_own(session=session, user=user, proposal_id=proposal_id)
    ranks = {c: text(form, f"rank.{c}") for c in rfp.cluster_ids if text(form, f"rank.{c}")}
    try:
        if not all(r.isdigit() for r in ranks.values()):
            raise Unprocessable.at(["cluster_ids"], "Choose a number from the list for each.")
        if len(set(ranks.values())) != len(ranks):
            raise Unprocessable.at(
                ["cluster_ids"], "Give each cluster you apply for a different choice number."
            )
        ordered = sorted(ranks, key=lambda c: int(ranks[c]))
        proposal_service.set_clusters(
            session=session, actor=user, proposal_id=proposal_id, cluster_ids=ordered, if_match=None
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _editor(
            request,
            session,
            user,
            proposal_id,
            field_errors(exc),
            exc.detail,
            status=exc.status,
            drafts_ranks=ranks,
        )
    return redirect(f"/proposals/{proposal_id}", "saved")


@router.post("/proposals/{proposal_id}/attachments")
@streams_upload
async def upload_attachment(
    request: Request, session: SessionDep, user: SignedIn, proposal_id: str
) -> Response:
    await checked_before_upload(
        session, proposal_service.check_owner, user=user, proposal_id=proposal_id
    )
    try:
        async with upload_from(request) as upload:
            check_csrf(request, upload.fields.get("csrf_token"))
            await run_in_threadpool(
                attachment_service.add,
                session=session,
                actor=user,
                proposal_id=proposal_id,
                upload=upload,
            )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return await run_in_threadpool(
            _editor,
            request,
            session,
            user,
            proposal_id,
            {"file": exc.detail},
            exc.detail,
            None,
            exc.status,
        )
    return redirect(f"/proposals/{proposal_id}", "uploaded")


@router.get("/attachments/{attachment_id}")
def download_attachment(
    request: Request, session: SessionDep, user: SignedIn, attachment_id: str
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


@router.post("/attachments/{attachment_id}/delete", dependencies=[Csrf])
def delete_attachment(
    session: SessionDep, user: SignedIn, attachment_id: str, form: FormDep
) -> Response:
    proposal_id = text(form, "proposal_id")
    attachment_service.delete(session=session, actor=user, attachment_id=attachment_id)
    return redirect(f"/proposals/{quote(proposal_id)}", "deleted")


@router.post("/proposals/{proposal_id}/submit", dependencies=[Csrf])
def submit_proposal(
    request: Request, session: SessionDep, user: SignedIn, proposal_id: str, form: FormDep
) -> Response:
    try:
        submission_service.submit(
            session=session,
            actor=user,
            proposal_id=proposal_id,
            idempotency_key=text(form, "idempotency_key") or None,
        )
    except ProblemError as exc:
        keep_on_form(session, exc)
        return _editor(
            request, session, user, proposal_id, field_errors(exc), exc.detail, None, exc.status
        )
    return redirect(f"/proposals/{proposal_id}", "submitted")


@router.post("/proposals/{proposal_id}/withdraw", dependencies=[Csrf])
def withdraw_proposal(session: SessionDep, user: SignedIn, proposal_id: str) -> Response:
    proposal_service.withdraw(session=session, actor=user, proposal_id=proposal_id)
    return redirect(f"/proposals/{proposal_id}", "withdrawn")


@router.get("/proposals/{proposal_id}/debrief", response_class=HTMLResponse)
def debrief(
    request: Request, session: SessionDep, user: SignedIn, proposal_id: str
) -> HTMLResponse:
    proposal, rfp = proposal_service.get_own(session=session, user=user, proposal_id=proposal_id)
    result = finalization_service.debrief(session=session, actor=user, proposal_id=proposal_id)
    return page(
        request,
        user,
        "partner/debrief.html",
        {"debrief": result, "rfp": rfp_service.read_one(session, rfp), "proposal": proposal},
    )


# --- questions and matches -----------------------------------------------------------------


@router.post("/rfps/{rfp_id}/questions", dependencies=[Csrf])
def ask_question(session: SessionDep, user: SignedIn, rfp_id: str, form: FormDep) -> Response:
    question = text(form, "question")
    if question:
        rfp_service.ask_question(session=session, actor=user, rfp_id=rfp_id, text=question)
    return redirect(f"/rfps/{rfp_id}#questions", "asked" if question else None)


@router.get("/matches", response_class=HTMLResponse)
def matches(request: Request, session: SessionDep, user: SignedIn) -> HTMLResponse:
    organization = _organization(session, user)
    found = matching_service.matches_for_organization(
        session=session, actor=user, organization_id=organization.id
    )
    return page(
        request,
        user,
        "partner/matches.html",
        {
            "matches": [matching_service.match_view(session, m) for m in found],
            "mous": mou_service.ids_for_matches(session, [m.id for m in found]),
        },
    )
