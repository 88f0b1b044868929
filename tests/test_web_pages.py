"""The web pages over HTTP: each role's forms call the services and show their refusals."""

import html
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from tests import worlds
from tests.support import (
    PDF_BYTES,
    Api,
    future,
    pass_deadline,
    published_rfp,
    self_audit_items,
    submitted_proposal,
)
from tests.web_support import Person, text_of


def _partner_page(api: Api, client: httpx.Client) -> tuple[Person, str]:
    partner = api.partner()
    return Person(client).sign_in(partner.email), partner.organization_id or ""


def test_partner_completes_profile_self_audit_and_submits(api: Api, client: httpx.Client) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    person, _ = _partner_page(api, client)

    # Profile: an invalid website is shown next to its field; a valid one is saved.
    response = person.post(
        "/organization",
        {
            "name": "Bright Path",
            "kind": "nonprofit",
            "contact_name": "Pat",
            "website": "nope",
            "capacity_clusters": "3",
            "states": ["VA", "MD"],
            "grade_levels": ["06"],
        },
    )
    assert response.status_code == 422
    assert 'id="website-error"' in response.text
    response = person.post(
        "/organization",
        {
            "name": "Bright Path",
            "kind": "nonprofit",
            "contact_name": "Pat",
            "website": "https://brightpath.example",
            "capacity_clusters": "3",
            "states": ["VA", "MD"],
            "grade_levels": ["06", "07"],
        },
    )
    assert response.status_code == 303
    page = person.get(response.headers["location"])
    assert "Your changes are saved." in page and "brightpath.example" in page

    # Self-audit: a partial rating without a gap plan is refused beside that item.
    items = self_audit_items()
    form = {f"rating.{i['key']}": "met" for i in items} | {
        f"evidence.{i['key']}": i["evidence"] for i in items
    }
    first = items[0]["key"]
    response = person.post("/self-audit", {**form, f"rating.{first}": "partial"})
    assert response.status_code == 422
    assert "usa-error-message" in response.text
    response = person.post("/self-audit", form)
    assert response.status_code == 303
    assert "Complete" in person.get("/self-audit")

    # Proposal: start from the RFP page, save sections, upload, see the checklist, submit.
    person.get(f"/rfps/{rfp['id']}")
    response = person.post(f"/rfps/{rfp['id']}/proposal")
    assert response.status_code == 303
    proposal_path = response.headers["location"].split("?")[0]
    editor = text_of(person.get(proposal_path))
    assert "Before you can submit" in editor
    over = rfp["sections"][0]
    words = {f"section.{s['key']}": "word " * 20 for s in rfp["sections"]}
    response = person.post(
        f"{proposal_path}/sections",
        {**words, f"section.{over['key']}": "word " * (over["word_limit"] + 1)},
    )
    assert response.status_code == 303  # saving over the limit is allowed; submitting is not
    assert f"{over['word_limit'] + 1} of {over['word_limit']} words" in text_of(
        person.get(proposal_path)
    )
    person.post(f"{proposal_path}/sections", words)
    for slot in rfp["required_attachments"]:
        response = person.post(
            f"{proposal_path}/attachments",
            {"key": slot["key"]},
            files={"file": ("../../plan.pdf", PDF_BYTES, "application/pdf")},
        )
        assert response.status_code == 303, response.text
    refused = person.post(
        f"{proposal_path}/attachments",
        {"key": rfp["required_attachments"][0]["key"]},
        files={"file": ("tool.pdf", b"MZ\x90\x00" + b"\x00" * 100, "application/pdf")},
    )
    assert refused.status_code == 415 and 'id="file-error"' in refused.text
    response = person.post(f"{proposal_path}/submit", {"idempotency_key": "k-1"})
    assert response.status_code == 303, text_of(response.text)
    receipt = text_of(person.get(proposal_path))
    assert "Submitted: version 1" in receipt and "UTC" in receipt
    assert re.search(r"[0-9a-f]{64}", receipt)


