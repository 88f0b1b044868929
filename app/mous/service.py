"""MOUs: drafted from an accepted match, revised in immutable versions, executed, amended."""

import hashlib
from datetime import date
from typing import Any

from sqlmodel import Session, col, select

from app.accounts.models import Agency, Organization, User
from app.audit import service as audit
from app.core import documents
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound
from app.core.etags import check_if_match, etag
from app.core.storage import get_storage
from app.matching import policies as matching_policies
from app.matching.models import Match, MatchStatus
from app.mous import defaults, policies
from app.mous.models import Mou, MouStatus, MouVersion
from app.mous.schemas import DiffEntry, MouDiff, MouRead, MouTerms
from app.notifications import notices
from app.schools.models import Cluster, School

EDITABLE = (MouStatus.draft, MouStatus.amended)


def mou_etag(mou: Mou) -> str:
    return etag("mou", mou.id, mou.current_version)


def document_etag(mou: Mou, number: int, draft: bool) -> str:
    """A version's PDF: the same bytes until the version is executed (DRAFT goes)."""
    return f'"mou-{mou.id}-v{number}-{"draft" if draft else "executed"}"'


def _record(session: Session, actor: User, mou: Mou, action: str, **data: Any) -> None:
    audit.record(
        session=session,
        actor_id=actor.id,
        action=action,
        entity="mou",
        entity_id=mou.id,
        agency_id=mou.agency_id,
        data={"version": mou.current_version, **data},
    )


def _next_school_year(today: date) -> date:
    return date(today.year if today.month < 7 else today.year + 1, 7, 1)


def default_terms(session: Session, actor: User, match: Match) -> MouTerms:
    agency = session.get(Agency, match.agency_id)
    organization = session.get(Organization, match.organization_id)
    cluster = session.get(Cluster, match.cluster_id)
    assert agency is not None and organization is not None and cluster is not None
    schools = session.exec(
        select(School).where(School.cluster_id == cluster.id).order_by(col(School.name))
    ).all()
    term_years = 3
    return MouTerms.model_validate(
        {
            "title": f"Memorandum of Understanding: {cluster.name}",
            "parties": {
                "district": {
                    "name": agency.name,
                    "contact_name": actor.name,
                    "contact_email": actor.email,
                },
                "lead_partner": {
                    "name": organization.name,
                    "contact_name": organization.contact_name,
                    "contact_email": organization.email,
                },
            },
            "schools": [
                {
                    "nces_id": s.nces_id,
                    "name": s.name,
                    "grade_low": s.grade_low,
                    "grade_high": s.grade_high,
                }
                for s in schools
            ],
            "term_years": term_years,
            "start_date": _next_school_year(utcnow().date()),
            "lead_partner_responsibilities": list(defaults.LEAD_PARTNER_RESPONSIBILITIES),
            "autonomies": defaults.default_autonomies(),
            "responsibilities": dict(defaults.DEFAULT_MATRIX),
            "benchmarks": defaults.default_benchmarks(term_years),
            "funding": {},
            "reporting_cadence": "quarterly",
            "renewal_terms": (
                "The agreement may be renewed for a further term when the Lead Partner meets its "
                "student achievement benchmarks for the final two years of the term."
            ),
            "termination_terms": (
                "The District may terminate this agreement at the end of any school year in which "
                "the Lead Partner misses its benchmarks for two consecutive years, after written "
                "notice and a 60-day opportunity to present a corrective plan."
            ),
            "signatories": [
                {"party": "district", "name": actor.name, "title": "Superintendent or designee"},
                {
                    "party": "lead_partner",
                    "name": organization.contact_name,
                    "title": "Executive Director",
                },
            ],
            "notes": "",
        }
    )


def create(*, session: Session, actor: User, match_id: str) -> Mou:
    match = session.exec(select(Match).where(Match.id == match_id).with_for_update()).first()
    if match is None or not matching_policies.is_party_to(actor, match):
        raise NotFound("Match")
    if not policies.may_draft_mous(actor):
        raise Forbidden("The district drafts the MOU.")
    if match.status != MatchStatus.accepted:
        raise Conflict("An MOU is drafted for an accepted match.", slug="match-not-accepted")
    if session.exec(select(Mou.id).where(Mou.match_id == match.id)).first() is not None:
        raise Conflict("This match already has an MOU.", slug="duplicate")
    terms = default_terms(session, actor, match)
    mou = Mou(
        match_id=match.id,
        agency_id=match.agency_id,
        organization_id=match.organization_id,
        created_by=actor.id,
    )
    session.add(mou)
    session.flush()
    session.add(
        MouVersion(mou_id=mou.id, number=1, terms=terms.model_dump(mode="json"), author_id=actor.id)
    )
    _record(session, actor, mou, "mou.created", match_id=match.id)
    session.commit()
    return mou


