"""The outbox and its delivery against a real SMTP server (aiosmtpd on 127.0.0.1): written in
the caller's transaction, delivered once with a stable Message-ID, retried with backoff while
the server is away, failed after the last try, listed for the admin and resent once."""

from collections.abc import Iterator
from datetime import timedelta
from email import policy
from email.parser import BytesParser

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.config import get_settings
from app.core.db import get_engine, utcnow
from app.notifications import delivery, service
from app.notifications.models import Notice, NoticeStatus
from tests.notification_support import (
    SmtpServer,
    html_of,
    smtp_server,
    steers_this_process,
    text_of,
)
from tests.support import Actor, Api, assert_problem


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    settings = get_settings()
    with smtp_server() as server:
        monkeypatch.setattr(settings, "smtp_url", server.url)
        monkeypatch.setattr(settings, "mail_retry_base_seconds", 0.2)
        monkeypatch.setattr(settings, "mail_max_attempts", 3)
        monkeypatch.setattr(settings, "smtp_timeout_seconds", 2)
        yield server


def _user(actor: Actor) -> User:
    with Session(get_engine(), expire_on_commit=False) as session:
        user = session.get(User, actor.id)
        assert user is not None
        return user


def _notify(user: User, event_key: str, *, commit: bool = True) -> None:
    with Session(get_engine()) as session:
        service.notify(
            session,
            kind="answer_published",
            recipients=[user],
            event_key=event_key,
            path="/rfps/x",
            context={
                "rfp_title": "A <b>bold</b> RFP",
                "agency_name": "State Agency",
                "question": "When?",
                "answer": "Soon.",
            },
        )
        if commit:
            session.commit()
        else:
            session.rollback()


def _notices(user_id: str) -> list[Notice]:
    with Session(get_engine()) as session:
        return list(
            session.exec(
                select(Notice).where(Notice.user_id == user_id).order_by(col(Notice.created_at))
            )
        )


def _make_due(notice_id: str) -> None:
    with Session(get_engine()) as session:
        session.execute(
            update(Notice).where(col(Notice.id) == notice_id).values(next_attempt_at=utcnow())
        )
        session.commit()


def test_a_notice_lives_and_dies_with_the_callers_transaction(api: Api, smtp: SmtpServer) -> None:
    user = _user(api.partner())
    _notify(user, "rolled-back", commit=False)
    assert _notices(user.id) == []
    _notify(user, "same-event")
    _notify(user, "same-event")  # the same event again: no second notice
    assert len(_notices(user.id)) == 1
    assert delivery.deliver_due().sent == 1
    assert delivery.deliver_due().sent == 0  # run again: nothing sent twice
    assert len(smtp.recorder.to(user.email)) == 1


def test_delivery_sends_text_and_accessible_html_with_a_stable_message_id(
    api: Api, smtp: SmtpServer
) -> None:
    user = _user(api.partner())
    _notify(user, "e1")
    [notice] = _notices(user.id)
    delivery.deliver_due()
    [message] = smtp.recorder.to(user.email)
    assert message["Message-ID"] == notice.message_id
    assert message["From"] == get_settings().mail_from
    assert message["Subject"] == "A question on A <b>bold</b> RFP was answered"
    link = get_settings().public_base_url + "/rfps/x"
    assert link in text_of(message)
    html = html_of(message)
    assert '<html lang="en">' in html and "<h1" in html
    assert "A &lt;b&gt;bold&lt;/b&gt; RFP" in html  # every value escaped
    assert f'href="{link}"' in html
    assert "You get this because" in html and "You get this because" in text_of(message)
    [sent] = _notices(user.id)
    assert sent.status == NoticeStatus.sent and sent.attempts == 1 and sent.sent_at is not None


def test_server_away_keeps_notices_pending_with_backoff_then_delivers_once(
    api: Api, smtp: SmtpServer
) -> None:
    user = _user(api.partner())
    smtp.stop()
    _notify(user, "e1")
    _notify(user, "e2")
    report = delivery.deliver_due()
    assert (report.sent, report.retried) == (0, 2)
    first = _notices(user.id)
    assert {n.status for n in first} == {NoticeStatus.pending}
    assert all(n.attempts == 1 and n.next_attempt_at > utcnow() for n in first)
    assert delivery.deliver_due().retried == 0  # not due yet: backoff
    for notice in first:
        _make_due(notice.id)
    delivery.deliver_due()
    second = _notices(user.id)
    assert all(n.attempts == 2 and n.status == NoticeStatus.pending for n in second)
    # Exponential: the wait after the 2nd failure is twice the 1st (0.2 s, then 0.4 s).
    assert delivery.backoff(2) == 2 * delivery.backoff(1)
    assert delivery.backoff(30) == timedelta(seconds=get_settings().mail_retry_max_seconds)

    smtp.start()
    for notice in second:
        _make_due(notice.id)
    assert delivery.deliver_due().sent == 2
    assert len(smtp.recorder.to(user.email)) == 2
    assert sorted(smtp.recorder.message_ids()) == sorted(n.message_id for n in second)