def test_a_form_without_its_csrf_token_is_refused(api: Api, client: httpx.Client) -> None:
    person, _ = _partner_page(api, client)
    person.get("/organization")
    response = person.post("/organization", {"name": "Changed"}, csrf=False)
    assert response.status_code == 403
    assert "did not come from this site" in response.text


def test_a_partner_cannot_open_another_organizations_pages(api: Api, client: httpx.Client) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    owner, _ = _partner_page(api, client)
    owner.get(f"/rfps/{rfp['id']}")
    proposal_path = owner.post(f"/rfps/{rfp['id']}/proposal").headers["location"].split("?")[0]
    other, _ = _partner_page(api, client)
    other.get(proposal_path, status=404)
    other.get(f"{proposal_path}/debrief", status=404)
    assert other.post(f"{proposal_path}/sections", {}).status_code == 404
    anonymous = Person(client)
    response = anonymous.client.get(proposal_path)
    assert response.status_code == 303 and "/sign-in?next=" in response.headers["location"]


def test_staff_build_publish_review_and_finalize_through_pages(
    api: Api, client: httpx.Client
) -> None:
    state = api.agency("state", "VA")
    staff_actor = api.staff(state["id"])
    staff = Person(client).sign_in(staff_actor.email)
    assert "Start a new RFP" in staff.get("/dashboard")

    # A deadline in the past is refused next to its field; a future one makes a draft.
    staff.get("/manage/rfps/new")
    refused = staff.post(
        "/manage/rfps/new",
        {"template_key": "state-preferred-provider", "title": "", "submission_deadline": "x"},
    )
    assert refused.status_code == 422 and 'id="submission_deadline-error"' in refused.text
    created = staff.post(
        "/manage/rfps/new",
        {
            "template_key": "state-preferred-provider",
            "title": "Cluster partners 2027",
            "submission_deadline": future(10)[:16],
        },
    )
    assert created.status_code == 303, text_of(created.text)
    manage = created.headers["location"].split("?")[0]
    rfp_id = manage.rsplit("/", 1)[1]
    rfp = api.client.get(f"/api/v1/rfps/{rfp_id}", headers=staff_actor.headers).json()

    # The builder: weights not totalling 100 block publishing, with the reason shown.
    builder = _builder_form(rfp)
    bad = {**builder, "criteria.0.weight": str(rfp["criteria"][0]["weight"] + 5)}
    refused = staff.post(manage, {**bad, "action": "publish"})
    assert refused.status_code == 422 and "100" in text_of(refused.text)
    # Browsers send CRLF line breaks; the summary keeps its paragraphs all the same.
    summary = "First paragraph.\r\n\r\nSecond paragraph."
    published = staff.post(
        manage,
        {**builder, "sections.0.word_limit": "900", "summary": summary, "action": "publish"},
    )
    assert published.status_code == 303, text_of(published.text)
    rfp = api.client.get(f"/api/v1/rfps/{rfp_id}").json()
    assert rfp["status"] == "published" and rfp["sections"][0]["word_limit"] == 900
    public = Person(client).get(f"/rfps/{rfp_id}")
    assert "<p>First paragraph.</p>" in public and "<p>Second paragraph.</p>" in public

    # A partner asks; staff answer; the answer is public.
    partner = api.partner()
    asker = Person(client).sign_in(partner.email)
    asker.get(f"/rfps/{rfp_id}")
    assert (
        asker.post(f"/rfps/{rfp_id}/questions", {"question": "Is a pilot allowed?"}).status_code
        == 303
    )
    page = staff.get(f"{manage}/questions")
    question_id = re.search(r"/questions/([0-9a-f]+)/answer", page).group(1)  # type: ignore[union-attr]
    assert (
        staff.post(f"/questions/{question_id}/answer", {"answer": "Yes, in year one."}).status_code
        == 303
    )
    assert "Yes, in year one." in Person(client).get(f"/rfps/{rfp_id}")

    # Sealed: before the deadline staff see who submitted, not what.
    submitted_proposal(api, partner, rfp)
    second = api.partner()
    submitted_proposal(api, second, rfp)
    sealed = staff.get(f"{manage}/submissions")
    assert "sealed until the deadline" in sealed and "/manage/proposals/" not in sealed

    # The panel: invite, accept through the link, attest, assign automatically, score.
    staff.get(f"{manage}/panel")
    invited = staff.post(
        f"{manage}/reviewers", {"name": "Rita Reviewer", "email": "rita@panel.example"}
    )
    link = re.search(r'id="invite-link">([^<]+)<', invited.text).group(1)  # type: ignore[union-attr]
    token = link.split("token=", 1)[1]
    reviewer = Person(client)
    reviewer.get(f"/accept-invite?token={token}")
    mismatch = reviewer.post(
        "/accept-invite",
        {"token": token, "password": "a-long-password-1", "password_again": "another-password"},
    )
    assert mismatch.status_code == 422
    accepted = reviewer.post(
        "/accept-invite",
        {"token": token, "password": "a-long-password-1", "password_again": "a-long-password-1"},
    )
    assert accepted.status_code == 303
    pass_deadline(rfp_id)
    opened = staff.get(f"{manage}/submissions")
    assert opened.count("/manage/proposals/") == 2
    assert staff.post(f"{manage}/assignments", {"action": "auto"}).status_code == 303
    dashboard = reviewer.get("/dashboard")
    assignments = re.findall(r"/review/assignments/([0-9a-f]+)", dashboard)
    assert len(assignments) == 2
    # The attestation gate: an assignment opens only after attesting.
    gate = reviewer.client.get(f"/review/assignments/{assignments[0]}")
    assert gate.status_code == 303 and f"/review/rfps/{rfp_id}" in gate.headers["location"]
    reviewer.get(f"/review/rfps/{rfp_id}")
    assert (
        reviewer.post(
            f"/review/rfps/{rfp_id}/attest", {"no_conflict": "on", "confidentiality": "on"}
        ).status_code
        == 303
    )
    for assignment in assignments:
        page = reviewer.get(f"/review/assignments/{assignment}")
        assert "Rubric" in page
        low = {f"score.{c['key']}": "1" for c in rfp["criteria"]}
        refused = reviewer.post(f"/review/assignments/{assignment}", {**low, "action": "submit"})
        assert refused.status_code == 422 and "Explain the low score" in text_of(refused.text)
        high = {
            f"score.{c['key']}": str(max(lv["value"] for lv in c["levels"]))
            for c in rfp["criteria"]
        }
        done = reviewer.post(f"/review/assignments/{assignment}", {**high, "action": "submit"})
        assert done.status_code == 303, text_of(done.text)

    # Results, CSV, finalize: the list is published.
    results = text_of(staff.get(f"{manage}/results"))
    assert "Weighted total" in results and "2 of 2" not in results  # one reviewer each
    csv = staff.client.get(f"{manage}/results.csv")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    finalized = staff.post(f"{manage}/finalize", {"valid_until": ""})
    assert finalized.status_code == 303, text_of(finalized.text)
    assert "Approved" in text_of(staff.get(f"{manage}/results"))
    providers = Person(client).get("/preferred-providers")
    assert (
        api.client.get(
            f"/api/v1/organizations/{partner.organization_id}", headers=partner.headers
        ).json()["name"]
        in providers
    )


