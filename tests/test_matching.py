"""Schools, clusters and matching through the HTTP API."""

from typing import Any

from tests import worlds
from tests.support import Actor, Api, assert_problem, run_cli, unique

CCD_HEADER = "SCHOOL_YEAR,FIPST,LEAID,ST_SCHID,NCESSCH,SCH_NAME,GSLO,GSHI,MEMBER,SCH_TYPE_TEXT\n"


def _district(api: Api, nces: str = "5100001") -> tuple[Actor, dict[str, Any], Actor]:
    state = api.agency("state", "VA")
    state_staff = api.staff(state["id"])
    district = api.agency("district", "VA", parent_id=state["id"], nces_id=nces)
    return api.staff(district["id"]), district, state_staff


def _school(
    api: Api,
    staff: Actor,
    agency_id: str,
    n: int,
    low: str = "06",
    high: str = "08",
    needs: list[str] | None = None,
) -> dict[str, Any]:
    body = {
        "nces_id": f"{agency_id_nces(api, staff, agency_id)}{n:05d}",
        "name": unique("School "),
        "grade_low": low,
        "grade_high": high,
        "enrollment": 400,
        "poverty_rate": 0.8,
        "needs": needs or ["human_capital"],
    }
    response = api.client.post(
        f"/api/v1/agencies/{agency_id}/schools", json=body, headers=staff.headers
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def agency_id_nces(api: Api, staff: Actor, agency_id: str) -> str:
    return str(
        api.client.get(f"/api/v1/agencies/{agency_id}", headers=staff.headers).json()["nces_id"]
    )


def _import(api: Api, staff: Actor, agency_id: str, text: str) -> Any:
    return api.client.post(
        f"/api/v1/agencies/{agency_id}/schools/import",
        files={"file": ("schools.csv", text.encode(), "text/csv")},
        headers=staff.headers,
    )


def test_ccd_import_keeps_good_rows_and_reports_bad_ones(api: Api) -> None:
    staff, district, _ = _district(api)
    text = CCD_HEADER + (
        "2023-2024,51,5100001,VA-001-0010,510000100010,Adams Middle,06,08,512,Regular School\n"
        "2023-2024,51,5100001,VA-001-0011,510000100011,Baker High,09,12,-1,Regular School\n"
        "2023-2024,51,5100001,VA-001-0012,510000100012,Bad Grades,13,08,300,Regular School\n"
        "2023-2024,51,5199999,VA-999-0013,519999900013,Other District,06,08,300,Regular School\n"
        "2023-2024,51,5100001,VA-001-0014,12345,Short Id,06,08,300,Regular School\n"
        "2023-2024,51,5100001,VA-001-0015,510000100015,Kinder,KG,05,250,Regular School\n"
    )
    result = _import(api, staff, district["id"], text)
    assert result.status_code == 200, result.text
    body = result.json()
    assert body["created"] == 3 and body["updated"] == 0
    assert [e["row"] for e in body["errors"]] == [4, 5, 6]
    schools = api.client.get(
        f"/api/v1/agencies/{district['id']}/schools", headers=staff.headers
    ).json()["items"]
    by_name = {s["name"]: s for s in schools}
    assert (
        by_name["Adams Middle"]["enrollment"] == 512
        and by_name["Adams Middle"]["state_id"] == "VA-001-0010"
    )
    assert by_name["Baker High"]["enrollment"] is None  # the CCD's -1: missing
    assert by_name["Kinder"]["grade_low"] == "KG"
    again = _import(api, staff, district["id"], text).json()
    assert again["created"] == 0 and again["updated"] == 3
    assert (
        api.client.get(f"/api/v1/agencies/{district['id']}/schools", headers=staff.headers).json()[
            "total"
        ]
        == 3
    )


def test_our_columns_and_whole_file_errors(api: Api) -> None:
    staff, district, _ = _district(api)
    ours = (
        "nces_id,name,grade_low,grade_high,enrollment,poverty_rate,needs\n"
        "510000100001,One,9,12,900,72%,human_capital;extended_day\n"
    )
    body = _import(api, staff, district["id"], ours).json()
    assert body["created"] == 1, body
    school = api.client.get(
        f"/api/v1/agencies/{district['id']}/schools", headers=staff.headers
    ).json()["items"][0]
    assert school["grade_low"] == "09" and school["poverty_rate"] == 0.72
    assert school["needs"] == ["extended_day", "human_capital"]
    assert_problem(_import(api, staff, district["id"], "name,grade_low\nX,06\n"), 422)
    binary = api.client.post(
        f"/api/v1/agencies/{district['id']}/schools/import",
        files={"file": ("s.csv", b"\x00\x01\x02PK\x03\x04", "text/csv")},
        headers=staff.headers,
    )
    assert_problem(binary, 422)


def test_other_districts_cannot_see_or_use_schools(api: Api) -> None:
    staff, district, state_staff = _district(api)
    other_staff, other, _ = _district(api, "5100002")
    school = _school(api, staff, district["id"], 1)
    for actor in (other_staff, state_staff, api.partner()):
        response = api.client.get(
            f"/api/v1/agencies/{district['id']}/schools", headers=actor.headers
        )
        assert response.status_code in (403, 404)
        assert "items" not in response.json()
    assert_problem(
        api.client.get(f"/api/v1/agencies/{district['id']}/schools", headers=other_staff.headers),
        404,
    )
    own = [_school(api, other_staff, other["id"], n) for n in (1, 2)]
    stolen = api.client.post(
        f"/api/v1/agencies/{other['id']}/clusters",
        json={"name": "Mixed", "school_ids": [school["id"], own[0]["id"], own[1]["id"]]},
        headers=other_staff.headers,
    )
    assert_problem(stolen, 404)


def test_cluster_bounds_and_one_cluster_per_school(api: Api) -> None:
    staff, district, _ = _district(api)
    schools = [_school(api, staff, district["id"], n) for n in range(1, 8)]
    url = f"/api/v1/agencies/{district['id']}/clusters"
    for size in (2, 6):
        body = {"name": "Too odd", "school_ids": [s["id"] for s in schools[:size]]}
        assert_problem(api.client.post(url, json=body, headers=staff.headers), 422)
    created = api.client.post(
        url,
        json={"name": "East", "school_ids": [s["id"] for s in schools[:3]]},
        headers=staff.headers,
    )
    assert created.status_code == 201, created.text
    cluster = created.json()
    assert (
        cluster["grade_low"] == "06"
        and cluster["grade_high"] == "08"
        and cluster["enrollment"] == 1200
    )
    overlap = {"name": "West", "school_ids": [s["id"] for s in schools[2:5]]}
    assert_problem(api.client.post(url, json=overlap, headers=staff.headers), 409)


def _setup_market(
    api: Api, clusters: int = 2
) -> tuple[Actor, dict[str, Any], list[Actor], list[dict[str, Any]]]:
    staff, district, state_staff = _district(api)
    partners = [
        api.partner(states=["VA"], grade_levels=["06", "07", "08"], capacity_clusters=1)
        for _ in range(3)
    ]
    worlds.finalized_listing(state_staff, partners, scores=[4, 3, 3])
    made = []
    for c in range(clusters):
        schools = [_school(api, staff, district["id"], c * 10 + n) for n in range(1, 4)]
        response = api.client.post(
            f"/api/v1/agencies/{district['id']}/clusters",
            json={"name": f"Cluster {c}", "school_ids": [s["id"] for s in schools]},
            headers=staff.headers,
        )
        made.append(response.json())
    return staff, district, partners, made


def test_run_is_consistent_and_honours_the_ranking(api: Api) -> None:
    staff, district, partners, clusters = _setup_market(api)
    ranking = [partners[2].organization_id, partners[0].organization_id]
    ranked = api.client.post(
        f"/api/v1/clusters/{clusters[0]['id']}/preferences",
        json={"organization_ids": ranking},
        headers=staff.headers,
    )
    assert ranked.status_code == 200 and ranked.json()["preferences"] == ranking
    outsider = api.partner()
    assert_problem(
        api.client.post(
            f"/api/v1/clusters/{clusters[0]['id']}/preferences",
            json={"organization_ids": [outsider.organization_id]},
            headers=staff.headers,
        ),
        422,
    )
    run = api.client.post(
        f"/api/v1/agencies/{district['id']}/matching-runs", json={}, headers=staff.headers
    )
    assert run.status_code == 201, run.text
    body = run.json()
    assert len(body["matches"]) == 2 and body["unmatched"] == []
    assert abs(body["objective"] - sum(m["fit"] for m in body["matches"])) < 1e-4
    providers = [m["organization_id"] for m in body["matches"]]
    assert len(set(providers)) == 2  # every provider has capacity 1
    first = next(m for m in body["matches"] if m["cluster_id"] == clusters[0]["id"])
    assert first["organization_id"] == partners[2].organization_id  # the district's first choice
    assert body["first_choice"] == 1
    for match in body["matches"]:
        assert abs(match["breakdown"]["total"] - match["fit"]) < 1e-4
        assert match["status"] == "proposed" and match["explanation"]


def test_decline_then_rerun_never_reproposes_the_pair(api: Api) -> None:
    staff, district, partners, clusters = _setup_market(api, clusters=1)
    url = f"/api/v1/agencies/{district['id']}/matching-runs"
    declined_pairs = set()
    for _ in range(3):
        run = api.client.post(url, json={}, headers=staff.headers).json()
        if not run["matches"]:
            assert run["unmatched"][0]["cluster_id"] == clusters[0]["id"]
            assert "declined" in run["unmatched"][0]["reason"]
            break
        match = run["matches"][0]
        pair = (match["cluster_id"], match["organization_id"])
        assert pair not in declined_pairs
        owner = next(p for p in partners if p.organization_id == match["organization_id"])
        # The partner may decline too; another partner may not touch the match.
        other = next(p for p in partners if p is not owner)
        assert_problem(
            api.client.post(f"/api/v1/matches/{match['id']}/decline", headers=other.headers), 404
        )
        assert_problem(
            api.client.post(f"/api/v1/matches/{match['id']}/accept", headers=owner.headers), 403
        )
        declined = api.client.post(
            f"/api/v1/matches/{match['id']}/decline",
            json={"reason": "Capacity"},
            headers=owner.headers,
        )
        assert declined.json()["status"] == "declined"
        declined_pairs.add(pair)
    assert len(declined_pairs) == 3


def test_accept_settles_the_cluster_and_uses_capacity(api: Api) -> None:
    staff, district, partners, clusters = _setup_market(api, clusters=1)
    run = api.client.post(
        f"/api/v1/agencies/{district['id']}/matching-runs", json={}, headers=staff.headers
    ).json()
    match = run["matches"][0]
    accepted = api.client.post(f"/api/v1/matches/{match['id']}/accept", headers=staff.headers)
    assert accepted.json()["status"] == "accepted"
    assert_problem(
        api.client.post(f"/api/v1/matches/{match['id']}/decline", headers=staff.headers), 409
    )
    owner = next(p for p in partners if p.organization_id == match["organization_id"])
    mine = api.client.get(
        f"/api/v1/organizations/{owner.organization_id}/matches", headers=owner.headers
    ).json()
    assert [m["id"] for m in mine["items"]] == [match["id"]]
    assert_problem(
        api.client.post(
            f"/api/v1/agencies/{district['id']}/matching-runs",
            json={"cluster_ids": [clusters[0]["id"]]},
            headers=staff.headers,
        ),
        409,
    )
    other_staff, other, _ = _district(api, "5100003")
    assert_problem(
        api.client.get(f"/api/v1/matches/{match['id']}", headers=other_staff.headers), 404
    )
    assert_problem(
        api.client.post(
            f"/api/v1/agencies/{district['id']}/matching-runs", json={}, headers=other_staff.headers
        ),
        404,
    )


def test_import_schools_cli_shows_progress(api: Api, tmp_path: Any) -> None:
    staff, district, _ = _district(api)
    rows = "".join(
        f"2023-2024,51,5100001,VA-{n},5100001{n:05d},School {n},06,08,300,Regular\n"
        for n in range(1, 251)
    )
    path = tmp_path / "ccd.csv"
    path.write_text(CCD_HEADER + rows)
    result = run_cli("import-schools", district["id"], str(path))
    assert result.returncode == 0, result.stderr
    assert "250/250" in result.stderr and "#" in result.stderr
    assert "Created 250" in result.stdout
    assert (
        api.client.get(f"/api/v1/agencies/{district['id']}/schools", headers=staff.headers).json()[
            "total"
        ]
        == 250
    )
