"""The web pages over HTTP: each role's forms call the services and show their refusals."""

import re

import httpx

from tests.support import PDF_BYTES, Api, published_rfp, self_audit_items
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
