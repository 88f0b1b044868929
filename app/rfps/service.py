"""RFP issuance: create from a template, edit in draft, publish, addenda, questions, PDF."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func
from sqlalchemy.orm import load_only
from sqlmodel import Session, col, select

from app.accounts.models import Agency, Organization, User
from app.audit import service as audit
from app.core import documents
from app.core.caching import VersionBodies, none_match
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.etags import check_if_match, etag
from app.core.pagination import PageParams, paginate
from app.core.storage import get_storage
from app.notifications import notices
from app.rfps import offers, policies
from app.rfps.models import Addendum, Question, Rfp, RfpStatus, Selection
from app.rfps.schemas import (
    AddendumCreate,
    RfpContent,
    RfpCreate,
    RfpRead,
    RfpUpdate,
)
from app.rfps.templates import all_templates
from app.schools import service as school_service
from scoring import rubric as rubric_math

CONTENT_FIELDS = (
    "summary",
    "sections",
    "criteria",
    "required_attachments",
    "aggregation",
    "approval",
    "reviewers_per_proposal",
    "categories",
    "selection",
    "cluster_ids",
    "category_min_level",
    "applicants",
    "stages",
)


def content_of(rfp: Rfp) -> RfpContent:
    """What the RFP says (sections, criteria, attachments, approval rule...), typed.

    Services read RFP content through this, never by indexing the JSON columns, which hold
    what `RfpContent` dumped when the RFP was written.
    """
    return RfpContent.model_validate({name: getattr(rfp, name) for name in CONTENT_FIELDS})


def effective_status(rfp: Rfp, now: datetime | None = None) -> RfpStatus:
    """The deadline itself closes an RFP; nobody has to call close."""
    return status_at(rfp.status, rfp.submission_deadline, now)


def status_at(status: str, deadline: datetime, now: datetime | None = None) -> RfpStatus:
    """An RFP's status from its stored status and deadline, as of `now` (the server clock)."""
    if status == RfpStatus.published and deadline <= (now or utcnow()):
        return RfpStatus.closed
    return RfpStatus(status)


def is_open_for_submissions(rfp: Rfp, now: datetime | None = None) -> bool:
    return effective_status(rfp, now) == RfpStatus.published


def rfp_etag(rfp: Rfp) -> str:
    return etag("rfp", rfp.id, rfp.version)


def to_read(rfp: Rfp, agency_name: str) -> RfpRead:
    data = rfp.model_dump()
    data["status"] = effective_status(rfp)
    return RfpRead.model_validate({**data, "agency_name": agency_name})


def read_many(session: Session, rfps: Sequence[Rfp]) -> list[RfpRead]:
    ids = {r.agency_id for r in rfps}
    names = dict(session.exec(select(Agency.id, Agency.name).where(col(Agency.id).in_(ids))).all())
    out = []
    for rfp in rfps:
        read = to_read(rfp, names.get(rfp.agency_id, ""))
        if rfp.cluster_ids:
            read.clusters = school_service.offered_clusters(session, rfp.cluster_ids)
        out.append(read)
    return out


def read_one(session: Session, rfp: Rfp) -> RfpRead:
    return read_many(session, [rfp])[0]


# --- reading -------------------------------------------------------------------------------


def get_visible(*, session: Session, user: User | None, rfp_id: str, lock: bool = False) -> Rfp:
    query = select(Rfp).where(Rfp.id == rfp_id)
    if lock:
        query = query.with_for_update()
    rfp = session.exec(query).first()
    if rfp is None or not policies.can_view(user, rfp):
        raise NotFound("RFP")
    return rfp


# What decides a read's ETag and who may see it: a conditional GET loads only these.
_GLANCE_COLUMNS: list[Any] = [
    Rfp.version,
    Rfp.status,
    Rfp.submission_deadline,
    Rfp.published_at,
    Rfp.agency_id,
]
# One statement for every request: SQLAlchemy keeps its cache key, which building it anew
# (load_only options and all) cost a fifth of an anonymous read's CPU on SQLite.
_GLANCE = select(Rfp).where(Rfp.id == bindparam("rfp_id")).options(load_only(*_GLANCE_COLUMNS))


