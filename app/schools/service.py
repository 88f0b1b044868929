"""A district's schools (including the federal NCES directory format), clusters, rankings."""

import csv
import io
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from sqlmodel import Session, col, select

from app.accounts.models import Agency, AgencyKind, Organization, User
from app.audit import service as audit
from app.core.db import utcnow
from app.core.errors import Conflict, Forbidden, NotFound, Unprocessable
from app.core.reference import grade_index, grade_span, grades_label
from app.providers import service as provider_service
from app.rfps.schemas import OfferedCluster, OfferedSchool
from app.schools import policies
from app.schools.models import Cluster, ClusterPreference, School
from app.schools.schemas import (
    ClusterCreate,
    ClusterRead,
    ImportError_,
    ImportResult,
    SchoolCreate,
    SchoolRead,
)

Progress = Callable[[int, int], None]

# Our column names, and the NCES Common Core of Data directory file's for the same thing.
COLUMN_ALIASES: dict[str, tuple[str, ...]] = {
    "nces_id": ("nces_id", "ncessch"),
    "name": ("name", "sch_name"),
    "grade_low": ("grade_low", "gslo"),
    "grade_high": ("grade_high", "gshi"),
    "enrollment": ("enrollment", "member", "total"),
    "poverty_rate": ("poverty_rate",),
    "needs": ("needs",),
    "state_id": ("state_id", "st_schid"),
    "leaid": ("leaid",),
}
REQUIRED_COLUMNS = ("nces_id", "name", "grade_low", "grade_high")


def district_of(session: Session, user: User, agency_id: str) -> Agency:
    """The district agency, if the caller is its staff (404 otherwise, 403 for other roles)."""
    if not policies.may_manage_schools(user):
        raise Forbidden("Only district staff manage schools and clusters.")
    agency = session.get(Agency, agency_id)
    if agency is None or not policies.manages_district(user, agency):
        raise NotFound("Agency")
    if agency.kind != AgencyKind.district:
        raise Unprocessable("Schools and clusters belong to a district agency, not a state.")
    return agency


def _record(
    session: Session,
    actor: User,
    agency: Agency,
    action: str,
    entity: str,
    entity_id: str,
    **data: Any,
) -> None:
    audit.record(
        session=session,
        actor_id=actor.id,
        action=action,
        entity=entity,
        entity_id=entity_id,
        agency_id=agency.id,
        data=data,
    )


def _check_nces(agency: Agency, nces_id: str) -> str | None:
    if agency.nces_id and not nces_id.startswith(agency.nces_id):
        return (
            f"NCES school id {nces_id} is not in this district (its NCES id is {agency.nces_id})."
        )
    return None


# --- schools -------------------------------------------------------------------------------


def create_school(*, session: Session, actor: User, agency_id: str, data: SchoolCreate) -> School:
    agency = district_of(session, actor, agency_id)
    problem = _check_nces(agency, data.nces_id)
    if problem:
        raise Unprocessable.at(["body", "nces_id"], problem)
    exists = session.exec(
        select(School.id).where(School.agency_id == agency.id, School.nces_id == data.nces_id)
    ).first()
    if exists:
        raise Conflict(
            f"A school with NCES id {data.nces_id} already exists (id {exists}).", slug="duplicate"
        )
    school = School(agency_id=agency.id, **data.model_dump())
    session.add(school)
    session.flush()
    _record(session, actor, agency, "school.created", "school", school.id, nces_id=school.nces_id)
    session.commit()
    return school


def list_schools(*, session: Session, actor: User, agency_id: str) -> list[School]:
    agency = district_of(session, actor, agency_id)
    return list(
        session.exec(select(School).where(School.agency_id == agency.id).order_by(col(School.name)))
    )


def _normalize_grade(raw: str) -> str:
    value = raw.strip().upper()
    if value in ("K", "KG", "00"):
        return "KG"
    if value.isdigit() and 1 <= int(value) <= 12:
        return f"{int(value):02d}"
    return value  # PK, or something SchoolCreate will refuse with a clear message


def _decode(data: bytes) -> str:
    if b"\x00" in data[:65536]:
        raise Unprocessable("The file is not a CSV text file.", slug="not-csv")
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise Unprocessable("The file is not a CSV text file.", slug="not-csv")