def get_readable(*, session: Session, user: User, mou_id: str, lock: bool = False) -> Mou:
    query = select(Mou).where(Mou.id == mou_id)
    if lock:
        query = query.with_for_update()
    mou = session.exec(query).first()
    if mou is None or not policies.is_party_to(user, mou):
        raise NotFound("MOU")
    return mou


def ids_for_matches(session: Session, match_ids: list[str]) -> dict[str, str]:
    """Each match's MOU id, for matches that have one (callers have checked the matches)."""
    if not match_ids:
        return {}
    rows = session.exec(select(Mou.match_id, Mou.id).where(col(Mou.match_id).in_(match_ids)))
    return dict(rows.all())


def _managed(session: Session, user: User, mou_id: str) -> Mou:
    mou = get_readable(session=session, user=user, mou_id=mou_id, lock=True)
    if not policies.can_manage(user, mou):
        raise Forbidden("Only the district edits, executes or ends an MOU.")
    return mou


def version_of(session: Session, mou: Mou, number: int | None = None) -> MouVersion:
    wanted = number or mou.current_version
    version = session.exec(
        select(MouVersion).where(MouVersion.mou_id == mou.id, MouVersion.number == wanted)
    ).first()
    if version is None:
        raise NotFound(f"Version {wanted}")
    return version


def read(session: Session, mou: Mou, number: int | None = None) -> MouRead:
    version = version_of(session, mou, number)
    return MouRead.model_validate(
        {
            **version.terms,
            "id": mou.id,
            "match_id": mou.match_id,
            "agency_id": mou.agency_id,
            "organization_id": mou.organization_id,
            "version": version.number,
            "status": mou.status,
            "executed_version": mou.executed_version,
            "executed_at": mou.executed_at,
            "executed_pdf_sha256": mou.executed_pdf_sha256,
            "terminated_at": mou.terminated_at,
            "termination_reason": mou.termination_reason,
            "version_created_at": version.created_at,
            "version_author_id": version.author_id,
        }
    )


def update(
    *, session: Session, actor: User, mou_id: str, terms: MouTerms, if_match: str | None
) -> Mou:
    mou = _managed(session, actor, mou_id)
    check_if_match(if_match, mou_etag(mou))
    if mou.status not in EDITABLE:
        raise Conflict(
            f"The MOU is {mou.status}; amend it to change its terms."
            if mou.status == MouStatus.executed
            else f"The MOU is {mou.status}.",
            slug="mou-frozen",
        )
    mou.current_version += 1
    session.add(
        MouVersion(
            mou_id=mou.id,
            number=mou.current_version,
            terms=terms.model_dump(mode="json"),
            author_id=actor.id,
        )
    )
    session.add(mou)
    _record(session, actor, mou, "mou.revised")
    notices.mou_version_shared(session, mou=mou, version=mou.current_version, title=terms.title)
    session.commit()
    return mou


def list_versions(*, session: Session, user: User, mou_id: str) -> tuple[Mou, list[MouVersion]]:
    mou = get_readable(session=session, user=user, mou_id=mou_id)
    versions = session.exec(
        select(MouVersion).where(MouVersion.mou_id == mou.id).order_by(col(MouVersion.number))
    )
    return mou, list(versions)


