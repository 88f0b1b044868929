"""Internal Lead Partners: a district's own central-office units, registered by its staff,
are the only applicants its internal-Lead-Partner RFPs take."""

from collections.abc import Iterator

import httpx
import pytest
from sqlmodel import Session, select

from app.accounts.models import User
from app.core.config import get_settings
from app.core.db import get_engine
from app.notifications import delivery
from tests.notification_support import SmtpServer, smtp_server, steers_this_process
from tests.notification_support import text_of as mail_text
from tests.support import PASSWORD, Api, assert_problem, published_rfp, submitted_proposal
from tests.web_support import Person, text_of

V1 = "/api/v1"


def test_a_district_registers_its_unit_and_invites_its_first_user(api: Api) -> None:
    staff = api.staff(kind="district")
    body = {
        "name": "Office of School Turnaround",
        "contact_name": "Ada Chief",
        "email": "ada@riverside.example",
    }
    url = f"{V1}/agencies/{staff.agency_id}/units"
    other_district = api.staff(kind="district")
    state_staff = api.staff()
    partner = api.partner()
    assert_problem(api.client.post(url, json=body, headers=other_district.headers), 404)
    assert_problem(api.client.post(url, json=body, headers=state_staff.headers), 404)
    assert_problem(api.client.post(url, json=body, headers=partner.headers), 404)
    assert_problem(
        api.client.post(url, json={**body, "email": partner.email}, headers=staff.headers), 409
    )
    created = api.client.post(url, json=body, headers=staff.headers)
    assert created.status_code == 201, created.text
    unit = created.json()["organization"]
    assert unit["kind"] == "district_unit" and unit["district_id"] == staff.agency_id
    accepted = api.client.post(
        f"{V1}/auth/accept-invite",
        json={"invite_token": created.json()["invite_token"], "password": PASSWORD},
    )
    assert accepted.status_code == 200, accepted.text
    member = api.login(body["email"])
    assert member.organization_id == unit["id"]
    listed = api.client.get(url, headers=staff.headers).json()
    assert [u["id"] for u in listed["items"]] == [unit["id"]]
    assert_problem(api.client.get(url, headers=other_district.headers), 404)
    # Nobody makes their own organization a district's unit.
    signup = {
        "name": "Pretend Unit",
        "kind": "district_unit",
        "email": "pretend@unit.example",
        "contact_name": "Pat",
        "password": PASSWORD,
    }
    assert_problem(api.client.post(f"{V1}/organizations", json=signup), 422)
    assert_problem(
        api.client.patch(
            f"{V1}/organizations/{partner.organization_id}",
            json={"kind": "district_unit"},
            headers=partner.headers,
        ),
        422,
    )


def test_an_internal_rfp_takes_only_the_districts_own_units(api: Api) -> None:
    staff = api.staff(kind="district")
    rfp = published_rfp(api, staff, "internal-lead-partner")
    assert rfp["applicants"] == "district_units" and rfp["selection"] == "direct_award"
    own_unit = api.unit(staff)
    elsewhere = api.unit(api.staff(kind="district"))
    outsider = api.partner()
    for refused in (elsewhere, outsider):
        assert_problem(
            api.client.post(f"{V1}/rfps/{rfp['id']}/proposals", headers=refused.headers), 404
        )
        open_rfps = api.client.get(f"{V1}/rfps?status=published", headers=refused.headers).json()
        assert rfp["id"] not in [r["id"] for r in open_rfps["items"]]
    anonymous = api.client.get(f"{V1}/rfps?status=published").json()
    assert rfp["id"] not in [r["id"] for r in anonymous["items"]]
    mine = api.client.get(f"{V1}/rfps?status=published", headers=own_unit.headers).json()
    assert rfp["id"] in [r["id"] for r in mine["items"]]
    submitted = submitted_proposal(api, own_unit, rfp)
    assert submitted["status"] == "submitted"
    # The RFP itself stays a public record.
    assert api.client.get(f"{V1}/rfps/{rfp['id']}").status_code == 200


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with smtp_server() as server:
        monkeypatch.setattr(get_settings(), "smtp_url", server.url)
        yield server


@steers_this_process
def test_the_units_first_user_is_mailed_the_link(api: Api, smtp: SmtpServer) -> None:
    staff = api.staff(kind="district")
    created = api.client.post(
        f"{V1}/agencies/{staff.agency_id}/units",
        json={"name": "Innovation Zone Office", "contact_name": "Ben", "email": "ben@zone.example"},
        headers=staff.headers,
    )
    assert created.status_code == 201, created.text
    delivery.deliver_due()
    [message] = smtp.recorder.to("ben@zone.example")
    body = mail_text(message)
    assert f"/accept-invite?token={created.json()['invite_token']}" in body
    assert "Innovation Zone Office" in body


def test_the_district_registers_a_unit_on_its_page_and_the_unit_sees_its_rfp(
    api: Api, client: httpx.Client
) -> None:
    staff = api.staff(kind="district")
    rfp = published_rfp(api, staff, "internal-lead-partner")
    person = Person(client).sign_in(staff.email)
    assert "No unit yet." in text_of(person.get("/district/units"))
    refused = person.post("/district/units", {"name": "", "contact_name": "Cy", "email": "cy"})
    assert refused.status_code == 422
    assert 'value="Cy"' in refused.text  # what was typed stays
    done = person.post(
        "/district/units",
        {"name": "School Redesign Office", "contact_name": "Cy Lead", "email": "cy@office.example"},
    )
    assert done.status_code == 303, done.text
    listed = text_of(person.get(done.headers["location"]))
    assert "School Redesign Office" in listed and "cy@office.example" in listed

    units = api.client.get(f"{V1}/agencies/{staff.agency_id}/units", headers=staff.headers).json()
    [unit] = units["items"]
    assert unit["kind"] == "district_unit"
    with Session(get_engine()) as session:  # an account waiting for its first password
        member = session.exec(select(User).where(User.email == "cy@office.example")).one()
        assert member.password_hash is None and member.organization_id == unit["id"]
    outsider = Person(client).sign_in(api.partner().email)
    assert rfp["title"] not in text_of(outsider.get("/dashboard"))
    own = Person(client).sign_in(api.unit(staff).email)
    assert rfp["title"] in text_of(own.get("/dashboard"))
