"""The review stage over HTTP: panels, attestation, conflicts, assignments, scoring,
results, consensus, finalization, debriefs and the public preferred-provider list.

Written from the contract (shared/spec/api.md and product.md), not from the code: the
expected means, totals, flags and ranks are computed here, in plain Python, from the
rubric the RFP publishes and the scores the test itself sent.
"""

import csv
import io
import json
from collections import Counter
from datetime import date
from typing import Any

import pytest

from tests.support import (
    PDF_BYTES,
    Actor,
    Api,
    assert_problem,
    invited_reviewer,
    pass_deadline,
    published_rfp,
    submitted_proposal,
)

V1 = "/api/v1"
ATTESTATION = {"no_conflict": True, "confidentiality": True}
# Scoring does not depend on how long the application is: the heavier scenarios publish
# the template's rubric with a single short section and no attachments, to stay fast.
LEAN: dict[str, Any] = {
    "sections": [{"key": "plan", "title": "Plan", "word_limit": 500, "required": True}],
    "required_attachments": [],
}
Endpoint = tuple[str, str, dict[str, Any] | None]  # method, path under /api/v1, JSON body


# --- helpers: the panel -------------------------------------------------------------------


def attest(api: Api, actor: Actor, rfp_id: str, **body: Any) -> Any:
    return api.client.post(
        f"{V1}/rfps/{rfp_id}/attestation", json={**ATTESTATION, **body}, headers=actor.headers
    )


def panel(
    api: Api, staff: Actor, rfp: dict[str, Any], n: int, *, attested: bool = True
) -> list[Actor]:
    return [invited_reviewer(api, staff, rfp["id"], attested=attested) for _ in range(n)]


def auto_assign(api: Api, staff: Actor, rfp_id: str) -> list[dict[str, Any]]:
    response = api.client.post(f"{V1}/rfps/{rfp_id}/assignments/auto", headers=staff.headers)
    assert response.status_code in (200, 201), response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return list(body["items"])


def assign(api: Api, staff: Actor, rfp_id: str, proposal_id: str, reviewer_id: str) -> Any:
    return api.client.post(
        f"{V1}/rfps/{rfp_id}/assignments",
        json={"proposal_id": proposal_id, "reviewer_id": reviewer_id},
        headers=staff.headers,
    )


def declare_conflict(
    api: Api, actor: Actor, rfp_id: str, organization_id: str, **extra: Any
) -> Any:
    return api.client.post(
        f"{V1}/rfps/{rfp_id}/conflicts",
        json={"organization_id": organization_id, "reason": "Former board member.", **extra},
        headers=actor.headers,
    )


