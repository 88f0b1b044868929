"""The public pages and a partner's sign-up and sign-in, clicked through in Chromium, with
axe-core checking every page visited and screenshots kept under test-artifacts/."""

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support import Api, published_rfp, start_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium on this machine (.ci/run installs Debian's chromium)"
    ),
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    # One server for the module's tests; each test still starts on a wiped database.
    server, base = start_server(1, tmp_path_factory.mktemp("site") / "server.log")
    try:
        yield base
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def browser_page() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
            ],
        )
        context = browser.new_context(bypass_csp=False)
        page = context.new_page()
        yield page
        context.close()
        browser.close()


def _axe(page: Any, name: str) -> None:
    from axe_playwright_python.sync_playwright import Axe

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    results = Axe().run(page)
    serious = [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v.get("impact") in ("serious", "critical")
    ]
    assert serious == [], f"{name}: {serious}"


def test_public_pages_sign_up_and_sign_in(site: str, browser_page: Any) -> None:
    from playwright.sync_api import expect

    with httpx.Client(base_url=site, timeout=60) as http:
        api = Api(http)
        staff = api.staff()
        rfp = published_rfp(api, staff)
    page = browser_page
    page.goto(site + "/")
    expect(page.get_by_role("heading", name="Open requests for proposals")).to_be_visible()
    _axe(page, "home")
    page.get_by_role("link", name=rfp["title"]).click()
    expect(page.get_by_role("heading", name=rfp["title"], level=1)).to_be_visible()
    expect(page.get_by_text("UTC").first).to_be_visible()
    assert (
        page.get_by_role("link", name="Download the RFP (PDF)")
        .get_attribute("href")
        .endswith("/document.pdf")
    )
    _axe(page, "rfp")
    page.get_by_role("link", name="Preferred providers").first.click()
    _axe(page, "preferred-providers")

    # Register an organization; a mistake is shown next to its field first.
    page.get_by_role("link", name="Register your organization").first.click()
    page.get_by_label("Organization name").fill("Riverside Learning Partners")
    page.get_by_label("Kind of organization").select_option("nonprofit")
    page.get_by_label("Contact person's full name").fill("Jordan Avery")
    page.get_by_label("Email address").fill("jordan@riverside.example")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Register").click()
    expect(page.locator("#password-error")).to_be_visible()
    _axe(page, "sign-up-with-errors")
    page.get_by_label("Password").fill("a-long-enough-password")
    page.get_by_role("button", name="Register").click()
    page.wait_for_url("**/dashboard")
    expect(page.get_by_role("heading", name="Riverside Learning Partners")).to_be_visible()
    _axe(page, "partner-dashboard")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(site + "/")

    # Sign in with the keyboard alone.
    page.goto(site + "/sign-in")
    page.keyboard.press("Tab")  # skip link first
    focused = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused.append(
            page.evaluate(
                "document.activeElement && "
                "(document.activeElement.id || document.activeElement.textContent.trim())"
            )
        )
        if "password" in focused:
            break
    assert "email" in focused and "password" in focused
    page.locator("#email").fill("jordan@riverside.example")
    page.locator("#password").fill("wrong-password-here")
    page.keyboard.press("Enter")
    expect(page.get_by_role("alert").filter(has_text="Incorrect email or password")).to_be_visible()
    _axe(page, "sign-in-error")
    page.locator("#password").fill("a-long-enough-password")
    page.keyboard.press("Enter")
    page.wait_for_url("**/dashboard")
    expect(page.get_by_text("Signed in as Jordan Avery")).to_be_visible()


def test_form_without_csrf_token_is_refused(site: str) -> None:
    with httpx.Client(base_url=site, timeout=30) as http:
        http.get("/sign-in")  # receives the CSRF cookie
        refused = http.post("/sign-in", data={"email": "a@b.example", "password": "x"})
        assert refused.status_code == 403
        assert "expired or did not come from this site" in refused.text
        forged = http.post(
            "/sign-in", data={"email": "a@b.example", "password": "x", "csrf_token": "forged"}
        )
        assert forged.status_code == 403
