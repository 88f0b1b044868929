"""RFP issuance through the HTTP API: templates, lifecycle, ETags, addenda, questions."""

from typing import Any

from sqlalchemy import text

from app.core.db import get_engine
from tests.support import Api, assert_problem, create_rfp, future, pass_deadline, published_rfp


def test_templates_listed_and_prefill_a_draft(api: Api) -> None:
    listed = api.client.get("/api/v1/rfp-templates").json()
    keys = {t["key"] for t in listed["items"]}
    assert {"state-preferred-provider", "district-cluster-partner", "internal-lead-partner"} <= keys
    template = api.client.get("/api/v1/rfp-templates/district-cluster-partner").json()
    staff = api.staff()
    rfp = create_rfp(api, staff, "district-cluster-partner")
    assert rfp["status"] == "draft"
    assert rfp["agency_id"] == staff.agency_id
    assert [s["key"] for s in rfp["sections"]] == [s["key"] for s in template["sections"]]
    assert rfp["criteria"] == template["criteria"]
    assert rfp["approval"]["all_sections_meet"] is True
    assert rfp["aggregation"] == "consensus"
    assert_problem(api.client.get("/api/v1/rfp-templates/nope"), 404)


def test_every_template_scale_is_expressible() -> None:
    from app.rfps.templates import all_templates

    scales = {
        key: sorted({tuple(lv.value for lv in c.levels) for c in t.criteria})
        for key, t in all_templates().items()
    }
    assert scales["state-preferred-provider"] == [(0, 1, 2, 3, 4)]
    assert scales["district-cluster-partner"] == [(0, 1, 2)]
    assert scales["internal-lead-partner"] == [(0, 1, 3, 5)]
    internal = all_templates()["internal-lead-partner"]
    assert any(c.multiplier != 1 for c in internal.criteria)


def test_create_requires_staff_and_an_offset_deadline(api: Api) -> None:
    body = {"title": "X", "submission_deadline": future()}
    assert_problem(api.client.post("/api/v1/rfps", json=body), 401)
    assert_problem(api.client.post("/api/v1/rfps", json=body, headers=api.partner().headers), 403)
    staff = api.staff()
    naive = {"title": "X", "submission_deadline": "2030-01-01T12:00:00"}
    assert_problem(api.client.post("/api/v1/rfps", json=naive, headers=staff.headers), 422)
    unknown = {**body, "template_key": "nope"}
    assert_problem(api.client.post("/api/v1/rfps", json=unknown, headers=staff.headers), 422)


def test_draft_is_visible_only_to_its_agency(api: Api) -> None:
    staff = api.staff()
    other = api.staff(state="MD")
    partner = api.partner()
    rfp = create_rfp(api, staff)
    url = f"/api/v1/rfps/{rfp['id']}"
    assert api.client.get(url, headers=staff.headers).status_code == 200
    for headers in ({}, other.headers, partner.headers):
        assert_problem(api.client.get(url, headers=headers), 404)
        assert_problem(api.client.get(url + "/document.pdf", headers=headers), 404)
    assert api.client.get("/api/v1/rfps").json()["total"] == 0
    assert api.client.get("/api/v1/rfps", headers=staff.headers).json()["total"] == 1
    assert_problem(api.client.patch(url, json={"title": "Hijack"}, headers=other.headers), 404)
    assert_problem(api.client.post(url + "/publish", headers=other.headers), 404)


def test_patch_replaces_lists_and_checks_etag(api: Api) -> None:
    staff = api.staff()
    rfp = create_rfp(api, staff)
    url = f"/api/v1/rfps/{rfp['id']}"
    first = api.client.get(url, headers=staff.headers)
    etag = first.headers["ETag"]
    sections = [
        {
            "key": "plan",
            "title": "Plan",
            "prompt": "Describe it.",
            "word_limit": 500,
            "required": True,
        }
    ]
    patched = api.client.patch(
        url, json={"sections": sections}, headers={**staff.headers, "If-Match": etag}
    )
    assert patched.status_code == 200, patched.text
    assert [s["key"] for s in patched.json()["sections"]] == ["plan"]
    assert patched.headers["ETag"] != etag
    stale = api.client.patch(
        url, json={"title": "Late edit"}, headers={**staff.headers, "If-Match": etag}
    )
    assert_problem(stale, 412)
    # Weights that do not total 100 are fine while drafting.
    criteria = [
        {"key": "a", "title": "A", "weight": 10, "levels": [{"value": 0, "descriptor": "No"}]}
    ]
    assert (
        api.client.patch(url, json={"criteria": criteria}, headers=staff.headers).status_code == 200
    )
    duplicate = api.client.patch(url, json={"sections": sections * 2}, headers=staff.headers)
    assert_problem(duplicate, 422)


