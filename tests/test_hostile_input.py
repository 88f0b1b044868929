"""Hostile input refused early and cheaply: big bodies, sign-in and sign-up storms."""

from tests.support import PASSWORD, Api, assert_problem


def test_oversized_json_body_is_refused(api: Api) -> None:
    partner = api.partner()
    huge = "x" * (1024 * 1024 + 10)
    response = api.client.patch(
        f"/api/v1/organizations/{partner.organization_id}",
        json={"description": huge},
        headers=partner.headers,
    )
    assert_problem(response, 413)


def test_sign_in_attempts_are_rate_limited_per_address(api: Api) -> None:
    statuses = [
        api.client.post(
            "/api/v1/auth/token", data={"username": f"nobody{n}@org.example", "password": "x"}
        ).status_code
        for n in range(61)
    ]
    assert statuses[:60] == [401] * 60
    last = api.client.post(
        "/api/v1/auth/token", data={"username": "someone@org.example", "password": PASSWORD}
    )
    body = assert_problem(last, 429)
    assert "Too many sign-in attempts" in body["detail"]
    assert int(last.headers["Retry-After"]) >= 1


def test_sign_ups_are_rate_limited_per_address(api: Api) -> None:
    for n in range(20):
        response = api.client.post("/api/v1/organizations", json={"name": f"Org {n}"})
        assert response.status_code == 422  # even refused attempts count
    assert_problem(api.client.post("/api/v1/organizations", json={"name": "One more"}), 429)


def test_out_of_range_offset_and_nul_characters_are_422(api: Api) -> None:
    assert_problem(api.client.get("/api/v1/rfps?offset=9223372036854775808"), 422)
    body = {
        "name": "A\u0000B",
        "kind": "nonprofit",
        "email": "nul@org.example",
        "contact_name": "N",
        "password": PASSWORD,
    }
    # PostgreSQL cannot store NUL, so it is refused before any database sees it: 422 on both.
    assert_problem(api.client.post("/api/v1/organizations", json=body), 422)