def current_etag(*, session: Session, user: User | None, rfp_id: str, document: bool) -> str | None:
    """The ETag the RFP's read (or, with `document`, its PDF) carries now, for a conditional
    GET: one primary-key lookup of its version and state, nothing built. None when the caller
    may not see it, and for the read once the deadline has closed it since that version (its
    status changed without a new version, so an older copy must not be confirmed)."""
    rfp = session.exec(_GLANCE, params={"rfp_id": rfp_id}).first()
    if rfp is None or not policies.can_view(user, rfp):
        return None
    if not document and effective_status(rfp) != rfp.status:
        return None
    return rfp_etag(rfp)


@dataclass(frozen=True)
class RfpJson:
    etag: str
    body: bytes | None  # None: the copy If-None-Match names is this version


# 23 KB of JSON for a template RFP; loading and serializing it cost 1.2 ms of server CPU a
# read at 50 connections, where the version lookup alone costs 0.6 ms (bench/read.py).
_BODIES = VersionBodies()


def read_json(
    *, session: Session, user: User | None, rfp_id: str, if_none_match: str | None
) -> RfpJson:
    """The RFP's read as JSON, or nothing when the caller's copy is current: one lookup of
    the version when this process has already serialized it."""
    tag = current_etag(session=session, user=user, rfp_id=rfp_id, document=False)
    if tag is not None:
        if none_match(if_none_match, tag):
            return RfpJson(tag, None)
        if (body := _BODIES.get(tag)) is not None:
            return RfpJson(tag, body)
    rfp = get_visible(session=session, user=user, rfp_id=rfp_id)
    body = read_one(session, rfp).model_dump_json().encode()
    tag = rfp_etag(rfp)
    # Once the deadline has passed, the body says "closed" under the published version's
    # tag, which current_etag never confirms: keep only bodies their tag describes.
    if effective_status(rfp) == rfp.status:
        _BODIES.keep(tag, body)
    return RfpJson(tag, body)


def get_managed(*, session: Session, user: User, rfp_id: str) -> Rfp:
    """The RFP, locked for update, if the caller is staff of its agency."""
    if not policies.may_manage_rfps(user):
        raise Forbidden("Only agency staff manage RFPs.")
    rfp = get_visible(session=session, user=user, rfp_id=rfp_id, lock=True)
    if not policies.can_manage(user, rfp):
        raise NotFound("RFP")
    return rfp


def list_rfps(
    *, session: Session, user: User | None, status: RfpStatus | None, page: PageParams
) -> tuple[list[RfpRead], int]:
    organization = (
        session.get(Organization, user.organization_id)
        if user is not None and user.organization_id
        else None
    )
    query = policies.visible_rfps(user, policies.unit_district(organization))
    now = utcnow()
    if status == RfpStatus.published:
        query = query.where(Rfp.status == RfpStatus.published, Rfp.submission_deadline > now)
    elif status == RfpStatus.closed:
        query = query.where(
            (Rfp.status == RfpStatus.closed)
            | ((Rfp.status == RfpStatus.published) & (Rfp.submission_deadline <= now))
        )
    elif status is not None:
        query = query.where(Rfp.status == status)
    query = query.order_by(col(Rfp.submission_deadline), col(Rfp.id))
    rows, total = paginate(session, query, page)
    return read_many(session, list(rows)), total


# --- drafting ------------------------------------------------------------------------------


def _bump(rfp: Rfp) -> None:
    rfp.version += 1
    rfp.updated_at = utcnow()


def _record(session: Session, actor: User, rfp: Rfp, action: str, **data: Any) -> None:
    audit.record(
        session=session,
        actor_id=actor.id,
        action=action,
        entity="rfp",
        entity_id=rfp.id,
        agency_id=rfp.agency_id,
        data={"version": rfp.version, **data},
    )


