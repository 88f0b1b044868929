"""One selection from start to finish, clicked through the real pages in Chromium.

State staff build and publish an RFP; two partner organizations register, complete their
profile and self-audit, write and submit proposals (one asks a question, staff answer it);
the deadline passes; reviewers join through their invitation links, attest and score; staff
finalize and the preferred-provider list is published; a district imports schools, builds a
cluster, ranks providers, runs matching, drafts, edits, compares, downloads and executes the
MOU, which the matched partner then reads and downloads.

Every distinct page is checked with axe-core (no serious or critical violation) and kept as a
screenshot under test-artifacts/screenshots/journey-*.png; the live server's log is kept in
test-artifacts/journey-server.log. No page may answer 5xx or raise a script error.
"""

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.browser.test_public_journey import ARTIFACTS, CHROMIUM, _axe
from tests.support import PASSWORD, Actor, Api, pass_deadline, start_server

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium on this machine (.ci/run installs Debian's chromium)"
    ),
]

SERVER_LOG = ARTIFACTS.parent / "journey-server.log"
TEMPLATE_LABEL = re.compile(r"^Request for Proposals: Preferred Providers .*\(state RFP\)$")
DISTRICT_NCES = "5100777"
SCHOOLS_CSV = (
    "nces_id,name,grade_low,grade_high,enrollment,poverty_rate,needs\n"
    "510077700001,Jefferson Middle,6,8,420,81%,human_capital;extended_day\n"
    "510077700002,Madison Middle,06,08,390,0.77,human_capital\n"
    "510077700003,Monroe Middle,6,8,455,79%,rigorous_instruction;human_capital\n"
    "510099900004,Elsewhere Middle,6,8,300,70%,human_capital\n"  # another district's school
)
SCHOOLS = ("Jefferson Middle", "Madison Middle", "Monroe Middle")
CONTROLS = "input:not([type=hidden]), select, textarea, button"


@dataclass
class Partner:
    name: str
    email: str
    page: Page
    level: int  # every reviewer gives this level on every criterion
    proposal_id: str = ""
    organization_id: str = ""


@dataclass
class Journey:
    """What the story's steps share: the site, the API helper, the browser and the actors."""

    site: str
    api: Api
    browser: Browser
    files: Path
    checked: list[str] = field(default_factory=list)
    server_errors: list[str] = field(default_factory=list)
    script_errors: list[str] = field(default_factory=list)
    staff: Actor | None = None
    staff_page: Page | None = None
    rfp: dict[str, Any] = field(default_factory=dict)
    aggregation: str = ""
    partners: list[Partner] = field(default_factory=list)
    mou_url: str = ""
    matched: Partner | None = None
    pages: dict[str, Page] = field(default_factory=dict)

    def open(self, who: str) -> Page:
        """A fresh browser context (own cookies) for one person."""
        context = self.browser.new_context(
            viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC"
        )
        context.set_default_timeout(20_000)
        page = context.new_page()
        page.on(
            "response",
            lambda r: (
                self.server_errors.append(f"{who}: {r.status} {r.request.method} {r.url}")
                if r.status >= 500
                else None
            ),
        )
        page.on("pageerror", lambda e: self.script_errors.append(f"{who}: {e}"))
        self.pages[who] = page
        return page

    def where_everyone_is(self) -> str:
        """On failure: each person's page (URL, title, any alert), kept as a screenshot too."""
        lines = []
        for who, page in self.pages.items():
            try:
                page.screenshot(
                    path=str(ARTIFACTS / f"journey-failed-{who.replace(' ', '-')}.png"),
                    full_page=True,
                )
                alerts = page.locator("[role=alert], [role=status]").all_inner_texts()
                lines.append(f"{who}: {page.url} {page.title()!r} {alerts}")
            except Exception as exc:  # best effort while reporting a failure
                lines.append(f"{who}: {exc}")
        return "\n".join(lines)

    def check(self, page: Page, name: str) -> None:
        """axe-core on the page as it is now, and a screenshot."""
        assert name not in self.checked, f"page name {name} used twice"
        self.checked.append(name)
        _axe(page, f"journey-{name}")

    @property
    def rfp_id(self) -> str:
        return str(self.rfp["id"])

    @property
    def manager(self) -> Page:
        assert self.staff_page is not None
        return self.staff_page


# --- fixtures ------------------------------------------------------------------------------


@pytest.fixture
def journey(tmp_path: Path) -> Iterator[Journey]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    SERVER_LOG.unlink(missing_ok=True)
    server, base = start_server(1, SERVER_LOG)
    try:
        with (
            httpx.Client(base_url=base, timeout=60) as http,
            sync_playwright() as playwright,
        ):
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM,
                args=[
                    "--no-sandbox",
                    "--disable-gpu",
                    "--disable-background-networking",
                    "--disable-component-update",
                ],
            )
            try:
                yield Journey(site=base, api=Api(http), browser=browser, files=tmp_path)
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