def _builder_form(rfp: dict[str, Any]) -> dict[str, Any]:
    form: dict[str, Any] = {
        "title": rfp["title"],
        "submission_deadline": rfp["submission_deadline"][:16],
        "summary": rfp["summary"],
        "aggregation": rfp["aggregation"],
        "reviewers_per_proposal": "1",
        "approval.threshold": str(rfp["approval"]["threshold"]),
    }
    for i, s in enumerate(rfp["sections"]):
        form |= {
            f"sections.{i}.title": s["title"],
            f"sections.{i}.prompt": s["prompt"],
            f"sections.{i}.word_limit": str(s["word_limit"]),
        }
        if s["required"]:
            form[f"sections.{i}.required"] = "on"
    for i, c in enumerate(rfp["criteria"]):
        form |= {f"criteria.{i}.title": c["title"], f"criteria.{i}.weight": str(c["weight"])}
    return form


def test_district_imports_clusters_matches_and_drafts_the_mou(
    api: Api, client: httpx.Client
) -> None:
    state = api.agency("state", "VA")
    state_staff = api.staff(state["id"])
    district = api.agency("district", "VA", parent_id=state["id"], nces_id="5100042")
    district_actor = api.staff(district["id"])
    partners = [api.partner(capacity_clusters=1) for _ in range(2)]
    worlds.finalized_listing(state_staff, partners)
    staff = Person(client).sign_in(district_actor.email)
    assert "/district/schools" in staff.get("/dashboard")

    staff.get("/district/schools")
    rows = "".join(
        f"5100042{n:05d},Middle School {n},6,8,450,80%,human_capital\n" for n in range(1, 5)
    )
    csv = "nces_id,name,grade_low,grade_high,enrollment,poverty_rate,needs\n" + rows
    csv += "5100042,Broken Row,6,8,450,80%,human_capital\n"
    imported = staff.post(
        "/district/schools/import", files={"file": ("schools.csv", csv.encode(), "text/csv")}
    )
    assert imported.status_code == 200, text_of(imported.text)
    shown = text_of(imported.text)
    assert "4 added" in shown and "Row 6" in shown

    page = staff.get("/district/clusters")
    school_ids = re.findall(r'name="school_ids" value="([0-9a-f]+)"', page)
    too_few = staff.post("/district/clusters", {"name": "East", "school_ids": school_ids[:1]})
    assert too_few.status_code == 422
    assert (
        staff.post("/district/clusters", {"name": "East", "school_ids": school_ids[:3]}).status_code
        == 303
    )
    page = staff.get("/district/clusters")
    cluster_id = re.search(r"/district/clusters/([0-9a-f]+)/preferences", page).group(1)  # type: ignore[union-attr]
    assert (
        staff.post(
            f"/district/clusters/{cluster_id}/preferences",
            {"choice.1": partners[1].organization_id},
        ).status_code
        == 303
    )

    staff.get("/district/matching")
    assert staff.post("/district/matching").status_code == 303
    page = staff.get("/district/matching")
    match_id = re.search(r"/district/matches/([0-9a-f]+)/accept", page).group(1)  # type: ignore[union-attr]
    fit = re.search(r"Fit ([0-9.]+) out of 100", page)
    assert fit and 0 < float(fit.group(1)) <= 100
    assert staff.post(f"/district/matches/{match_id}/accept").status_code == 303
    drafted = staff.post(f"/district/matches/{match_id}/mou")
    assert drafted.status_code == 303
    mou_path = drafted.headers["location"].split("?")[0]
    page = staff.get(mou_path)
    assert "5100042" in page and "Save as a new version" in page

    # Edit: markup in a note stays text; a bad email is shown by its field.
    form = _mou_form(page)
    refused = staff.post(mou_path, {**form, "parties.district.contact_email": "not-an-email"})
    assert (
        refused.status_code == 422 and 'id="parties-district-contact_email-error"' in refused.text
    )
    form["notes"] = "<b>bold</b> file:///etc/passwd"
    form.pop("autonomy.time.extended_day_year", None)
    form["matrix.facilities"] = "shared"
    assert staff.post(mou_path, form).status_code == 303
    diff = text_of(staff.get(f"{mou_path}?from=1&to=2"))
    # The comparison reads as words: the clause granted, then not; District, then Shared.
    assert "autonomies › time › extended day year changed granted not granted" in diff
    assert "responsibilities › facilities changed District Shared" in diff
    assert "&lt;b&gt;bold&lt;/b&gt;" in staff.get(mou_path)
    pdf = staff.client.get(f"{mou_path}/document.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    assert staff.post(f"{mou_path}/execute").status_code == 303
    assert "Save as a new version" not in staff.get(mou_path)

    # The matched partner reads it; the other partner and other districts get 404.
    run = api.client.get(f"/api/v1/matches/{match_id}", headers=district_actor.headers).json()
    matched = next(p for p in partners if p.organization_id == run["organization_id"])
    other = next(p for p in partners if p is not matched)
    reader = Person(client).sign_in(matched.email)
    assert mou_path in reader.get("/matches")
    assert "Save as a new version" not in reader.get(mou_path)
    assert reader.client.get(f"{mou_path}/document.pdf").status_code == 200
    Person(client).sign_in(other.email).get(mou_path, status=404)
    other_district = api.staff(
        api.agency("district", "VA", parent_id=state["id"], nces_id="5100043")["id"]
    )
    Person(client).sign_in(other_district.email).get(mou_path, status=404)


def _mou_form(page: str) -> dict[str, Any]:
    """Every value the MOU form holds, as the browser would send it unchanged."""
    form: dict[str, Any] = {}
    start = page.index('action="/mous/')
    body = page[start : page.index("</form>", start)]
    for tag in re.findall(r"<input[^>]*>", body):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or name.group(1) == "csrf_token":
            continue
        value = re.search(r'value="([^"]*)"', tag)
        kind = re.search(r'type="([^"]+)"', tag)
        if kind and kind.group(1) in ("checkbox", "radio") and " checked" not in tag:
            continue
        form[name.group(1)] = html.unescape(value.group(1)) if value else ""
    for name, content in re.findall(
        r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', body, re.S
    ):
        form[name] = html.unescape(content)
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', body, re.S):
        chosen = re.search(r'<option value="([^"]*)" selected', options)
        form[name] = chosen.group(1) if chosen else ""
    return form


def test_submit_review_beside_an_autosave_never_fails(api: Api, client: httpx.Client) -> None:
    """The scoring page's Submit (save, then submit: two writes) races the autosave its own
    click sets off; both queue for the database, and neither answers a 5xx."""
    staff_actor = api.staff()
    rfp = published_rfp(api, staff_actor, reviewers_per_proposal=1)
    submitted_proposal(api, api.partner(), rfp)
    staff = Person(client).sign_in(staff_actor.email)
    staff.get(f"/manage/rfps/{rfp['id']}/panel")
    invited = staff.post(
        f"/manage/rfps/{rfp['id']}/reviewers", {"name": "Rae", "email": "rae@panel.example"}
    )
    token = re.search(r"token=([^<\"]+)", invited.text).group(1)  # type: ignore[union-attr]
    reviewer = Person(client)
    reviewer.get(f"/accept-invite?token={token}")
    form = {"token": token, "password": "a-long-password-1", "password_again": "a-long-password-1"}
    assert reviewer.post("/accept-invite", form).status_code == 303
    pass_deadline(rfp["id"])
    staff.post(f"/manage/rfps/{rfp['id']}/assignments", {"action": "auto"})
    reviewer.get(f"/review/rfps/{rfp['id']}")
    reviewer.post(
        f"/review/rfps/{rfp['id']}/attest", {"no_conflict": "on", "confidentiality": "on"}
    )
    assignment = re.search(r"/review/assignments/([0-9a-f]+)", reviewer.get("/dashboard"))
    path = f"/review/assignments/{assignment.group(1)}"  # type: ignore[union-attr]
    reviewer.get(path)
    top = {
        f"score.{c['key']}": str(max(lv["value"] for lv in c["levels"])) for c in rfp["criteria"]
    }
    statuses = []
    for _ in range(6):
        with ThreadPoolExecutor(max_workers=2) as pool:
            autosave = pool.submit(reviewer.post, path, {**top, "autosave": "1"})
            submit = pool.submit(reviewer.post, path, {**top, "action": "submit"})
            statuses += [autosave.result().status_code, submit.result().status_code]
        api.client.post(
            f"/api/v1/assignments/{assignment.group(1)}/reopen",  # type: ignore[union-attr]
            headers=staff_actor.headers,
        )
    assert all(status < 500 for status in statuses), statuses
    assert statuses.count(303) >= 6  # every submit went through
