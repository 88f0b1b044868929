"""The events that tell people something, each delivered to a real SMTP server (aiosmtpd on
127.0.0.1): an invitation whose link works, a password reset that round-trips, a receipt
with its hash, an addendum that reaches a follower and an applicant but not an unrelated
partner, a decision to each applicant that names no reviewer."""

import re
from collections.abc import Iterator
from email.message import EmailMessage
from urllib.parse import urlsplit

import pytest
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.config import get_settings
from app.core.db import get_engine
from app.notifications import delivery
from app.notifications.models import Notice
from app.reviews.models import PanelMember
from tests.notification_support import (
    SmtpServer,
    html_of,
    smtp_server,
    steers_this_process,
    text_of,
)
from tests.support import (
    PASSWORD,
    Api,
    complete_proposal,
    finalized_list,
    pass_deadline,
    published_rfp,
    submitted_proposal,
)
from tests.web_support import Person
from tests.worlds import drafted_mou


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with smtp_server() as server:
        monkeypatch.setattr(get_settings(), "smtp_url", server.url)
        yield server


def _messages(smtp: SmtpServer, email: str) -> list[EmailMessage]:
    """What reached this address once a worker's round has run."""
    delivery.deliver_due()
    return smtp.recorder.to(email)


def _delivered(smtp: SmtpServer, email: str) -> list[str]:
    return [text_of(m) for m in _messages(smtp, email)]