def my_assignment_ids(api: Api, actor: Actor) -> set[str]:
    response = api.client.get(f"{V1}/me/assignments", headers=actor.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == len(body["items"])
    return {item["id"] for item in body["items"]}


def first_attachment_id(api: Api, partner: Actor, proposal_id: str) -> str:
    body = api.client.get(f"{V1}/proposals/{proposal_id}", headers=partner.headers).json()
    return str(body["attachments"][0]["id"])


# --- helpers: scores ------------------------------------------------------------------------


def keys(rfp: dict[str, Any]) -> list[str]:
    return [c["key"] for c in rfp["criteria"]]


def row(rfp: dict[str, Any], values: list[int]) -> dict[str, int]:
    return dict(zip(keys(rfp), values, strict=True))


def note(key: str, value: int) -> str:
    return f"The evidence on {key} supports a {value}."


def save(
    api: Api,
    actor: Actor,
    assignment_id: str,
    values: dict[str, Any],
    comments: dict[str, str | None] | None = None,
) -> Any:
    """PUT the given scores; every score carries a comment unless `comments` says otherwise
    (a None there sends the score without a comment field)."""
    comments = comments or {}
    scores = []
    for key, value in values.items():
        score = {"criterion_key": key, "value": value}
        comment = comments.get(key, note(key, value))
        if comment is not None:
            score["comment"] = comment
        scores.append(score)
    return api.client.put(
        f"{V1}/assignments/{assignment_id}/scores", json={"scores": scores}, headers=actor.headers
    )


def submit(api: Api, actor: Actor, assignment_id: str) -> Any:
    return api.client.post(f"{V1}/assignments/{assignment_id}/submit", headers=actor.headers)


def score_all(api: Api, actor: Actor, assignment_id: str, values: dict[str, int]) -> None:
    saved = save(api, actor, assignment_id, values)
    assert saved.status_code == 200, saved.text
    submitted = submit(api, actor, assignment_id)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "submitted"


def level_values(criterion: dict[str, Any]) -> list[int]:
    return sorted({level["value"] for level in criterion["levels"]})


def mean(values: list[int]) -> float:
    return sum(values) / len(values)


def expected_total(rfp: dict[str, Any], per_criterion: dict[str, float]) -> float:
    """Sum over criteria of weight x (value - lowest level) / (highest - lowest), on 0-100."""
    weights = sum(c["weight"] for c in rfp["criteria"])
    total = 0.0
    for criterion in rfp["criteria"]:
        scale = level_values(criterion)
        low, high = scale[0], scale[-1]
        total += criterion["weight"] * (per_criterion[criterion["key"]] - low) / (high - low)
    return 100.0 * total / weights


def expected_flag(criterion: dict[str, Any], values: list[int]) -> bool:
    positions = [level_values(criterion).index(v) for v in values]
    return max(positions) - min(positions) >= 2


def competition_ranks(totals: dict[str, float]) -> dict[str, int]:
    return {
        key: 1 + sum(1 for other in totals.values() if other > value + 1e-9)
        for key, value in totals.items()
    }


def results(
    api: Api, staff: Actor, rfp_id: str
) -> tuple[dict[str, dict[str, Any]], dict[str, Any]]:
    response = api.client.get(f"{V1}/rfps/{rfp_id}/results", headers=staff.headers)
    assert response.status_code == 200, response.text
    body = response.json()
    return {item["proposal_id"]: item for item in body["items"]}, body


def values_of(scores: list[Any]) -> list[Any]:
    return sorted(s["value"] if isinstance(s, dict) else s for s in scores)


def texts_of(comments: list[Any]) -> list[Any]:
    return [c.get("comment", c.get("text")) if isinstance(c, dict) else c for c in comments]


def errors_text(problem: dict[str, Any]) -> str:
    return json.dumps(problem.get("errors", []))


def finalize(api: Api, staff: Actor, rfp_id: str) -> Any:
    return api.client.post(f"{V1}/rfps/{rfp_id}/finalize", headers=staff.headers)


def set_consensus(api: Api, staff: Actor, proposal_id: str, key: str, value: Any) -> Any:
    return api.client.put(
        f"{V1}/proposals/{proposal_id}/consensus",
        json={"criterion_key": key, "value": value, "rationale": f"The panel agreed on {key}."},
        headers=staff.headers,
    )


# --- invitation, attestation, access ------------------------------------------------------


def test_invited_reviewer_must_attest_before_opening_an_assignment(api: Api) -> None:
    staff = api.staff()
    partner = api.partner()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    proposal = submitted_proposal(api, partner, rfp)
    url = f"{V1}/rfps/{rfp['id']}/reviewers"
    body = {"email": "someone@panel.example", "name": "Some One"}
    assert_problem(api.client.post(url, json=body, headers=partner.headers), 403)
    assert_problem(api.client.post(url, json=body, headers=api.staff(state="MD").headers), 404)
    assert_problem(api.client.post(url, json=body), 401)

    member = invited_reviewer(api, staff, rfp["id"], attested=False)
    me = api.client.get(f"{V1}/me", headers=member.headers).json()
    assert me["role"] == "reviewer"
    pass_deadline(rfp["id"])
    [item] = auto_assign(api, staff, rfp["id"])
    assert item["reviewer_id"] == member.id and item["proposal_id"] == proposal["id"]
    aid = item["id"]

    gate = assert_problem(api.client.get(f"{V1}/assignments/{aid}", headers=member.headers), 409)
    assert gate["type"].endswith("attestation-required")
    early = api.client.get(f"{V1}/proposals/{proposal['id']}", headers=member.headers)
    assert early.status_code != 200, "the proposal must stay closed until the attestation"

    assert_problem(attest(api, member, rfp["id"], no_conflict=False), 422)
    assert_problem(attest(api, member, rfp["id"], confidentiality=False), 422)
    assert_problem(attest(api, partner, rfp["id"]), 403)
    assert_problem(attest(api, staff, rfp["id"]), 403)
    # A reviewer of another RFP is not on this panel.
    stranger = invited_reviewer(api, staff, published_rfp(api, staff)["id"], attested=False)
    assert_problem(attest(api, stranger, rfp["id"]), 404)
    assert_problem(api.client.get(f"{V1}/assignments/{aid}", headers=stranger.headers), 404)
    gate = assert_problem(api.client.get(f"{V1}/assignments/{aid}", headers=member.headers), 409)
    assert gate["type"].endswith("attestation-required")

    assert attest(api, member, rfp["id"]).status_code == 201
    opened = api.client.get(f"{V1}/assignments/{aid}", headers=member.headers)
    assert opened.status_code == 200, opened.text
    view = opened.json()
    assert view["id"] == aid and view["status"] == "assigned"
    assert [c["key"] for c in view["criteria"]] == keys(rfp)
    assert {s["key"] for s in view["proposal"]["sections"]} == {s["key"] for s in rfp["sections"]}
    assert all("word" in s["text"] for s in view["proposal"]["sections"])
    assert all(s.get("value") is None for s in view["scores"])
    assert my_assignment_ids(api, member) == {aid}
    full = api.client.get(f"{V1}/proposals/{proposal['id']}", headers=member.headers)
    assert full.status_code == 200 and full.json()["id"] == proposal["id"]


def test_attestation_is_per_rfp(api: Api) -> None:
    staff = api.staff()
    partner = api.partner()
    rfps = [published_rfp(api, staff, reviewers_per_proposal=1) for _ in range(2)]
    for rfp in rfps:
        submitted_proposal(api, partner, rfp)
    member = invited_reviewer(api, staff, rfps[0]["id"])  # attests to the first RFP only
    again = api.client.post(
        f"{V1}/rfps/{rfps[1]['id']}/reviewers",
        json={"email": member.email, "name": member.extra["name"]},
        headers=staff.headers,
    )
    assert again.status_code == 201, again.text
    assert again.json()["user_id"] == member.id  # the same person on a second panel
    for rfp in rfps:
        pass_deadline(rfp["id"])
    first, second = (auto_assign(api, staff, rfp["id"])[0]["id"] for rfp in rfps)
    assert api.client.get(f"{V1}/assignments/{first}", headers=member.headers).status_code == 200
    gate = assert_problem(api.client.get(f"{V1}/assignments/{second}", headers=member.headers), 409)
    assert gate["type"].endswith("attestation-required")
    assert attest(api, member, rfps[1]["id"]).status_code == 201
    assert api.client.get(f"{V1}/assignments/{second}", headers=member.headers).status_code == 200


def test_reviewer_reaches_only_the_proposals_assigned_to_them(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    partners = [api.partner(), api.partner()]
    proposals = [submitted_proposal(api, p, rfp)["id"] for p in partners]
    files = {
        pid: first_attachment_id(api, p, pid) for p, pid in zip(partners, proposals, strict=True)
    }
    first, second = panel(api, staff, rfp, 2)
    pass_deadline(rfp["id"])
    items = auto_assign(api, staff, rfp["id"])
    assert len(items) == 2
    mine = next(i for i in items if i["reviewer_id"] == first.id)
    theirs = next(i for i in items if i["reviewer_id"] == second.id)
    assert mine["proposal_id"] != theirs["proposal_id"]
    other = theirs["proposal_id"]

    assert my_assignment_ids(api, first) == {mine["id"]}
    assert (
        api.client.get(f"{V1}/assignments/{mine['id']}", headers=first.headers).status_code == 200
    )
    own_file = api.client.get(
        f"{V1}/attachments/{files[mine['proposal_id']]}", headers=first.headers
    )
    assert own_file.status_code == 200 and own_file.content == PDF_BYTES
    assert_problem(api.client.get(f"{V1}/assignments/{theirs['id']}", headers=first.headers), 404)
    assert_problem(api.client.get(f"{V1}/proposals/{other}", headers=first.headers), 404)
    assert_problem(api.client.get(f"{V1}/attachments/{files[other]}", headers=first.headers), 404)
    assert_problem(save(api, first, theirs["id"], {keys(rfp)[0]: 3}), 404)
    assert_problem(submit(api, first, theirs["id"]), 404)
    assert_problem(api.client.get(f"{V1}/rfps/{rfp['id']}/proposals", headers=first.headers), 403)


def test_conflict_declared_after_assignment_cuts_the_reviewer_off(api: Api) -> None:
    staff = api.staff()
    partner = api.partner()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    pid = submitted_proposal(api, partner, rfp)["id"]
    file_id = first_attachment_id(api, partner, pid)
    [member] = panel(api, staff, rfp, 1)
    pass_deadline(rfp["id"])
    [item] = auto_assign(api, staff, rfp["id"])
    aid = item["id"]
    assert api.client.get(f"{V1}/assignments/{aid}", headers=member.headers).status_code == 200
    assert api.client.get(f"{V1}/attachments/{file_id}", headers=member.headers).status_code == 200

    assert_problem(declare_conflict(api, partner, rfp["id"], partner.organization_id or ""), 403)
    declared = declare_conflict(api, member, rfp["id"], partner.organization_id or "")
    assert declared.status_code == 201, declared.text

    assert_problem(api.client.get(f"{V1}/assignments/{aid}", headers=member.headers), 404)
    assert_problem(api.client.get(f"{V1}/proposals/{pid}", headers=member.headers), 404)
    assert_problem(api.client.get(f"{V1}/attachments/{file_id}", headers=member.headers), 404)
    assert_problem(save(api, member, aid, {keys(rfp)[0]: 3}), 404)
    assert_problem(submit(api, member, aid), 404)


# --- assignment ----------------------------------------------------------------------------


def test_auto_assignment_balances_load_and_avoids_conflicts(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff, reviewers_per_proposal=2, **LEAN)
    partners = [api.partner() for _ in range(3)]
    submitted = [submitted_proposal(api, p, rfp)["id"] for p in partners]
    drafter = api.partner()
    draft = api.client.post(f"{V1}/rfps/{rfp['id']}/proposals", headers=drafter.headers)
    assert draft.status_code == 201
    reviewers = panel(api, staff, rfp, 4, attested=False)
    ids = [r.id for r in reviewers]
    by_reviewer = declare_conflict(api, reviewers[0], rfp["id"], partners[0].organization_id or "")
    assert by_reviewer.status_code == 201, by_reviewer.text
    by_staff = declare_conflict(
        api, staff, rfp["id"], partners[1].organization_id or "", reviewer_id=ids[1]
    )
    assert by_staff.status_code == 201, by_staff.text

    early = api.client.post(f"{V1}/rfps/{rfp['id']}/assignments/auto", headers=staff.headers)
    assert_problem(early, 409)  # still open for submissions
    pass_deadline(rfp["id"])
    items = auto_assign(api, staff, rfp["id"])

    assert len(items) == 3 * 2
    assert len({i["id"] for i in items}) == len(items)
    assert all(i["status"] == "assigned" for i in items)
    pairs = {(i["proposal_id"], i["reviewer_id"]) for i in items}
    assert len(pairs) == len(items)  # nobody reviews a proposal twice
    assert Counter(i["proposal_id"] for i in items) == dict.fromkeys(submitted, 2)
    assert {i["reviewer_id"] for i in items} <= set(ids)
    assert (submitted[0], ids[0]) not in pairs
    assert (submitted[1], ids[1]) not in pairs
    loads = {rid: sum(1 for i in items if i["reviewer_id"] == rid) for rid in ids}
    assert max(loads.values()) - min(loads.values()) <= 1, loads
    for member in reviewers:
        mine = {i["id"] for i in items if i["reviewer_id"] == member.id}
        assert my_assignment_ids(api, member) == mine


def test_auto_assignment_refuses_an_infeasible_panel(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff, **LEAN)
    assert rfp["reviewers_per_proposal"] == 3
    partners = [api.partner(), api.partner()]
    for partner in partners:
        submitted_proposal(api, partner, rfp)
    reviewers = panel(api, staff, rfp, 3, attested=False)
    declared = declare_conflict(api, reviewers[0], rfp["id"], partners[0].organization_id or "")
    assert declared.status_code == 201, declared.text
    pass_deadline(rfp["id"])
    # Three reviewers per proposal, but only two may read the first one.
    response = api.client.post(f"{V1}/rfps/{rfp['id']}/assignments/auto", headers=staff.headers)
    problem = assert_problem(response, 409)
    assert problem["detail"].strip()
    items, _ = results(api, staff, rfp["id"])
    assert len(items) == 2
    assert all(item["reviews_assigned"] == 0 for item in items.values())  # nothing half-made
    for member in reviewers:
        assert my_assignment_ids(api, member) == set()


def test_staff_add_remove_and_reopen_assignments(api: Api) -> None:
    staff = api.staff()
    partner = api.partner()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    pid = submitted_proposal(api, partner, rfp)["id"]
    file_id = first_attachment_id(api, partner, pid)
    first, second = panel(api, staff, rfp, 2)
    pass_deadline(rfp["id"])

    added = assign(api, staff, rfp["id"], pid, first.id)
    assert added.status_code == 201, added.text
    a1 = added.json()
    assert a1["status"] == "assigned"
    assert a1["proposal_id"] == pid and a1["reviewer_id"] == first.id
    assert_problem(assign(api, staff, rfp["id"], pid, first.id), 409)  # a duplicate

    extra = assign(api, staff, rfp["id"], pid, second.id)
    assert extra.status_code == 201, extra.text
    a2 = extra.json()["id"]
    assert api.client.get(f"{V1}/assignments/{a2}", headers=second.headers).status_code == 200
    assert api.client.delete(f"{V1}/assignments/{a2}", headers=staff.headers).status_code == 204
    assert_problem(api.client.get(f"{V1}/assignments/{a2}", headers=second.headers), 404)
    assert_problem(api.client.get(f"{V1}/proposals/{pid}", headers=second.headers), 404)
    assert_problem(api.client.get(f"{V1}/attachments/{file_id}", headers=second.headers), 404)
    assert my_assignment_ids(api, second) == set()
    items, _ = results(api, staff, rfp["id"])
    assert items[pid]["reviews_assigned"] == 1  # the removed one no longer counts
    assert_problem(api.client.delete(f"{V1}/assignments/{a2}", headers=staff.headers), 404)
    # A conflicted pair cannot be assigned by hand either.
    assert (
        declare_conflict(api, second, rfp["id"], partner.organization_id or "").status_code == 201
    )
    refused = assign(api, staff, rfp["id"], pid, second.id)
    assert refused.status_code in (409, 422), refused.text

    values = row(rfp, [3] * len(keys(rfp)))
    score_all(api, first, a1["id"], values)
    assert_problem(save(api, first, a1["id"], values), 409)
    assert_problem(
        api.client.post(f"{V1}/assignments/{a1['id']}/reopen", headers=first.headers), 403
    )
    reopened = api.client.post(f"{V1}/assignments/{a1['id']}/reopen", headers=staff.headers)
    assert reopened.status_code == 200, reopened.text
    assert reopened.json()["status"] == "assigned"
    changed = row(rfp, [4] * len(keys(rfp)))
    assert save(api, first, a1["id"], changed).status_code == 200
    items, _ = results(api, staff, rfp["id"])
    assert items[pid]["reviews_submitted"] == 0  # a reopened review counts once resubmitted
    assert all(c["scores"] == [] for c in items[pid]["criteria"])
    assert submit(api, first, a1["id"]).json()["status"] == "submitted"
    items, _ = results(api, staff, rfp["id"])
    assert items[pid]["reviews_submitted"] == 1
    assert items[pid]["weighted_total"] == pytest.approx(100.0, abs=0.005)


# --- scoring -------------------------------------------------------------------------------


def test_scores_are_checked_on_save_and_on_submit(api: Api) -> None:
    staff = api.staff()
    partner = api.partner()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    submitted_proposal(api, partner, rfp)
    [member] = panel(api, staff, rfp, 1)
    pass_deadline(rfp["id"])
    [item] = auto_assign(api, staff, rfp["id"])
    aid = item["id"]
    k = keys(rfp)
    assert all(level_values(c) == [0, 1, 2, 3, 4] for c in rfp["criteria"])

    for bad in (5, -1, 2.5):
        assert_problem(save(api, member, aid, {k[0]: bad}), 422)
    assert_problem(save(api, member, aid, {"no_such_criterion": 3}), 422)
    assert_problem(save(api, member, aid, {k[0]: 3, k[1]: 9}), 422)
    view = api.client.get(f"{V1}/assignments/{aid}", headers=member.headers).json()
    assert all(s.get("value") is None for s in view["scores"])  # a refused save stores nothing

    answer = save(api, member, aid, {k[0]: 3})  # a partial save
    assert answer.status_code == 200
    # An autosave answers with the scores as saved, not the whole proposal again.
    assert "proposal" not in answer.json()
    assert [(s["criterion_key"], s["value"]) for s in answer.json()["scores"]] == [(k[0], 3)]
    view = api.client.get(f"{V1}/assignments/{aid}", headers=member.headers).json()
    saved = {s["criterion_key"]: s for s in view["scores"] if s.get("value") is not None}
    assert set(saved) == {k[0]}
    assert saved[k[0]]["value"] == 3 and saved[k[0]]["comment"] == note(k[0], 3)
    problem = assert_problem(submit(api, member, aid), 422)
    for key in k[1:]:
        assert key in errors_text(problem), f"{key} is unscored"

    values = row(rfp, [3, 1, 0, 2, 4, 4, 4, 4])
    no_comments: dict[str, str | None] = dict.fromkeys(k[1:])  # no comment field at all
    no_comments[k[2]] = ""  # an empty comment is no comment either
    assert save(api, member, aid, values, no_comments).status_code == 200
    problem = assert_problem(submit(api, member, aid), 422)
    text = errors_text(problem)
    assert k[1] in text and k[2] in text  # 1 and 0 are below the midpoint of 0-4
    assert k[3] not in text  # 2 is the midpoint itself: no comment needed
    assert k[0] not in text and k[4] not in text

    fixed = {**no_comments, k[1]: "Thin staffing plan.", k[2]: "No services plan."}
    assert save(api, member, aid, values, fixed).status_code == 200
    done = submit(api, member, aid)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "submitted"
    view = api.client.get(f"{V1}/assignments/{aid}", headers=member.headers).json()
    assert view["status"] == "submitted"
    assert {s["criterion_key"]: s["value"] for s in view["scores"]} == values
    assert_problem(save(api, member, aid, values, fixed), 409)
    # Staff score only the interviews they sit on: a reviewer's assignment is not theirs.
    assert_problem(save(api, staff, aid, values), 404)
    assert_problem(save(api, partner, aid, values), 403)


def test_points_scale_accepts_only_its_levels_and_totals_by_value(api: Api) -> None:
    staff = api.staff(kind="district")
    partner = api.unit(staff)
    rfp = published_rfp(api, staff, "internal-lead-partner", reviewers_per_proposal=1)
    pid = submitted_proposal(api, partner, rfp)["id"]
    [member] = panel(api, staff, rfp, 1)
    pass_deadline(rfp["id"])
    [item] = auto_assign(api, staff, rfp["id"])
    aid = item["id"]
    k = keys(rfp)
    assert all(level_values(c) == [0, 1, 3, 5] for c in rfp["criteria"])
    for bad in (2, 4, 6):
        assert_problem(save(api, member, aid, {k[0]: bad}), 422)

    values = row(rfp, [5, 3, 1, 0, 3])
    # The midpoint of 0/1/3/5 is 2.5: the 1 and the 0 need a comment, the 3 does not.
    bare: dict[str, str | None] = dict.fromkeys(k, None)
    assert save(api, member, aid, values, bare).status_code == 200
    text = errors_text(assert_problem(submit(api, member, aid), 422))
    assert k[2] in text and k[3] in text
    assert k[1] not in text
    score_all(api, member, aid, values)

    items, _ = results(api, staff, rfp["id"])
    expected = expected_total(rfp, {key: float(v) for key, v in values.items()})
    assert items[pid]["weighted_total"] == pytest.approx(expected, abs=0.005)


# --- results ---------------------------------------------------------------------------------


def scored_panel(api: Api) -> dict[str, Any]:
    """A closed state RFP: four proposals, three reviewers each, known scores.

    A gets every top level; B and C get the same scores from different reviewers (a tie);
    D is low and its third review is saved but not submitted, so it must not count.
    """
    staff = api.staff()
    rfp = published_rfp(api, staff, **LEAN)
    assert rfp["reviewers_per_proposal"] == 3 and rfp["aggregation"] == "mean"
    assert keys(rfp) == [
        "accountability_for_results",
        "authority_and_staffing",
        "services_integration",
        "embedded_presence",
        "school_model",
        "experience",
        "willingness_and_readiness",
        "competencies_and_capacity",
    ]
    partners = {label: api.partner() for label in "ABCD"}
    pids = {label: submitted_proposal(api, p, rfp)["id"] for label, p in partners.items()}
    reviewers = panel(api, staff, rfp, 3)
    pass_deadline(rfp["id"])
    items = auto_assign(api, staff, rfp["id"])
    assert len(items) == 12

    b_rows = [
        row(rfp, [3, 2, 4, 1, 3, 2, 3, 4]),
        row(rfp, [2, 2, 3, 3, 3, 2, 4, 4]),
        row(rfp, [3, 3, 4, 3, 2, 2, 3, 4]),
    ]
    plan = {
        "A": [row(rfp, [4] * 8)] * 3,
        "B": b_rows,
        "C": [b_rows[1], b_rows[2], b_rows[0]],
        "D": [row(rfp, [1] * 8), row(rfp, [2] * 8), row(rfp, [0] * 8)],
    }
    label_of = {pid: label for label, pid in pids.items()}
    index_of = {r.id: n for n, r in enumerate(reviewers)}
    submitted: dict[str, list[dict[str, int]]] = {label: [] for label in pids}
    for item in items:
        label, n = label_of[item["proposal_id"]], index_of[item["reviewer_id"]]
        values = plan[label][n]
        if label == "D" and n == 2:
            assert save(api, reviewers[n], item["id"], values).status_code == 200
        else:
            score_all(api, reviewers[n], item["id"], values)
            submitted[label].append(values)
    return {
        "staff": staff,
        "rfp": rfp,
        "partners": partners,
        "pids": pids,
        "reviewers": reviewers,
        "submitted": submitted,
    }


def test_results_compute_means_totals_flags_and_tied_ranks(api: Api) -> None:
    ctx = scored_panel(api)
    rfp, pids, submitted = ctx["rfp"], ctx["pids"], ctx["submitted"]
    items, body = results(api, ctx["staff"], rfp["id"])
    assert len(body["items"]) == 4

    totals = {}
    for label, pid in pids.items():
        item = items[pid]
        assert item["organization_id"] == ctx["partners"][label].organization_id
        assert item["reviews_assigned"] == 3
        assert item["reviews_submitted"] == len(submitted[label])
        means = {key: mean([r[key] for r in submitted[label]]) for key in keys(rfp)}
        totals[label] = expected_total(rfp, means)
        assert item["weighted_total"] == pytest.approx(totals[label], abs=0.005), label
        assert 0 <= item["normalized_total"] <= 100
        criteria = {c["key"]: c for c in item["criteria"]}
        assert list(criteria) == keys(rfp)
        for criterion in rfp["criteria"]:
            got = criteria[criterion["key"]]
            sent = [r[criterion["key"]] for r in submitted[label]]
            assert got["mean"] == pytest.approx(means[criterion["key"]], abs=0.005)
            assert values_of(got["scores"]) == sorted(sent), (label, criterion["key"])
            assert got["flagged"] is expected_flag(criterion, sent), (label, criterion["key"])
            assert got["consensus"] is None

    assert totals["A"] == pytest.approx(100.0)
    assert totals["B"] == pytest.approx(69.75) and totals["D"] == pytest.approx(37.5)
    ranks = {label: items[pid]["rank"] for label, pid in pids.items()}
    assert ranks == competition_ranks(totals) == {"A": 1, "B": 2, "C": 2, "D": 4}
    # B's "embedded presence" got 1, 3 and 3: two levels apart, so flagged; nothing else is.
    flagged = {
        (label, c["key"])
        for label, pid in pids.items()
        for c in items[pid]["criteria"]
        if c["flagged"]
    }
    assert flagged == {("B", "embedded_presence"), ("C", "embedded_presence")}
    assert set(body["agreement"]) == set(keys(rfp))
    assert all(v is None or isinstance(v, int | float) for v in body["agreement"].values())


def test_consensus_replaces_the_mean_and_results_export_as_csv(api: Api) -> None:
    ctx = scored_panel(api)
    staff, rfp, pids, submitted = ctx["staff"], ctx["rfp"], ctx["pids"], ctx["submitted"]
    d = pids["D"]
    k = keys(rfp)
    assert_problem(set_consensus(api, staff, d, k[0], 7), 422)
    assert_problem(set_consensus(api, staff, d, "no_such_criterion", 2), 422)
    assert_problem(set_consensus(api, ctx["partners"]["D"], d, k[0], 4), 403)
    assert_problem(set_consensus(api, ctx["reviewers"][0], d, k[0], 4), 403)
    assert_problem(set_consensus(api, api.staff(state="MD"), d, k[0], 4), 404)
    response = set_consensus(api, staff, d, k[0], 4)
    assert response.status_code == 200, response.text

    items, _ = results(api, staff, rfp["id"])
    means = {key: mean([r[key] for r in submitted["D"]]) for key in k}
    criteria = {c["key"]: c for c in items[d]["criteria"]}
    assert criteria[k[0]]["consensus"] == 4
    assert criteria[k[0]]["mean"] == pytest.approx(means[k[0]])  # the mean is still shown
    assert all(criteria[key]["consensus"] is None for key in k[1:])
    expected = expected_total(rfp, {**means, k[0]: 4.0})
    assert expected == pytest.approx(46.875)
    assert items[d]["weighted_total"] == pytest.approx(expected, abs=0.005)

    export = api.client.get(f"{V1}/rfps/{rfp['id']}/results.csv", headers=staff.headers)
    assert export.status_code == 200, export.text
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(export.text)))
    rows = [r for r in rows if any(cell.strip() for cell in r)]
    assert len(rows) == 1 + 4  # a header and one row per proposal
    for item in items.values():
        matching = [r for r in rows[1:] if item["proposal_id"] in r or item["organization_id"] in r]
        assert len(matching) == 1, item["proposal_id"]


