"""The Lead Partner self-audit through the HTTP API."""

from tests.support import Api, assert_problem, self_audit_items


def test_items_cover_the_four_dimensions(api: Api) -> None:
    items = api.client.get("/api/v1/self-audit/items").json()["items"]
    assert len(items) == 19
    by_dimension = {
        d: sum(i["dimension"] == d for i in items)
        for d in ("experience", "willingness", "readiness", "competencies")
    }
    assert by_dimension == {"experience": 3, "willingness": 4, "readiness": 4, "competencies": 8}


def test_gap_plan_required_unless_met(api: Api) -> None:
    partner = api.partner()
    url = f"/api/v1/organizations/{partner.organization_id}/self-audit"
    items = self_audit_items()
    items[0] = {"key": items[0]["key"], "rating": "partial", "evidence": "Some."}
    items[1] = {"key": "experience.unknown", "rating": "met", "evidence": "?"}
    body = assert_problem(api.client.put(url, json={"items": items}, headers=partner.headers), 422)
    locs = [e["loc"][-1] for e in body["errors"]]
    assert "experience.high_poverty" in locs
    assert "items" in locs
    bad_strategy = [
        {
            "key": "experience.turnaround",
            "rating": "not_met",
            "gap_plan": {"strategy": "pray", "text": "x"},
        }
    ]
    assert_problem(api.client.put(url, json={"items": bad_strategy}, headers=partner.headers), 422)
    assert api.client.get(url, headers=partner.headers).json()["items"] == []  # nothing half-saved


def test_profile_and_missing_responsibilities(api: Api) -> None:
    partner = api.partner()
    url = f"/api/v1/organizations/{partner.organization_id}/self-audit"
    items = self_audit_items()
    for item in items:
        if item["key"] in ("willingness.accountability", "readiness.capital"):
            item["rating"] = "not_met"
            item["gap_plan"] = {"strategy": "develop", "text": "Train the team."}
    saved = api.client.put(url, json={"items": items}, headers=partner.headers)
    assert saved.status_code == 200, saved.text
    body = saved.json()
    assert body["complete"] is True
    assert body["profile"]["willingness"]["share_met"] == 0.75
    assert body["profile"]["readiness"]["share_not_met"] == 0.25
    assert body["profile"]["experience"]["share_met"] == 1.0
    assert body["missing_responsibilities"] == ["accountability"]
    partial = api.client.put(url, json={"items": items[:5]}, headers=partner.headers).json()
    assert partial["complete"] is False
    assert len(partial["missing_items"]) == 14


def test_self_audit_is_private_to_the_organization(api: Api) -> None:
    a = api.partner()
    b = api.partner()
    staff = api.staff()
    url = f"/api/v1/organizations/{a.organization_id}/self-audit"
    for actor in (b, staff):
        assert_problem(api.client.get(url, headers=actor.headers), 404)
        assert_problem(api.client.put(url, json={"items": []}, headers=actor.headers), 404)
    assert_problem(api.client.get("/api/v1/organizations/nope/self-audit", headers=a.headers), 404)