def create_rfp(*, session: Session, actor: User, data: RfpCreate) -> Rfp:
    if not policies.may_manage_rfps(actor) or actor.agency_id is None:
        raise Forbidden("Only agency staff create RFPs.")
    content = RfpContent()
    if data.template_key is not None:
        template = all_templates().get(data.template_key)
        if template is None:
            raise Unprocessable.at(["body", "template_key"], f"No template '{data.template_key}'.")
        content = RfpContent.model_validate(template.model_dump(include=set(CONTENT_FIELDS)))
    overrides = data.model_dump(include=set(CONTENT_FIELDS), exclude_none=True)
    agency = session.get(Agency, actor.agency_id)
    assert agency is not None  # staff belong to an agency
    overrides.setdefault("selection", offers.selection_for(agency))
    content = RfpContent.model_validate({**content.model_dump(), **overrides})
    offers.check_offer(session, agency, content)
    rfp = Rfp(
        agency_id=actor.agency_id,
        template_key=data.template_key,
        title=data.title,
        submission_deadline=data.submission_deadline,
        created_by=actor.id,
        **content.model_dump(),
    )
    session.add(rfp)
    session.flush()
    _record(session, actor, rfp, "rfp.created", template_key=data.template_key)
    session.commit()
    return rfp


def update_rfp(
    *, session: Session, actor: User, rfp_id: str, data: RfpUpdate, if_match: str | None
) -> Rfp:
    rfp = get_managed(session=session, user=actor, rfp_id=rfp_id)
    check_if_match(if_match, rfp_etag(rfp))
    if rfp.status != RfpStatus.draft:
        raise Conflict("Only a draft RFP can be edited; after publishing, issue an addendum.")
    changes = data.model_dump(exclude_unset=True)
    for name in ("title", "submission_deadline"):
        if name in changes and changes[name] is None:
            raise Unprocessable.at(["body", name], f"{name} cannot be empty")
    merged = {name: getattr(rfp, name) for name in CONTENT_FIELDS}
    merged.update({k: v for k, v in changes.items() if k in CONTENT_FIELDS and v is not None})
    content = RfpContent.model_validate(merged)  # re-checks unique keys across the whole RFP
    agency = session.get(Agency, rfp.agency_id)
    assert agency is not None
    offers.check_offer(session, agency, content)
    for name in CONTENT_FIELDS:
        setattr(rfp, name, content.model_dump()[name])
    if changes.get("title"):
        rfp.title = changes["title"]
    if changes.get("submission_deadline"):
        rfp.submission_deadline = changes["submission_deadline"]
    _bump(rfp)
    session.add(rfp)
    _record(session, actor, rfp, "rfp.updated", fields=sorted(changes))
    session.commit()
    return rfp


# --- lifecycle -----------------------------------------------------------------------------


def publish_problems(rfp: Rfp, now: datetime) -> list[dict[str, Any]]:
    problems: list[dict[str, Any]] = []
    if rfp.submission_deadline <= now:
        problems.append(
            {
                "loc": ["submission_deadline"],
                "msg": "The submission deadline must be in the future.",
            }
        )
    content = content_of(rfp)
    if not content.sections:
        problems.append({"loc": ["sections"], "msg": "Add at least one section for proposals."})
    for message in rubric_math.validate_rubric(content.rubric()):
        problems.append({"loc": ["criteria"], "msg": message})
    if content.aggregation == "consensus" and content.reviewers_per_proposal < 2:
        problems.append(
            {"loc": ["reviewers_per_proposal"], "msg": "Consensus needs at least two reviewers."}
        )
    if content.approval.all_sections_meet and not content.criteria:
        problems.append({"loc": ["approval"], "msg": "'Meets in every section' needs criteria."})
    if content.stages.interview is not None:
        for message in rubric_math.validate_rubric(content.interview_rubric()):
            problems.append({"loc": ["stages", "interview", "criteria"], "msg": message})
    if content.selection == Selection.direct_award and not content.cluster_ids:
        problems.append(
            {"loc": ["cluster_ids"], "msg": "Choose at least one of the district's clusters."}
        )
    return problems


