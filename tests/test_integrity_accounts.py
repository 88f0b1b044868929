"""Accounts against insiders and outsiders: invitations never take over an account, a
password change or reset ends every earlier token and session, passwords follow one policy,
and sign-in throttling slows a guesser without locking the owner out (shared by workers).

Written as the attackers would try it: staff of one agency inviting another agency's
reviewer, old invitation links, a rival hammering a competitor's sign-in from their own
network, and a real two-worker server for the throttle."""

import re
import time
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

import httpx
import pytest
from sqlalchemy import text

from app.core.config import get_settings
from app.core.db import get_engine
from tests.support import (
    PASSWORD,
    Actor,
    Api,
    assert_problem,
    invited_reviewer,
    pass_deadline,
    published_rfp,
    start_server,
    submitted_proposal,
    unique,
)
from tests.web_support import Person

V1 = "/api/v1"
NEW_PASSWORD = "a-fresh-passphrase-for-2027"


# --- helpers ---------------------------------------------------------------------------------


def invite(api: Api, staff: Actor, rfp_id: str, email: str, name: str = "Riley Reviewer") -> Any:
    return api.client.post(
        f"{V1}/rfps/{rfp_id}/reviewers", json={"email": email, "name": name}, headers=staff.headers
    )


def accept(api: Api, token: str, password: str = PASSWORD) -> httpx.Response:
    return api.client.post(
        f"{V1}/auth/accept-invite", json={"invite_token": token, "password": password}
    )


def sign_in(client: httpx.Client, email: str, password: str = PASSWORD) -> httpx.Response:
    return client.post(f"{V1}/auth/token", data={"username": email, "password": password})


def bearer(response: httpx.Response) -> dict[str, str]:
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def active_reviewer(api: Api, staff: Actor, rfp_id: str) -> Actor:
    email = f"{unique('reviewer')}@university.example"
    return invited_reviewer(api, staff, rfp_id, email=email, name="Riley Reviewer", attested=False)


def outbox() -> list[EmailMessage]:
    folder = get_settings().outbox_dir
    if not folder.exists():
        return []
    parser = BytesParser(policy=policy.default)
    return [
        cast(EmailMessage, parser.parsebytes(path.read_bytes()))
        for path in sorted(folder.glob("*.eml"))
    ]


def messages_to(email: str) -> list[EmailMessage]:
    return [m for m in outbox() if m["To"] == email]


def reset_links(email: str) -> list[str]:
    found = (
        re.search(r"(https?://\S+/reset-password\?token=\S+)", message.get_content())
        for message in messages_to(email)
    )
    return [f"{urlsplit(m.group(1)).path}?{urlsplit(m.group(1)).query}" for m in found if m]


def reset_link(email: str, count: int = 1, wait: float = 10) -> str:
    """The path and query of the newest reset link, once `count` have been written for this
    email (the service writes them after answering, so a real server may still be at it)."""
    deadline = time.monotonic() + wait
    while len(links := reset_links(email)) < count:
        assert time.monotonic() < deadline, f"no reset message number {count} for {email}"
        time.sleep(0.1)
    return links[-1]


def audit_actions() -> list[tuple[str, dict[str, Any]]]:
    with get_engine().connect() as conn:
        rows = conn.execute(text("SELECT action, data FROM audit_events ORDER BY seq")).all()
    return [
        (row[0], row[1] if isinstance(row[1], dict) else __import__("json").loads(row[1]))
        for row in rows
    ]


@pytest.fixture(autouse=True)
def empty_outbox() -> Iterator[None]:
    folder = get_settings().outbox_dir
    for path in folder.glob("*.eml") if folder.exists() else []:
        path.unlink()
    yield


# --- invitations -------------------------------------------------------------------------------


