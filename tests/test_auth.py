"""Sign-in, tokens, throttling and invitations through the HTTP API."""

from datetime import timedelta

import httpx
from sqlalchemy import text
from sqlmodel import Session

from app.accounts import service as accounts
from app.accounts.models import Role, User
from app.core.db import get_engine
from app.core.security import create_access_token
from tests.support import PASSWORD, Api, assert_problem


def test_login_and_me(api: Api) -> None:
    partner = api.partner()
    me = api.client.get("/api/v1/me", headers=partner.headers).json()
    assert me["email"] == partner.email
    assert me["role"] == "partner"
    assert me["organization_id"] is not None and me["agency_id"] is None
    assert set(me) >= {"id", "email", "name", "role", "agency_id", "organization_id"}


def test_email_is_case_insensitive(api: Api) -> None:
    partner = api.partner()
    response = api.client.post(
        "/api/v1/auth/token", data={"username": partner.email.upper(), "password": PASSWORD}
    )
    assert response.status_code == 200


def test_unknown_email_and_wrong_password_answer_identically(api: Api) -> None:
    partner = api.partner()
    wrong = api.client.post(
        "/api/v1/auth/token", data={"username": partner.email, "password": "nope-nope-nope"}
    )
    unknown = api.client.post(
        "/api/v1/auth/token", data={"username": "ghost@org.example", "password": "nope-nope-nope"}
    )
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
    assert strip(wrong) == strip(unknown)


def test_me_requires_a_valid_token(client: httpx.Client) -> None:
    assert_problem(client.get("/api/v1/me"), 401)
    assert_problem(client.get("/api/v1/me", headers={"Authorization": "Bearer garbage"}), 401)


def test_expired_token_is_refused(api: Api) -> None:
    partner = api.partner()
    expired = create_access_token(partner.id, expires_delta=timedelta(seconds=-1))
    body = assert_problem(
        api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {expired}"}), 401
    )
    assert "expired" in body["detail"]


def test_token_signed_with_another_key_is_refused(api: Api) -> None:
    import jwt

    partner = api.partner()
    forged = jwt.encode({"sub": partner.id, "typ": "access", "iat": 0, "exp": 4102444800}, "x" * 40)
    assert_problem(api.client.get("/api/v1/me", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_repeated_failures_throttle_that_source_even_with_the_right_password(api: Api) -> None:
    partner = api.partner()
    statuses = [
        api.client.post(
            "/api/v1/auth/token", data={"username": partner.email, "password": "wrong-wrong"}
        ).status_code
        for _ in range(5)
    ]
    # A few free failures; then each one makes this source wait, and the next comes too soon.
    assert statuses == [401, 401, 401, 401, 429]
    locked = api.client.post(
        "/api/v1/auth/token", data={"username": partner.email, "password": PASSWORD}
    )
    assert_problem(locked, 429)
    assert int(locked.headers["Retry-After"]) > 0
    # The same answer for an email nobody owns, so throttling reveals nothing either.
    for _ in range(5):
        api.client.post(
            "/api/v1/auth/token", data={"username": "nobody@org.example", "password": "wrong-wrong"}
        )
    assert_problem(
        api.client.post(
            "/api/v1/auth/token", data={"username": "nobody@org.example", "password": "x"}
        ),
        429,
    )


def test_throttle_lifts_after_the_wait(api: Api) -> None:
    partner = api.partner()
    for _ in range(5):
        api.client.post(
            "/api/v1/auth/token", data={"username": partner.email, "password": "wrong-wrong"}
        )
    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE login_throttles SET blocked_until = :t WHERE email = :e"),
            {"t": "2000-01-01 00:00:00", "e": partner.email},
        )
    ok = api.client.post(
        "/api/v1/auth/token", data={"username": partner.email, "password": PASSWORD}
    )
    assert ok.status_code == 200


def _invite(api: Api) -> tuple[str, str]:
    staff = api.staff()
    with Session(get_engine()) as session:
        staff_user = session.get(User, staff.id)
        assert staff_user is not None
        user, token = accounts.invite_user(
            session=session,
            actor=staff_user,
            email="invited.reviewer@panel.example",
            name="Invited Reviewer",
            role=Role.reviewer,
            purpose="reviewer",
        )
        session.commit()
        return user.email, token


def test_invitation_token_is_single_use(api: Api) -> None:
    email, token = _invite(api)
    response = api.client.post(
        "/api/v1/auth/accept-invite", json={"invite_token": token, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "reviewer"
    assert api.login(email).email == email
    again = api.client.post(
        "/api/v1/auth/accept-invite", json={"invite_token": token, "password": "another-password-1"}
    )
    assert_problem(again, 404)
    assert api.login(email).email == email  # the first password still works


def test_invitation_token_expires(api: Api) -> None:
    email, token = _invite(api)
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE invitations SET expires_at = :t"), {"t": "2000-01-01 00:00:00"})
    response = api.client.post(
        "/api/v1/auth/accept-invite", json={"invite_token": token, "password": PASSWORD}
    )
    assert_problem(response, 404)
    failed = api.client.post("/api/v1/auth/token", data={"username": email, "password": PASSWORD})
    assert failed.status_code == 401


def test_unknown_invitation_token(client: httpx.Client) -> None:
    response = client.post(
        "/api/v1/auth/accept-invite", json={"invite_token": "x" * 43, "password": PASSWORD}
    )
    assert_problem(response, 404)