def test_publish_lists_every_problem_at_once(api: Api) -> None:
    staff = api.staff()
    rfp = create_rfp(api, staff)
    url = f"/api/v1/rfps/{rfp['id']}"
    criteria = [
        {
            "key": "a",
            "title": "A",
            "weight": 50,
            "levels": [{"value": 0, "descriptor": "None"}, {"value": 1, "descriptor": ""}],
        },
        {
            "key": "b",
            "title": "B",
            "weight": 30,
            "levels": [{"value": 1, "descriptor": "Only one level"}],
        },
    ]
    assert (
        api.client.patch(url, json={"criteria": criteria}, headers=staff.headers).status_code == 200
    )
    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE rfps SET submission_deadline = '2001-01-01 00:00:00+00:00' WHERE id = :i"),
            {"i": rfp["id"]},
        )
    body = assert_problem(api.client.post(url + "/publish", headers=staff.headers), 422)
    messages = " | ".join(e["msg"] for e in body["errors"])
    assert "deadline must be in the future" in messages
    assert "add up to 80" in messages
    assert "level 1 has no descriptor" in messages
    assert "at least two levels" in messages
    assert api.client.get(url, headers=staff.headers).json()["status"] == "draft"


def test_lifecycle_and_refused_transitions(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    url = f"/api/v1/rfps/{rfp['id']}"
    assert rfp["status"] == "published" and rfp["published_at"]
    assert_problem(api.client.patch(url, json={"title": "Too late"}, headers=staff.headers), 409)
    assert_problem(api.client.post(url + "/publish", headers=staff.headers), 409)
    body = assert_problem(api.client.post(url + "/close", headers=staff.headers), 409)
    assert body["type"].endswith("deadline-not-passed")
    # Anyone can read it now, and it is listed as published.
    assert api.client.get(url).status_code == 200
    listed = api.client.get("/api/v1/rfps?status=published").json()
    assert [r["id"] for r in listed["items"]] == [rfp["id"]]

    pass_deadline(rfp["id"])
    assert api.client.get(url).json()["status"] == "closed"  # closed by the deadline itself
    assert api.client.get("/api/v1/rfps?status=published").json()["total"] == 0
    assert api.client.get("/api/v1/rfps?status=closed").json()["total"] == 1
    assert_problem(api.client.post(url + "/cancel", headers=staff.headers), 409)
    closed = api.client.post(url + "/close", headers=staff.headers)
    assert closed.status_code == 200 and closed.json()["closed_at"]
    assert_problem(api.client.post(url + "/close", headers=staff.headers), 409)


def test_cancel_from_draft_and_published(api: Api) -> None:
    staff = api.staff()
    draft = create_rfp(api, staff)
    cancelled = api.client.post(f"/api/v1/rfps/{draft['id']}/cancel", headers=staff.headers).json()
    assert cancelled["status"] == "cancelled"
    assert_problem(
        api.client.get(f"/api/v1/rfps/{draft['id']}"), 404
    )  # never published: still private
    live = published_rfp(api, staff)
    response = api.client.post(f"/api/v1/rfps/{live['id']}/cancel", headers=staff.headers)
    assert response.json()["status"] == "cancelled"
    assert api.client.get(f"/api/v1/rfps/{live['id']}").json()["status"] == "cancelled"
    assert_problem(
        api.client.post(f"/api/v1/rfps/{live['id']}/publish", headers=staff.headers), 409
    )


def test_partner_and_other_staff_cannot_transition(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    partner = api.partner()
    assert_problem(
        api.client.post(f"/api/v1/rfps/{rfp['id']}/cancel", headers=partner.headers), 403
    )
    other = api.staff(state="MD")
    assert_problem(api.client.post(f"/api/v1/rfps/{rfp['id']}/cancel", headers=other.headers), 404)


def test_addenda_may_only_move_the_deadline_later(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    url = f"/api/v1/rfps/{rfp['id']}/addenda"
    earlier = api.client.post(
        url, json={"text": "Sooner", "submission_deadline": future(5)}, headers=staff.headers
    )
    assert_problem(earlier, 422)
    first = api.client.post(url, json={"text": "Clarifies section 2."}, headers=staff.headers)
    assert first.status_code == 201 and first.json()["number"] == 1
    later = future(60)
    second = api.client.post(
        url,
        json={"text": "Deadline extended.", "submission_deadline": later},
        headers=staff.headers,
    )
    assert second.status_code == 201
    assert second.json()["number"] == 2
    current = api.client.get(f"/api/v1/rfps/{rfp['id']}").json()
    assert current["submission_deadline"][:16] == later[:16]
    listed = api.client.get(url).json()
    assert [a["number"] for a in listed["items"]] == [1, 2]
    assert_problem(api.client.post(url, json={"text": "x"}, headers=api.partner().headers), 403)
    pass_deadline(rfp["id"])
    assert_problem(api.client.post(url, json={"text": "After close"}, headers=staff.headers), 409)


def test_questions_are_published_once_answered(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    asker = api.partner()
    other = api.partner()
    url = f"/api/v1/rfps/{rfp['id']}/questions"
    asked = api.client.post(
        url, json={"text": "May two organizations apply jointly?"}, headers=asker.headers
    )
    assert asked.status_code == 201
    question_id = asked.json()["id"]
    assert_problem(
        api.client.post(url, json={"text": "Staff question"}, headers=staff.headers), 403
    )

    def visible(headers: dict[str, str]) -> list[dict[str, Any]]:
        return list(api.client.get(url, headers=headers).json()["items"])

    assert visible({}) == []
    assert visible(other.headers) == []
    assert len(visible(asker.headers)) == 1 and visible(asker.headers)[0]["answer"] is None
    assert len(visible(staff.headers)) == 1
    answer_url = f"/api/v1/questions/{question_id}/answer"
    assert_problem(api.client.post(answer_url, json={"text": "No"}, headers=asker.headers), 403)
    assert_problem(
        api.client.post(answer_url, json={"text": "No"}, headers=api.staff(state="MD").headers), 404
    )
    answered = api.client.post(
        answer_url, json={"text": "Yes, with one lead applicant."}, headers=staff.headers
    )
    assert answered.status_code == 200
    public = visible({})
    assert public[0]["answer"] == "Yes, with one lead applicant."
    assert public[0]["organization_id"] is None  # the public does not learn who asked
    assert visible(other.headers)[0]["organization_id"] is None
    assert visible(staff.headers)[0]["organization_id"] == asker.organization_id


def test_every_transition_is_audited(api: Api) -> None:
    staff = api.staff()
    rfp = create_rfp(api, staff)
    rid = rfp["id"]
    api.client.patch(f"/api/v1/rfps/{rid}", json={"title": "Renamed"}, headers=staff.headers)
    api.client.post(f"/api/v1/rfps/{rid}/publish", headers=staff.headers)
    api.client.post(f"/api/v1/rfps/{rid}/addenda", json={"text": "Note"}, headers=staff.headers)
    pass_deadline(rid)
    api.client.post(f"/api/v1/rfps/{rid}/close", headers=staff.headers)
    events = api.client.get(
        f"/api/v1/audit?entity=rfp&entity_id={rid}", headers=staff.headers
    ).json()
    assert [e["action"] for e in events["items"]] == [
        "rfp.created",
        "rfp.updated",
        "rfp.published",
        "rfp.addendum_issued",
        "rfp.closed",
    ]
    other = api.staff(state="MD")
    assert (
        api.client.get(f"/api/v1/audit?entity=rfp&entity_id={rid}", headers=other.headers).json()[
            "total"
        ]
        == 0
    )