def publish(*, session: Session, actor: User, rfp_id: str, if_match: str | None = None) -> Rfp:
    rfp = get_managed(session=session, user=actor, rfp_id=rfp_id)
    check_if_match(if_match, rfp_etag(rfp))
    if rfp.status != RfpStatus.draft:
        raise Conflict(f"Only a draft can be published; this RFP is {effective_status(rfp)}.")
    now = utcnow()
    problems = publish_problems(rfp, now)
    if problems:
        raise Unprocessable(
            f"The RFP cannot be published yet: {len(problems)} problem(s) to fix.", errors=problems
        )
    if rfp.selection == Selection.direct_award:
        offers.check_clusters_free(session, rfp)
    rfp.status = RfpStatus.published
    rfp.published_at = now
    _bump(rfp)
    session.add(rfp)
    _record(session, actor, rfp, "rfp.published", deadline=rfp.submission_deadline.isoformat())
    session.commit()
    return rfp


def cancel(*, session: Session, actor: User, rfp_id: str, if_match: str | None = None) -> Rfp:
    rfp = get_managed(session=session, user=actor, rfp_id=rfp_id)
    check_if_match(if_match, rfp_etag(rfp))
    if effective_status(rfp) not in (RfpStatus.draft, RfpStatus.published):
        raise Conflict(
            f"Only a draft or open RFP can be cancelled; this one is {effective_status(rfp)}."
        )
    rfp.status = RfpStatus.cancelled
    rfp.cancelled_at = utcnow()
    _bump(rfp)
    session.add(rfp)
    _record(session, actor, rfp, "rfp.cancelled")
    session.commit()
    return rfp


def close(*, session: Session, actor: User, rfp_id: str, if_match: str | None = None) -> Rfp:
    rfp = get_managed(session=session, user=actor, rfp_id=rfp_id)
    check_if_match(if_match, rfp_etag(rfp))
    now = utcnow()
    if rfp.status != RfpStatus.published:
        raise Conflict(f"Only a published RFP can be closed; this one is {rfp.status}.")
    if rfp.submission_deadline > now:
        raise Conflict("The submission deadline has not passed yet.", slug="deadline-not-passed")
    rfp.status = RfpStatus.closed
    rfp.closed_at = now
    _bump(rfp)
    session.add(rfp)
    _record(session, actor, rfp, "rfp.closed")
    session.commit()
    return rfp


# --- addenda -------------------------------------------------------------------------------


def add_addendum(*, session: Session, actor: User, rfp_id: str, data: AddendumCreate) -> Addendum:
    rfp = get_managed(session=session, user=actor, rfp_id=rfp_id)
    if effective_status(rfp) != RfpStatus.published:
        raise Conflict("Addenda are issued while an RFP is open for submissions.")
    if data.submission_deadline is not None and data.submission_deadline <= rfp.submission_deadline:
        raise Unprocessable.at(
            ["body", "submission_deadline"],
            "An addendum may only move the deadline later "
            f"(now {rfp.submission_deadline.isoformat()}).",
        )
    number = (
        session.exec(select(func.max(Addendum.number)).where(Addendum.rfp_id == rfp.id)).one() or 0
    ) + 1
    addendum = Addendum(
        rfp_id=rfp.id,
        number=number,
        text=data.text,
        previous_deadline=rfp.submission_deadline,
        submission_deadline=data.submission_deadline,
        created_by=actor.id,
    )
    if data.submission_deadline is not None:
        rfp.submission_deadline = data.submission_deadline
    _bump(rfp)
    session.add_all([addendum, rfp])
    _record(
        session,
        actor,
        rfp,
        "rfp.addendum_issued",
        number=number,
        deadline=rfp.submission_deadline.isoformat(),
    )
    session.flush()
    notices.addendum_published(session, rfp=rfp, addendum=addendum)
    session.commit()
    return addendum