# --- finalization, debrief, preferred providers ------------------------------------------------


def decision_panel(api: Api) -> dict[str, Any]:
    """A closed VA state RFP, three proposals, two reviewers each; one review left pending.

    top: every top level (100). gated: top levels except a criterion with a minimum level,
    where it gets one below and at the minimum (mean below it). low: 2s throughout (50).
    """
    staff = api.staff()
    rfp = published_rfp(api, staff, reviewers_per_proposal=2, **LEAN)
    assert rfp["approval"]["threshold"] == 70 and rfp["approval"]["top_n"] is None
    gated = next(c for c in rfp["criteria"] if c.get("min_level"))
    assert gated["min_level"] == 2
    partners = {
        "top": api.partner(states=["MD"], grade_levels=["09", "10"], capacity_clusters=3),
        "gated": api.partner(),
        "low": api.partner(),
    }
    pids = {label: submitted_proposal(api, p, rfp)["id"] for label, p in partners.items()}
    reviewers = panel(api, staff, rfp, 2)
    pass_deadline(rfp["id"])
    items = auto_assign(api, staff, rfp["id"])
    assert len(items) == 6
    top_row = row(rfp, [4] * len(rfp["criteria"]))
    plan = {
        "top": [top_row, top_row],
        "gated": [{**top_row, gated["key"]: 1}, {**top_row, gated["key"]: 2}],
        "low": [row(rfp, [2] * len(rfp["criteria"]))] * 2,
    }
    label_of = {pid: label for label, pid in pids.items()}
    index_of = {r.id: n for n, r in enumerate(reviewers)}
    pending = None
    for item in items:
        label, n = label_of[item["proposal_id"]], index_of[item["reviewer_id"]]
        if label == "low" and n == 1:
            assert save(api, reviewers[n], item["id"], plan[label][n]).status_code == 200
            pending = (reviewers[n], item["id"], plan[label][n])
        else:
            score_all(api, reviewers[n], item["id"], plan[label][n])
    assert pending is not None
    totals = {
        label: expected_total(rfp, {key: mean([r[key] for r in plan[label]]) for key in keys(rfp)})
        for label in plan
    }
    return {
        "staff": staff,
        "rfp": rfp,
        "gated": gated,
        "partners": partners,
        "pids": pids,
        "reviewers": reviewers,
        "plan": plan,
        "totals": totals,
        "pending": pending,
    }


