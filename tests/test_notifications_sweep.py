"""The access sweep's world, told of everything that happens in it: every notice of every
kind goes only to someone the spec lets know (checked against the role each recipient has
in the world), opens a page its recipient may see, carries no sealed content and names no
reviewer to a partner; and the platform admin's outbox hides who bids until the close. A
district of the issuing state matches a listed partner of the world, and drafts, revises
and executes its MOU, so the matching and MOU notices are swept as well."""

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta

import httpx
import pytest
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.config import get_settings
from app.core.db import get_engine, utcnow
from app.matching import service as matching_service
from app.mous import service as mou_service
from app.mous.schemas import MouTerms
from app.notifications import delivery, schedule
from app.notifications.models import Notice
from app.providers.models import PreferredProvider
from app.rfps.models import Rfp
from app.schools import service as school_service
from app.schools.schemas import ClusterCreate, SchoolCreate
from tests.conftest import _wipe
from tests.support import Api
from tests.sweep_world import World, build_world
from tests.web_support import Person

# Who may be told, per kind: the roles of the world (a case's panel roles included).
APPLICANTS = {"own_partner", "rival_partner", "withdrawn_partner"}
REVIEWERS = {
    "assigned_reviewer",
    "unassigned_reviewer",
    "conflicted_reviewer",
    "other_panel_reviewer",
}
ALLOWED: dict[str, set[str]] = {
    "reviewer_invitation": REVIEWERS,
    "panel_added": REVIEWERS,
    "email_proof": REVIEWERS,
    "submission_receipt": APPLICANTS,
    "addendum_published": APPLICANTS,  # and followers; nobody follows in this world
    "answer_published": APPLICANTS,
    "deadline_reminder": APPLICANTS,
    "rfp_closed": {"staff"},
    # Only reviewers with an assignment still open: the conflicted one has none.
    "reviews_due": {"assigned_reviewer", "unassigned_reviewer"},
    "decision_available": {"own_partner", "rival_partner"},  # the withdrawn bid is not decided
    "listing_published": {"own_partner", "rival_partner"},
    "listing_expiring": {"own_partner", "rival_partner"},
    # The district's run proposes a listed partner; the district decides, revises, executes.
    "match_proposed": {"own_partner", "rival_partner"},
    "match_decided": {"own_partner", "rival_partner"},
    "mou_version_shared": {"own_partner", "rival_partner"},
    "mou_executed": {"own_partner", "rival_partner"},
    "mou_term_expiring": {"own_partner", "rival_partner", "district_staff"},
}


@pytest.fixture(autouse=True)
def clean_database() -> Iterator[None]:
    yield  # the world is built once for the module


@pytest.fixture(scope="module")
def world(session_client: httpx.Client) -> World:
    _wipe()
    session_client.cookies.clear()
    built = build_world(Api(session_client))
    _happen(built)
    return built


def _executed_mou(world: World) -> datetime:
    """A district of the issuing state matches one of the world's listed partners, accepts,
    drafts the MOU, revises and executes it; the day its term's reminder is due."""
    api = world.api
    with Session(get_engine()) as session:
        state_staff = session.get(User, world.actors["staff"].id)
        assert state_staff is not None and state_staff.agency_id
        state_id = state_staff.agency_id
    district = api.agency("district", "VA", parent_id=state_id, nces_id="5100888")
    world.actors["district_staff"] = api.staff(district["id"])
    with Session(get_engine(), expire_on_commit=False) as session:
        staff = session.get(User, world.actors["district_staff"].id)
        assert staff is not None
        schools = [
            school_service.create_school(
                session=session,
                actor=staff,
                agency_id=district["id"],
                data=SchoolCreate(
                    nces_id=f"510088800{n:03d}",
                    name=f"Sweep Middle {n}",
                    grade_low="06",
                    grade_high="08",
                ),
            )
            for n in range(1, 4)
        ]
        school_service.create_cluster(
            session=session,
            actor=staff,
            agency_id=district["id"],
            data=ClusterCreate(name="Sweep cluster", school_ids=[s.id for s in schools]),
        )
        run = matching_service.create_run(
            session=session, actor=staff, agency_id=district["id"], cluster_ids=None, weights=None
        )
        match = matching_service.run_view(session, run).matches[0]
        matching_service.decide(session=session, actor=staff, match_id=match.id, accept=True)
        mou = mou_service.create(session=session, actor=staff, match_id=match.id)
        drafted = mou_service.version_of(session, mou).terms
        terms = MouTerms.model_validate({**drafted, "notes": "Revised."})
        mou_service.update(session=session, actor=staff, mou_id=mou.id, terms=terms, if_match=None)
        mou_service.execute(session=session, actor=staff, mou_id=mou.id)
        ends = schedule.term_end(terms.start_date, terms.term_years)
    return datetime.combine(ends, time(), tzinfo=UTC) - timedelta(days=30)


