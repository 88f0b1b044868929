"""The notification pages: the unread count in the header, the inbox and marking read,
email choices per kind, "Follow this RFP" for signed-in partners, and the admin's outbox
with its failed messages and Resend."""

import pytest
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.accounts.models import User
from app.core.db import get_engine, utcnow
from app.notifications import service
from app.notifications.models import Notice, NoticeStatus, RfpFollow
from tests.notification_support import steers_this_process
from tests.support import Api, published_rfp
from tests.web_support import Person, text_of


def _notify(user_id: str, key: str) -> None:
    with Session(get_engine()) as session:
        user = session.get(User, user_id)
        assert user is not None
        service.notify(
            session,
            kind="answer_published",
            recipients=[user],
            event_key=key,
            path="/rfps/somewhere",
            context={
                "rfp_title": "Pages RFP",
                "agency_name": "A",
                "question": "Q?",
                "answer": "A.",
            },
        )
        session.commit()


def test_inbox_page_counts_unread_in_the_header_and_marks_read(api: Api) -> None:
    partner = api.partner()
    person = Person(api.client).sign_in(partner.email)
    assert 'id="unread-count"' not in person.get("/dashboard")
    _notify(partner.id, "one")
    _notify(partner.id, "two")
    dashboard = person.get("/dashboard")
    assert 'id="unread-count">2<' in dashboard
    inbox = person.get("/notifications")
    assert inbox.count("A question on Pages RFP was answered</h2>") == 2
    with Session(get_engine()) as session:
        first = session.exec(select(Notice).where(Notice.user_id == partner.id)).first()
        assert first is not None
    response = person.post(f"/notifications/{first.id}/read")
    assert response.status_code == 303
    assert 'id="unread-count">1<' in person.get("/notifications")
    other = Person(api.client).sign_in(api.partner().email)
    other.get("/notifications")
    assert other.post(f"/notifications/{first.id}/read").status_code == 404


def test_preferences_page_saves_choices_per_kind(api: Api) -> None:
    partner = api.partner()
    person = Person(api.client).sign_in(partner.email)
    form = person.get("/notifications/preferences")
    assert 'name="email.addendum_published" checked' in form
    assert "password reset links" in text_of(form)  # always emailed, said so
    saved = person.post(
        "/notifications/preferences", {"email.answer_published": "on"}
    )  # everything else unticked
    assert saved.status_code == 303
    prefs = api.client.get("/api/v1/me/notification-preferences", headers=partner.headers).json()
    assert prefs["email"]["answer_published"] is True
    assert prefs["email"]["addendum_published"] is False


def test_partners_follow_an_rfp_from_its_public_page(api: Api) -> None:
    rfp = published_rfp(api, api.staff())
    anonymous = api.client.get(f"/rfps/{rfp['id']}").text
    assert "Follow this RFP" not in anonymous
    staff_page = Person(api.client).sign_in(api.staff().email).get(f"/rfps/{rfp['id']}")
    assert "Follow this RFP" not in staff_page

    partner = api.partner()
    person = Person(api.client).sign_in(partner.email)
    assert "Follow this RFP" in person.get(f"/rfps/{rfp['id']}")
    assert person.post(f"/rfps/{rfp['id']}/follow").status_code == 303
    assert "Stop following this RFP" in person.get(f"/rfps/{rfp['id']}")
    with Session(get_engine()) as session:
        assert session.get(RfpFollow, (partner.id, rfp["id"])) is not None
    assert person.post(f"/rfps/{rfp['id']}/follow", {"follow": "no"}).status_code == 303
    assert "Follow this RFP" in person.get(f"/rfps/{rfp['id']}")
    # The API says the same; only partners follow.
    assert (
        api.client.post(f"/api/v1/rfps/{rfp['id']}/follow", headers=partner.headers).status_code
        == 204
    )
    staff = api.staff()
    assert (
        api.client.post(f"/api/v1/rfps/{rfp['id']}/follow", headers=staff.headers).status_code
        == 403
    )
    assert api.client.post("/api/v1/rfps/nope/follow", headers=partner.headers).status_code == 404


@pytest.mark.parametrize("who", ["partner", "staff"])
def test_only_the_admin_opens_the_outbox_page(api: Api, who: str) -> None:
    actor = api.partner() if who == "partner" else api.staff()
    person = Person(api.client).sign_in(actor.email)
    person.get("/admin/outbox", status=403)


def test_admin_outbox_lists_failed_messages_and_resends(api: Api) -> None:
    partner = api.partner()
    _notify(partner.id, "failing")
    with Session(get_engine()) as session:
        session.execute(
            update(Notice)
            .where(col(Notice.user_id) == partner.id)
            .values(status=NoticeStatus.failed, failed_at=utcnow(), attempts=8, last_error="451")
        )
        session.commit()
        notice = session.exec(select(Notice).where(Notice.user_id == partner.id)).one()
    admin = Person(api.client).sign_in(api.admin.email)
    page = admin.get("/admin/outbox")
    assert partner.email in page and "Resend" in page and notice.message_id.strip("<>") in page
    response = admin.post(f"/admin/outbox/{notice.id}/resend")
    assert response.status_code == 303
    with Session(get_engine()) as session:
        again = session.get(Notice, notice.id)
        # Without SMTP_URL the resent message is written to the outbox folder at once.
        assert again is not None and again.status == NoticeStatus.sent
    assert partner.email not in admin.get("/admin/outbox")  # failed ones only, by default


@steers_this_process
def test_with_email_the_staff_page_says_sent_and_shows_no_link(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.core.config import get_settings

    staff_actor = api.staff()
    rfp = published_rfp(api, staff_actor)
    staff = Person(api.client).sign_in(staff_actor.email)
    manage = f"/manage/rfps/{rfp['id']}"
    staff.get(f"{manage}/panel")
    # Delivery is a worker's job; the page only needs to know that email is configured.
    monkeypatch.setattr(get_settings(), "smtp_url", "smtp://127.0.0.1:9")
    invited = staff.post(
        f"{manage}/reviewers", {"name": "Mel Mailed", "email": "mel@panel.example"}
    )
    assert invited.status_code == 200, invited.text
    assert 'id="invite-emailed"' in invited.text
    assert "invite-link" not in invited.text and "token=" not in invited.text