def finalized_panel(api: Api) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    ctx = decision_panel(api)
    score_all(api, *ctx["pending"])
    response = finalize(api, ctx["staff"], ctx["rfp"]["id"])
    assert response.status_code == 200, response.text
    return ctx, {d["proposal_id"]: d for d in response.json()["items"]}


def test_finalize_waits_for_every_review_then_records_decisions(api: Api) -> None:
    ctx = decision_panel(api)
    staff, rfp, pids, totals = ctx["staff"], ctx["rfp"], ctx["pids"], ctx["totals"]
    problem = assert_problem(finalize(api, staff, rfp["id"]), 409)  # one review still pending
    assert problem["detail"].strip()
    status = api.client.get(f"{V1}/rfps/{rfp['id']}", headers=staff.headers).json()["status"]
    assert status == "closed"
    top = ctx["partners"]["top"]
    assert_problem(
        api.client.get(f"{V1}/proposals/{pids['top']}/debrief", headers=top.headers), 404
    )
    assert api.client.get(f"{V1}/preferred-providers?state=VA").json()["total"] == 0

    score_all(api, *ctx["pending"])
    response = finalize(api, staff, rfp["id"])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 3 == len(body["items"])
    decisions = {d["proposal_id"]: d for d in body["items"]}
    assert totals["top"] == pytest.approx(100.0)
    assert totals["gated"] == pytest.approx(90.625) and totals["low"] == pytest.approx(50.0)
    expected = {"top": ("approved", 1), "gated": ("not_approved", 2), "low": ("not_approved", 3)}
    for label, (decision, rank) in expected.items():
        got = decisions[pids[label]]
        assert got["decision"] == decision, (label, got)
        assert got["rank"] == rank
        assert got["organization_id"] == ctx["partners"][label].organization_id
        assert got["weighted_total"] == pytest.approx(totals[label], abs=0.005)
        assert got["reason"].strip()
    gated_reason = decisions[pids["gated"]]["reason"]
    assert ctx["gated"]["title"] in gated_reason or ctx["gated"]["key"] in gated_reason
    low_reason = decisions[pids["low"]]["reason"]
    assert "threshold" in low_reason.lower() or "70" in low_reason

    after = api.client.get(f"{V1}/rfps/{rfp['id']}", headers=staff.headers).json()
    assert after["status"] == "finalized"
    assert_problem(finalize(api, staff, rfp["id"]), 409)
    for label, (decision, _) in expected.items():
        partner = ctx["partners"][label]
        proposal = api.client.get(f"{V1}/proposals/{pids[label]}", headers=partner.headers).json()
        assert proposal["status"] == decision


