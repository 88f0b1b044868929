"""Jobs: the RFP's close and its deadline reminder fire once for a deadline seconds away, on
SQLite (the in-process worker `serve` starts) and on PostgreSQL (`python -m app worker`
processes); two workers deliver 1,000 queued notices none twice, and a worker killed with
SIGKILL mid-batch loses none. All against a real SMTP server."""

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, col, func, select

from app.accounts.models import User
from app.core.config import get_settings
from app.core.db import get_engine
from app.notifications import service
from app.notifications.models import Notice, NoticeStatus
from tests.notification_support import SmtpServer, smtp_server
from tests.support import Api, create_rfp, run_cli

ON_POSTGRES = get_engine().dialect.name == "postgresql"
needs_postgres = pytest.mark.skipif(
    not ON_POSTGRES, reason="the worker processes share a PostgreSQL queue (TEST_DATABASE_URL)"
)
needs_sqlite = pytest.mark.skipif(ON_POSTGRES, reason="the in-process worker runs on SQLite")


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    with smtp_server() as server:
        monkeypatch.setattr(get_settings(), "smtp_url", server.url)
        yield server


def _wait(condition: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _count(sql: str, **params: Any) -> int:
    with get_engine().connect() as conn:
        return int(conn.execute(text(sql), params).scalar_one())


def _closing_soon(api: Api, seconds: float) -> tuple[dict[str, Any], list[User], list[User]]:
    """A published RFP whose deadline is `seconds` away, a partner with a draft on it, one
    who follows it, and one who has nothing to do with it; (rfp, staff, draft holders)."""
    staff = api.staff()
    rfp = create_rfp(api, staff)
    published = api.client.post(f"/api/v1/rfps/{rfp['id']}/publish", headers=staff.headers)
    assert published.status_code == 200, published.text
    drafter = api.partner()
    draft = api.client.post(f"/api/v1/rfps/{rfp['id']}/proposals", headers=drafter.headers)
    assert draft.status_code == 201, draft.text
    follower = api.partner()
    followed = api.client.post(f"/api/v1/rfps/{rfp['id']}/follow", headers=follower.headers)
    assert followed.status_code == 204, followed.text
    api.partner()  # unrelated: told nothing
    # Time passes: the deadline is now seconds away (the server clock decides).
    with get_engine().begin() as conn:
        conn.execute(
            text("UPDATE rfps SET submission_deadline = :t WHERE id = :id"),
            {"t": datetime.now(UTC) + timedelta(seconds=seconds), "id": rfp["id"]},
        )
    with Session(get_engine()) as session:
        staff_user = session.get(User, staff.id)
        drafter_user = session.get(User, drafter.id)
        follower_user = session.get(User, follower.id)
        assert staff_user and drafter_user and follower_user
    return rfp, [staff_user], [drafter_user, follower_user]


def _assert_fired_once(rfp_id: str, smtp: SmtpServer, staff: list[User], told: list[User]):
    closed = _count(
        "SELECT count(*) FROM audit_events WHERE action = 'rfp.closed' AND entity_id = :id",
        id=rfp_id,
    )
    assert closed == 1
    assert _count("SELECT count(*) FROM notices WHERE kind = 'rfp_closed'") == len(staff)
    assert _count("SELECT count(*) FROM notices WHERE kind = 'deadline_reminder'") == len(told)
    for user in staff:
        [message] = smtp.recorder.to(user.email)
        assert "closed for submissions" in message["Subject"]
    for user in told:
        [message] = smtp.recorder.to(user.email)
        assert "1 day left to submit" in message["Subject"]
    assert len(smtp.messages) == len(staff) + len(told)  # the unrelated partner: nothing


@needs_sqlite
def test_in_process_worker_closes_and_reminds_once_on_sqlite(
    monkeypatch: pytest.MonkeyPatch, smtp: SmtpServer
) -> None:
    settings = get_settings()
    monkeypatch.setattr(settings, "jobs_in_process", "on")
    monkeypatch.setattr(settings, "schedule_tick_seconds", 0.5)
    from app.main import app

    with TestClient(app) as client:  # its lifespan starts the in-process worker
        api = Api(client)
        rfp, staff, told = _closing_soon(api, seconds=4)
        _wait(lambda: len(smtp.messages) >= len(told), 15, "the deadline reminders")
        _wait(lambda: len(smtp.messages) >= len(told) + len(staff), 20, "the close notice")
        time.sleep(2)  # a few more rounds of the schedule: nothing fires again
        _assert_fired_once(rfp["id"], smtp, staff, told)
        got = client.get(f"/api/v1/rfps/{rfp['id']}")
        assert got.json()["status"] == "closed"


# --- PostgreSQL: `python -m app worker` processes ------------------------------------------


def _worker(smtp: SmtpServer, log: Path, **env: str) -> subprocess.Popen[bytes]:
    environment = {
        **os.environ,
        "SMTP_URL": smtp.url,
        "DELIVERY_TICK_SECONDS": "1",
        "SCHEDULE_TICK_SECONDS": "1",
        "LOG_LEVEL": "WARNING",
        **env,
    }
    with log.open("ab") as out:
        return subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "app", "worker"],
            env=environment,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


