"""Audit views and sealed bids: before its RFP closes, nobody (the platform admin included)
reads what a partner's proposal events say; after the close the RFP's own agency does, and
no other agency ever; a cancelled RFP or a withdrawn proposal never opens."""

import hashlib
from typing import Any

from tests.support import (
    PDF_BYTES,
    Actor,
    Api,
    assert_problem,
    pass_deadline,
    published_rfp,
    submitted_proposal,
)

SEALED_KEYS = {"rfp_id", "organization_id"}


def _events(api: Api, who: Actor, **params: str) -> list[dict[str, Any]]:
    response = api.client.get(
        "/api/v1/audit", params={"limit": "200", **params}, headers=who.headers
    )
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def _proposal_events(api: Api, who: Actor, proposal_id: str) -> list[dict[str, Any]]:
    return _events(api, who, entity="proposal", entity_id=proposal_id)


def _sealed_bid(api: Api) -> tuple[Actor, Actor, dict[str, Any], dict[str, Any]]:
    staff = api.staff()
    partner = api.partner()
    rfp = published_rfp(api, staff)
    proposal = submitted_proposal(api, partner, rfp)
    return staff, partner, rfp, proposal


def test_the_admin_reads_nothing_sealed_before_the_close(api: Api) -> None:
    _, partner, rfp, proposal = _sealed_bid(api)
    events = _proposal_events(api, api.admin, proposal["id"])
    actions = [e["action"] for e in events]
    assert "proposal.section_saved" in actions and "proposal.submitted" in actions
    for event in events:
        assert set(event["data"]) <= SEALED_KEYS, event
        assert event["data"].get("rfp_id") == rfp["id"]
    listed = api.client.get("/api/v1/audit?limit=200", headers=api.admin.headers).text
    for secret in ("words", "sha256", "size", "receipt", hashlib.sha256(PDF_BYTES).hexdigest()):
        assert secret not in listed

    pass_deadline(rfp["id"])
    opened = _proposal_events(api, api.admin, proposal["id"])
    saved = [e for e in opened if e["action"] == "proposal.section_saved"]
    assert saved and all("words" in e["data"] for e in saved)
    added = [e for e in opened if e["action"] == "proposal.attachment_added"]
    assert added and added[0]["data"]["sha256"] == hashlib.sha256(PDF_BYTES).hexdigest()
    assert partner.organization_id == added[0]["data"]["organization_id"]


def test_staff_read_their_rfps_partner_events_after_the_close_and_no_other_agency(
    api: Api,
) -> None:
    staff, _, rfp, proposal = _sealed_bid(api)
    rival = api.staff(state="MD")
    rival_rfp = published_rfp(api, rival)
    assert _proposal_events(api, staff, proposal["id"]) == []
    assert all(e["entity"] != "proposal" for e in _events(api, staff))

    pass_deadline(rfp["id"])
    pass_deadline(rival_rfp["id"])
    events = _proposal_events(api, staff, proposal["id"])
    actions = [e["action"] for e in events]
    assert actions[0] == "proposal.created" and "proposal.submitted" in actions
    assert any("words" in e["data"] for e in events)
    # The agency's own events are still there alongside.
    assert any(e["action"] == "rfp.published" for e in _events(api, staff))

    assert _proposal_events(api, rival, proposal["id"]) == []
    assert all(e["entity_id"] != proposal["id"] for e in _events(api, rival))


def test_a_cancelled_rfps_partner_events_stay_sealed(api: Api) -> None:
    staff, _, rfp, proposal = _sealed_bid(api)
    cancelled = api.client.post(f"/api/v1/rfps/{rfp['id']}/cancel", headers=staff.headers)
    assert cancelled.status_code == 200, cancelled.text
    pass_deadline(rfp["id"])
    assert _proposal_events(api, staff, proposal["id"]) == []
    for event in _proposal_events(api, api.admin, proposal["id"]):
        assert set(event["data"]) <= SEALED_KEYS, event


def test_a_proposal_withdrawn_before_the_deadline_stays_sealed(api: Api) -> None:
    staff, partner, rfp, proposal = _sealed_bid(api)
    withdrawn = api.client.post(
        f"/api/v1/proposals/{proposal['id']}/withdraw", headers=partner.headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    pass_deadline(rfp["id"])
    for who in (staff, api.admin):
        events = _proposal_events(api, who, proposal["id"])
        assert "proposal.withdrawn" in [e["action"] for e in events]
        for event in events:
            assert set(event["data"]) <= SEALED_KEYS, event


def test_a_partner_never_reads_the_trail_not_even_its_own_events(api: Api) -> None:
    _, partner, rfp, _ = _sealed_bid(api)
    pass_deadline(rfp["id"])
    assert_problem(api.client.get("/api/v1/audit", headers=partner.headers), 403)