def test_debrief_gives_scores_and_comments_without_reviewer_identities(api: Api) -> None:
    ctx, decisions = finalized_panel(api)
    rfp, pids, gated = ctx["rfp"], ctx["pids"], ctx["gated"]
    partner = ctx["partners"]["gated"]
    url = f"{V1}/proposals/{pids['gated']}/debrief"
    response = api.client.get(url, headers=partner.headers)
    assert response.status_code == 200, response.text
    debrief = response.json()
    decision = decisions[pids["gated"]]
    assert debrief["decision"] == "not_approved" and debrief["reason"] == decision["reason"]
    assert debrief["rank"] == 2
    assert debrief["weighted_total"] == pytest.approx(ctx["totals"]["gated"], abs=0.005)
    criteria = {c["key"]: c for c in debrief["criteria"]}
    assert list(criteria) == keys(rfp)
    assert criteria[gated["key"]]["title"] == gated["title"]
    assert values_of(criteria[gated["key"]]["scores"]) == [1, 2]
    assert sorted(texts_of(criteria[gated["key"]]["comments"])) == sorted(
        [note(gated["key"], 1), note(gated["key"], 2)]
    )
    for member in ctx["reviewers"]:
        for identity in (member.id, member.email, member.extra["name"]):
            assert identity not in response.text, "a reviewer identity leaked into the debrief"

    assert_problem(api.client.get(url, headers=ctx["partners"]["top"].headers), 404)
    assert_problem(api.client.get(url), 401)
    own = api.client.get(
        f"{V1}/proposals/{pids['top']}/debrief", headers=ctx["partners"]["top"].headers
    )
    assert own.status_code == 200 and own.json()["decision"] == "approved"


