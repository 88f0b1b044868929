"""The demo dataset: idempotent, so `make run` can load it on every start."""

from collections.abc import Iterator
from datetime import timedelta

from sqlmodel import Session, col, select

from app.accounts import service as accounts
from app.accounts.models import Agency, AgencyKind, OrganizationKind, User
from app.accounts.schemas import AgencyCreate, OrganizationSignUp, StaffCreate
from app.core.db import utcnow
from app.rfps import service as rfp_service
from app.rfps.models import Rfp
from app.rfps.schemas import RfpCreate
from app.schools import service as school_service
from app.schools.models import Cluster
from app.schools.schemas import ClusterCreate, SchoolCreate

DEMO_PASSWORD = "demo-password-2026"  # noqa: S105 - documented demo credential
ADMIN_EMAIL = "admin@pipeline.example"
STATE_STAFF_EMAIL = "rfp.staff@state.example"
DISTRICT_STAFF_EMAIL = "turnaround.office@district.example"
PARTNER_EMAIL = "lead@brightpath.example"


def _user(session: Session, email: str) -> User | None:
    return session.exec(select(User).where(User.email == email)).first()


def _agency(session: Session, name: str) -> Agency | None:
    return session.exec(select(Agency).where(Agency.name == name)).first()


def seed_demo(*, session: Session) -> Iterator[str]:
    admin = _user(session, ADMIN_EMAIL)
    if admin is None:
        admin = accounts.create_admin(session=session, email=ADMIN_EMAIL, password=DEMO_PASSWORD)
        yield f"created administrator {ADMIN_EMAIL}"

    state = _agency(session, "Virginia Department of Education (demo)")
    if state is None:
        state = accounts.create_agency(
            session=session,
            actor=admin,
            data=AgencyCreate(
                name="Virginia Department of Education (demo)", kind=AgencyKind.state, state="VA"
            ),
        )
        yield f"created state agency {state.name}"
    district = _agency(session, "Riverside City Public Schools (demo)")
    if district is None:
        district = accounts.create_agency(
            session=session,
            actor=admin,
            data=AgencyCreate(
                name="Riverside City Public Schools (demo)",
                kind=AgencyKind.district,
                state="VA",
                parent_id=state.id,
                nces_id="5199901",
            ),
        )
        yield f"created district {district.name}"

    for email, name, agency in (
        (STATE_STAFF_EMAIL, "Dana Whitfield", state),
        (DISTRICT_STAFF_EMAIL, "Marcus Lee", district),
    ):
        if _user(session, email) is None:
            accounts.create_staff(
                session=session,
                actor=admin,
                agency_id=agency.id,
                data=StaffCreate(email=email, name=name, password=DEMO_PASSWORD),
            )
            yield f"created staff {email}"

    if _user(session, PARTNER_EMAIL) is None:
        accounts.sign_up_organization(
            session=session,
            data=OrganizationSignUp(
                name="BrightPath Turnaround Partners (demo)",
                kind=OrganizationKind.nonprofit,
                email=PARTNER_EMAIL,
                contact_name="Alicia Moreno",
                password=DEMO_PASSWORD,
                states=["VA", "MD"],
                grade_levels=["06", "07", "08", "09", "10", "11", "12"],
                capacity_clusters=2,
                website="https://brightpath.example",
                description=(
                    "A non-profit that has led middle and high school turnarounds since 2004."
                ),
            ),
        )
        yield f"created partner organization with user {PARTNER_EMAIL}"
    yield from _seed_clusters(session, district)
    yield from _seed_rfps(session, state, district)
    yield f"demo data ready; every demo account's password is {DEMO_PASSWORD}"


# name, grades, schools (name, enrollment, poverty rate, needs), the RFP that offers it
DEMO_CLUSTERS = (
    (
        "Eastside middle schools",
        ("06", "08"),
        (
            ("Carver Middle School", 612, 0.81, ["rigorous_instruction", "human_capital"]),
            ("Jefferson Middle School", 540, 0.77, ["social_emotional_learning"]),
            ("Lincoln Middle School", 498, 0.84, ["extended_day", "community_engagement"]),
        ),
        "district-cluster-partner",
    ),
    (
        "Northside high schools",
        ("09", "12"),
        (
            ("Northside High School", 1210, 0.72, ["rigorous_instruction", "human_capital"]),
            ("Marshall High School", 980, 0.69, ["social_emotional_learning"]),
            ("Riverside Technical High School", 760, 0.74, ["knowledge_management"]),
        ),
        "district-cluster-partner",
    ),
    (
        "Westside elementary schools",
        ("PK", "05"),
        (
            ("Banneker Elementary School", 410, 0.88, ["extended_day"]),
            ("Douglass Elementary School", 385, 0.9, ["community_engagement"]),
            ("Maury Elementary School", 442, 0.83, ["rigorous_instruction"]),
        ),
        "internal-lead-partner",
    ),
)
DEMO_RFPS = (
    ("state", "state-preferred-provider", "Lead Partner Preferred-Provider RFP 2027 (demo)"),
    (
        "district",
        "district-cluster-partner",
        "Eastside and Northside Clusters: Lead Partner RFP (demo)",
    ),
    ("district", "internal-lead-partner", "Internal Lead Partner Proposal 2027 (demo)"),
)


def _seed_clusters(session: Session, district: Agency) -> Iterator[str]:
    staff = _user(session, DISTRICT_STAFF_EMAIL)
    assert staff is not None
    number = 0
    for name, (low, high), schools, _ in DEMO_CLUSTERS:
        ids = []
        for school_name, enrollment, poverty, needs in schools:
            number += 1
            if session.exec(select(Cluster).where(Cluster.name == name)).first() is not None:
                continue
            school = school_service.create_school(
                session=session,
                actor=staff,
                agency_id=district.id,
                data=SchoolCreate.model_validate(
                    {
                        "nces_id": f"{district.nces_id}{number:05d}",
                        "name": school_name,
                        "grade_low": low,
                        "grade_high": high,
                        "enrollment": enrollment,
                        "poverty_rate": poverty,
                        "needs": needs,
                    }
                ),
            )
            ids.append(school.id)
        if ids:
            school_service.create_cluster(
                session=session,
                actor=staff,
                agency_id=district.id,
                data=ClusterCreate(name=name, school_ids=ids),
            )
            yield f"created cluster {name} with {len(ids)} schools"


def _offered(session: Session, template_key: str) -> list[str]:
    names = [name for name, _, _, key in DEMO_CLUSTERS if key == template_key]
    found = {
        c.name: c.id for c in session.exec(select(Cluster).where(col(Cluster.name).in_(names)))
    }
    return [found[n] for n in names if n in found]


def _seed_rfps(session: Session, state: Agency, district: Agency) -> Iterator[str]:
    staff = {
        "state": _user(session, STATE_STAFF_EMAIL),
        "district": _user(session, DISTRICT_STAFF_EMAIL),
    }
    deadline = (utcnow() + timedelta(days=60)).replace(hour=21, minute=0, second=0, microsecond=0)
    for owner, template_key, title in DEMO_RFPS:
        if session.exec(select(Rfp).where(Rfp.title == title)).first() is not None:
            continue
        actor = staff[owner]
        assert actor is not None
        rfp = rfp_service.create_rfp(
            session=session,
            actor=actor,
            data=RfpCreate(
                template_key=template_key,
                title=title,
                submission_deadline=deadline,
                cluster_ids=_offered(session, template_key) if owner == "district" else None,
            ),
        )
        rfp_service.publish(session=session, actor=actor, rfp_id=rfp.id)
        yield f"published RFP '{title}'"