def test_staff_of_another_agency_get_no_token_for_an_active_reviewer(api: Api) -> None:
    staff_y = api.staff(state="VA")
    rfp_y = published_rfp(api, staff_y)
    victim = active_reviewer(api, staff_y, rfp_y["id"])

    staff_x = api.staff(state="MD")
    rfp_x = published_rfp(api, staff_x)
    invited = invite(api, staff_x, rfp_x["id"], victim.email.upper(), "Someone Else")
    assert invited.status_code == 201, invited.text
    assert invited.json() == {
        "user_id": victim.id,
        "invite_token": None,
        "existing_account": True,
        # Y's staff were handed the token that set this password: X's panel counts the
        # account once its owner proves the mailbox.
        "awaiting_email_proof": True,
    }
    # Nothing X holds sets a password: the victim's own still works, X's guesses do not,
    # and the victim's live token was not revoked by the invitation.
    assert api.client.get(f"{V1}/me", headers=victim.headers).status_code == 200
    assert sign_in(api.client, victim.email).status_code == 200
    assert sign_in(api.client, victim.email, "staff-x-chosen-password").status_code == 401
    with get_engine().connect() as conn:
        tokens = conn.execute(
            text("SELECT purpose FROM invitations WHERE user_id = :u ORDER BY created_at"),
            {"u": victim.id},
        ).scalars()
        # The one the victim accepted from their own agency, and the proof link mailed to
        # the victim alone (X's staff never see it).
        assert list(tokens) == ["reviewer", "password_reset"]
    # The owner hears about the new panel.
    assert any("review panel" in m["Subject"] for m in messages_to(victim.email))


def test_staff_cannot_take_over_another_agencys_future_reviewer(api: Api) -> None:
    """Staff of X invite the address of an expert that Y will use, accept the invitation
    themselves and so hold the account's password. When Y later invites that expert, the
    account does not count on Y's panel until the mailbox's owner uses the link mailed to
    them, and using it ends X's sessions."""
    staff_x = api.staff(state="MD")
    rfp_x = published_rfp(api, staff_x)
    expert = f"{unique('expert')}@university.example"
    planted = invite(api, staff_x, rfp_x["id"], expert)
    assert accept(api, planted.json()["invite_token"]).status_code == 200
    squatter = bearer(sign_in(api.client, expert))  # X's staff, signed in as the expert

    staff_y = api.staff(state="VA")
    rfp_y = published_rfp(api, staff_y, reviewers_per_proposal=1)
    partner = api.partner()
    proposal = submitted_proposal(api, partner, rfp_y)
    joined = invite(api, staff_y, rfp_y["id"], expert)
    assert joined.status_code == 201 and joined.json()["awaiting_email_proof"] is True
    panel = api.client.get(f"{V1}/rfps/{rfp_y['id']}/reviewers", headers=staff_y.headers).json()
    assert [m["awaiting_email_proof"] for m in panel["items"]] == [True]

    # The squatter is not on Y's panel: no attestation, no conflicts list, no assignment.
    attest = api.client.post(
        f"{V1}/rfps/{rfp_y['id']}/attestation",
        json={"no_conflict": True, "confidentiality": True},
        headers=squatter,
    )
    assert_problem(attest, 404)
    pass_deadline(rfp_y["id"])
    assert_problem(
        api.client.post(f"{V1}/rfps/{rfp_y['id']}/assignments/auto", headers=staff_y.headers), 409
    )
    by_hand = api.client.post(
        f"{V1}/rfps/{rfp_y['id']}/assignments",
        json={"proposal_id": proposal["id"], "reviewer_id": joined.json()["user_id"]},
        headers=staff_y.headers,
    )
    assert_problem(by_hand, 422)
    assert_problem(api.client.get(f"{V1}/proposals/{proposal['id']}", headers=squatter), 404)

    # The real owner uses the link in their mailbox: a new password, X's session ends, and
    # the account now counts on Y's panel.
    token = reset_link(expert).split("token=", 1)[1]
    confirmed = api.client.post(
        f"{V1}/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
    )
    assert confirmed.status_code == 204, confirmed.text
    assert api.client.get(f"{V1}/me", headers=squatter).status_code == 401
    owner = bearer(sign_in(api.client, expert, NEW_PASSWORD))
    attested = api.client.post(
        f"{V1}/rfps/{rfp_y['id']}/attestation",
        json={"no_conflict": True, "confidentiality": True},
        headers=owner,
    )
    assert attested.status_code == 201, attested.text
    [item] = api.client.post(
        f"{V1}/rfps/{rfp_y['id']}/assignments/auto", headers=staff_y.headers
    ).json()["items"]
    assert item["reviewer_id"] == joined.json()["user_id"]