def test_preferred_provider_list_shows_approved_partners_by_agency_state(api: Api) -> None:
    ctx, _ = finalized_panel(api)
    top = ctx["partners"]["top"]
    profile = api.client.get(
        f"{V1}/organizations/{top.organization_id}", headers=top.headers
    ).json()
    response = api.client.get(f"{V1}/preferred-providers?state=VA")  # anonymous
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] == 1 == len(body["items"])  # the two not approved are not listed
    [listing] = body["items"]
    assert listing["organization_id"] == top.organization_id
    assert listing["organization_name"] == profile["name"]
    assert listing["rfp_id"] == ctx["rfp"]["id"]
    assert listing["rank"] == 1
    assert listing["weighted_total"] == pytest.approx(100.0, abs=0.005)
    assert sorted(listing["grade_levels"]) == ["09", "10"]
    assert listing["states"] == ["MD"]
    assert listing["capacity_clusters"] == 3
    assert isinstance(listing["categories"], list)
    assert listing["valid_until"] and date.fromisoformat(listing["valid_until"][:10]) > date.today()
    # The list belongs to the agency's state (VA), not to the states the partner works in.
    elsewhere = api.client.get(f"{V1}/preferred-providers?state=MD").json()
    assert elsewhere["total"] == 0 and elsewhere["items"] == []


