"""Finalist interviews: after the written review, staff mark finalists; an interview panel
scores them on the interview rubric; the final total combines both stages by the RFP's
weight, the approval rule applies to the combined total, and debriefs show both stages."""

from typing import Any

import httpx

from tests.support import Actor, Api, assert_problem, district_cluster, invited_reviewer
from tests.web_support import Person, text_of
from tests.worlds import reviewed_rfp

V1 = "/api/v1"
WEIGHT = 40.0
INTERVIEW = {
    "weight": WEIGHT,
    "criteria": [
        {
            "key": "interview_vision",
            "title": "Vision for the cluster",
            "weight": 60,
            "levels": [{"value": v, "descriptor": f"Level {v}"} for v in range(5)],
        },
        {
            "key": "interview_team",
            "title": "The leadership team in person",
            "weight": 40,
            "levels": [{"value": v, "descriptor": f"Level {v}"} for v in range(5)],
        },
    ],
}
SETTINGS = {
    "aggregation": "mean",
    "approval": {"threshold": 60, "all_sections_meet": False},
    "stages": {"interview": INTERVIEW},
}


def _score(api: Api, reviewer: Actor, assignment_id: str, levels: dict[str, int]) -> Any:
    return api.client.put(
        f"{V1}/assignments/{assignment_id}/scores",
        json={
            "scores": [
                {"criterion_key": k, "value": v, "comment": "Seen in the interview."}
                for k, v in levels.items()
            ]
        },
        headers=reviewer.headers,
    )


def test_two_stages_combine_by_weight_and_the_rule_applies_to_the_combined_total(
    api: Api,
) -> None:
    staff = api.staff(kind="district")
    cluster = district_cluster(api, staff)["id"]
    strong, middling, weak = (api.partner() for _ in range(3))
    rfp = reviewed_rfp(
        staff,
        [strong, middling, weak],
        [[2] * 7, [2, 1, 2, 1, 2, 1, 2], [1] * 7],
        template="district-cluster-partner",
        clusters=[[cluster]] * 3,
        cluster_ids=[cluster],
        **SETTINGS,
    )
    proposals = api.client.get(f"{V1}/rfps/{rfp.id}/proposals", headers=staff.headers).json()
    pid = {p["organization_id"]: p["id"] for p in proposals["items"]}
    url = f"{V1}/rfps/{rfp.id}/finalists"
    chosen = [pid[strong.organization_id], pid[middling.organization_id]]
    assert_problem(
        api.client.post(url, json={"proposal_ids": ["nope"]}, headers=staff.headers), 422
    )
    assert_problem(api.client.post(url, json={"proposal_ids": chosen}, headers=strong.headers), 403)
    marked = api.client.post(url, json={"proposal_ids": chosen}, headers=staff.headers)
    assert marked.status_code == 200 and sorted(marked.json()["proposal_ids"]) == sorted(chosen)
    # Finalizing waits for the interviews.
    waiting = assert_problem(
        api.client.post(f"{V1}/rfps/{rfp.id}/finalize", headers=staff.headers), 409
    )
    assert waiting["type"].endswith("interviews-pending")

    interviewer = invited_reviewer(api, staff, rfp.id)
    assign = f"{V1}/rfps/{rfp.id}/assignments"
    not_finalist = {
        "proposal_id": pid[weak.organization_id],
        "reviewer_id": interviewer.id,
        "stage": "interview",
    }
    assert_problem(api.client.post(assign, json=not_finalist, headers=staff.headers), 422)
    ids = {}
    for partner in (strong, middling):
        made = api.client.post(
            assign,
            json={
                "proposal_id": pid[partner.organization_id],
                "reviewer_id": interviewer.id,
                "stage": "interview",
            },
            headers=staff.headers,
        )
        assert made.status_code == 201 and made.json()["stage"] == "interview", made.text
        ids[partner.organization_id] = made.json()["id"]
    detail = api.client.get(
        f"{V1}/assignments/{ids[strong.organization_id]}", headers=interviewer.headers
    ).json()
    assert [c["key"] for c in detail["criteria"]] == ["interview_vision", "interview_team"]
    assert detail["stage"] == "interview"
    # The written rubric's criteria are not the interview's.
    assert_problem(
        _score(api, interviewer, ids[strong.organization_id], {"cluster_knowledge": 2}), 422
    )
    levels = {
        strong.organization_id: {"interview_vision": 4, "interview_team": 4},
        middling.organization_id: {"interview_vision": 1, "interview_team": 1},
    }
    for organization_id, assignment_id in ids.items():
        assert _score(api, interviewer, assignment_id, levels[organization_id]).status_code == 200
        submitted = api.client.post(
            f"{V1}/assignments/{assignment_id}/submit", headers=interviewer.headers
        )
        assert submitted.status_code == 200, submitted.text

    results = api.client.get(f"{V1}/rfps/{rfp.id}/results", headers=staff.headers).json()
    rows = {r["organization_id"]: r for r in results["items"]}
    assert rows[strong.organization_id]["interview_total"] == 100.0
    assert rows[middling.organization_id]["interview_total"] == 25.0
    assert rows[weak.organization_id]["finalist"] is False
    assert rows[weak.organization_id]["interview_total"] is None

    final = api.client.post(f"{V1}/rfps/{rfp.id}/finalize", headers=staff.headers)
    assert final.status_code == 200, final.text
    decided = {d["organization_id"]: d for d in final.json()["items"]}
    for partner in (strong, middling):
        d = decided[partner.organization_id]
        expected = ((100 - WEIGHT) * d["written_total"] + WEIGHT * d["interview_total"]) / 100
        assert abs(d["weighted_total"] - expected) < 1e-9
    # The middling applicant passes on its written total (77.5) but not once combined (56.5).
    assert decided[middling.organization_id]["written_total"] == 77.5
    assert decided[middling.organization_id]["decision"] == "not_approved"
    assert decided[strong.organization_id]["decision"] == "approved"
    assert decided[weak.organization_id]["decision"] == "not_approved"
    assert "finalist" in decided[weak.organization_id]["reason"]
    [award] = final.json()["awards"]
    assert award["organization_id"] == strong.organization_id

    debrief = api.client.get(
        f"{V1}/proposals/{pid[middling.organization_id]}/debrief", headers=middling.headers
    ).json()
    assert debrief["written_total"] == 77.5 and debrief["interview_total"] == 25.0
    assert [c["scores"] for c in debrief["interview_criteria"]] == [[1], [1]]
    assert interviewer.extra["name"] not in str(debrief) and interviewer.email not in str(debrief)
    weak_debrief = api.client.get(
        f"{V1}/proposals/{pid[weak.organization_id]}/debrief", headers=weak.headers
    ).json()
    assert weak_debrief["interview_criteria"] == [] and weak_debrief["interview_total"] is None