# --- helpers -------------------------------------------------------------------------------


def _notice(page: Page, text: str) -> None:
    """The confirmation a page shows after a form is done (role=status)."""
    expect(
        page.get_by_role("status").filter(has_text=text),
        f"the confirmation {text!r} on {page.url}",
    ).to_be_visible()


def _tick(control: Locator) -> None:
    """Check a USWDS checkbox or radio the way a person does: its input sits off screen and
    the label is what is drawn and clicked."""
    expect(control).to_have_count(1)
    if not control.is_checked():
        control_id = control.get_attribute("id")
        control.page.locator(f"label[for='{control_id}']").click()
    expect(control).to_be_checked()


def _sign_in(page: Page, site: str, email: str, password: str = PASSWORD) -> None:
    page.goto(site + "/sign-in")
    page.get_by_label("Email address").fill(email)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")


def _type_datetime(field: Locator, when: datetime) -> None:
    """Type into a datetime-local field key by key, as en-US Chromium lays it out:
    month, day, year, then hour, minute and AM/PM."""
    field.focus()
    field.page.keyboard.type(when.strftime("%m%d%Y"))
    field.page.keyboard.press("ArrowRight")
    field.page.keyboard.type(when.strftime("%I%M") + when.strftime("%p")[0])
    expect(field).to_have_value(when.strftime("%Y-%m-%dT%H:%M"))


def _tab_reaches_every_control(page: Page, scope: str, presses: int = 80) -> None:
    """Tab from the top of the page until every form control in `scope` has had focus."""
    page.evaluate(
        """() => {
            window.__focused = new Set();
            document.addEventListener('focusin', (e) => window.__focused.add(e.target));
            if (document.activeElement) document.activeElement.blur();
        }"""
    )
    missing_js = f"""() => [...document.querySelectorAll({scope!r})]
        .flatMap((form) => [...form.querySelectorAll({CONTROLS!r})])
        .filter((el) => !el.disabled && !window.__focused.has(el))
        .map((el) => el.id || el.name || el.textContent.trim())"""
    total = page.evaluate(
        f"() => [...document.querySelectorAll({scope!r})]"
        f".flatMap((form) => [...form.querySelectorAll({CONTROLS!r})]).length"
    )
    assert total > 0, f"no form control in {scope}"
    missing = page.evaluate(missing_js)
    for _ in range(presses):
        if not missing:
            break
        page.keyboard.press("Tab")
        missing = page.evaluate(missing_js)
    assert missing == [], f"Tab never reaches these controls of {scope}: {missing}"


def _summary_paragraphs() -> list[str]:
    from app.rfps.templates import all_templates

    summary = all_templates()["state-preferred-provider"].summary
    return [p.strip() for p in summary.split("\n\n") if p.strip()]


