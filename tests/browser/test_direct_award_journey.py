"""A district selects Lead Partners for its own clusters, clicked through the real pages in
Chromium: its staff build a direct-award RFP that offers two clusters; two partners rank
the clusters and submit; after the review (scored by the services, as the role journey
clicks it), staff finalize and the clusters are awarded; the district accepts one award and
declines the other; staff award that cluster again, the district accepts it, and drafts
both MOUs.

Every new page is checked with axe-core and kept as a screenshot under
test-artifacts/screenshots/award-*.png.
"""

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.test_public_journey import ARTIFACTS, CHROMIUM, _axe
from tests.browser.test_role_journeys import _notice, _sign_in, _tick, _type_datetime
from tests.support import (
    Actor,
    Api,
    complete_proposal,
    district_cluster,
    pass_deadline,
    start_server,
)
from tests.worlds import reviews_submitted

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        CHROMIUM is None, reason="no Chromium on this machine (.ci/run installs Debian's chromium)"
    ),
]

SERVER_LOG = ARTIFACTS.parent / "award-server.log"
DISTRICT_TEMPLATE = re.compile(
    r"^Request for Proposals: Lead Partner for a Cluster .*\(district RFP\)$"
)


@pytest.fixture
def site_and_browser() -> Iterator[tuple[str, Browser]]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    SERVER_LOG.unlink(missing_ok=True)
    server, base = start_server(1, SERVER_LOG)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"]
            )
            try:
                yield base, browser
            finally:
                browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _open(browser: Browser, errors: list[str]) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, timezone_id="UTC")
    context.set_default_timeout(20_000)
    page = context.new_page()
    page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    return page


def test_a_district_awards_its_clusters_through_the_pages(
    site_and_browser: tuple[str, Browser],
) -> None:
    site, browser = site_and_browser
    errors: list[str] = []
    with httpx.Client(base_url=site, timeout=60) as http:
        api = Api(http)
        staff = api.staff(kind="district")
        east = district_cluster(api, staff, name="East cluster", needs=["human_capital"])
        west = district_cluster(api, staff, name="West cluster", grades=("09", "12"))
        rfp_id = _staff_builds_the_rfp(site, _open(browser, errors), staff)
        rfp = api.client.get(f"/api/v1/rfps/{rfp_id}").json()
        assert rfp["selection"] == "direct_award"
        assert rfp["cluster_ids"] == [east["id"], west["id"]]

        strong, steady = api.partner(capacity_clusters=1), api.partner(capacity_clusters=2)
        late = api.partner(capacity_clusters=1)
        # Two want the East cluster most: the stronger proposal gets it, the other the West;
        # the third applies for the West only, and scores lowest.
        both = {"East cluster": "1", "West cluster": "2"}
        plans = ((strong, both), (steady, both), (late, {"East cluster": "", "West cluster": "1"}))
        for partner, ranks in plans:
            proposal = complete_proposal(api, partner, {**rfp, "selection": "preferred_list"})
            page = _open(browser, errors)
            _partner_ranks_and_submits(
                site, page, partner, proposal["id"], ranks, partner is strong
            )
        pass_deadline(rfp_id)
        reviews_submitted(
            staff,
            rfp_id,
            {
                str(strong.organization_id): [2] * 7,
                str(steady.organization_id): [2, 1, 2, 1, 2, 1, 2],
                str(late.organization_id): [1, 1, 1, 1, 1, 1, 0],
            },
        )
        staff_page = _open(browser, errors)
        _sign_in(staff_page, site, staff.email)
        staff_page.goto(f"{site}/manage/rfps/{rfp_id}/results")
        staff_page.get_by_role("button", name="Finalize and award the clusters").click()
        _notice(staff_page, "The clusters are awarded")
        awards = staff_page.get_by_role("table", name=re.compile("^Each cluster's award"))
        expect(awards.get_by_role("row").filter(has_text="East cluster")).to_contain_text(
            _name(api, strong)
        )
        expect(awards.get_by_role("row").filter(has_text="West cluster")).to_contain_text(
            _name(api, steady)
        )
        _axe(staff_page, "award-staff-results")

        district = _open(browser, errors)
        _sign_in(district, site, staff.email)
        district.goto(site + "/district/matching")
        expect(district.get_by_role("heading", name="Awards from your RFPs")).to_be_visible()
        _axe(district, "award-district-matching")
        district.get_by_role("button", name=f"Accept {_name(api, strong)} for East cluster").click()
        _notice(district, "The match is accepted.")
        west_award = district.locator("section").filter(
            has=district.get_by_role("heading", name=f"West cluster: {_name(api, steady)}")
        )
        west_award.get_by_label("Reason for declining (optional)").fill(
            "We want a high-school specialist."
        )
        west_award.get_by_role("button", name="Decline").click()
        _notice(district, "The match is declined.")

        # The West cluster goes to the next best applicant that asked for it.
        staff_page.goto(f"{site}/manage/rfps/{rfp_id}/results")
        expect(
            staff_page.get_by_text("Its award was declined; it can be awarded again.")
        ).to_be_visible()
        staff_page.get_by_role("button", name="Award these clusters again").click()
        _notice(staff_page, "The clusters are awarded")
        west_rows = awards.get_by_role("row").filter(has_text="West cluster")
        expect(west_rows).to_have_count(2)
        expect(west_rows.filter(has_text="Proposed")).to_contain_text(_name(api, late))
        expect(west_rows.filter(has_text="Declined")).to_contain_text("high-school specialist")
        _axe(staff_page, "award-staff-awarded-again")

        district.goto(site + "/district/matching")
        district.get_by_role("button", name=f"Accept {_name(api, late)} for West cluster").click()
        _notice(district, "The match is accepted.")
        for _ in range(2):
            district.goto(site + "/district/matching")
            district.get_by_role("button", name="Draft the MOU").first.click()
            district.wait_for_url(re.compile(r"/mous/[^/?]+\?done=created$"))
        _axe(district, "award-mou-drafted")
        district.goto(site + "/district/matching")
        expect(district.get_by_role("link", name="Open the MOU")).to_have_count(2)
    assert errors == [], errors