def test_finalists_need_an_interview_stage_and_the_written_reviews(api: Api) -> None:
    staff = api.staff()
    partner = api.partner()
    rfp = reviewed_rfp(staff, [partner], [3])
    proposals = api.client.get(f"{V1}/rfps/{rfp.id}/proposals", headers=staff.headers).json()
    body = {"proposal_ids": [proposals["items"][0]["id"]]}
    refused = assert_problem(
        api.client.post(f"{V1}/rfps/{rfp.id}/finalists", json=body, headers=staff.headers), 409
    )
    assert refused["type"].endswith("no-interview-stage")
    # An interview rubric must be a rubric: its weights total 100, its keys its own.
    bad = {**INTERVIEW, "criteria": [{**INTERVIEW["criteria"][0], "weight": 50}]}
    draft = api.client.post(
        f"{V1}/rfps",
        json={
            "template_key": "state-preferred-provider",
            "title": "Two stages",
            "submission_deadline": "2031-01-01T00:00:00Z",
            "stages": {"interview": bad},
        },
        headers=staff.headers,
    ).json()
    problem = assert_problem(
        api.client.post(f"{V1}/rfps/{draft['id']}/publish", headers=staff.headers), 422
    )
    assert ["stages", "interview", "criteria"] in [e["loc"] for e in problem["errors"]]
    clash = {
        **INTERVIEW,
        "criteria": [{**INTERVIEW["criteria"][0], "key": "experience", "weight": 100}],
    }
    made = api.client.post(
        f"{V1}/rfps",
        json={
            "template_key": "state-preferred-provider",
            "title": "Clashing keys",
            "submission_deadline": "2031-01-01T00:00:00Z",
            "stages": {"interview": clash},
        },
        headers=staff.headers,
    )
    assert_problem(made, 422)