def test_consensus_mode_needs_every_consensus_before_finalizing(api: Api) -> None:
    staff = api.staff(kind="district")
    rfp = published_rfp(api, staff, "district-cluster-partner", reviewers_per_proposal=2, **LEAN)
    assert rfp["aggregation"] == "consensus"
    assert rfp["approval"]["all_sections_meet"] is True and rfp["approval"]["threshold"] == 75
    k = keys(rfp)
    assert all(level_values(c) == [0, 1, 2] for c in rfp["criteria"])
    partners = {"meets": api.partner(), "short": api.partner()}
    pids = {label: submitted_proposal(api, p, rfp)["id"] for label, p in partners.items()}
    reviewers = panel(api, staff, rfp, 2)
    pass_deadline(rfp["id"])
    items = auto_assign(api, staff, rfp["id"])
    assert len(items) == 4
    # Independent scores: "meets" gets 2 and 1 everywhere (mean 1.5), "short" 2 and 2.
    plan = {
        pids["meets"]: [row(rfp, [2] * len(k)), row(rfp, [1] * len(k))],
        pids["short"]: [row(rfp, [2] * len(k))] * 2,
    }
    index_of = {r.id: n for n, r in enumerate(reviewers)}
    for item in items:
        n = index_of[item["reviewer_id"]]
        score_all(api, reviewers[n], item["id"], plan[item["proposal_id"]][n])
    assert_problem(finalize(api, staff, rfp["id"]), 409)  # no consensus yet

    consensus = {
        pids["meets"]: dict.fromkeys(k, 2),
        pids["short"]: {**dict.fromkeys(k, 2), k[1]: 1},
    }
    last_pid, last_key = pids["short"], k[-1]
    for pid, values in consensus.items():
        for key, value in values.items():
            if (pid, key) != (last_pid, last_key):
                response = set_consensus(api, staff, pid, key, value)
                assert response.status_code == 200, response.text
    assert_problem(finalize(api, staff, rfp["id"]), 409)  # one consensus still missing

    found, _ = results(api, staff, rfp["id"])
    meets = {c["key"]: c for c in found[pids["meets"]]["criteria"]}
    assert all(meets[key]["mean"] == pytest.approx(1.5) for key in k)
    assert all(meets[key]["consensus"] == 2 for key in k)
    assert found[pids["meets"]]["weighted_total"] == pytest.approx(100.0, abs=0.005)  # not 75

    assert set_consensus(api, staff, last_pid, last_key, 2).status_code == 200
    response = finalize(api, staff, rfp["id"])
    assert response.status_code == 200, response.text
    decisions = {d["proposal_id"]: d for d in response.json()["items"]}
    short_total = expected_total(
        rfp, {key: float(v) for key, v in consensus[pids["short"]].items()}
    )
    assert short_total == pytest.approx(87.5)
    assert decisions[pids["meets"]]["decision"] == "approved"
    assert decisions[pids["meets"]]["weighted_total"] == pytest.approx(100.0, abs=0.005)
    short = decisions[pids["short"]]
    assert short["decision"] == "not_approved"  # above 75, but one section only partly meets
    assert short["weighted_total"] == pytest.approx(short_total, abs=0.005)
    title = rfp["criteria"][1]["title"]
    assert title in short["reason"] or k[1] in short["reason"]