def _happen(world: World) -> None:
    """Everything else that tells people something, on the RFPs where it can happen."""
    api, staff = world.api, world.actors["staff"]
    published = world.cases["published"].rfp
    issued = api.client.post(
        f"/api/v1/rfps/{published['id']}/addenda",
        json={"text": "An addendum for everyone who applied."},
        headers=staff.headers,
    )
    assert issued.status_code == 201, issued.text
    asked = api.client.post(
        f"/api/v1/rfps/{published['id']}/questions",
        json={"text": "Asked by the bystander?"},
        headers=world.actors["unrelated_partner"].headers,
    )
    assert asked.status_code == 201, asked.text
    answered = api.client.post(
        f"/api/v1/questions/{asked.json()['id']}/answer",
        json={"text": "Answered for all."},
        headers=staff.headers,
    )
    assert answered.status_code == 200, answered.text
    engine = get_engine()
    with Session(engine) as session:
        deadline = session.get(Rfp, published["id"])
        assert deadline is not None
        soon = deadline.submission_deadline - timedelta(hours=12)
        ends = min(session.exec(select(PreferredProvider.valid_until)).all())
    listing_soon = datetime.combine(ends, time(), tzinfo=UTC) - timedelta(days=10)
    term_soon = _executed_mou(world)
    for step, now in (
        (schedule.deadline_reminders, soon),
        (schedule.close_due, utcnow()),
        (schedule.reviews_due, utcnow() + timedelta(days=3650)),
        (schedule.listing_expiry, listing_soon),
        (schedule.mou_term_expiry, term_soon),
    ):
        with Session(engine, expire_on_commit=False) as session:
            step(session, now)
    delivery.deliver_due()  # the .eml files: every notice leaves the outbox once


def _roles(world: World) -> dict[str, str]:
    """Each account's role in the world, by id."""
    roles = {actor.id: role for role, actor in world.actors.items()}
    for each in world.cases.values():
        for role, reviewer in each.reviewers.items():
            roles[reviewer.id] = role
    return roles


def _notices() -> list[Notice]:
    with Session(get_engine()) as session:
        return list(session.exec(select(Notice).order_by(col(Notice.created_at))))


def test_every_kind_was_exercised(world: World) -> None:
    kinds = {n.kind for n in _notices()}
    assert kinds >= set(ALLOWED) - {"deadline_reminder", "email_proof", "panel_added"}, kinds


def test_every_notice_goes_only_to_someone_the_spec_lets_know(world: World) -> None:
    roles = _roles(world)
    wrong = [
        f"{n.kind} to {roles.get(n.user_id or '', n.email)}"
        for n in _notices()
        if roles.get(n.user_id or "") not in ALLOWED[n.kind]
    ]
    assert wrong == []


def test_every_notice_opens_a_page_its_recipient_may_see(world: World) -> None:
    people: dict[str, Person] = {}
    emails = {a.id: a.email for a in world.actors.values() if a is not None}
    for case in world.cases.values():
        emails.update({r.id: r.email for r in case.reviewers.values()})
    refused = []
    for notice in _notices():
        if notice.secret:  # a single-use link, used by the sweep's world already
            continue
        person = people.get(notice.user_id or "")
        if person is None:
            person = people[notice.user_id or ""] = Person(world.api.client).sign_in(
                emails[notice.user_id or ""]
            )
        path = notice.link.removeprefix(get_settings().public_base_url.rstrip("/"))
        status = person.client.get(path).status_code
        if status >= 400:
            refused.append(f"{notice.kind} -> {path}: {status}")
    assert refused == []


def test_no_notice_carries_sealed_content_or_names_a_reviewer(world: World) -> None:
    markers = [m for case in world.cases.values() for m in case.markers.values()]
    reviewers = [r.email for case in world.cases.values() for r in case.reviewers.values()] + [
        "Judge "
    ]
    for notice in _notices():
        for marker in markers:
            assert marker not in notice.text_body and marker not in notice.html_body
        if notice.kind not in ("reviewer_invitation", "panel_added", "email_proof", "reviews_due"):
            for name in reviewers:
                assert name not in notice.text_body, (notice.kind, name)


def test_the_admin_outbox_hides_who_bids_until_the_close(world: World) -> None:
    api = world.api
    listed = api.client.get("/api/v1/admin/outbox?limit=200", headers=api.admin.headers).json()
    shown = {row["id"] for row in listed["items"]}
    sealed_rfps = {
        world.cases[s].rfp["id"] for s in ("published", "cancelled_open", "cancelled_late")
    }
    for notice in _notices():
        if notice.sealed_rfp_id in sealed_rfps:
            assert notice.id not in shown, notice.kind
    opened = [n for n in _notices() if n.sealed_rfp_id == world.cases["closed"].rfp["id"]]
    assert opened and all(n.id in shown for n in opened)