def test_an_unaccepted_invitation_of_another_agency_is_not_joined(api: Api) -> None:
    staff_x = api.staff(state="MD")
    rfp_x = published_rfp(api, staff_x)
    email = f"{unique('target')}@university.example"
    # X invites first, hoping to hold the key when Y later adds the same person.
    early = invite(api, staff_x, rfp_x["id"], email)
    assert early.status_code == 201 and early.json()["invite_token"]
    staff_y = api.staff(state="VA")
    rfp_y = published_rfp(api, staff_y)
    refused = assert_problem(invite(api, staff_y, rfp_y["id"], email), 409)
    assert "reviewer" not in refused["detail"].lower()
    panel = api.client.get(f"{V1}/rfps/{rfp_y['id']}/reviewers", headers=staff_y.headers)
    assert panel.json()["total"] == 0
    # Once the person has chosen a password, Y adds them without any token.
    assert accept(api, early.json()["invite_token"]).status_code == 200
    later = invite(api, staff_y, rfp_y["id"], email)
    assert later.status_code == 201 and later.json()["existing_account"] is True


def test_one_live_token_per_email_and_panel_and_accepting_revokes_the_rest(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    other_rfp = published_rfp(api, staff)
    email = f"{unique('new')}@panel.example"
    first = invite(api, staff, rfp["id"], email).json()["invite_token"]
    second = invite(api, staff, rfp["id"], email).json()["invite_token"]
    third = invite(api, staff, other_rfp["id"], email).json()["invite_token"]
    assert len({first, second, third}) == 3
    assert_problem(accept(api, first), 404)  # replaced by the newer one for this panel
    assert accept(api, second).status_code == 200
    # The other panel's token died with the acceptance.
    assert_problem(accept(api, third, "an-attacker-password"), 404)
    assert sign_in(api.client, email).status_code == 200
    # Re-inviting an account that has a password issues nothing.
    again = invite(api, staff, rfp["id"], email).json()
    assert again["invite_token"] is None and again["existing_account"] is True


def test_a_token_never_sets_a_password_on_an_account_that_has_one(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    other_rfp = published_rfp(api, staff)
    email = f"{unique('new')}@panel.example"
    kept = invite(api, staff, rfp["id"], email).json()["invite_token"]
    used = invite(api, staff, other_rfp["id"], email).json()["invite_token"]
    assert accept(api, used).status_code == 200
    # Even a token that stayed live (say, restored from a backup) answers like an unknown one.
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE invitations SET revoked_at = NULL"))
    unknown = assert_problem(accept(api, "x" * 43), 404)
    stale = assert_problem(accept(api, kept, "an-attacker-password"), 404)
    assert stale["detail"] == unknown["detail"]
    assert sign_in(api.client, email).status_code == 200
    assert sign_in(api.client, email, "an-attacker-password").status_code == 401


@pytest.mark.parametrize("kind", ["staff", "partner", "admin"])
def test_emails_of_other_kinds_of_account_answer_409_without_naming_the_role(
    api: Api, kind: str
) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    target = {"staff": api.staff, "partner": api.partner, "admin": lambda: api.admin}[kind]()
    body = assert_problem(invite(api, staff, rfp["id"], target.email), 409)
    for word in ("agency_staff", "staff", "partner", "platform_admin", "admin"):
        assert word not in body["detail"].lower()
    assert sign_in(api.client, target.email).status_code == 200


def test_a_deactivated_account_stays_deactivated(api: Api) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    reviewer = active_reviewer(api, staff, rfp["id"])
    pending_email = f"{unique('pending')}@panel.example"
    pending_token = invite(api, staff, rfp["id"], pending_email).json()["invite_token"]
    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE users SET is_active = :off WHERE email IN (:a, :b)"),
            {"off": False, "a": reviewer.email, "b": pending_email},
        )
    other = published_rfp(api, staff)
    again = invite(api, staff, other["id"], reviewer.email).json()
    assert again["invite_token"] is None
    assert_problem(accept(api, pending_token), 404)
    assert invite(api, staff, other["id"], pending_email).json()["invite_token"] is None
    assert sign_in(api.client, reviewer.email).status_code == 401
    with get_engine().connect() as conn:
        rows = conn.execute(
            text("SELECT is_active, password_hash FROM users WHERE email IN (:a, :b)"),
            {"a": reviewer.email, "b": pending_email},
        ).all()
    assert [bool(r[0]) for r in rows] == [False, False]
    assert sum(r[1] is None for r in rows) == 1  # the pending one still has no password


def test_the_staff_page_says_an_existing_account_was_added_without_a_link(
    api: Api, client: httpx.Client
) -> None:
    staff_y = api.staff(state="VA")
    victim = active_reviewer(api, staff_y, published_rfp(api, staff_y)["id"])
    staff_x = api.staff(state="MD")
    rfp_x = published_rfp(api, staff_x)
    person = Person(client).sign_in(staff_x.email)
    person.get(f"/manage/rfps/{rfp_x['id']}/panel")
    response = person.post(
        f"/manage/rfps/{rfp_x['id']}/reviewers", {"name": "Vic", "email": victim.email}
    )
    assert response.status_code == 200, response.text
    assert 'id="invite-existing"' in response.text
    assert "already has a reviewer account" in response.text
    assert "accept-invite" not in response.text and 'id="invite-link"' not in response.text


# --- password policy -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "words"),
    [
        ("aaaaaaaaaa", "12 characters"),
        ("aaaaaaaaaaaa", "too common"),
        ("password1234", "too common"),
        ("qwertyuiop123", "too common"),
        ("my-PAT.RIVERA-passphrase", "email"),
    ],
)
def test_the_password_policy_is_applied_everywhere(
    api: Api, client: httpx.Client, password: str, words: str
) -> None:
    email = f"pat.rivera{unique('')}@org.example"
    if words == "email":
        password = password.replace("PAT.RIVERA", email.partition("@")[0].upper())
    signup = {
        "name": unique("Org "),
        "kind": "nonprofit",
        "email": email,
        "contact_name": "Pat",
        "password": password,
    }
    cases = {
        "sign-up": api.client.post(f"{V1}/organizations", json=signup),
        "staff": api.client.post(
            f"{V1}/agencies/{api.agency()['id']}/staff",
            json={"email": email, "name": "Pat", "password": password},
            headers=api.admin.headers,
        ),
    }
    staff = api.staff()
    rfp = published_rfp(api, staff)
    token = invite(api, staff, rfp["id"], email).json()["invite_token"]
    cases["accept"] = accept(api, token, password)
    assert accept(api, token).status_code == 200  # still usable with a good password
    holder = api.login(email)
    cases["change"] = api.client.post(
        f"{V1}/me/password",
        json={"current_password": PASSWORD, "new_password": password},
        headers=holder.headers,
    )
    api.client.post(f"{V1}/auth/password-reset", json={"email": email})
    reset_token = reset_link(email).split("token=", 1)[1]
    cases["reset"] = api.client.post(
        f"{V1}/auth/password-reset/confirm", json={"token": reset_token, "new_password": password}
    )
    for where, response in cases.items():
        body = assert_problem(response, 422)
        locs = [e["loc"][-1] for e in body["errors"]]
        field = "new_password" if where in ("change", "reset") else "password"
        assert locs == [field], (where, body)
        assert words in body["errors"][0]["msg"], (where, body)
    # The refused change kept the password, and the reset link is still good for a fine one.
    assert sign_in(api.client, email).status_code == 200
    # The web form shows the same rule beside its field.
    person = Person(client)
    person.get("/sign-up")
    page = person.post("/sign-up", signup)
    assert page.status_code == 422
    assert 'id="password-error"' in page.text