# --- roles and agencies -----------------------------------------------------------------------


def test_review_endpoints_refuse_other_roles_and_other_agencies(api: Api) -> None:
    staff = api.staff()
    outsider = api.staff(state="MD")
    partner = api.partner()
    rfp = published_rfp(api, staff, reviewers_per_proposal=1)
    rid = rfp["id"]
    pid = submitted_proposal(api, partner, rfp)["id"]
    member = invited_reviewer(api, staff, rid)
    assert_problem(api.client.post(f"{V1}/rfps/{rid}/assignments/auto", headers=staff.headers), 409)
    assert_problem(finalize(api, staff, rid), 409)  # not closed yet
    pass_deadline(rid)
    [item] = auto_assign(api, staff, rid)
    aid = item["id"]
    consensus: dict[str, Any] = {"criterion_key": keys(rfp)[0], "value": 2, "rationale": "Agreed."}
    staff_only: list[Endpoint] = [
        ("POST", f"/rfps/{rid}/reviewers", {"email": "x@panel.example", "name": "X"}),
        ("POST", f"/rfps/{rid}/assignments/auto", None),
        ("POST", f"/rfps/{rid}/assignments", {"proposal_id": pid, "reviewer_id": member.id}),
        ("GET", f"/rfps/{rid}/results", None),
        ("GET", f"/rfps/{rid}/results.csv", None),
        ("PUT", f"/proposals/{pid}/consensus", consensus),
        ("POST", f"/assignments/{aid}/reopen", None),
        ("DELETE", f"/assignments/{aid}", None),
        ("POST", f"/rfps/{rid}/finalize", None),
    ]
    reviewer_only: list[Endpoint] = [
        ("GET", "/me/assignments", None),
        ("POST", f"/rfps/{rid}/attestation", ATTESTATION),
        ("PUT", f"/assignments/{aid}/scores", {"scores": []}),
        ("POST", f"/assignments/{aid}/submit", None),
    ]
    cases = [(partner, staff_only, 403), (member, staff_only, 403), (outsider, staff_only, 404)]
    cases += [(partner, reviewer_only, 403)]
    # Staff may score the interviews they sit on and list their own (none here), so a
    # reviewer's assignment is 404 to them; they never attest as a reviewer.
    cases += [(staff, reviewer_only[1:2], 403), (staff, reviewer_only[2:], 404)]
    for actor, endpoints, status in cases:
        for method, path, body in endpoints:
            response = api.client.request(method, V1 + path, json=body, headers=actor.headers)
            assert response.status_code == status, (actor.email, method, path, response.text)
            assert_problem(response, status)
    for method, path, body in staff_only + reviewer_only:
        response = api.client.request(method, V1 + path, json=body)
        assert response.status_code == 401, (method, path, response.text)
    conflict = declare_conflict(
        api, outsider, rid, partner.organization_id or "", reviewer_id=member.id
    )
    assert_problem(conflict, 404)

    # Nothing the refused callers tried has happened.
    assert api.client.get(f"{V1}/assignments/{aid}", headers=member.headers).status_code == 200
    items, _ = results(api, staff, rid)
    assert items[pid]["reviews_assigned"] == 1
    status = api.client.get(f"{V1}/rfps/{rid}", headers=staff.headers).json()["status"]
    assert status == "closed"
