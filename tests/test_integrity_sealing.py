"""Sealed bids and conflicts of interest, tried as hostile insiders would (issue findings 2-5).

Each test plays an insider who wants something the rules deny: staff who cancel their own
RFP to open the bids early, staff who read a bid its organization withdrew, a reviewer who
undoes a conflict staff recorded against them, a reviewer who looks up who applied before
the close. Everything goes through the real API and pages.
"""

from typing import Any

from sqlmodel import Session, select

from app.core.db import get_engine
from app.reviews.models import Assignment
from app.rfps.models import Rfp
from tests.support import Actor, Api, assert_problem, pass_deadline, published_rfp
from tests.support import submitted_proposal as submit_complete
from tests.test_reviews import (
    ATTESTATION,
    V1,
    auto_assign,
    declare_conflict,
    first_attachment_id,
    panel,
)
from tests.web_support import Person


def _sealed_world(api: Api) -> tuple[Actor, dict[str, Any], Actor, dict[str, Any], str]:
    """An agency's RFP with one complete submitted proposal: staff, RFP, partner, proposal,
    and the id of one of its attachments."""
    staff = api.staff()
    rfp = published_rfp(api, staff)
    partner = api.partner()
    proposal = submit_complete(api, partner, rfp)
    return staff, rfp, partner, proposal, first_attachment_id(api, partner, proposal["id"])


def _assert_sealed_for(api: Api, staff: Actor, rfp_id: str, proposal_id: str, file_id: str) -> None:
    listed = api.client.get(f"{V1}/rfps/{rfp_id}/proposals", headers=staff.headers)
    assert listed.status_code == 200, listed.text
    for row in listed.json()["items"]:
        assert "sections" not in row and "attachments" not in row, row  # rows, no content
    assert_problem(api.client.get(f"{V1}/proposals/{proposal_id}", headers=staff.headers), 404)
    assert_problem(api.client.get(f"{V1}/attachments/{file_id}", headers=staff.headers), 404)


# --- finding 2: cancelling an RFP never opens its bids -----------------------------------


def test_staff_who_cancel_before_the_deadline_still_cannot_open_the_bids(api: Api) -> None:
    staff, rfp, partner, proposal, file_id = _sealed_world(api)
    cancelled = api.client.post(f"{V1}/rfps/{rfp['id']}/cancel", headers=staff.headers)
    assert cancelled.status_code == 200, cancelled.text

    _assert_sealed_for(api, staff, rfp["id"], proposal["id"], file_id)
    # Nor once the deadline of the cancelled RFP has passed.
    pass_deadline(rfp["id"])
    _assert_sealed_for(api, staff, rfp["id"], proposal["id"], file_id)
    # The page staff use to read a submission says the same.
    person = Person(api.client).sign_in(staff.email)
    person.get(f"/manage/proposals/{proposal['id']}", status=404)

    # The partner keeps reading their own proposal and its files.
    own = api.client.get(f"{V1}/proposals/{proposal['id']}", headers=partner.headers)
    assert own.status_code == 200 and own.json()["sections"][0]["text"]
    assert api.client.get(f"{V1}/attachments/{file_id}", headers=partner.headers).status_code == 200


def test_a_cancelled_rfp_cannot_be_reviewed_either(api: Api) -> None:
    staff, rfp, _, _, _ = _sealed_world(api)
    [member] = panel(api, staff, rfp, 1)
    assert api.client.post(f"{V1}/rfps/{rfp['id']}/cancel", headers=staff.headers).is_success
    pass_deadline(rfp["id"])
    assert_problem(
        api.client.post(f"{V1}/rfps/{rfp['id']}/assignments/auto", headers=staff.headers), 409
    )
    mine = api.client.get(f"{V1}/me/assignments", headers=member.headers).json()
    assert mine["total"] == 0


# --- finding 4: a bid withdrawn before the deadline is never opened ----------------------


