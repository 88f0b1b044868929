"""MOU drafting, versions, diff, PDF and execution through the HTTP API."""

import io
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any

from pypdf import PdfReader

from tests import worlds
from tests.support import Api, assert_problem


def _text(pdf: bytes) -> str:
    return " ".join(
        " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split()
    )


def _terms(mou: dict[str, Any]) -> dict[str, Any]:
    keys = (
        "title parties schools term_years start_date lead_partner_responsibilities autonomies "
        "responsibilities benchmarks funding reporting_cadence renewal_terms termination_terms "
        "signatories notes"
    ).split()
    return {k: mou[k] for k in keys}


def test_draft_defaults_and_versioned_edits(api: Api) -> None:
    staff, partner, mou, schools = worlds.drafted_mou(api)
    assert mou["version"] == 1 and mou["status"] == "draft"
    assert {s["nces_id"] for s in mou["schools"]} == {s["nces_id"] for s in schools}
    assert mou["autonomies"]["people"][0]["key"] == "choose_principal"
    assert set(mou["responsibilities"]) == {
        "instruction",
        "support_services",
        "campus_operations",
        "it_data",
        "finance",
        "facilities",
        "human_resources",
        "co_curriculars",
    }
    assert_problem(
        api.client.post(f"/api/v1/matches/{mou['match_id']}/mou", headers=staff.headers), 409
    )
    url = f"/api/v1/mous/{mou['id']}"
    etag = api.client.get(url, headers=staff.headers).headers["ETag"]
    terms = _terms(mou)
    terms["term_years"] = 5
    terms["autonomies"]["time"][0]["enabled"] = False
    terms["responsibilities"]["finance"] = "lead_partner"
    terms["funding"] = {"per_pupil": 1250.0, "management_fee_percent": 4.5}
    updated = api.client.put(url, json=terms, headers={**staff.headers, "If-Match": etag})
    assert updated.status_code == 200, updated.text
    assert updated.json()["version"] == 2
    assert_problem(
        api.client.put(url, json=terms, headers={**staff.headers, "If-Match": etag}), 412
    )
    assert_problem(api.client.put(url, json=terms, headers=partner.headers), 403)
    versions = api.client.get(url + "/versions", headers=partner.headers).json()
    assert [v["number"] for v in versions["items"]] == [1, 2]
    diff = api.client.get(url + "/diff?from=1&to=2", headers=staff.headers).json()
    paths = {c["path"]: c for c in diff["changes"]}
    assert paths["term_years"]["before"] == 3 and paths["term_years"]["after"] == 5
    assert paths["autonomies.time.extended_day_year.enabled"]["after"] is False
    assert paths["responsibilities.finance"]["after"] == "lead_partner"
    assert api.client.get(url + "?version=1", headers=staff.headers).json()["term_years"] == 3


def test_benchmark_years_are_checked(api: Api) -> None:
    staff, _, mou, _ = worlds.drafted_mou(api)
    terms = _terms(mou)
    terms["benchmarks"] = [
        {"metric": "Attendance", "kind": "leading", "baseline": 80, "targets": {"3": 90}}
    ]
    assert_problem(
        api.client.put(f"/api/v1/mous/{mou['id']}", json=terms, headers=staff.headers), 422
    )
    terms["benchmarks"] = [
        {"metric": "Proficiency", "kind": "achievement", "baseline": 20, "targets": {"1": 25}}
    ]
    assert_problem(
        api.client.put(f"/api/v1/mous/{mou['id']}", json=terms, headers=staff.headers), 422
    )
    terms["term_years"] = 6
    assert_problem(
        api.client.put(f"/api/v1/mous/{mou['id']}", json=terms, headers=staff.headers), 422
    )


class _Recorder(BaseHTTPRequestHandler):
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802
        _Recorder.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        return


def test_pdf_text_escaping_no_fetch_and_identical_downloads(api: Api) -> None:
    server = HTTPServer(("127.0.0.1", 0), _Recorder)
    port = server.server_address[1]
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        staff, partner, mou, schools = worlds.drafted_mou(api)
        terms = _terms(mou)
        terms["notes"] = (
            f'<img src="file:///etc/passwd"> <img src="http://127.0.0.1:{port}/x.png"> '
            "<script>alert(1)</script> file:///etc/passwd"
        )
        terms["autonomies"]["money"][1]["enabled"] = False
        url = f"/api/v1/mous/{mou['id']}"
        assert api.client.put(url, json=terms, headers=staff.headers).status_code == 200
        first = api.client.get(url + "/document.pdf", headers=staff.headers)
        second = api.client.get(url + "/document.pdf", headers=partner.headers)
    finally:
        server.shutdown()
    assert first.status_code == 200 and first.headers["content-type"] == "application/pdf"
    assert first.content == second.content
    text = _text(first.content)
    assert "DRAFT" in text
    assert (
        terms["parties"]["district"]["name"] in text
        and terms["parties"]["lead_partner"]["name"] in text
    )
    for school in schools:
        assert school["name"] in text and school["nces_id"] in text
    assert "Granted: Choose or confirm the principal" in text
    assert "Not granted: Streamlined procurement" in text
    assert "Facilities District" in text and "Instruction Lead Partner" in text
    assert "<script>alert(1)</script>" in text and "file:///etc/passwd" in text
    assert "root:x:0:0" not in text and b"root:x:0:0" not in first.content
    assert _Recorder.hits == []
    cached = api.client.get(
        url + "/document.pdf", headers={**staff.headers, "If-None-Match": first.headers["ETag"]}
    )
    assert cached.status_code == 304


