"""A reviewer's invitation by email, through the real pages in Chromium: the live server
runs with SMTP_URL pointing at a real SMTP server (aiosmtpd) this test starts and with its
in-process job worker on; staff invite a reviewer on the panel page, which says the link was
emailed and shows none; the message arrives with a plain-text and an HTML part; the link in
it, opened in the browser, lets the reviewer set a password and reach their dashboard.

The email's HTML part, the panel page and the invitation page are checked with axe-core (no
serious or critical violation); screenshots under test-artifacts/screenshots/invite-*.png,
the server's log in test-artifacts/invite-server.log."""

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.test_public_journey import ARTIFACTS, CHROMIUM, _axe
from tests.notification_support import SmtpServer, free_port, html_of, text_of
from tests.support import PASSWORD, Api, pass_deadline, published_rfp, start_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium on this machine (.ci/run installs Debian's chromium)"
    ),
]

SERVER_LOG = ARTIFACTS.parent / "invite-server.log"
REVIEWER = ("Robin Okafor", "robin.okafor@panel.example")


@dataclass
class Site:
    base: str
    api: Api
    browser: Browser
    smtp: SmtpServer
    errors: list[str] = field(default_factory=list)  # script errors and 5xx answers


@pytest.fixture
def site() -> Iterator[Site]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    SERVER_LOG.unlink(missing_ok=True)
    smtp = SmtpServer()
    smtp.start()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SMTP_URL": smtp.url,
        "PUBLIC_BASE_URL": base,  # the links in the messages point at this server
        "JOBS_IN_PROCESS": "on",  # the server delivers, as `serve` does outside tests
    }
    server, _ = start_server(1, SERVER_LOG, port=port, env=env)
    try:
        with httpx.Client(base_url=base, timeout=60) as http, sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                yield Site(base=base, api=Api(http), browser=browser, smtp=smtp)
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        smtp.stop()


def _page(site: Site) -> Page:
    context = site.browser.new_context(
        viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC"
    )
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("pageerror", lambda e: site.errors.append(str(e)))
    page.on("response", lambda r: site.errors.append(r.url) if r.status >= 500 else None)
    return page


def _invitation(site: Site, email: str) -> EmailMessage:
    site.smtp.wait_for(1, timeout=30)
    [message] = site.smtp.recorder.to(email)
    return message


def test_an_emailed_invitation_lets_the_reviewer_join(site: Site) -> None:
    staff = site.api.staff()
    rfp = published_rfp(site.api, staff)
    pass_deadline(rfp["id"])  # the live server shares this test run's database
    name, email = REVIEWER

    manager = _page(site)
    manager.goto(site.base + "/sign-in")
    manager.get_by_label("Email address").fill(staff.email)
    manager.get_by_label("Password", exact=True).fill(PASSWORD)
    manager.get_by_role("button", name="Sign in").click()
    manager.wait_for_url("**/dashboard")
    manager.goto(f"{site.base}/manage/rfps/{rfp['id']}/panel")
    manager.get_by_label("Full name").fill(name)
    manager.get_by_label("Email address").fill(email)
    manager.get_by_role("button", name="Invite", exact=True).click()
    expect(manager.get_by_role("heading", name=f"{name} is invited")).to_be_visible()
    expect(manager.locator("#invite-emailed")).to_contain_text(email)
    expect(manager.locator("#invite-link")).to_have_count(0)  # the link goes by email only
    _axe(manager, "invite-staff-panel-emailed")

    message = _invitation(site, email)
    text, html = text_of(message), html_of(message)
    assert rfp["title"] in message["Subject"] or rfp["title"] in text
    found = re.search(r"(https?://\S+/accept-invite\?token=[\w-]+)", text)
    assert found, text
    link = found.group(1)
    assert link.startswith(site.base + "/accept-invite?token="), link
    assert f'href="{link}"' in html  # the HTML part carries the same link

    reader = _page(site)
    reader.set_content(html)  # the HTML part as a mail client shows it
    expect(reader.get_by_role("link").filter(has_text=re.compile(r"\w"))).not_to_have_count(0)
    _axe(reader, "invite-email-html")

    reviewer = _page(site)
    reviewer.goto(link)
    expect(reviewer.get_by_role("heading", name="Join the review panel")).to_be_visible()
    _axe(reviewer, "invite-accept")
    reviewer.get_by_label("Password", exact=True).fill(PASSWORD)
    reviewer.get_by_label("Password again").fill(PASSWORD)
    reviewer.get_by_role("button", name="Set password and sign in").click()
    reviewer.wait_for_url("**/dashboard")
    expect(reviewer.get_by_text("attestation needed before you can score")).to_be_visible()
    expect(reviewer.get_by_role("link", name=rfp["title"])).to_be_visible()
    _axe(reviewer, "invite-reviewer-dashboard")

    again = _page(site)  # single use: the same link, a second time, sets nothing
    again.goto(link)
    again.get_by_label("Password", exact=True).fill(PASSWORD + "x")
    again.get_by_label("Password again").fill(PASSWORD + "x")
    again.get_by_role("button", name="Set password and sign in").click()
    expect(again.get_by_role("alert")).to_contain_text(re.compile("used|expired", re.IGNORECASE))
    assert "/dashboard" not in again.url
    assert site.errors == []