def test_a_withdrawn_proposal_stays_sealed_after_the_close(api: Api) -> None:
    staff, rfp, partner, proposal, file_id = _sealed_world(api)
    kept_partner = api.partner()
    kept = submit_complete(api, kept_partner, rfp)
    withdrawn = api.client.post(
        f"{V1}/proposals/{proposal['id']}/withdraw", headers=partner.headers
    )
    assert withdrawn.status_code == 200, withdrawn.text
    pass_deadline(rfp["id"])

    listed = api.client.get(f"{V1}/rfps/{rfp['id']}/proposals", headers=staff.headers).json()
    rows = {row["id"]: row for row in listed["items"]}
    assert rows[kept["id"]]["sections"]  # the other bid is opened
    row = rows[proposal["id"]]
    assert row["status"] == "withdrawn"
    assert row["organization_id"] == partner.organization_id
    assert row["sections"] == [] and row["attachments"] == [] and row["receipt"] is None
    assert_problem(api.client.get(f"{V1}/proposals/{proposal['id']}", headers=staff.headers), 404)
    assert_problem(api.client.get(f"{V1}/attachments/{file_id}", headers=staff.headers), 404)
    person = Person(api.client).sign_in(staff.email)
    person.get(f"/manage/proposals/{proposal['id']}", status=404)
    # Its organization still reads it.
    assert api.client.get(f"{V1}/attachments/{file_id}", headers=partner.headers).status_code == 200


# --- finding 5: reviewers learn nothing about who applied before the close ---------------


def test_reviewers_do_not_see_who_applied_before_the_close(api: Api) -> None:
    staff, rfp, partner, _, _ = _sealed_world(api)
    [member] = panel(api, staff, rfp, 1, attested=False)
    organization = api.client.get(
        f"{V1}/organizations/{partner.organization_id}", headers=partner.headers
    ).json()
    person = Person(api.client).sign_in(member.email)

    before = person.get(f"/review/rfps/{rfp['id']}")
    assert organization["name"] not in before
    assert str(partner.organization_id) not in before
    assert "Who applied stays sealed" in before

    # After the close, only the organizations of their own assignments.
    rival = api.partner()
    rival_proposal = submit_complete(api, rival, rfp)
    rival_name = api.client.get(
        f"{V1}/organizations/{rival.organization_id}", headers=rival.headers
    ).json()["name"]
    pass_deadline(rfp["id"])
    assigned = api.client.post(
        f"{V1}/rfps/{rfp['id']}/assignments",
        json={"proposal_id": rival_proposal["id"], "reviewer_id": member.id},
        headers=staff.headers,
    )
    assert assigned.status_code == 201, assigned.text
    after = person.get(f"/review/rfps/{rfp['id']}")
    assert rival_name in after
    assert organization["name"] not in after


# --- finding 3: a conflict is withdrawn only by whoever declared it -----------------------