def list_addenda(*, session: Session, rfp: Rfp) -> list[Addendum]:
    return list(
        session.exec(
            select(Addendum).where(Addendum.rfp_id == rfp.id).order_by(col(Addendum.number))
        )
    )


# --- questions and answers -----------------------------------------------------------------


def ask_question(*, session: Session, actor: User, rfp_id: str, text: str) -> Question:
    if not policies.may_ask_questions(actor) or actor.organization_id is None:
        raise Forbidden("Only partner organizations ask questions about an RFP.")
    rfp = get_visible(session=session, user=actor, rfp_id=rfp_id)
    if not is_open_for_submissions(rfp):
        raise Conflict("Questions are taken while the RFP is open for submissions.")
    question = Question(
        rfp_id=rfp.id, organization_id=actor.organization_id, asked_by=actor.id, text=text
    )
    session.add(question)
    session.flush()
    audit.record(
        session=session,
        actor_id=actor.id,
        action="rfp.question_asked",
        entity="rfp_question",
        entity_id=question.id,
        agency_id=rfp.agency_id,
        data={"rfp_id": rfp.id},
    )
    session.commit()
    return question


def answer_question(*, session: Session, actor: User, question_id: str, text: str) -> Question:
    if not policies.may_manage_rfps(actor):
        raise Forbidden("Only agency staff answer questions.")
    question = session.exec(
        select(Question).where(Question.id == question_id).with_for_update()
    ).first()
    rfp = session.get(Rfp, question.rfp_id) if question else None
    if question is None or rfp is None or not policies.can_manage(actor, rfp):
        raise NotFound("Question")
    if rfp.status in (RfpStatus.cancelled, RfpStatus.finalized):
        raise Conflict(f"The RFP is {rfp.status}; its questions can no longer be answered.")
    first = question.answer is None
    question.answer = text
    question.answered_by = actor.id
    question.answered_at = utcnow()
    session.add(question)
    audit.record(
        session=session,
        actor_id=actor.id,
        action="rfp.question_answered" if first else "rfp.answer_revised",
        entity="rfp_question",
        entity_id=question.id,
        agency_id=rfp.agency_id,
        data={"rfp_id": rfp.id},
    )
    # Answers are part of the RFP's published text (and its PDF).
    _bump(rfp)
    session.add(rfp)
    if first:
        notices.answer_published(session, rfp=rfp, question=question)
    session.commit()
    return question


def list_questions(*, session: Session, user: User | None, rfp: Rfp) -> list[tuple[Question, bool]]:
    """Questions this caller may see, each with whether to show who asked."""
    query = select(Question).where(Question.rfp_id == rfp.id).order_by(col(Question.created_at))
    staff = policies.can_manage(user, rfp)
    own_org = policies.asking_organization(user)
    visible = []
    for question in session.exec(query):
        mine = own_org is not None and question.organization_id == own_org
        if staff or mine or question.answer is not None:
            visible.append((question, staff or mine))
    return visible


# --- the document --------------------------------------------------------------------------


def document_pdf(*, session: Session, rfp: Rfp) -> bytes:
    """The RFP as a PDF; cached by version, so every download of a version is identical."""
    storage = get_storage()
    key = f"documents/rfps/{rfp.id}/v{rfp.version}.pdf"
    cached = storage.read(key)
    if cached is not None:
        return cached
    agency = session.get(Agency, rfp.agency_id)
    answered = [q for q, _ in list_questions(session=session, user=None, rfp=rfp)]
    context = {
        "rfp": rfp,
        "agency": agency,
        "addenda": list_addenda(session=session, rfp=rfp),
        "questions": answered,
        "clusters": school_service.offered_clusters(session, rfp.cluster_ids),
    }
    pdf = documents.render_pdf("rfp.html", context, identifier=f"rfp-{rfp.id}-v{rfp.version}")
    storage.write(key, pdf)
    return pdf