def _link(text: str, path: str) -> str:
    found = re.search(rf"(https?://\S+{re.escape(path)}\S*)", text)
    assert found, f"no {path} link in {text!r}"
    parts = urlsplit(found.group(1))
    assert found.group(1).startswith(get_settings().public_base_url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


@steers_this_process
def test_a_reviewer_invitation_arrives_with_a_link_that_works(api: Api, smtp: SmtpServer) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    email = "new.reviewer@university.example"
    invited = api.client.post(
        f"/api/v1/rfps/{rfp['id']}/reviewers",
        json={"email": email, "name": "New Reviewer"},
        headers=staff.headers,
    )
    assert invited.status_code == 201, invited.text
    assert smtp.recorder.to(email) == []  # sent by a worker, after the commit
    [body] = _delivered(smtp, email)
    assert rfp["title"] in body
    path = _link(body, "/accept-invite?token=")
    # The page the link opens, as a browser would, then the form on it.
    person = Person(api.client)
    form = person.get(path)
    assert 'name="token"' in form
    token = path.split("token=", 1)[1]
    accepted = person.post(
        "/accept-invite", {"token": token, "password": PASSWORD, "password_again": PASSWORD}
    )
    assert accepted.status_code == 303, accepted.text
    assert api.login(email).id == invited.json()["user_id"]
    # The single-use link is not kept: the inbox and the stored body no longer show it.
    with Session(get_engine()) as session:
        notice = session.exec(select(Notice).where(Notice.email == email)).one()
        assert token not in notice.text_body and token not in notice.html_body


@steers_this_process
def test_an_existing_reviewer_is_told_without_a_token(api: Api, smtp: SmtpServer) -> None:
    staff = api.staff()
    first, second = published_rfp(api, staff), published_rfp(api, staff)
    email = "returning.reviewer@university.example"
    invited = api.client.post(
        f"/api/v1/rfps/{first['id']}/reviewers",
        json={"email": email, "name": "Returning Reviewer"},
        headers=staff.headers,
    ).json()
    api.client.post(
        "/api/v1/auth/accept-invite",
        json={"invite_token": invited["invite_token"], "password": PASSWORD},
    )
    again = api.client.post(
        f"/api/v1/rfps/{second['id']}/reviewers",
        json={"email": email, "name": "Returning Reviewer"},
        headers=staff.headers,
    )
    assert again.json()["invite_token"] is None
    bodies = _delivered(smtp, email)
    assert len(bodies) == 2
    assert "/sign-in" in bodies[1] and "token=" not in bodies[1]


@steers_this_process
def test_a_password_reset_round_trips(api: Api, smtp: SmtpServer) -> None:
    partner = api.partner()
    asked = api.client.post("/api/v1/auth/password-reset", json={"email": partner.email})
    assert asked.status_code == 202
    [message] = _messages(smtp, partner.email)
    assert message["Subject"] == "Set a new password"
    assert "<h1" in html_of(message)
    path = _link(text_of(message), "/reset-password?token=")
    token = path.split("token=", 1)[1]
    new_password = "a-brand-new-passphrase-42"
    confirmed = api.client.post(
        "/api/v1/auth/password-reset/confirm", json={"token": token, "new_password": new_password}
    )
    assert confirmed.status_code == 204, confirmed.text
    assert api.login(partner.email, new_password).id == partner.id
    inbox = api.client.get(
        "/api/v1/me/notifications", headers=api.login(partner.email, new_password).headers
    ).json()
    [entry] = inbox["items"]
    assert token not in entry["body"]  # a single-use link is never shown in the inbox


@steers_this_process
def test_a_submission_receipt_carries_the_receipt_hash(api: Api, smtp: SmtpServer) -> None:
    rfp = published_rfp(api, api.staff())
    partner = api.partner()
    submitted = submitted_proposal(api, partner, rfp)
    [body] = _delivered(smtp, partner.email)
    assert submitted["receipt"] in body
    assert f"Version: {submitted['version']}" in body
    assert "word word" not in body  # what was submitted stays sealed: only its hash


@steers_this_process
def test_an_addendum_reaches_follower_and_applicant_not_an_unrelated_partner(
    api: Api, smtp: SmtpServer
) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    applicant, follower, unrelated = api.partner(), api.partner(), api.partner()
    complete_proposal(api, applicant, rfp)  # a draft counts: they are working on it
    followed = api.client.post(f"/api/v1/rfps/{rfp['id']}/follow", headers=follower.headers)
    assert followed.status_code == 204
    issued = api.client.post(
        f"/api/v1/rfps/{rfp['id']}/addenda",
        json={"text": "Section 3 now asks for two references."},
        headers=staff.headers,
    )
    assert issued.status_code == 201, issued.text
    for person in (applicant, follower):
        [body] = _delivered(smtp, person.email)
        assert "Section 3 now asks for two references." in body
    assert smtp.recorder.to(unrelated.email) == []
    assert smtp.recorder.to(staff.email) == []

    asked = api.client.post(
        f"/api/v1/rfps/{rfp['id']}/questions",
        json={"text": "May a consortium apply?"},
        headers=unrelated.headers,
    )
    assert asked.status_code == 201, asked.text
    answered = api.client.post(
        f"/api/v1/questions/{asked.json()['id']}/answer",
        json={"text": "Yes, with one lead."},
        headers=staff.headers,
    )
    assert answered.status_code == 200, answered.text
    for person in (applicant, follower):
        bodies = _delivered(smtp, person.email)
        assert any("Yes, with one lead." in b for b in bodies)
        assert all(unrelated.email not in b for b in bodies)  # never who asked
    assert smtp.recorder.to(unrelated.email) == []


def test_a_decision_reaches_each_applicant_and_names_no_reviewer(
    api: Api, smtp: SmtpServer
) -> None:
    staff = api.staff()
    partners = [api.partner(), api.partner()]
    rfp = finalized_list(api, staff, partners, scores=[4, 1])
    with Session(get_engine()) as session:
        reviewers = session.exec(
            select(User)
            .join(PanelMember, col(PanelMember.user_id) == col(User.id))
            .where(PanelMember.rfp_id == rfp["id"])
        ).all()
        names = {r.name for r in reviewers} | {r.email for r in reviewers}
        assert reviewers
    outcomes = set()
    for partner in partners:
        [message] = [
            m for m in _messages(smtp, partner.email) if m["Subject"].startswith("Decision on")
        ]
        body, html = text_of(message), html_of(message)
        assert rfp["title"] in message["Subject"]
        assert "/debrief" in body
        for name in names:
            assert name not in body and name not in html
        outcomes.add("not approved" in body)
    assert outcomes == {True, False}  # one approved, one not, each told its own


@steers_this_process
def test_the_admin_learns_nothing_of_who_bids_before_the_close(api: Api, smtp: SmtpServer) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    partner = api.partner()
    submitted_proposal(api, partner, rfp)
    delivery.deliver_due()
    assert len(smtp.recorder.to(partner.email)) == 1  # the receipt went out
    outbox = api.client.get("/api/v1/admin/outbox", headers=api.admin.headers).json()
    assert partner.email not in str(outbox)
    audit = api.client.get("/api/v1/audit?entity=notice", headers=api.admin.headers)
    assert audit.status_code == 200, audit.text
    [sent] = audit.json()["items"]  # sealed as the bid's own events: activity, not who
    assert sent["action"] == "notice.sent" and sent["entity_id"] == ""
    assert set(sent["data"]) <= {"rfp_id"}
    pass_deadline(rfp["id"])  # the bids are opened: so is what was said about them
    outbox = api.client.get("/api/v1/admin/outbox", headers=api.admin.headers).json()
    assert partner.email in str(outbox)


@steers_this_process
def test_a_match_and_its_mou_reach_the_partner(api: Api, smtp: SmtpServer) -> None:
    district_staff, partner, mou, _schools = drafted_mou(api)
    executed = api.client.post(f"/api/v1/mous/{mou['id']}/execute", headers=district_staff.headers)
    assert executed.status_code == 200, executed.text
    subjects = [m["Subject"] for m in _messages(smtp, partner.email)]
    assert any(s.startswith("A match was proposed") for s in subjects), subjects
    assert any(s.startswith("Match accepted") for s in subjects), subjects
    assert any(s.startswith("MOU executed") for s in subjects), subjects
    # The district ran, accepted and executed: it is not told of its own acts.
    assert _messages(smtp, district_staff.email) == []