def test_a_reviewer_cannot_withdraw_a_conflict_staff_recorded_against_them(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    partner = api.partner()
    proposal = submit_complete(api, partner, rfp)
    [member] = panel(api, staff, rfp, 1)
    org = partner.organization_id or ""

    recorded = declare_conflict(api, staff, rfp["id"], org, reviewer_id=member.id)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["declared_by"] == staff.id
    assert recorded.json()["declared_by_role"] == "agency_staff"

    # The conflicted reviewer tries to undo it, through the API and the page.
    attempt = declare_conflict(api, member, rfp["id"], org, withdraw=True)
    assert_problem(attempt, 403)
    person = Person(api.client).sign_in(member.email)
    page = person.post(
        f"/review/rfps/{rfp['id']}/conflicts",
        {"organization_id": org, "withdraw": "yes", "reason": "No longer on the board."},
    )
    assert page.status_code == 403
    assert "only staff may withdraw it" in page.text

    # Auto-assignment therefore cannot give them that organization's proposal: with one
    # reviewer on the panel it is infeasible rather than conflicted.
    pass_deadline(rfp["id"])
    assert_problem(
        api.client.post(f"{V1}/rfps/{rfp['id']}/assignments/auto", headers=staff.headers), 409
    )
    assert (
        api.client.get(f"{V1}/proposals/{proposal['id']}", headers=member.headers).status_code
        == 404
    )

    # Staff may withdraw their own declaration; the whole history stays.
    undone = declare_conflict(api, staff, rfp["id"], org, reviewer_id=member.id, withdraw=True)
    assert undone.status_code == 201, undone.text
    history = api.client.get(f"{V1}/rfps/{rfp['id']}/conflicts", headers=staff.headers).json()
    assert [(c["action"], c["declared_by_role"]) for c in history["items"]] == [
        ("declared", "agency_staff"),
        ("withdrawn", "agency_staff"),
    ]
    assert auto_assign(api, staff, rfp["id"])[0]["reviewer_id"] == member.id


def test_staff_cannot_withdraw_a_reviewers_own_declaration(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    partner = api.partner()
    submit_complete(api, partner, rfp)
    [member, other] = panel(api, staff, rfp, 2)
    org = partner.organization_id or ""
    assert declare_conflict(api, member, rfp["id"], org).status_code == 201

    # Staff who want that reviewer on the proposal cannot take the declaration away.
    assert_problem(
        declare_conflict(api, staff, rfp["id"], org, reviewer_id=member.id, withdraw=True), 403
    )
    # Withdrawing what nobody declared is a state conflict, not a silent no-op.
    assert_problem(declare_conflict(api, other, rfp["id"], org, withdraw=True), 409)
    # The reviewer may withdraw their own; then a staff declaration still stands on its own.
    assert declare_conflict(api, staff, rfp["id"], org, reviewer_id=member.id).status_code == 201
    assert declare_conflict(api, member, rfp["id"], org, withdraw=True).status_code == 201
    pass_deadline(rfp["id"])
    [item] = auto_assign(api, staff, rfp["id"])
    assert item["reviewer_id"] == other.id


def test_auto_assignment_audits_each_pair_it_made(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    submit_complete(api, api.partner(), rfp)
    panel(api, staff, rfp, 1)
    pass_deadline(rfp["id"])
    [item] = auto_assign(api, staff, rfp["id"])
    events = api.client.get(
        f"{V1}/audit", params={"entity": "rfp", "entity_id": rfp["id"]}, headers=staff.headers
    ).json()["items"]
    [auto] = [e for e in events if e["action"] == "assignments.auto"]
    assert auto["data"]["pairs"] == [
        {"proposal_id": item["proposal_id"], "reviewer_id": item["reviewer_id"]}
    ]


def test_an_attested_reviewer_sees_no_proposal_before_the_close(api: Api) -> None:
    """Even a reviewer assigned by hand in the database (a tampering DBA) reads nothing while
    the RFP is open: bids open at the deadline, whatever the assignment table says."""
    staff, rfp, _, proposal, file_id = _sealed_world(api)
    [member] = panel(api, staff, rfp, 1)
    assert api.client.post(
        f"{V1}/rfps/{rfp['id']}/attestation", json=ATTESTATION, headers=member.headers
    ).status_code in (200, 201)
    with Session(get_engine()) as session:
        assert session.get(Rfp, rfp["id"]) is not None
        session.add(
            Assignment(
                rfp_id=rfp["id"],
                proposal_id=proposal["id"],
                reviewer_id=member.id,
                created_by=staff.id,
            )
        )
        session.commit()
    assert_problem(api.client.get(f"{V1}/proposals/{proposal['id']}", headers=member.headers), 404)
    assert_problem(api.client.get(f"{V1}/attachments/{file_id}", headers=member.headers), 404)
    with Session(get_engine()) as session:
        [assignment_id] = session.exec(
            select(Assignment.id).where(Assignment.reviewer_id == member.id)
        ).all()
    assert_problem(api.client.get(f"{V1}/assignments/{assignment_id}", headers=member.headers), 404)
    person = Person(api.client).sign_in(member.email)
    person.get(f"/review/assignments/{assignment_id}", status=404)


def test_conflicts_staff_record_before_the_close_do_not_tell_the_reviewer_who_applied(
    api: Api,
) -> None:
    staff, rfp, partner, _, _ = _sealed_world(api)
    [member] = panel(api, staff, rfp, 1, attested=False)
    org = partner.organization_id or ""
    name = api.client.get(f"{V1}/organizations/{org}", headers=partner.headers).json()["name"]
    assert declare_conflict(api, staff, rfp["id"], org, reviewer_id=member.id).status_code == 201

    mine = api.client.get(f"{V1}/rfps/{rfp['id']}/conflicts", headers=member.headers).json()
    assert mine["items"] == []
    page = Person(api.client).sign_in(member.email).get(f"/review/rfps/{rfp['id']}")
    assert name not in page and org not in page
    # Staff see their declaration; after the close the reviewer sees it too.
    assert (
        api.client.get(f"{V1}/rfps/{rfp['id']}/conflicts", headers=staff.headers).json()["total"]
        == 1
    )
    pass_deadline(rfp["id"])
    after = api.client.get(f"{V1}/rfps/{rfp['id']}/conflicts", headers=member.headers).json()
    assert [c["declared_by_role"] for c in after["items"]] == ["agency_staff"]


def test_the_audit_view_after_the_close_opens_only_what_was_submitted(api: Api) -> None:
    """After the deadline staff read the events of the bids they may open, and nothing of a
    draft that was never submitted, nor of edits made after the last submission."""
    staff, rfp, partner, proposal, _ = _sealed_world(api)
    drafter = api.partner()
    draft = api.client.post(f"{V1}/rfps/{rfp['id']}/proposals", headers=drafter.headers).json()
    section = rfp["sections"][0]["key"]
    for who, pid, words in (
        (drafter, draft["id"], "draft words"),
        (partner, proposal["id"], "late edit"),
    ):
        saved = api.client.put(
            f"{V1}/proposals/{pid}/sections/{section}", json={"text": words}, headers=who.headers
        )
        assert saved.status_code == 200, saved.text
    admin_before = api.client.get(f"{V1}/audit", headers=api.admin.headers).json()["items"]
    partner_rows = [e for e in admin_before if e["entity"] == "proposal"]
    assert partner_rows and all(
        e["data"] == {"rfp_id": rfp["id"]} and e["actor_id"] is None and e["entity_id"] == ""
        for e in partner_rows
    ), partner_rows  # the admin learns neither the bidder nor the bid before the close

    pass_deadline(rfp["id"])
    events = api.client.get(f"{V1}/audit", headers=staff.headers).json()["items"]
    opened = [e for e in events if e["entity_id"] == proposal["id"]]
    assert any(e["action"] == "proposal.submitted" and e["data"].get("receipt") for e in opened)
    assert not any(e["entity_id"] == draft["id"] for e in events)
    sealed = [e for e in events if e["entity"] == "proposal" and e["entity_id"] == ""]
    assert sealed and all(e["data"] == {"rfp_id": rfp["id"]} for e in sealed)
    assert "word_count" not in str(sealed)


def test_a_cancelled_rfps_results_tab_says_there_are_none(api: Api) -> None:
    staff, rfp, _, _, _ = _sealed_world(api)
    assert api.client.post(f"{V1}/rfps/{rfp['id']}/cancel", headers=staff.headers).is_success
    pass_deadline(rfp["id"])
    assert_problem(api.client.get(f"{V1}/rfps/{rfp['id']}/results", headers=staff.headers), 409)
    Person(api.client).sign_in(staff.email).get(f"/manage/rfps/{rfp['id']}/results")


def test_deleting_an_attachment_is_refused_by_role_before_any_lookup(api: Api) -> None:
    staff, _, _, _, file_id = _sealed_world(api)
    real = api.client.delete(f"{V1}/attachments/{file_id}", headers=staff.headers)
    made_up = api.client.delete(f"{V1}/attachments/{'0' * 32}", headers=staff.headers)
    assert assert_problem(real, 403)["detail"] == assert_problem(made_up, 403)["detail"]