def _name(api: Api, partner: Actor) -> str:
    return str(
        api.client.get(
            f"/api/v1/organizations/{partner.organization_id}", headers=partner.headers
        ).json()["name"]
    )


def _staff_builds_the_rfp(site: str, page: Page, staff: Actor) -> str:
    _sign_in(page, site, staff.email)
    page.goto(site + "/manage/rfps/new")
    _tick(page.get_by_label(DISTRICT_TEMPLATE))
    page.get_by_label("Title", exact=True).fill("East and West clusters: Lead Partner RFP")
    deadline = (datetime.now(UTC) + timedelta(days=5)).replace(second=0, microsecond=0)
    _type_datetime(page.get_by_label("Submission deadline (UTC)"), deadline)
    page.get_by_role("button", name="Create draft").click()
    _notice(page, "Created.")
    offered = page.get_by_role("group", name="The district's clusters this RFP offers")
    _axe(page, "award-builder")
    # Publishing without a cluster is refused with a plain message.
    page.get_by_role("button", name="Save and publish").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Choose at least one of the district's clusters."
    )
    _tick(offered.get_by_label("East cluster"))
    _tick(offered.get_by_label("West cluster"))
    page.get_by_label("How reviewers' scores combine").select_option("mean")
    page.get_by_label("Reviewers per proposal").fill("1")
    page.get_by_label("Approval threshold (weighted total out of 100)").fill("40")
    box = page.get_by_label(re.compile("^Require the top level or at least the minimum level"))
    if box.is_checked():
        page.locator(f"label[for='{box.get_attribute('id')}']").click()
    page.get_by_role("button", name="Save and publish").click()
    _notice(page, "The RFP is published.")
    expect(page.get_by_role("heading", name="Clusters offered")).to_be_visible()
    expect(
        page.get_by_role("table", name=re.compile("^East cluster: grades 6-8, 1200 students"))
    ).to_be_visible()
    _axe(page, "award-rfp-published")
    return page.url.split("/manage/rfps/")[1].split("?")[0]


def _partner_ranks_and_submits(
    site: str, page: Page, partner: Actor, proposal_id: str, ranks: dict[str, str], check: bool
) -> None:
    _sign_in(page, site, partner.email)
    page.goto(f"{site}/proposals/{proposal_id}")
    expect(page.get_by_role("heading", name="Clusters you apply for")).to_be_visible()
    expect(page.locator("#checklist")).to_contain_text("Choose at least one cluster to apply for.")
    # Two clusters with the same choice number are refused, and the choices are kept.
    for name in ranks:
        page.get_by_label(name, exact=True).select_option("1")
    page.get_by_role("button", name="Save the clusters").click()
    expect(page.get_by_role("alert")).to_contain_text(
        "Give each cluster you apply for a different choice number."
    )
    for name, rank in ranks.items():
        page.get_by_label(name, exact=True).select_option(rank)
    page.get_by_role("button", name="Save the clusters").click()
    _notice(page, "Your changes are saved.")
    for name, rank in ranks.items():
        expect(page.get_by_label(name, exact=True)).to_have_value(rank)
    expect(page.locator("#checklist")).to_contain_text("Ready to submit")
    if check:
        _axe(page, "award-partner-clusters")
    page.get_by_role("button", name="Submit proposal").click()
    expect(page.get_by_role("heading", name="Submitted: version 1")).to_be_visible()