def test_the_project_passwords_pass_the_policy() -> None:
    from app.core.security import password_problem

    assert password_problem(PASSWORD, "staff1@agency.example") is None
    assert password_problem("demo-password-2026", "rfp.staff@state.example") is None
    assert password_problem(NEW_PASSWORD, "partner1@org.example") is None


# --- password change and reset ---------------------------------------------------------------


def test_a_password_change_ends_every_earlier_token_and_web_session(
    api: Api, client: httpx.Client
) -> None:
    partner = api.partner()
    other_token = bearer(sign_in(api.client, partner.email))
    browser = Person(client).sign_in(partner.email)
    assert "Your dashboard" in browser.get("/dashboard")

    wrong = api.client.post(
        f"{V1}/me/password",
        json={"current_password": "not-my-password", "new_password": NEW_PASSWORD},
        headers=partner.headers,
    )
    assert [e["loc"] for e in assert_problem(wrong, 422)["errors"]] == [
        ["body", "current_password"]
    ]
    changed = api.client.post(
        f"{V1}/me/password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=partner.headers,
    )
    assert changed.status_code == 204, changed.text
    for headers in (partner.headers, other_token):
        assert_problem(api.client.get(f"{V1}/me", headers=headers), 401)
    gone = browser.client.get("/dashboard")
    assert gone.status_code == 303 and gone.headers["location"].startswith("/sign-in")
    assert sign_in(api.client, partner.email).status_code == 401
    assert (
        api.client.get(
            f"{V1}/me", headers=bearer(sign_in(api.client, partner.email, NEW_PASSWORD))
        ).status_code
        == 200
    )