def test_execute_freezes_then_amend(api: Api) -> None:
    staff, partner, mou, _ = worlds.drafted_mou(api)
    url = f"/api/v1/mous/{mou['id']}"
    assert_problem(api.client.post(url + "/execute", headers=partner.headers), 403)
    executed = api.client.post(url + "/execute", headers=staff.headers)
    assert executed.status_code == 200
    body = executed.json()
    assert (
        body["status"] == "executed"
        and body["executed_version"] == 1
        and len(body["executed_pdf_sha256"]) == 64
    )
    assert_problem(api.client.put(url, json=_terms(mou), headers=staff.headers), 409)
    final = api.client.get(url + "/document.pdf", headers=partner.headers).content
    import hashlib

    assert hashlib.sha256(final).hexdigest() == body["executed_pdf_sha256"]
    assert "DRAFT" not in _text(final)
    amended = api.client.post(url + "/amend", headers=staff.headers).json()
    assert amended["status"] == "amended" and amended["version"] == 2
    terms = _terms(mou)
    terms["notes"] = "Amendment 1: adds a fourth benchmark review."
    assert api.client.put(url, json=terms, headers=staff.headers).json()["version"] == 3
    assert "DRAFT" in _text(api.client.get(url + "/document.pdf", headers=staff.headers).content)
    assert api.client.get(url + "/document.pdf?version=1", headers=staff.headers).content == final
    ended = api.client.post(
        url + "/terminate",
        json={"reason": "Missed benchmarks two years running."},
        headers=staff.headers,
    )
    assert ended.json()["status"] == "terminated"
    assert_problem(api.client.put(url, json=terms, headers=staff.headers), 409)


def test_only_the_district_and_matched_partner_see_it(api: Api) -> None:
    staff, partner, mou, _ = worlds.drafted_mou(api)
    url = f"/api/v1/mous/{mou['id']}"
    other_partner = api.partner()
    state = api.agency("state", "MD")
    other_district = api.agency("district", "MD", parent_id=state["id"])
    other_staff = api.staff(other_district["id"])
    for actor in (other_partner, other_staff, api.staff(state["id"])):
        assert_problem(api.client.get(url, headers=actor.headers), 404)
        assert_problem(api.client.get(url + "/document.pdf", headers=actor.headers), 404)
        assert_problem(api.client.get(url + "/versions", headers=actor.headers), 404)
    assert api.client.get(url, headers=partner.headers).status_code == 200
    assert_problem(api.client.get(url), 401)


def test_mou_needs_an_accepted_match(api: Api) -> None:
    state = api.agency("state", "VA")
    state_staff = api.staff(state["id"])
    district = api.agency("district", "VA", parent_id=state["id"], nces_id="5100888")
    staff = api.staff(district["id"])
    partner = api.partner(states=["VA"], grade_levels=["06", "07", "08"])
    worlds.finalized_listing(state_staff, [partner])
    ids = []
    for n in range(1, 4):
        body = {
            "nces_id": f"510088800{n:03d}",
            "name": f"S{n}",
            "grade_low": "06",
            "grade_high": "08",
        }
        ids.append(
            api.client.post(
                f"/api/v1/agencies/{district['id']}/schools", json=body, headers=staff.headers
            ).json()["id"]
        )
    api.client.post(
        f"/api/v1/agencies/{district['id']}/clusters",
        json={"name": "C", "school_ids": ids},
        headers=staff.headers,
    )
    match = api.client.post(
        f"/api/v1/agencies/{district['id']}/matching-runs", json={}, headers=staff.headers
    ).json()["matches"][0]
    assert_problem(
        api.client.post(f"/api/v1/matches/{match['id']}/mou", headers=staff.headers), 409
    )
    assert_problem(
        api.client.post(f"/api/v1/matches/{match['id']}/mou", headers=partner.headers), 403
    )