@pytest.fixture
def workers(tmp_path: Path) -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
    for process in started:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    with get_engine().begin() as conn:  # the queue is not in the app's tables: empty it
        conn.execute(text("DELETE FROM procrastinate_periodic_defers"))
        conn.execute(text("DELETE FROM procrastinate_events"))
        conn.execute(text("DELETE FROM procrastinate_jobs"))


@needs_postgres
def test_worker_processes_close_and_remind_once_on_postgres(
    api: Api, smtp: SmtpServer, workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    rfp, staff, told = _closing_soon(api, seconds=6)
    workers.extend(_worker(smtp, tmp_path / f"worker{i}.log") for i in range(2))
    _wait(lambda: len(smtp.messages) >= len(told) + len(staff), 40, "the reminders and close")
    time.sleep(3)
    _assert_fired_once(rfp["id"], smtp, staff, told)


def _queue(user: User, count: int) -> list[str]:
    with Session(get_engine()) as session:
        for number in range(count):
            service.notify(
                session,
                kind="answer_published",
                recipients=[user],
                event_key=f"bulk-{number}",
                path="/rfps/bulk",
                context={
                    "rfp_title": "Bulk RFP",
                    "agency_name": "State",
                    "question": f"Question {number}?",
                    "answer": "Yes.",
                },
            )
        session.commit()
        return list(session.exec(select(Notice.message_id).where(Notice.user_id == user.id)))


def _sent() -> int:
    with Session(get_engine()) as session:
        return int(
            session.exec(select(func.count()).where(col(Notice.status) == NoticeStatus.sent)).one()
        )


@needs_postgres
def test_two_workers_deliver_a_thousand_notices_none_twice(
    api: Api, smtp: SmtpServer, workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    with Session(get_engine(), expire_on_commit=False) as session:
        user = session.get(User, api.partner().id)
        assert user is not None
    expected = _queue(user, 1000)
    workers.extend(_worker(smtp, tmp_path / f"worker{i}.log") for i in range(2))
    smtp.wait_for(1000, timeout=180)
    time.sleep(2)  # anything sent twice would have arrived by now
    ids = smtp.recorder.message_ids()
    assert len(ids) == 1000 and sorted(ids) == sorted(expected)
    assert _sent() == 1000
    senders = {
        row[0]
        for row in get_engine()
        .connect()
        .execute(text("SELECT DISTINCT actor_id FROM audit_events WHERE action = 'notice.sent'"))
    }
    assert senders == {None}


@needs_postgres
def test_a_worker_killed_mid_batch_loses_nothing(
    api: Api, smtp: SmtpServer, workers: list[subprocess.Popen[bytes]], tmp_path: Path
) -> None:
    with Session(get_engine(), expire_on_commit=False) as session:
        user = session.get(User, api.partner().id)
        assert user is not None
    expected = _queue(user, 1000)
    # Claims lapse after 5 s here, so the survivor takes the victim's batch soon after.
    victim = _worker(smtp, tmp_path / "victim.log", MAIL_CLAIM_SECONDS="5")
    workers.append(victim)
    smtp.wait_for(150, timeout=120)
    victim.send_signal(signal.SIGKILL)
    victim.wait(timeout=10)
    at_kill = len(smtp.messages)
    assert at_kill < 1000, "the victim finished before it was killed"
    workers.append(_worker(smtp, tmp_path / "survivor.log", MAIL_CLAIM_SECONDS="5"))
    _wait(lambda: set(smtp.recorder.message_ids()) >= set(expected), 180, "every notice")
    time.sleep(2)
    ids = smtp.recorder.message_ids()
    assert set(ids) == set(expected)  # none lost
    # At most the messages in flight at the kill (accepted by the server, their outcome not
    # yet committed: two at most) go out again, with their own Message-IDs, so a receiver can
    # tell they are the same.
    assert len(ids) - len(set(ids)) <= 2
    assert _sent() == 1000


@needs_sqlite
def test_the_worker_command_says_sqlite_needs_none() -> None:
    result = run_cli("worker")
    assert result.returncode == 2
    assert "serve` runs the jobs itself" in result.stderr