def parse_school_csv(
    agency: Agency, data: bytes
) -> tuple[list[tuple[int, SchoolCreate]], list[ImportError_]]:
    """Validated rows with their row numbers (the header is row 1), and one error per bad row."""
    text = _decode(data)
    try:
        dialect = csv.Sniffer().sniff(text[:8192], delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        raise Unprocessable("The file is empty or not a CSV file.", slug="not-csv") from exc
    normalized = [h.strip().lower() for h in header]
    columns: dict[str, int] = {}
    for field, aliases in COLUMN_ALIASES.items():
        for alias in aliases:
            if alias in normalized:
                columns[field] = normalized.index(alias)
                break
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        wanted = "; ".join(
            f"{c} (or {'/'.join(a.upper() for a in COLUMN_ALIASES[c][1:])})"
            if len(COLUMN_ALIASES[c]) > 1
            else c
            for c in missing
        )
        raise Unprocessable(
            f"The file lacks required columns: {wanted}.",
            slug="missing-columns",
            errors=[{"loc": ["file", c], "msg": "required column missing"} for c in missing],
        )
    rows: list[tuple[int, SchoolCreate]] = []
    errors: list[ImportError_] = []
    seen: dict[str, int] = {}
    try:
        for number, record in enumerate(reader, start=2):
            if not any(cell.strip() for cell in record):
                continue

            def cell(field: str, record: list[str] = record) -> str:
                index = columns.get(field)
                return record[index].strip() if index is not None and index < len(record) else ""

            try:
                school = _row_to_school(agency, cell)
            except ValueError as exc:
                errors.append(ImportError_(row=number, msg=str(exc)))
                continue
            if school.nces_id in seen:
                errors.append(
                    ImportError_(
                        row=number,
                        msg=f"NCES id {school.nces_id} already appears on row "
                        f"{seen[school.nces_id]}.",
                    )
                )
                continue
            seen[school.nces_id] = number
            rows.append((number, school))
    except csv.Error as exc:
        raise Unprocessable(f"The file is not valid CSV: {exc}.", slug="not-csv") from exc
    return rows, errors


def _row_to_school(agency: Agency, cell: Callable[[str], str]) -> SchoolCreate:
    leaid = cell("leaid")
    if leaid and agency.nces_id and leaid.zfill(7) != agency.nces_id:
        raise ValueError(f"LEAID {leaid} is another district's (this one is {agency.nces_id}).")
    nces_id = cell("nces_id").zfill(12) if cell("nces_id").isdigit() else cell("nces_id")
    problem = _check_nces(agency, nces_id) if nces_id.isdigit() else None
    if problem:
        raise ValueError(problem)
    enrollment_text = cell("enrollment")
    enrollment: int | None = None
    if enrollment_text:
        try:
            enrollment = int(float(enrollment_text))
        except ValueError as exc:
            raise ValueError(f"Enrollment '{enrollment_text}' is not a number.") from exc
        if enrollment < 0:  # the CCD's codes for missing or not applicable
            enrollment = None
    poverty_text = cell("poverty_rate")
    poverty: float | None = None
    if poverty_text:
        try:
            poverty = float(poverty_text.rstrip("%")) / (100 if poverty_text.endswith("%") else 1)
        except ValueError as exc:
            raise ValueError(f"Poverty rate '{poverty_text}' is not a number.") from exc
    needs = [n.strip() for n in cell("needs").replace(",", ";").split(";") if n.strip()]
    try:
        return SchoolCreate(
            nces_id=nces_id,
            name=cell("name"),
            state_id=cell("state_id") or None,
            grade_low=_normalize_grade(cell("grade_low")),
            grade_high=_normalize_grade(cell("grade_high")),
            enrollment=enrollment,
            poverty_rate=poverty,
            needs=needs,
        )
    except ValidationError as exc:
        messages = []
        for error in exc.errors():
            where = ".".join(str(p) for p in error["loc"]) or "row"
            messages.append(f"{where}: {error['msg']}")
        raise ValueError("; ".join(messages)) from exc


def import_schools(
    *, session: Session, actor: User, agency_id: str, data: bytes, progress: Progress | None = None
) -> ImportResult:
    agency = district_of(session, actor, agency_id)
    return import_into(
        session=session, agency=agency, actor_id=actor.id, data=data, progress=progress
    )


def import_into(
    *,
    session: Session,
    agency: Agency,
    actor_id: str | None,
    data: bytes,
    progress: Progress | None = None,
) -> ImportResult:
    """Upsert a CSV of schools by NCES id: good rows are kept, each bad row is reported.
    `actor_id` is None when an operator runs the command-line import."""
    if agency.kind != AgencyKind.district:
        raise Unprocessable("Schools and clusters belong to a district agency, not a state.")
    rows, errors = parse_school_csv(agency, data)
    wanted = [r.nces_id for _, r in rows]
    existing: dict[str, School] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        query = select(School).where(School.agency_id == agency.id, col(School.nces_id).in_(chunk))
        existing.update({s.nces_id: s for s in session.exec(query)})
    created = updated = 0
    now = utcnow()
    for done, (_, row) in enumerate(rows, start=1):
        school = existing.get(row.nces_id)
        if school is None:
            session.add(School(agency_id=agency.id, **row.model_dump()))
            created += 1
        else:
            for key, value in row.model_dump().items():
                setattr(school, key, value)
            school.updated_at = now
            session.add(school)
            updated += 1
        if progress and (done % 100 == 0 or done == len(rows)):
            progress(done, len(rows))
    audit.record(
        session=session,
        actor_id=actor_id,
        action="schools.imported",
        entity="agency",
        entity_id=agency.id,
        agency_id=agency.id,
        data={
            "created": created,
            "updated": updated,
            "errors": len(errors),
            "via": "api" if actor_id else "cli",
        },
    )
    session.commit()
    return ImportResult(created=created, updated=updated, errors=errors)


# --- clusters ------------------------------------------------------------------------------


def grades_served(schools: Iterable[School]) -> list[str]:
    """Every grade code some school serves (each school's GSLO..GSHI), lowest first."""
    grades = {code for s in schools for code in grade_span(s.grade_low, s.grade_high)}
    return sorted(grades, key=grade_index)


def cluster_view(session: Session, cluster: Cluster) -> ClusterRead:
    schools = list(
        session.exec(
            select(School).where(School.cluster_id == cluster.id).order_by(col(School.name))
        )
    )
    grades = grades_served(schools)
    preferences = list(
        session.exec(
            select(ClusterPreference.organization_id)
            .where(ClusterPreference.cluster_id == cluster.id)
            .order_by(col(ClusterPreference.rank))
        )
    )
    return ClusterRead(
        id=cluster.id,
        agency_id=cluster.agency_id,
        name=cluster.name,
        school_ids=[s.id for s in schools],
        schools=[SchoolRead.model_validate(s, from_attributes=True) for s in schools],
        grade_low=grades[0] if grades else "",
        grade_high=grades[-1] if grades else "",
        grades=grades,
        needs=sorted({n for s in schools for n in s.needs}),
        enrollment=sum(s.enrollment or 0 for s in schools),
        preferences=preferences,
        created_at=cluster.created_at,
    )


def create_cluster(
    *, session: Session, actor: User, agency_id: str, data: ClusterCreate
) -> Cluster:
    agency = district_of(session, actor, agency_id)
    ids = list(dict.fromkeys(data.school_ids))
    if len(ids) != len(data.school_ids):
        raise Unprocessable.at(["body", "school_ids"], "A school is listed twice.")
    if not agency.cluster_min <= len(ids) <= agency.cluster_max:
        raise Unprocessable.at(
            ["body", "school_ids"],
            f"A cluster has {agency.cluster_min} to {agency.cluster_max} schools in this "
            f"district; got {len(ids)}.",
        )
    schools = list(session.exec(select(School).where(col(School.id).in_(ids)).with_for_update()))
    found = {s.id: s for s in schools if s.agency_id == agency.id}
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFound(f"School {missing[0]}")
    taken = [s.name for s in found.values() if s.cluster_id is not None]
    if taken:
        raise Conflict(
            f"Already in another cluster: {', '.join(sorted(taken))}.", slug="school-in-cluster"
        )
    cluster = Cluster(agency_id=agency.id, name=data.name, created_by=actor.id)
    session.add(cluster)
    session.flush()
    for school in found.values():
        school.cluster_id = cluster.id
        session.add(school)
    _record(session, actor, agency, "cluster.created", "cluster", cluster.id, school_ids=ids)
    session.commit()
    return cluster


def list_clusters(*, session: Session, actor: User, agency_id: str) -> list[Cluster]:
    agency = district_of(session, actor, agency_id)
    return list(
        session.exec(
            select(Cluster)
            .where(Cluster.agency_id == agency.id, col(Cluster.dissolved_at).is_(None))
            .order_by(col(Cluster.created_at))
        )
    )


def get_cluster(*, session: Session, actor: User, cluster_id: str) -> tuple[Cluster, Agency]:
    if not policies.may_manage_schools(actor):
        raise Forbidden("Only district staff manage schools and clusters.")
    cluster = session.get(Cluster, cluster_id)
    if cluster is None or not policies.can_manage_cluster(actor, cluster):
        raise NotFound("Cluster")
    agency = session.get(Agency, cluster.agency_id)
    assert agency is not None
    return cluster, agency


def set_preferences(
    *, session: Session, actor: User, cluster_id: str, organization_ids: Sequence[str]
) -> Cluster:
    cluster, agency = get_cluster(session=session, actor=actor, cluster_id=cluster_id)
    if len(set(organization_ids)) != len(organization_ids):
        raise Unprocessable.at(["body", "organization_ids"], "An organization is ranked twice.")
    listed = {p.organization_id for p in provider_service.listed_providers(session, agency)}
    unknown = [o for o in organization_ids if o not in listed]
    if unknown:
        names = dict(
            session.exec(
                select(Organization.id, Organization.name).where(col(Organization.id).in_(unknown))
            ).all()
        )
        label = ", ".join(names.get(o, o) for o in unknown)
        raise Unprocessable.at(
            ["body", "organization_ids"],
            f"Not on the preferred-provider list for {agency.state}: {label}.",
        )
    for old in session.exec(
        select(ClusterPreference).where(ClusterPreference.cluster_id == cluster.id)
    ):
        session.delete(old)
    session.flush()
    for rank, organization_id in enumerate(organization_ids, start=1):
        session.add(
            ClusterPreference(cluster_id=cluster.id, organization_id=organization_id, rank=rank)
        )
    _record(
        session,
        actor,
        agency,
        "cluster.preferences_set",
        "cluster",
        cluster.id,
        ranking=list(organization_ids),
    )
    session.commit()
    return cluster


# --- clusters offered in a direct-award RFP ------------------------------------------------


def clusters_to_offer(
    session: Session, agency: Agency, cluster_ids: Sequence[str], *, lock: bool = False
) -> list[Cluster]:
    """The district's active clusters, in the order named (422 naming the first that is
    not one); locked when asked, so two publications of one cluster follow each other."""
    query = select(Cluster).where(col(Cluster.id).in_(list(cluster_ids)))
    if lock:
        query = query.order_by(col(Cluster.id)).with_for_update()
    found = {c.id: c for c in session.exec(query)}
    for index, cluster_id in enumerate(cluster_ids):
        cluster = found.get(cluster_id)
        if cluster is None or cluster.agency_id != agency.id:
            raise Unprocessable.at(
                ["body", "cluster_ids", index], "This is not one of the district's clusters."
            )
        if cluster.dissolved_at is not None:
            raise Unprocessable.at(
                ["body", "cluster_ids", index], f"The cluster '{cluster.name}' was dissolved."
            )
    return [found[c] for c in cluster_ids]


def offered_clusters(session: Session, cluster_ids: Sequence[str]) -> list[OfferedCluster]:
    """What an applicant needs to know of each cluster on offer: its schools, grades,
    enrollment and needs (public, as the RFP is)."""
    if not cluster_ids:
        return []
    clusters = {
        c.id: c for c in session.exec(select(Cluster).where(col(Cluster.id).in_(cluster_ids)))
    }
    schools: dict[str, list[School]] = {}
    for school in session.exec(
        select(School).where(col(School.cluster_id).in_(cluster_ids)).order_by(col(School.name))
    ):
        assert school.cluster_id is not None
        schools.setdefault(school.cluster_id, []).append(school)
    out = []
    for cluster_id in cluster_ids:
        cluster = clusters.get(cluster_id)
        if cluster is None:
            continue
        members = schools.get(cluster_id, [])
        out.append(
            OfferedCluster(
                id=cluster.id,
                name=cluster.name,
                grades=grades_label(set(grades_served(members))),
                enrollment=sum(s.enrollment or 0 for s in members),
                needs=sorted({n for s in members for n in s.needs}),
                schools=[
                    OfferedSchool(
                        nces_id=s.nces_id,
                        name=s.name,
                        grades=grades_label(set(grade_span(s.grade_low, s.grade_high))),
                        enrollment=s.enrollment,
                        needs=sorted(s.needs),
                    )
                    for s in members
                ],
            )
        )
    return out
