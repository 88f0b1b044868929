"""The listing and MOU events, each delivered to a real SMTP server (aiosmtpd on
127.0.0.1): a listing reaches the approved partner and nobody else, a revised draft MOU
reaches the partner and not the district that revised it, and an executed MOU's term end
reaches both parties once, ninety days ahead."""

from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from email.message import EmailMessage
from typing import Any

import pytest
from sqlmodel import Session

from app.core.config import get_settings
from app.core.db import get_engine
from app.notifications import delivery, schedule
from tests.notification_support import (
    SmtpServer,
    html_of,
    smtp_server,
    steers_this_process,
    text_of,
)
from tests.support import Api, finalized_list
from tests.worlds import drafted_mou

TERM_KEYS = (
    "title parties schools term_years start_date lead_partner_responsibilities autonomies "
    "responsibilities benchmarks funding reporting_cadence renewal_terms termination_terms "
    "signatories notes"
).split()


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with smtp_server() as server:
        monkeypatch.setattr(get_settings(), "smtp_url", server.url)
        yield server


def _messages(smtp: SmtpServer, email: str, subject: str) -> list[EmailMessage]:
    delivery.deliver_due()
    return [m for m in smtp.recorder.to(email) if m["Subject"].startswith(subject)]


def test_a_listing_reaches_the_listed_partner_only(api: Api, smtp: SmtpServer) -> None:
    staff = api.staff()
    listed, refused = api.partner(), api.partner()
    rfp = finalized_list(api, staff, [listed, refused], scores=[4, 1])
    [message] = _messages(smtp, listed.email, "Listed as a preferred provider")
    assert rfp["title"] in message["Subject"]
    assert "/preferred-providers" in text_of(message)
    html = html_of(message)
    assert '<html lang="en">' in html and rfp["title"] in html
    assert _messages(smtp, refused.email, "Listed as a preferred provider") == []
    assert _messages(smtp, staff.email, "Listed as a preferred provider") == []


def _revise(api: Api, staff: Any, mou: dict[str, Any]) -> dict[str, Any]:
    url = f"/api/v1/mous/{mou['id']}"
    etag = api.client.get(url, headers=staff.headers).headers["ETag"]
    terms = {k: mou[k] for k in TERM_KEYS}
    terms["notes"] = "Revised after the partner's call."
    updated = api.client.put(url, json=terms, headers={**staff.headers, "If-Match": etag})
    assert updated.status_code == 200, updated.text
    return dict(updated.json())


@steers_this_process
def test_a_new_draft_version_reaches_the_partner_not_the_district(
    api: Api, smtp: SmtpServer
) -> None:
    district_staff, partner, mou, _schools = drafted_mou(api)
    revised = _revise(api, district_staff, mou)
    [message] = _messages(smtp, partner.email, "New MOU version to read")
    body = text_of(message)
    assert f"version {revised['version']}" in body and f"/mous/{mou['id']}" in body
    assert _messages(smtp, district_staff.email, "New MOU version") == []
    page = api.client.get(f"/api/v1/mous/{mou['id']}", headers=partner.headers)
    assert page.status_code == 200  # the link opens a page the partner may read


def test_an_mous_term_end_reaches_both_parties_once(api: Api, smtp: SmtpServer) -> None:
    district_staff, partner, mou, _schools = drafted_mou(api)
    executed = api.client.post(f"/api/v1/mous/{mou['id']}/execute", headers=district_staff.headers)
    assert executed.status_code == 200, executed.text
    start = datetime.fromisoformat(mou["start_date"]).date()
    ends = schedule.term_end(start, int(mou["term_years"]))
    engine = get_engine()
    early = datetime.combine(ends, time(), tzinfo=UTC) - timedelta(days=120)
    near = datetime.combine(ends, time(), tzinfo=UTC) - timedelta(days=60)
    with Session(engine, expire_on_commit=False) as session:
        assert schedule.mou_term_expiry(session, early) == 0  # not yet
    with Session(engine, expire_on_commit=False) as session:
        assert schedule.mou_term_expiry(session, near) == 2
    with Session(engine, expire_on_commit=False) as session:
        assert schedule.mou_term_expiry(session, near + timedelta(days=1)) == 0  # once
    for person in (partner, district_staff):
        [message] = _messages(smtp, person.email, "MOU term ends on")
        assert ends.isoformat() in message["Subject"]
        assert f"/mous/{mou['id']}" in text_of(message)


def test_the_term_end_of_a_leap_day_start() -> None:
    assert schedule.term_end(datetime(2028, 2, 29).date(), 3).isoformat() == "2031-02-28"
    assert schedule.term_end(datetime(2027, 7, 1).date(), 5).isoformat() == "2032-07-01"