def _log_tail(lines: int = 40) -> str:
    try:
        return "\n".join(SERVER_LOG.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return str(exc)


def _pdf_file(path: Path) -> Path:
    from pypdf import PdfWriter

    writer = PdfWriter()
    writer.add_blank_page(width=612, height=792)
    with path.open("wb") as out:
        writer.write(out)
    return path


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return " ".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def _download(page: Page, link_name: str) -> tuple[str, bytes]:
    with page.expect_download() as info:
        page.get_by_role("link", name=link_name).click()
    download = info.value
    return download.suggested_filename, Path(download.path()).read_bytes()


# --- 1. state staff build and publish the RFP ----------------------------------------------


def _staff_builds_and_publishes(j: Journey) -> None:
    j.staff = j.api.staff()
    page = j.staff_page = j.open("state staff")
    page.goto(j.site + "/sign-in")
    expect(page.get_by_role("heading", name="Sign in", level=1)).to_be_visible()
    _tab_reaches_every_control(page, "main form")
    j.check(page, "sign-in")
    page.get_by_label("Email address").fill(j.staff.email)
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/dashboard")
    expect(page.get_by_text("Your agency has no RFP yet.")).to_be_visible()
    j.check(page, "staff-dashboard-empty")

    page.get_by_role("link", name="Start a new RFP").click()
    expect(page.get_by_role("heading", name="Start a new RFP")).to_be_visible()
    j.check(page, "staff-new-rfp")
    deadline = (datetime.now(UTC) + timedelta(days=3)).replace(second=0, microsecond=0)
    typed = deadline.strftime("%Y-%m-%dT%H:%M")
    _tick(page.get_by_label(TEMPLATE_LABEL))
    page.get_by_label("Title", exact=True).fill("Preferred Lead Partners 2027")
    _type_datetime(page.get_by_label("Submission deadline (UTC)"), deadline)
    page.get_by_role("button", name="Create draft").click()
    page.wait_for_url(re.compile(r"/manage/rfps/[^/?]+\?done=created$"))
    rfp_id = page.url.split("/manage/rfps/")[1].split("?")[0]
    _notice(page, "Created.")
    expect(
        page.get_by_role("heading", name="Preferred Lead Partners 2027", level=1)
    ).to_be_visible()
    # The deadline comes back as typed: UTC in, UTC out.
    expect(page.get_by_label("Submission deadline (UTC)")).to_have_value(typed)
    expect(page.locator("#weight-total")).to_have_text(re.compile(r"^100(\.0)?$"))
    j.check(page, "staff-rfp-builder")

    first = page.get_by_role("group", name=re.compile(r"^Section 1: "))
    first.get_by_label("Word limit").fill("300")
    page.get_by_label("Reviewers per proposal").fill("2")
    j.aggregation = page.get_by_label("How reviewers' scores combine").input_value()
    page.get_by_role("button", name="Save and publish").click()
    _notice(page, "The RFP is published.")
    expect(page.locator(".usa-tag").first).to_have_text("published")
    expect(page.get_by_text("(up to 300 words)")).to_have_count(1)
    j.check(page, "staff-rfp-published")

    j.rfp = j.api.client.get(f"/api/v1/rfps/{rfp_id}", headers=j.staff.headers).json()
    assert j.rfp["status"] == "published"
    assert j.rfp["sections"][0]["word_limit"] == 300
    assert j.rfp["reviewers_per_proposal"] == 2
    assert datetime.fromisoformat(j.rfp["submission_deadline"]) == deadline
    assert j.rfp["aggregation"] == j.aggregation


# --- 2. partners register, complete their profile and self-audit, submit ------------------


def _partners_register(j: Journey) -> None:
    # One registers through the sign-up page, the other exists already and signs in.
    first = Partner("Riverbend Learning Collaborative", "lead@riverbend.example", j.open("A"), 4)
    page = first.page
    page.goto(j.site + "/")
    expect(page.get_by_role("link", name=j.rfp["title"])).to_be_visible()
    j.check(page, "home")
    page.get_by_role("link", name="Register your organization").first.click()
    j.check(page, "sign-up")
    page.get_by_label("Organization name").fill(first.name)
    page.get_by_label("Kind of organization").select_option("nonprofit")
    page.get_by_label("Website").fill("https://riverbend.example")
    page.get_by_label("Contact person's full name").fill("Morgan Reyes")
    page.get_by_label("Email address").fill(first.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Register").click()
    page.wait_for_url("**/dashboard")
    j.check(page, "partner-dashboard")

    made = j.api.partner(
        name="Harbor Schools Network", states=["MD"], grade_levels=["09"], capacity_clusters=0
    )
    second = Partner("Harbor Schools Network", made.email, j.open("B"), 3)
    _sign_in(second.page, j.site, second.email)
    j.partners = [first, second]
    for partner in j.partners:
        partner.organization_id = j.api.login(partner.email).organization_id or ""


def _profile_and_self_audit(j: Journey, partner: Partner, checked: bool) -> None:
    page = partner.page
    page.goto(j.site + "/dashboard")
    expect(page.get_by_role("heading", name=partner.name)).to_be_visible()
    page.get_by_role("link", name="Organization profile").click()
    expect(page.get_by_label("Organization name")).to_have_value(partner.name)
    page.get_by_label("Phone").fill("555-0100")
    page.get_by_label("Website").fill(f"https://{partner.email.split('@')[1]}")
    page.get_by_label("Description").fill("We lead clusters of middle schools in turnaround.")
    states = page.get_by_role("group", name="States you serve")
    _tick(states.get_by_label("VA", exact=True))
    grades = page.get_by_role("group", name="Grade levels you serve")
    for grade in ("06", "07", "08"):
        _tick(grades.get_by_label(grade, exact=True))
    page.get_by_label("School clusters you can take on").fill("1")
    if not checked:
        j.check(page, "partner-profile")
    page.get_by_role("button", name="Save profile").click()
    _notice(page, "Your changes are saved.")
    expect(states.get_by_label("VA", exact=True)).to_be_checked()
    expect(grades.get_by_label("08", exact=True)).to_be_checked()
    expect(page.get_by_label("School clusters you can take on")).to_have_value("1")

    page.goto(j.site + "/dashboard")
    page.get_by_role("link", name="Lead Partner self-audit").click()
    expect(page.get_by_text(re.compile(r"^Not complete: 19 items to answer$"))).to_be_visible()
    items = page.locator("main form fieldset[id^='item-']")
    expect(items).to_have_count(19)
    for index in range(items.count()):
        item = items.nth(index)
        _tick(item.get_by_role("radio", name="Met", exact=True))
        item.get_by_label("Evidence").fill(f"Evidence {index + 1}: three clusters turned around.")
    page.get_by_role("button", name="Save self-audit").click()
    _notice(page, "Your changes are saved.")
    expect(page.locator(".usa-tag", has_text="Complete")).to_be_visible()
    expect(items.first.get_by_role("radio", name="Met", exact=True)).to_be_checked()
    if not checked:
        j.check(page, "partner-self-audit")


def _writes_and_submits(j: Journey, partner: Partner, checked: bool) -> None:
    page = partner.page
    page.goto(j.site + "/dashboard")
    page.get_by_role("link", name=j.rfp["title"]).click()
    expect(page.get_by_role("heading", name=j.rfp["title"], level=1)).to_be_visible()
    if not checked:
        # The summary keeps its paragraphs after staff saved the builder in a browser.
        for paragraph in _summary_paragraphs():
            start = re.compile("^" + re.escape(paragraph[:40]))
            expect(
                page.locator("main > p").filter(has_text=start),
                f"the summary paragraph {paragraph[:40]!r}... as a paragraph of its own",
            ).to_have_count(1)
        j.check(page, "partner-rfp")
    page.get_by_role("button", name="Start a proposal").click()
    page.wait_for_url(re.compile(r"/proposals/[^/?]+\?done=created$"))
    partner.proposal_id = page.url.split("/proposals/")[1].split("?")[0]
    _notice(page, "Created.")
    expect(page.locator("#checklist")).to_contain_text(
        f"'{j.rfp['sections'][0]['title']}' is required."
    )
    if not checked:
        _tab_reaches_every_control(page, "main form")
        j.check(page, "partner-proposal-new")

    for number, section in enumerate(j.rfp["sections"]):
        label = section["title"] + ("" if section["required"] else " (optional)")
        area = page.get_by_label(label, exact=True)
        count = page.locator(f"#section-{section['key']}-count")
        limit = section["word_limit"]
        expect(count).to_have_text(f"0 of {limit} words")
        if number == 0:
            # Typed key by key, the count follows; over the limit it is marked.
            area.press_sequentially("Our cluster model")
            expect(count).to_have_text(f"3 of {limit} words")
            area.fill("word " * (limit + 1))
            expect(count).to_have_text(f"{limit + 1} of {limit} words")
            expect(count).to_have_class(re.compile(r"\bover\b"))
        words = f"{partner.name} answers {section['title']}. " + "Detail " * 40
        area.fill(words)
        expect(count).to_have_text(f"{len(words.split())} of {limit} words")
        expect(count).not_to_have_class(re.compile(r"\bover\b"))
    page.get_by_role("button", name="Save sections").click()
    _notice(page, "Your changes are saved.")
    first = j.rfp["sections"][0]
    expect(page.get_by_label(first["title"], exact=True)).to_have_value(
        re.compile(f"^{re.escape(partner.name)} answers")
    )

    for slot in j.rfp["required_attachments"]:
        pdf = _pdf_file(j.files / f"{slot['key']}.pdf")
        page.get_by_label("Which required item is this file?").select_option(slot["key"])
        page.get_by_label("File", exact=True).set_input_files(pdf)
        page.get_by_role("button", name="Upload").click()
        _notice(page, "The file is uploaded.")
        expect(page.get_by_role("link", name=pdf.name)).to_be_visible()
    expect(page.locator("#checklist")).to_contain_text("Ready to submit")
    if not checked:
        j.check(page, "partner-proposal-ready")
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.get_by_role("heading", name="Submitted: version 1")).to_be_visible()
    expect(page.locator("code.receipt")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
    expect(page.get_by_role("button", name="Submit again")).to_be_visible()
    if not checked:
        j.check(page, "partner-proposal-submitted")


def _question_and_answer(j: Journey) -> None:
    asker = j.partners[1].page
    asker.goto(f"{j.site}/rfps/{j.rfp_id}")
    question = "May a Lead Partner begin with a single school?"
    asker.get_by_label("Ask a question about this RFP").fill(question)
    asker.get_by_role("button", name="Send question").click()
    _notice(asker, "Your question is sent.")

    staff = j.manager
    staff.goto(f"{j.site}/manage/rfps/{j.rfp_id}")
    staff.get_by_role("link", name="Addenda and questions").click()
    expect(staff.get_by_text(question)).to_be_visible()
    j.check(staff, "staff-questions")
    staff.get_by_label("Answer, published to every organization").fill(
        "Yes: a cluster may start with one school."
    )
    staff.get_by_role("button", name="Publish answer").click()
    _notice(staff, "The answer is published.")

    staff.get_by_role("link", name="Submissions").click()
    expect(staff.get_by_text("Proposals are sealed until the deadline")).to_be_visible()
    expect(staff.get_by_role("table")).to_contain_text(j.partners[0].name)
    expect(staff.get_by_role("link", name=j.partners[0].name)).to_have_count(0)
    j.check(staff, "staff-submissions-sealed")

    asker.goto(f"{j.site}/rfps/{j.rfp_id}")
    expect(asker.get_by_text("Yes: a cluster may start with one school.")).to_be_visible()
    j.check(asker, "partner-rfp-answered")


def _other_partners_proposal_is_not_found(j: Journey) -> None:
    owner, other = j.partners
    response = other.page.goto(f"{j.site}/proposals/{owner.proposal_id}")
    assert response is not None and response.status == 404
    expect(other.page.get_by_role("heading", name="Page not found")).to_be_visible()
    expect(other.page.get_by_text(owner.name)).to_have_count(0)
    j.check(other.page, "not-found")


# --- 3. the deadline passes ----------------------------------------------------------------


def _deadline_passes(j: Journey) -> None:
    pass_deadline(j.rfp_id)  # the live server shares this test run's database
    page = j.partners[0].page
    page.goto(f"{j.site}/proposals/{j.partners[0].proposal_id}")
    expect(page.get_by_text("The submission deadline has passed")).to_be_visible()
    expect(page.get_by_role("button", name="Submit again")).to_have_count(0)
    j.check(page, "partner-proposal-closed")

    staff = j.manager
    staff.goto(f"{j.site}/manage/rfps/{j.rfp_id}/submissions")
    expect(staff.locator(".usa-tag").first).to_have_text("closed")
    staff.get_by_role("link", name=j.partners[0].name).click()
    expect(staff.get_by_role("heading", name=f"{j.partners[0].name}: version 1")).to_be_visible()
    j.check(staff, "staff-proposal")


# --- 4. reviewers join, attest and score ---------------------------------------------------


def _reviewers_join(j: Journey) -> list[Page]:
    staff = j.manager
    staff.goto(f"{j.site}/manage/rfps/{j.rfp_id}")
    staff.get_by_role("link", name="Panel and assignments").click()
    expect(staff.get_by_text("No reviewer yet.")).to_be_visible()
    j.check(staff, "staff-panel-empty")
    reviewers = []
    for number, name in enumerate(("Avery Quinn", "Jules Moreau"), start=1):
        staff.get_by_label("Full name").fill(name)
        staff.get_by_label("Email address").fill(f"reviewer{number}@panel.example")
        staff.get_by_role("button", name="Invite", exact=True).click()
        expect(staff.get_by_role("heading", name=f"{name} is invited")).to_be_visible()
        link = staff.locator("#invite-link").inner_text().strip()
        assert link.startswith(j.site + "/accept-invite?token="), link
        if number == 1:
            j.check(staff, "staff-panel-invited")

        page = j.open(f"reviewer {number}")
        page.goto(link)
        expect(page.get_by_role("heading", name="Join the review panel")).to_be_visible()
        if number == 1:
            j.check(page, "accept-invite")
        page.get_by_label("Password", exact=True).fill(PASSWORD)
        page.get_by_label("Password again").fill(PASSWORD)
        page.get_by_role("button", name="Set password and sign in").click()
        page.wait_for_url("**/dashboard")
        expect(page.get_by_text("attestation needed before you can score")).to_be_visible()
        if number == 1:
            j.check(page, "reviewer-dashboard-new")
        page.get_by_role("link", name=j.rfp["title"]).click()
        expect(page.get_by_role("heading", name=f"Review panel: {j.rfp['title']}")).to_be_visible()
        if number == 1:
            j.check(page, "reviewer-panel")
        _tick(page.get_by_label(re.compile(r"^I have no conflict of interest")))
        _tick(page.get_by_label("I will keep every proposal and score confidential."))
        page.get_by_role("button", name="Attest").click()
        page.wait_for_url("**/dashboard?done=attested")
        _notice(page, "Thank you. Your assignments are open.")
        expect(page.get_by_text("You have no assignment yet.")).to_be_visible()
        reviewers.append(page)

    staff.goto(f"{j.site}/manage/rfps/{j.rfp_id}/panel")  # not a reload: that posts again
    panel = staff.get_by_role("table", name="Reviewers on this RFP's panel")
    expect(panel.get_by_role("row")).to_have_count(3)
    expect(panel.get_by_role("cell", name="Yes", exact=True)).to_have_count(2)
    staff.get_by_role("button", name="Assign automatically (2 per proposal)").click()
    _notice(staff, "Assignments are made.")
    expect(staff.get_by_role("table", name="4 active assignments")).to_be_visible()
    j.check(staff, "staff-panel-assigned")
    return reviewers


def _reviewers_score(j: Journey, reviewers: list[Page]) -> None:
    levels = {p.name: p.level for p in j.partners}
    for number, page in enumerate(reviewers, start=1):
        page.goto(j.site + "/dashboard")
        table = page.get_by_role("table", name="You have 2 assignments")
        expect(table).to_be_visible()
        if number == 1:
            j.check(page, "reviewer-dashboard-assigned")
        for partner_name in levels:
            page.goto(j.site + "/dashboard")
            page.get_by_role("link", name=partner_name).click()
            expect(
                page.get_by_role("heading", name=f"Score the proposal of {partner_name}")
            ).to_be_visible()
            level = levels[partner_name]
            for index, criterion in enumerate(j.rfp["criteria"]):
                group = page.get_by_role(
                    "group", name=re.compile("^" + re.escape(criterion["title"]) + r" \(")
                )
                _tick(group.get_by_role("radio", name=re.compile(rf"^{level}(\D|$)")))
                if index == 0:
                    expect(page.locator("#autosave-status")).to_have_text("Saved automatically.")
                group.get_by_label("Comment (required for low scores)").fill(
                    f"Level {level}: the evidence for {criterion['title'].lower()} is clear."
                )
            if number == 1 and partner_name == j.partners[0].name:
                j.check(page, "reviewer-score")
            page.get_by_role("button", name="Submit review").click()
            _notice(page, "Submitted.")
            expect(page.get_by_text("Your review is submitted.")).to_be_visible()
            expect(page.get_by_role("button", name="Submit review")).to_have_count(0)
            if number == 2 and partner_name == j.partners[1].name:
                j.check(page, "reviewer-score-submitted")


# --- 5. results, finalize, the public list -------------------------------------------------


def _staff_finalizes(j: Journey) -> None:
    staff = j.manager
    staff.goto(f"{j.site}/manage/rfps/{j.rfp_id}")
    staff.get_by_role("link", name="Results", exact=True).click()
    table = staff.get_by_role("table", name=re.compile(r"^Weighted totals out of 100"))
    first, second = j.partners
    first_row = table.get_by_role("row").filter(has_text=first.name)
    second_row = table.get_by_role("row").filter(has_text=second.name)
    expect(first_row).to_contain_text("100.0")
    expect(first_row).to_contain_text("2 of 2")
    expect(first_row.get_by_role("cell").first).to_have_text("1")
    expect(second_row).to_contain_text("75.0")
    expect(second_row.get_by_role("cell").first).to_have_text("2")
    j.check(staff, "staff-results")

    filename, data = _download(staff, "Download the results (CSV)")
    assert filename == f"results-{j.rfp_id}.csv"
    rows = {r["organization"]: r for r in csv.DictReader(io.StringIO(data.decode("utf-8-sig")))}
    assert set(rows) == {first.name, second.name}, rows
    for partner, rank, total in ((first, "1", "100.00"), (second, "2", "75.00")):
        row = rows[partner.name]
        assert (row["rank"], row["weighted_total"]) == (rank, total), row
        assert row["proposal_id"] == partner.proposal_id
        assert (row["reviews_submitted"], row["reviews_assigned"]) == ("2", "2"), row

    if j.aggregation == "consensus":
        for partner in j.partners:
            for criterion in j.rfp["criteria"]:
                staff.get_by_label("Proposal", exact=True).select_option(label=partner.name)
                staff.get_by_label("Criterion", exact=True).select_option(criterion["key"])
                staff.get_by_label("Consensus level").fill(str(partner.level))
                staff.get_by_label("Rationale").fill("The panel agreed after discussion.")
                staff.get_by_role("button", name="Set consensus").click()
                _notice(staff, "Your changes are saved.")
    staff.get_by_role("button", name="Finalize and publish the list").click()
    _notice(staff, "The results are final and the preferred-provider list is published.")
    decisions = staff.get_by_role("table", name="Approval decisions, with their reasons")
    expect(decisions.get_by_role("cell", name="Approved", exact=True)).to_have_count(2)
    expect(staff.get_by_role("button", name="Finalize and publish the list")).to_have_count(0)
    j.check(staff, "staff-results-final")

    staff.get_by_role("link", name="Preferred providers").first.click()
    listed = staff.get_by_role("table", name="2 listed providers")
    expect(listed.get_by_role("rowheader", name=first.name)).to_be_visible()
    expect(listed.get_by_role("rowheader", name=second.name)).to_be_visible()
    staff.get_by_label("State").select_option("VA")
    staff.get_by_role("button", name="Show providers").click()
    expect(staff.get_by_role("table", name="2 listed providers in VA")).to_be_visible()
    j.check(staff, "preferred-providers")

    page = first.page
    page.goto(j.site + "/dashboard")
    page.get_by_role("link", name="Read the debrief").click()
    expect(page.get_by_role("heading", name="Approved")).to_be_visible()
    expect(page.get_by_text("Weighted total: 100.0 of 100; rank 1.")).to_be_visible()
    j.check(page, "partner-debrief")


# --- 6. a district: schools, cluster, ranking, matching, the MOU ---------------------------


def _district_matches(j: Journey) -> Page:
    assert j.staff is not None
    district = j.api.agency("district", "VA", parent_id=j.staff.agency_id, nces_id=DISTRICT_NCES)
    district_staff = j.api.staff(district["id"])
    page = j.open("district staff")
    _sign_in(page, j.site, district_staff.email)
    expect(page.get_by_role("heading", name="Your district's turnaround clusters")).to_be_visible()
    j.check(page, "district-dashboard")

    page.get_by_role("link", name="Schools: import and review").click()
    expect(page.get_by_text("No school yet.")).to_be_visible()
    j.check(page, "district-schools-empty")
    upload = j.files / "schools.csv"
    upload.write_text(SCHOOLS_CSV)
    page.get_by_label("Import schools from a CSV file").set_input_files(upload)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(
        page.get_by_role("heading", name="Import: 3 added, 0 updated, 1 row refused")
    ).to_be_visible()
    expect(page.locator("#import-errors li")).to_have_count(1)
    expect(page.locator("#import-errors li")).to_contain_text(
        "Row 5: NCES school id 510099900004 is not in this district"
    )
    schools = page.get_by_role("table", name="3 schools")
    for name in SCHOOLS:
        expect(schools.get_by_role("rowheader", name=name)).to_be_visible()
    expect(schools.get_by_role("row").filter(has_text="Jefferson Middle")).to_contain_text("81%")
    j.check(page, "district-schools-imported")

    page.get_by_role("link", name="Group schools into clusters").click()
    expect(page.get_by_text("No cluster yet.")).to_be_visible()
    page.get_by_label("Cluster name").fill("North Cluster")
    group = page.get_by_role("group", name="Schools in this cluster (3 to 5)")
    for name in SCHOOLS:
        _tick(group.get_by_label(f"{name} (06-08)"))
    j.check(page, "district-clusters-new")
    page.get_by_role("button", name="Create cluster").click()
    _notice(page, "Created.")
    expect(page.get_by_role("heading", name="North Cluster")).to_be_visible()
    expect(page.get_by_text("Every school is in a cluster.")).to_be_visible()
    ranking = page.get_by_role("group", name="Your ranking of providers for North Cluster")
    first, second = j.partners
    ranking.get_by_label("Choice 1").select_option(label=first.name)
    ranking.get_by_label("Choice 2").select_option(label=second.name)
    page.get_by_role("button", name="Save ranking").click()
    _notice(page, "Your ranking is saved.")
    expect(ranking.get_by_label("Choice 1")).to_have_value(first.organization_id)
    expect(ranking.get_by_label("Choice 2")).to_have_value(second.organization_id)
    j.check(page, "district-clusters-ranked")

    page.get_by_role("link", name="Go to matching").click()
    expect(page.get_by_text("No matching run yet.")).to_be_visible()
    page.get_by_role("button", name="Run matching").click()
    _notice(page, "The matching run is done.")
    heading = page.get_by_role("heading", name=re.compile(r"^North Cluster: "))
    expect(heading).to_have_count(1)
    matched_name = heading.inner_text().removeprefix("North Cluster: ").strip()
    j.matched = next(p for p in j.partners if p.name == matched_name)
    first_choice = 1 if j.matched is first else 0
    expect(
        page.get_by_text(f"1 cluster matched; {first_choice} with your first choice.")
    ).to_be_visible()
    j.check(page, "district-matching")
    page.get_by_role("button", name=f"Accept {matched_name} for North Cluster").click()
    _notice(page, "The match is accepted.")
    expect(page.get_by_text("Status: Accepted")).to_be_visible()
    j.check(page, "district-matching-accepted")
    page.get_by_role("button", name="Draft the MOU").click()
    page.wait_for_url(re.compile(r"/mous/[^/?]+\?done=created$"))
    j.mou_url = page.url.split("?")[0]
    _notice(page, "Created.")
    return page


def _district_edits_and_executes_mou(j: Journey, page: Page) -> None:
    expect(page.get_by_text(re.compile(r"Version 1, saved "))).to_be_visible()
    for name in SCHOOLS:
        expect(page.get_by_text(re.compile(f"^{name} \\(NCES 5100777")).first).to_be_visible()
    j.check(page, "district-mou-draft")
    autonomy = page.get_by_label(
        "Offer additional compensation for extended time and hard-to-staff roles"
    )
    expect(autonomy).not_to_be_checked()
    _tick(autonomy)
    expect(page.get_by_label("Facilities: District")).to_be_checked()
    _tick(page.get_by_label("Facilities: Shared"))
    benchmark = page.get_by_role("group", name="Benchmark 1", exact=True)
    expect(benchmark.get_by_label("Year 1 target")).to_have_value(re.compile(r"^91(\.0)?$"))
    benchmark.get_by_label("Year 1 target").fill("92")
    page.get_by_role("button", name="Save as a new version").click()
    _notice(page, "Your changes are saved.")
    expect(page.get_by_text(re.compile(r"Version 2, saved "))).to_be_visible()

    compare = page.get_by_role("group", name="Compare two versions")
    compare.get_by_label("From version").select_option("1")
    compare.get_by_label("To version").select_option("2")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(r"\?from=1&to=2$"))
    diff = page.get_by_role("table", name="Changes from version 1 to version 2")
    rows = diff.locator("tbody tr")
    # In words: the clause not granted, then granted; District, then Shared.
    expect(rows.filter(has_text="autonomies › people › additional compensation")).to_contain_text(
        re.compile(r"changed\s*not granted\s*granted")
    )
    expect(rows.filter(has_text="responsibilities › facilities")).to_contain_text(
        re.compile(r"changed\s*District\s*Shared")
    )
    expect(rows.filter(has_text="benchmarks[0] › targets › 1")).to_contain_text(
        re.compile(r"changed\s*91(\.0)?\s*92(\.0)?")
    )
    # Only what was changed: saving the form as it stands changes nothing else.
    expect(rows).to_have_count(3)
    j.check(page, "district-mou-diff")

    filename, pdf = _download(page, "Download the MOU (PDF, marked draft)")
    assert filename.endswith("-v2.pdf"), filename
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf)
    assert "510077700001" in text and "DRAFT" in text

    page.get_by_role("button", name="Execute version 2").click()
    _notice(page, "The MOU is executed.")
    expect(page.locator("main .usa-tag").first).to_have_text("executed")
    expect(page.get_by_role("button", name="Amend (start a new draft)")).to_be_visible()
    j.check(page, "district-mou-executed")


