"""Listings say what each provider was approved for: categories are earned from the levels
reached on the criteria that evidence each needs area, corrected only by an audited PATCH,
and read by matching."""

from typing import Any

from tests.support import Actor, Api, assert_problem, district_cluster
from tests.worlds import reviewed_rfp

V1 = "/api/v1"
# The state template's criteria, in order; school_model evidences rigorous instruction,
# extended day and social-emotional learning; authority_and_staffing human capital and
# policy and legal (rfp_templates/state-preferred-provider.yaml).
SCHOOL_MODEL_STRONG = [3, 3, 3, 3, 4, 3, 3, 3]
STAFFING_STRONG = [3, 4, 3, 3, 3, 3, 3, 3]


def _listings(api: Api) -> dict[str, dict[str, Any]]:
    items = api.client.get(f"{V1}/preferred-providers?state=VA").json()["items"]
    return {row["organization_id"]: row for row in items}


def _finalized(api: Api, staff: Actor, partners: list[Actor]) -> None:
    rfp = reviewed_rfp(
        staff, partners, [SCHOOL_MODEL_STRONG, STAFFING_STRONG], category_min_level=4
    )
    response = api.client.post(f"{V1}/rfps/{rfp.id}/finalize", headers=staff.headers)
    assert response.status_code == 200, response.text
    assert {d["decision"] for d in response.json()["items"]} == {"approved"}


def test_categories_are_earned_from_criterion_levels(api: Api) -> None:
    state = api.agency("state", "VA")
    staff = api.staff(state["id"])
    model, staffing = api.partner(), api.partner()
    _finalized(api, staff, [model, staffing])
    listed = _listings(api)
    assert listed[model.organization_id]["categories"] == [
        "extended_day",
        "rigorous_instruction",
        "social_emotional_learning",
    ]
    assert listed[staffing.organization_id]["categories"] == ["human_capital", "policy_and_legal"]
    # The public list filters by what each provider was approved for, on the API and the page.
    url = f"{V1}/preferred-providers?state=VA&category=extended_day"
    filtered = api.client.get(url).json()["items"]
    assert [row["organization_id"] for row in filtered] == [model.organization_id]
    assert_problem(api.client.get(f"{V1}/preferred-providers?category=astrology"), 422)
    page = api.client.get("/preferred-providers?state=VA&category=human_capital").text
    assert "1 listed provider in VA approved for" in page


def test_categories_change_only_by_an_audited_patch_of_the_listing_agency(api: Api) -> None:
    state = api.agency("state", "VA")
    staff = api.staff(state["id"])
    model, staffing = api.partner(), api.partner()
    _finalized(api, staff, [model, staffing])
    listing = _listings(api)[model.organization_id]
    url = f"{V1}/preferred-providers/{listing['id']}"
    body = {
        "categories": ["rigorous_instruction", "community_engagement"],
        "reason": "The interview showed strong community engagement work.",
    }
    assert_problem(api.client.patch(url, json=body, headers=model.headers), 403)
    other_state = api.staff(api.agency("state", "MD")["id"])
    assert_problem(api.client.patch(url, json=body, headers=other_state.headers), 404)
    assert_problem(api.client.patch(url, json={**body, "reason": " "}, headers=staff.headers), 422)
    assert_problem(
        api.client.patch(url, json={**body, "categories": ["astrology"]}, headers=staff.headers),
        422,
    )
    assert_problem(
        api.client.patch(f"{V1}/preferred-providers/nope", json=body, headers=staff.headers), 404
    )
    changed = api.client.patch(url, json=body, headers=staff.headers)
    assert changed.status_code == 200, changed.text
    assert changed.json()["categories"] == ["community_engagement", "rigorous_instruction"]
    assert _listings(api)[model.organization_id]["categories"] == changed.json()["categories"]
    events = api.client.get(
        f"{V1}/audit", params={"limit": "200"}, headers=api.admin.headers
    ).json()["items"]
    [event] = [e for e in events if e["action"] == "listing.categories_changed"]
    assert event["entity_id"] == listing["id"]
    assert event["data"]["added"] == ["community_engagement"]
    assert event["data"]["removed"] == ["extended_day", "social_emotional_learning"]
    assert event["data"]["reason"] == body["reason"]


def test_matching_tells_providers_apart_by_the_categories_they_earned(api: Api) -> None:
    state = api.agency("state", "VA")
    staff = api.staff(state["id"])
    model = api.partner(capacity_clusters=1)
    staffing = api.partner(capacity_clusters=1)
    _finalized(api, staff, [model, staffing])
    district = api.agency("district", "VA", parent_id=state["id"])
    district_staff = api.staff(district["id"])
    instruction = district_cluster(api, district_staff, needs=["rigorous_instruction"])
    people = district_cluster(api, district_staff, needs=["human_capital"])
    run = api.client.post(
        f"{V1}/agencies/{district['id']}/matching-runs", json={}, headers=district_staff.headers
    )
    assert run.status_code == 201, run.text
    matched = {m["cluster_id"]: m for m in run.json()["matches"]}
    assert matched[instruction["id"]]["organization_id"] == model.organization_id
    assert matched[people["id"]]["organization_id"] == staffing.organization_id
    # Each wins on needs: full needs points for its own cluster.
    assert matched[instruction["id"]]["breakdown"]["needs"] == 20.0
    assert matched[people["id"]]["breakdown"]["needs"] == 20.0