def test_the_change_password_page_keeps_only_this_browser_signed_in(
    api: Api, client: httpx.Client
) -> None:
    staff = api.staff()
    elsewhere = Person(client).sign_in(staff.email)
    here = Person(client).sign_in(staff.email)
    here.get("/account/password")
    refused = here.post(
        "/account/password",
        {"current_password": PASSWORD, "new_password": "short", "new_password_again": "short"},
    )
    assert refused.status_code == 422 and 'id="new_password-error"' in refused.text
    done = here.post(
        "/account/password",
        {
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "new_password_again": NEW_PASSWORD,
        },
    )
    assert done.status_code == 303, done.text
    assert 'id="password-changed"' in here.get(done.headers["location"])
    assert elsewhere.client.get("/dashboard").status_code == 303
    assert_problem(api.client.get(f"{V1}/me", headers=staff.headers), 401)


def test_password_reset_answers_alike_for_everyone(api: Api) -> None:
    partner = api.partner()
    known = api.client.post(f"{V1}/auth/password-reset", json={"email": partner.email})
    unknown = api.client.post(f"{V1}/auth/password-reset", json={"email": "ghost@org.example"})
    assert known.status_code == unknown.status_code == 202
    assert known.content == unknown.content == b""
    reset_link(partner.email)  # written after the answer: wait for it
    assert len(messages_to(partner.email)) == 1
    assert messages_to("ghost@org.example") == []


def test_password_reset_through_the_emailed_link(api: Api, client: httpx.Client) -> None:
    partner = api.partner()
    browser = Person(client).sign_in(partner.email)
    person = Person(client)
    person.get("/sign-in")
    assert 'href="/forgot-password"' in person.get("/sign-in")
    person.get("/forgot-password")
    sent = person.post("/forgot-password", {"email": partner.email})
    assert sent.status_code == 200 and 'id="reset-sent"' in sent.text
    link = reset_link(partner.email)
    message = messages_to(partner.email)[-1]
    assert message["Subject"] == "Set a new password"
    # The link points at the configured public address, never at a Host header.
    assert get_settings().public_base_url in message.get_content()
    person.get(link)
    token = link.split("token=", 1)[1]
    form = {"token": token, "new_password": NEW_PASSWORD, "new_password_again": NEW_PASSWORD}
    done = person.post("/reset-password", form)
    assert done.status_code == 200 and 'id="reset-done"' in done.text
    # Single use; earlier tokens and sessions are gone; the new password works.
    again = api.client.post(
        f"{V1}/auth/password-reset/confirm",
        json={"token": token, "new_password": "yet-another-passphrase"},
    )
    assert_problem(again, 404)
    assert_problem(api.client.get(f"{V1}/me", headers=partner.headers), 401)
    assert browser.client.get("/dashboard").status_code == 303
    assert sign_in(api.client, partner.email, NEW_PASSWORD).status_code == 200
    # The token never reached the server's log.
    log = Path(get_settings().data_dir)
    for path in log.glob("*.log"):
        assert token not in path.read_text(errors="replace")


