"""Each role's permissions on agencies, staff and organizations; 404 across agencies."""

from tests.support import PASSWORD, Api, assert_problem, unique


def _staff_body() -> dict[str, str]:
    return {"email": f"{unique('s')}@agency.example", "name": "New Staff", "password": PASSWORD}


def test_admin_creates_state_and_district(api: Api) -> None:
    state = api.agency("state", "MA")
    district = api.agency("district", "MA", parent_id=state["id"], nces_id="2502790")
    assert district["parent_id"] == state["id"]
    assert district["cluster_min"] == 3 and district["cluster_max"] == 5


def test_agency_rules(api: Api) -> None:
    state = api.agency("state", "MA")
    bad = [
        {"name": "D", "kind": "district", "state": "MA"},  # no parent
        {"name": "D", "kind": "district", "state": "VA", "parent_id": state["id"]},  # other state
        {"name": "S", "kind": "state", "state": "ZZ"},  # unknown state code
        {"name": "S", "kind": "state", "state": "MA", "cluster_min": 6, "cluster_max": 4},
    ]
    for body in bad:
        assert_problem(
            api.client.post("/api/v1/agencies", json=body, headers=api.admin.headers), 422
        )


def test_only_admin_creates_agencies(api: Api) -> None:
    body = {"name": "Rogue", "kind": "state", "state": "VA"}
    assert_problem(api.client.post("/api/v1/agencies", json=body), 401)
    for actor in (api.staff(), api.partner()):
        assert_problem(api.client.post("/api/v1/agencies", json=body, headers=actor.headers), 403)


def test_staff_adds_staff_to_own_agency_only(api: Api) -> None:
    staff_a = api.staff()
    other_agency = api.agency("state", "MD")
    created = api.client.post(
        f"/api/v1/agencies/{staff_a.agency_id}/staff", json=_staff_body(), headers=staff_a.headers
    )
    assert created.status_code == 201
    assert created.json()["agency_id"] == staff_a.agency_id
    assert created.json()["role"] == "agency_staff"
    denied = api.client.post(
        f"/api/v1/agencies/{other_agency['id']}/staff", json=_staff_body(), headers=staff_a.headers
    )
    assert_problem(denied, 404)
    missing = api.client.post(
        "/api/v1/agencies/nope/staff", json=_staff_body(), headers=staff_a.headers
    )
    assert_problem(missing, 404)


def test_partner_cannot_add_staff(api: Api) -> None:
    agency = api.agency()
    partner = api.partner()
    response = api.client.post(
        f"/api/v1/agencies/{agency['id']}/staff", json=_staff_body(), headers=partner.headers
    )
    assert_problem(response, 403)


def test_duplicate_email_is_409(api: Api) -> None:
    staff = api.staff()
    body = _staff_body()
    assert (
        api.client.post(
            f"/api/v1/agencies/{staff.agency_id}/staff", json=body, headers=staff.headers
        ).status_code
        == 201
    )
    assert_problem(
        api.client.post(
            f"/api/v1/agencies/{staff.agency_id}/staff", json=body, headers=staff.headers
        ),
        409,
    )
    org = {
        "name": "Dup",
        "kind": "nonprofit",
        "email": body["email"],
        "contact_name": "X",
        "password": PASSWORD,
    }
    assert_problem(api.client.post("/api/v1/organizations", json=org), 409)


def test_agency_reads_are_scoped(api: Api) -> None:
    staff_a = api.staff()
    staff_b = api.staff(state="MD")
    assert (
        api.client.get(f"/api/v1/agencies/{staff_a.agency_id}", headers=staff_a.headers).status_code
        == 200
    )
    assert_problem(
        api.client.get(f"/api/v1/agencies/{staff_a.agency_id}", headers=staff_b.headers), 404
    )
    listed = api.client.get("/api/v1/agencies", headers=staff_b.headers).json()
    assert [a["id"] for a in listed["items"]] == [staff_b.agency_id]
    assert listed["total"] == 1
    everything = api.client.get("/api/v1/agencies", headers=api.admin.headers).json()
    assert everything["total"] == 2


def test_list_pagination_bounds(api: Api) -> None:
    for _ in range(3):
        api.agency()
    page = api.client.get("/api/v1/agencies?limit=2&offset=1", headers=api.admin.headers).json()
    assert len(page["items"]) == 2 and page["total"] == 3
    assert_problem(api.client.get("/api/v1/agencies?limit=201", headers=api.admin.headers), 422)


def test_organization_sign_up_and_profile(api: Api) -> None:
    partner = api.partner(states=["va", "MD"], grade_levels=["09", "KG"])
    org = api.client.get(
        f"/api/v1/organizations/{partner.organization_id}", headers=partner.headers
    ).json()
    assert org["states"] == ["MD", "VA"]
    assert org["grade_levels"] == ["KG", "09"]
    updated = api.client.patch(
        f"/api/v1/organizations/{partner.organization_id}",
        json={"capacity_clusters": 3, "website": "https://org.example"},
        headers=partner.headers,
    )
    assert updated.status_code == 200
    assert updated.json()["capacity_clusters"] == 3
    bad = api.client.patch(
        f"/api/v1/organizations/{partner.organization_id}",
        json={"grade_levels": ["13"]},
        headers=partner.headers,
    )
    assert_problem(bad, 422)
    # Null: a required number is refused; a list or text with an empty value is cleared.
    url = f"/api/v1/organizations/{partner.organization_id}"
    assert_problem(
        api.client.patch(url, json={"capacity_clusters": None}, headers=partner.headers), 422
    )
    cleared = api.client.patch(
        url,
        json={"states": None, "grade_levels": None, "description": None},
        headers=partner.headers,
    )
    assert cleared.status_code == 200, cleared.text
    assert cleared.json()["states"] == [] and cleared.json()["grade_levels"] == []
    assert cleared.json()["description"] == ""


def test_organization_invisible_to_other_partners_and_unrelated_staff(api: Api) -> None:
    a = api.partner()
    b = api.partner()
    staff = api.staff()
    url = f"/api/v1/organizations/{a.organization_id}"
    assert_problem(api.client.get(url, headers=b.headers), 404)
    assert_problem(api.client.get(url, headers=staff.headers), 404)
    assert_problem(api.client.patch(url, json={"capacity_clusters": 9}, headers=b.headers), 404)
    assert_problem(api.client.get(url), 401)
    assert api.client.get(url, headers=api.admin.headers).status_code == 200
    # The admin may read but not edit a partner's profile.
    assert_problem(
        api.client.patch(url, json={"capacity_clusters": 9}, headers=api.admin.headers), 404
    )