def _partner_reads_mou(j: Journey) -> None:
    assert j.matched is not None
    page = j.matched.page
    page.goto(j.site + "/dashboard")
    page.get_by_role("link", name="Matches with districts and MOUs").click()
    row = page.get_by_role("row").filter(has_text="North Cluster")
    expect(row).to_contain_text("Accepted")
    j.check(page, "partner-matches")
    row.get_by_role("link", name="Read the MOU").click()
    assert page.url == j.mou_url
    expect(page.get_by_text(re.compile(r"Executed .* \(version 2\)"))).to_be_visible()
    expect(
        page.get_by_text(
            "Offer additional compensation for extended time and hard-to-staff roles: granted"
        )
    ).to_be_visible()
    expect(page.get_by_text("Facilities: Shared")).to_be_visible()
    expect(page.get_by_role("button", name="Save as a new version")).to_have_count(0)
    expect(page.get_by_role("button", name="Execute version 2")).to_have_count(0)
    j.check(page, "partner-mou")
    filename, pdf = _download(page, "Download the MOU (PDF)")
    assert filename.endswith("-v2.pdf"), filename
    assert pdf.startswith(b"%PDF")
    text = _pdf_text(pdf)
    assert "510077700002" in text and "Executed" in text and "DRAFT" not in text

    other = next(p for p in j.partners if p is not j.matched)
    response = other.page.goto(j.mou_url)
    assert response is not None and response.status == 404
    expect(other.page.get_by_role("heading", name="Page not found")).to_be_visible()


# --- the story -----------------------------------------------------------------------------


def test_rfp_to_executed_mou_through_every_role(journey: Journey) -> None:
    j = journey
    try:
        _the_story(j)
    except Exception as exc:
        raise AssertionError(
            f"{exc}\n--- where everyone is:\n{j.where_everyone_is()}\n"
            f"--- server errors: {j.server_errors}\n--- script errors: {j.script_errors}\n"
            f"--- server log ({SERVER_LOG}), last lines:\n{_log_tail()}"
        ) from exc
    assert j.server_errors == [], f"{j.server_errors}\n{_log_tail()}"
    assert j.script_errors == []


def _the_story(j: Journey) -> None:
    _staff_builds_and_publishes(j)
    _partners_register(j)
    for number, partner in enumerate(j.partners):
        _profile_and_self_audit(j, partner, checked=number > 0)
        _writes_and_submits(j, partner, checked=number > 0)
    _question_and_answer(j)
    _other_partners_proposal_is_not_found(j)
    _deadline_passes(j)
    _reviewers_score(j, _reviewers_join(j))
    _staff_finalizes(j)
    _district_edits_and_executes_mou(j, _district_matches(j))
    _partner_reads_mou(j)