def test_a_reset_link_expires_and_asking_again_does_not_kill_it(api: Api) -> None:
    """A rival who asks for a reset of the owner's account again and again cannot make the
    owner's emailed link dead: every link lives until it expires or one of them is used."""
    partner = api.partner()
    api.client.post(f"{V1}/auth/password-reset", json={"email": partner.email})
    first = reset_link(partner.email).split("token=", 1)[1]
    with get_engine().begin() as conn:  # let the minute between messages pass
        conn.execute(text("UPDATE invitations SET created_at = :t"), {"t": "2000-01-01 00:00:00"})
    api.client.post(f"{V1}/auth/password-reset", json={"email": partner.email})
    second = reset_link(partner.email, count=2).split("token=", 1)[1]
    assert first != second
    confirm = f"{V1}/auth/password-reset/confirm"
    used = api.client.post(confirm, json={"token": first, "new_password": NEW_PASSWORD})
    assert used.status_code == 204, used.text
    # Using one ends the others.
    assert_problem(
        api.client.post(confirm, json={"token": second, "new_password": PASSWORD + "-x"}), 404
    )
    assert sign_in(api.client, partner.email, NEW_PASSWORD).status_code == 200
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE invitations SET created_at = :t"), {"t": "2000-01-01 00:00:00"})
    api.client.post(f"{V1}/auth/password-reset", json={"email": partner.email})
    third = reset_link(partner.email, count=3).split("token=", 1)[1]
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE invitations SET expires_at = :t"), {"t": "2000-01-01 00:00:00"})
    assert_problem(
        api.client.post(confirm, json={"token": third, "new_password": PASSWORD + "-y"}), 404
    )
    assert sign_in(api.client, partner.email, NEW_PASSWORD).status_code == 200


# --- sign-in throttling, on a real two-worker server ------------------------------------------


@pytest.fixture(scope="module")
def two_workers(database: None) -> Iterator[str]:
    server, base = start_server(2, get_settings().data_dir / "throttle-server.log")
    yield base
    server.terminate()
    server.wait(timeout=30)


def from_address(base: str, address: str) -> httpx.Client:
    return httpx.Client(
        base_url=base, timeout=60, transport=httpx.HTTPTransport(local_address=address)
    )


def test_a_rival_guessing_from_their_network_does_not_lock_the_owner_out(
    api: Api, two_workers: str
) -> None:
    partner = api.partner()
    with (
        from_address(two_workers, "127.0.0.2") as rival,
        from_address(two_workers, "127.0.0.1") as owner,
    ):
        statuses = [
            sign_in(rival, partner.email, f"guess-{n}-guess").status_code for n in range(20)
        ]
        assert set(statuses) <= {401, 429} and statuses[:3] == [401, 401, 401]
        assert 429 in statuses
        # The owner, from their own network, signs in at once (whichever worker answers).
        for _ in range(4):
            assert sign_in(owner, partner.email).status_code == 200
        # The rival stays refused even with the right password while the wait runs, on
        # both workers (fresh connections spread over them).
        for _ in range(4):
            with from_address(two_workers, "127.0.0.2") as again:
                refused = sign_in(again, partner.email)
            assert_problem(refused, 429)
            assert int(refused.headers["Retry-After"]) >= 1
    failures = [d for a, d in audit_actions() if a == "user.sign_in_failed"]
    assert {d["source"] for d in failures} == {"127.0.0.2"}
    assert not any("guess-" in str(d) for d in failures)  # passwords never recorded


