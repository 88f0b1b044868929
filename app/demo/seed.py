"""The demo dataset: idempotent, so `make run` can load it on every start."""

from collections.abc import Iterator
from datetime import timedelta

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.accounts.models import Agency, AgencyKind, OrganizationKind, User
from app.accounts.schemas import AgencyCreate, OrganizationSignUp, StaffCreate
from app.core.db import utcnow
from app.rfps import service as rfp_service
from app.rfps.models import Rfp
from app.rfps.schemas import RfpCreate

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
    yield from _seed_rfps(session, state, district)
    yield f"demo data ready; every demo account's password is {DEMO_PASSWORD}"


DEMO_RFPS = (
    ("state", "state-preferred-provider", "Lead Partner Preferred-Provider RFP 2027 (demo)"),
    (
        "district",
        "district-cluster-partner",
        "Eastside Middle Schools Cluster: Lead Partner RFP (demo)",
    ),
    ("district", "internal-lead-partner", "Internal Lead Partner Proposal 2027 (demo)"),
)


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
            data=RfpCreate(template_key=template_key, title=title, submission_deadline=deadline),
        )
        rfp_service.publish(session=session, actor=actor, rfp_id=rfp.id)
        yield f"published RFP '{title}'"