def _diff(before: Any, after: Any, path: str, out: list[DiffEntry]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in sorted(set(before) | set(after), key=str):
            sub = f"{path}.{key}" if path else str(key)
            if key not in before:
                out.append(DiffEntry(path=sub, change="added", after=after[key]))
            elif key not in after:
                out.append(DiffEntry(path=sub, change="removed", before=before[key]))
            else:
                _diff(before[key], after[key], sub, out)
    elif isinstance(before, list) and isinstance(after, list) and _keyed(before) and _keyed(after):
        # Clauses are compared by their key, so reordering is not reported as a change.
        _diff({i["key"]: i for i in before}, {i["key"]: i for i in after}, path, out)
    elif isinstance(before, list) and isinstance(after, list):
        for index in range(max(len(before), len(after))):
            sub = f"{path}[{index}]"
            if index >= len(before):
                out.append(DiffEntry(path=sub, change="added", after=after[index]))
            elif index >= len(after):
                out.append(DiffEntry(path=sub, change="removed", before=before[index]))
            else:
                _diff(before[index], after[index], sub, out)
    elif before != after:
        out.append(DiffEntry(path=path, change="changed", before=before, after=after))


def _keyed(items: list[Any]) -> bool:
    return bool(items) and all(isinstance(i, dict) and "key" in i for i in items)


def diff(
    *, session: Session, user: User, mou_id: str, from_version: int, to_version: int
) -> MouDiff:
    mou = get_readable(session=session, user=user, mou_id=mou_id)
    before = version_of(session, mou, from_version).terms
    after = version_of(session, mou, to_version).terms
    changes: list[DiffEntry] = []
    _diff(before, after, "", changes)
    return MouDiff(from_version=from_version, to_version=to_version, changes=changes)


# --- the document --------------------------------------------------------------------------


def _is_draft(mou: Mou, number: int) -> bool:
    return not (
        mou.executed_version == number
        and mou.status in (MouStatus.executed, MouStatus.amended, MouStatus.terminated)
    )


def document_pdf(
    *, session: Session, mou: Mou, number: int | None = None
) -> tuple[bytes, int, bool]:
    wanted = number or mou.current_version
    if not 1 <= wanted <= mou.current_version:
        raise NotFound(f"Version {wanted}")
    draft = _is_draft(mou, wanted)
    key = f"documents/mous/{mou.id}/v{wanted}-{'draft' if draft else 'executed'}.pdf"
    storage = get_storage()
    cached = storage.read(key)  # versions are immutable, so a stored rendering stays right
    if cached is None:
        cached = render(mou, version_of(session, mou, wanted), draft)
        storage.write(key, cached)
    return cached, wanted, draft


def render_context(mou: Mou, version: MouVersion, draft: bool) -> dict[str, Any]:
    terms = MouTerms.model_validate(version.terms)
    return {
        "mou": mou,
        "terms": terms,
        "version": version,
        "draft": draft,
        "areas": defaults.MATRIX_AREAS,
        "parties": defaults.PARTY_TITLES,
        "autonomy_areas": (
            ("people", "People"),
            ("time", "Time"),
            ("money", "Money"),
            ("program", "Program"),
        ),
    }


def render(mou: Mou, version: MouVersion, draft: bool) -> bytes:
    return documents.render_pdf(
        "mou.html",
        render_context(mou, version, draft),
        identifier=f"mou-{mou.id}-v{version.number}-{'d' if draft else 'x'}",
    )


# --- lifecycle -----------------------------------------------------------------------------


def execute(*, session: Session, actor: User, mou_id: str) -> Mou:
    mou = _managed(session, actor, mou_id)
    if mou.status not in EDITABLE:
        raise Conflict(f"Only a draft or an amendment can be executed; this MOU is {mou.status}.")
    version = version_of(session, mou)
    mou.status = MouStatus.executed
    mou.executed_version = version.number
    mou.executed_at = utcnow()
    pdf = render(mou, version, draft=False)
    mou.executed_pdf_sha256 = hashlib.sha256(pdf).hexdigest()
    get_storage().write(f"documents/mous/{mou.id}/v{version.number}-executed.pdf", pdf)
    session.add(mou)
    _record(session, actor, mou, "mou.executed", pdf_sha256=mou.executed_pdf_sha256)
    title = str(version.terms.get("title", ""))
    notices.mou_executed(session, mou=mou, version=version.number, title=title)
    session.commit()
    return mou


def amend(*, session: Session, actor: User, mou_id: str) -> Mou:
    mou = _managed(session, actor, mou_id)
    if mou.status != MouStatus.executed:
        raise Conflict("Only an executed MOU can be amended.")
    executed = version_of(session, mou, mou.executed_version)
    mou.status = MouStatus.amended
    mou.current_version += 1
    session.add(
        MouVersion(
            mou_id=mou.id, number=mou.current_version, terms=executed.terms, author_id=actor.id
        )
    )
    session.add(mou)
    _record(session, actor, mou, "mou.amendment_started", from_version=executed.number)
    session.commit()
    return mou


def terminate(*, session: Session, actor: User, mou_id: str, reason: str) -> Mou:
    mou = _managed(session, actor, mou_id)
    if mou.status == MouStatus.terminated:
        raise Conflict("The MOU is already terminated.")
    mou.status = MouStatus.terminated
    mou.terminated_at = utcnow()
    mou.termination_reason = reason
    session.add(mou)
    _record(session, actor, mou, "mou.terminated", reason=reason)
    session.commit()
    return mou