def test_an_unknown_email_is_throttled_the_same_way(two_workers: str) -> None:
    with from_address(two_workers, "127.0.0.3") as rival:
        statuses = [
            sign_in(rival, "nobody-here@org.example", f"guess-{n}-guess").status_code
            for n in range(8)
        ]
    assert statuses[:4] == [401, 401, 401, 401] and statuses[4:] == [429] * 4


def test_the_account_wide_ceiling_locks_for_everyone_and_tells_the_owner(
    api: Api, two_workers: str
) -> None:
    partner = api.partner()
    with from_address(two_workers, "127.0.0.8") as usual:  # where the owner signs in
        assert sign_in(usual, partner.email).status_code == 200
    ceiling = get_settings().login_account_max_failures
    free = get_settings().login_free_failures + 1  # counted before a source must wait
    sources = [f"127.0.1.{n}" for n in range(1, 2 + ceiling // free)]
    for address in sources:
        with from_address(two_workers, address) as guesser:
            for n in range(free):
                sign_in(guesser, partner.email, f"guess-{n}-guess")
    with from_address(two_workers, "127.0.0.9") as owner:
        locked = sign_in(owner, partner.email)
    body = assert_problem(locked, 429)
    assert "Forgot your password" in body["detail"]
    assert int(locked.headers["Retry-After"]) > 3600
    warning = messages_to(partner.email)
    assert warning and "paused" in warning[-1]["Subject"]
    # From the network the owner signed in from before, the correct password still works,
    # so guessers with many addresses cannot keep them out before a deadline.
    with from_address(two_workers, "127.0.0.8") as usual:
        assert sign_in(usual, partner.email).status_code == 200
        assert sign_in(usual, partner.email, "not-the-password-1").status_code == 401
    # A new password through the emailed link ends the pause.
    with from_address(two_workers, "127.0.0.9") as owner:
        assert (
            owner.post(f"{V1}/auth/password-reset", json={"email": partner.email}).status_code
            == 202
        )
        token = reset_link(partner.email).split("token=", 1)[1]
        confirmed = owner.post(
            f"{V1}/auth/password-reset/confirm", json={"token": token, "new_password": NEW_PASSWORD}
        )
        assert confirmed.status_code == 204, confirmed.text
        assert sign_in(owner, partner.email, NEW_PASSWORD).status_code == 200


# --- sign-in and sign-out audited -----------------------------------------------------------


def test_sign_in_and_sign_out_are_audited(api: Api, client: httpx.Client) -> None:
    staff = api.staff()
    secret = "wrong-but-secret-word"
    assert sign_in(api.client, staff.email, secret).status_code == 401
    person = Person(client).sign_in(staff.email)
    person.get("/dashboard")
    assert person.post("/sign-out").status_code == 303
    events = audit_actions()
    mine = [(a, d) for a, d in events if d.get("email") == staff.email or a == "user.signed_out"]
    actions = [a for a, _ in mine]
    assert actions.count("user.signed_in") == 2  # api.staff() signed in through the API
    assert "user.sign_in_failed" in actions and actions[-1] == "user.signed_out"
    channels = {d.get("channel") for a, d in mine if a == "user.signed_in"}
    assert channels == {"api", "web"}
    assert not any(secret in str(d) or PASSWORD in str(d) for _, d in events)


def test_ipv6_guessers_count_by_their_network_not_each_address() -> None:
    """One IPv6 subscriber gets a /64, billions of addresses: they count as one source."""
    from app.accounts.throttle import source_key

    assert source_key("2001:db8:1:2::1") == source_key("2001:db8:1:2:ffff::9")
    assert source_key("2001:db8:1:2::1") != source_key("2001:db8:1:3::1")
    assert source_key("203.0.113.7") == "203.0.113.7"
    assert source_key("::ffff:203.0.113.7") != source_key("::ffff:203.0.113.8")