def test_staff_mark_finalists_and_assign_interviews_on_the_pages(
    api: Api, client: httpx.Client
) -> None:
    staff = api.staff(kind="district")
    cluster = district_cluster(api, staff)["id"]
    first, second = api.partner(), api.partner()
    rfp = reviewed_rfp(
        staff,
        [first, second],
        [[2] * 7, [1] * 7],
        template="district-cluster-partner",
        clusters=[[cluster]] * 2,
        cluster_ids=[cluster],
        **SETTINGS,
    )
    proposals = api.client.get(f"{V1}/rfps/{rfp.id}/proposals", headers=staff.headers).json()
    pid = {p["organization_id"]: p["id"] for p in proposals["items"]}
    person = Person(client).sign_in(staff.email)
    results = text_of(person.get(f"/manage/rfps/{rfp.id}/results"))
    assert "Combined (40.0% interview)" in results and "Save the finalists" in results
    done = person.post(
        f"/manage/rfps/{rfp.id}/finalists", {"proposal_ids": pid[first.organization_id]}
    )
    assert done.status_code == 303, done.text
    after = text_of(person.get(done.headers["location"]))
    assert "The finalists are marked" in after and "not a finalist" in after
    interviewer = invited_reviewer(api, staff, rfp.id)
    assert "Finalist interview" in person.get(f"/manage/rfps/{rfp.id}/panel")
    refused = person.post(
        f"/manage/rfps/{rfp.id}/assignments",
        {
            "proposal_id": pid[second.organization_id],
            "reviewer_id": interviewer.id,
            "stage": "interview",
        },
    )
    assert refused.status_code == 422 and "Only a finalist is interviewed" in refused.text
    made = person.post(
        f"/manage/rfps/{rfp.id}/assignments",
        {
            "proposal_id": pid[first.organization_id],
            "reviewer_id": interviewer.id,
            "stage": "interview",
        },
    )
    assert made.status_code == 303, made.text
    [mine] = api.client.get(f"{V1}/me/assignments", headers=interviewer.headers).json()["items"]
    assert mine["stage"] == "interview"
    scorer = Person(client).sign_in(interviewer.email)
    page = text_of(scorer.get(f"/review/assignments/{mine['id']}"))
    assert "Vision for the cluster" in page and "The leadership team in person" in page


def test_district_staff_sit_on_the_interview_panel_of_their_own_direct_award(
    api: Api, client: httpx.Client
) -> None:
    staff = api.staff(kind="district")
    colleague = api.staff(staff.agency_id)
    cluster = district_cluster(api, staff)["id"]
    partner = api.partner()
    rfp = reviewed_rfp(
        staff,
        [partner],
        [[2] * 7],
        template="district-cluster-partner",
        clusters=[[cluster]],
        cluster_ids=[cluster],
        **SETTINGS,
    )
    [proposal] = api.client.get(f"{V1}/rfps/{rfp.id}/proposals", headers=staff.headers).json()[
        "items"
    ]
    api.client.post(
        f"{V1}/rfps/{rfp.id}/finalists",
        json={"proposal_ids": [proposal["id"]]},
        headers=staff.headers,
    )
    assign = f"{V1}/rfps/{rfp.id}/assignments"
    # Staff interview; they never take a written review, and another agency's staff never sit.
    written = {"proposal_id": proposal["id"], "reviewer_id": colleague.id}
    assert_problem(api.client.post(assign, json=written, headers=staff.headers), 422)
    outsider = api.staff(kind="district")
    elsewhere = {"proposal_id": proposal["id"], "reviewer_id": outsider.id, "stage": "interview"}
    assert_problem(api.client.post(assign, json=elsewhere, headers=staff.headers), 422)
    made = api.client.post(assign, json={**written, "stage": "interview"}, headers=staff.headers)
    assert made.status_code == 201, made.text
    # On the colleague's dashboard and scoring page, with the interview rubric.
    person = Person(client).sign_in(colleague.email)
    assert "Finalist interviews you score" in text_of(person.get("/dashboard"))
    page = person.get(f"/review/assignments/{made.json()['id']}")
    assert "Vision for the cluster" in text_of(page)
    saved = person.post(
        f"/review/assignments/{made.json()['id']}",
        {
            "score.interview_vision": "3",
            "score.interview_team": "4",
            "comment.interview_vision": "Clear.",
            "comment.interview_team": "Strong.",
            "action": "submit",
        },
    )
    assert saved.status_code == 303, saved.text
    results = api.client.get(f"{V1}/rfps/{rfp.id}/results", headers=staff.headers).json()
    assert results["items"][0]["interview_total"] == 85.0  # 60% of 3/4 plus 40% of 4/4
    final = api.client.post(f"{V1}/rfps/{rfp.id}/finalize", headers=staff.headers)
    assert final.status_code == 200, final.text
    assert final.json()["items"][0]["weighted_total"] == 94.0  # 60% of 100 + 40% of 85