@steers_this_process
def test_after_the_last_try_the_admin_sees_it_failed_and_resend_delivers_once(
    api: Api, smtp: SmtpServer
) -> None:
    user = _user(api.partner())
    smtp.stop()
    _notify(user, "doomed")
    [notice] = _notices(user.id)
    for _ in range(get_settings().mail_max_attempts):
        _make_due(notice.id)
        delivery.deliver_due()
    [failed] = _notices(user.id)
    assert failed.status == NoticeStatus.failed and failed.attempts == 3
    assert failed.last_error

    listed = api.client.get("/api/v1/admin/outbox?status=failed", headers=api.admin.headers)
    assert listed.status_code == 200, listed.text
    assert [row["id"] for row in listed.json()["items"]] == [notice.id]
    assert "text_body" not in listed.json()["items"][0]  # never the body (links inside)
    partner = api.partner()
    assert_problem(api.client.get("/api/v1/admin/outbox", headers=partner.headers), 403)
    assert_problem(
        api.client.post(f"/api/v1/admin/outbox/{notice.id}/resend", headers=partner.headers), 403
    )

    smtp.start()
    resent = api.client.post(f"/api/v1/admin/outbox/{notice.id}/resend", headers=api.admin.headers)
    assert resent.status_code == 200, resent.text
    assert resent.json()["status"] == "pending"
    assert_problem(
        api.client.post(f"/api/v1/admin/outbox/{notice.id}/resend", headers=api.admin.headers),
        409,
    )
    delivery.deliver_due()
    delivery.deliver_due()
    assert [m["Message-ID"] for m in smtp.recorder.to(user.email)] == [notice.message_id]
    actions = api.client.get(
        f"/api/v1/audit?entity=notice&entity_id={notice.id}", headers=api.admin.headers
    )
    assert actions.status_code == 200, actions.text
    assert [e["action"] for e in actions.json()["items"]] == [
        "notice.failed",
        "notice.resent",
        "notice.sent",
    ]


def test_a_refused_recipient_fails_at_once(api: Api, smtp: SmtpServer) -> None:
    user = _user(api.partner())
    smtp.recorder.refuse_with = "550 5.1.1 no such mailbox"
    _notify(user, "refused")
    assert delivery.deliver_due().failed == 1
    [notice] = _notices(user.id)
    assert notice.status == NoticeStatus.failed and notice.attempts == 1
    assert "550" in (notice.last_error or "")


def test_without_smtp_the_message_is_an_eml_file_and_stays_in_the_inbox(api: Api) -> None:
    assert get_settings().smtp_url == ""
    partner = api.partner()
    user = _user(partner)
    outbox = get_settings().outbox_dir
    before = set(outbox.glob("*.eml")) if outbox.exists() else set()
    _notify(user, "file")  # written at the commit, in this process
    [written] = set(outbox.glob("*.eml")) - before
    message = BytesParser(policy=policy.default).parsebytes(written.read_bytes())
    assert message["Subject"] == "A question on A <b>bold</b> RFP was answered"
    assert "/rfps/x" in message.get_content()
    [notice] = _notices(user.id)
    assert notice.status == NoticeStatus.sent

    inbox = api.client.get("/api/v1/me/notifications?unread=true", headers=partner.headers)
    assert inbox.status_code == 200, inbox.text
    [entry] = inbox.json()["items"]
    assert set(entry) == {"id", "kind", "subject", "body", "link", "created_at", "read_at"}
    assert entry["kind"] == "answer_published" and entry["read_at"] is None
    read = api.client.post(f"/api/v1/me/notifications/{entry['id']}/read", headers=partner.headers)
    assert read.status_code == 200 and read.json()["read_at"] is not None
    unread = api.client.get("/api/v1/me/notifications?unread=true", headers=partner.headers)
    assert unread.json()["total"] == 0
    other = api.partner()
    assert_problem(
        api.client.post(f"/api/v1/me/notifications/{entry['id']}/read", headers=other.headers), 404
    )


def test_preferences_turn_optional_email_off_but_never_the_mandatory_ones(
    api: Api, smtp: SmtpServer
) -> None:
    partner = api.partner()
    got = api.client.get("/api/v1/me/notification-preferences", headers=partner.headers)
    assert got.status_code == 200 and got.json()["email"]["answer_published"] is True
    assert "password_reset" not in got.json()["email"]
    put = api.client.put(
        "/api/v1/me/notification-preferences",
        json={"email": {"answer_published": False}},
        headers=partner.headers,
    )
    assert put.status_code == 200 and put.json()["email"]["answer_published"] is False
    assert_problem(
        api.client.put(
            "/api/v1/me/notification-preferences",
            json={"email": {"password_reset": False}},
            headers=partner.headers,
        ),
        422,
    )
    assert_problem(
        api.client.put(
            "/api/v1/me/notification-preferences",
            json={"email": {"no_such_kind": True}},
            headers=partner.headers,
        ),
        422,
    )
    user = _user(partner)
    _notify(user, "quiet")
    assert delivery.deliver_due().sent == 0
    assert smtp.recorder.to(user.email) == []
    [notice] = _notices(user.id)
    assert notice.status == NoticeStatus.inbox_only
    inbox = api.client.get("/api/v1/me/notifications", headers=partner.headers)
    assert inbox.json()["total"] == 1
