"""The audit trail against a database administrator: events written over the HTTP API, then
edited, deleted, re-chained or cut with raw SQL, and `python -m app verify-audit` (the real
command line) saying which event and why. The tamperer knows the hashing code but not
AUDIT_KEY, and cannot write the anchor directory."""

import hashlib
import hmac
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, text
from sqlmodel import Session

from app.audit import anchors
from app.audit import service as audit
from app.audit.models import AuditEvent
from app.core.config import get_settings
from app.core.db import get_engine, utcnow
from tests.support import Actor, Api, run_cli

EVENTS = AuditEvent.__table__  # type: ignore[attr-defined]


def _verify_fails(*expected: str) -> str:
    result = run_cli("verify-audit")
    assert result.returncode == 1, result.stdout
    for words in expected:
        assert words in result.stderr, result.stderr
    return result.stderr


def _verify_passes() -> None:
    result = run_cli("verify-audit")
    assert result.returncode == 0, result.stderr
    assert "intact" in result.stdout


def _anchor() -> None:
    result = run_cli("audit-anchor")
    assert result.returncode == 0, result.stderr
    assert "Anchored" in result.stdout


def _activity(api: Api, updates: int = 4) -> Actor:
    """Events from several roles: an agency and its staff, a partner editing its profile."""
    api.staff()
    partner = api.partner()
    for n in range(updates):
        response = api.client.patch(
            f"/api/v1/organizations/{partner.organization_id}",
            json={"capacity_clusters": n + 1},
            headers=partner.headers,
        )
        assert response.status_code == 200, response.text
    return partner


def _events() -> list[dict[str, Any]]:
    with get_engine().connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(EVENTS).order_by(EVENTS.c.seq))]


def _last_seq() -> int:
    return int(_events()[-1]["seq"])


def _cut_back_to(seq: int) -> None:
    """Delete the events after `seq` and move the head back to it, as a tamperer would."""
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq > :s"), {"s": seq})
        head = conn.execute(
            text("SELECT seq, hash FROM audit_events WHERE seq = :s"), {"s": seq}
        ).one()
        conn.execute(
            text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": head[0], "h": head[1]}
        )


def _rewrite(rows: list[dict[str, Any]]) -> None:
    """Store rows as the tamperer computed them, and move the head to the last one."""
    columns = ("seq", "action", "data", "keyed", "prev_hash", "hash")
    with get_engine().begin() as conn:
        for row in rows:
            conn.execute(
                EVENTS.update()
                .where(EVENTS.c.id == row["id"])
                .values({name: row[name] for name in columns})
            )
        seq, head = conn.execute(
            text("SELECT seq, hash FROM audit_events ORDER BY seq DESC")
        ).first()
        conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": seq, "h": head})


def _rechain(rows: list[dict[str, Any]], digest: Any) -> list[dict[str, Any]]:
    """Recompute every link and hash from the first row on, with the tamperer's digest."""
    prev = rows[0]["prev_hash"]
    for row in rows:
        row["prev_hash"] = prev
        content = {k: row[k] for k in ("seq", "at", "actor_id", "agency_id", "action")}
        content |= {k: row[k] for k in ("entity", "entity_id", "data", "prev_hash")}
        row["hash"] = digest(audit._canonical(**content, keyed=row["keyed"], rfp_id=row["rfp_id"]))
        prev = row["hash"]
    return rows


def _sha256(payload: bytes) -> str:
    return hashlib.sha256(payload).hexdigest()


def test_events_written_over_http_are_keyed_and_an_untouched_log_verifies(api: Api) -> None:
    _activity(api)
    rows = _events()
    assert len(rows) >= 6
    assert all(r["keyed"] for r in rows)
    # The hash is not the public SHA-256 of the content: it needs AUDIT_KEY.
    first = rows[0]
    content = {k: first[k] for k in ("seq", "at", "actor_id", "agency_id", "action", "entity")}
    content |= {k: first[k] for k in ("entity_id", "data", "prev_hash")}
    assert first["hash"] != _sha256(audit._canonical(**content, keyed=True, rfp_id=None))
    _anchor()
    result = run_cli("verify-audit")
    assert result.returncode == 0, result.stderr
    assert f"{len(rows)} event(s) verified" in result.stdout
    assert f"anchor (event #{len(rows)}" in result.stdout


def test_an_edited_event_fails(api: Api) -> None:
    _activity(api)
    _anchor()
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor_id = 'someone-else' WHERE seq = 3"))
    _verify_fails("event #3 was altered after it was written", "HMAC")


def test_a_deleted_middle_event_fails_even_renumbered_and_rechained(api: Api) -> None:
    _activity(api)
    _anchor()
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 4"))
    _verify_fails("event #4 is missing")

    # Close the gap: renumber the later events and recompute the chain with the public code.
    everything = _events()
    rows = [r for r in everything if r["seq"] > 3]
    rows[0]["prev_hash"] = everything[2]["hash"]
    for row in rows:
        row["seq"] -= 1
    _rewrite(_rechain(rows, _sha256))
    _verify_fails("event #4 was altered", "the log ends at")


def test_a_rechained_log_with_an_edited_event_fails(api: Api) -> None:
    _activity(api)
    _anchor()
    rows = [r for r in _events() if r["seq"] >= 3]
    rows[0]["data"] = {**rows[0]["data"], "name": "Rewritten"}
    # The public algorithm (SHA-256 of the keyed content), then an HMAC under a guessed key.
    _rewrite(_rechain(rows, _sha256))
    _verify_fails("event #3 was altered after it was written (its HMAC under AUDIT_KEY differs)")

    def guessed(payload: bytes) -> str:
        return hmac.new(b"change-me", payload, hashlib.sha256).hexdigest()

    _rewrite(_rechain(rows, guessed))
    _verify_fails("event #3 was altered", "is not the event anchored at")


def test_a_log_rechained_with_keyed_flags_cleared_fails(api: Api) -> None:
    _activity(api)
    _anchor()
    # From the edited event on: unkeyed after keyed ones is itself the tell.
    rows = [r for r in _events() if r["seq"] >= 3]
    rows[0]["action"] = "organization.rewritten"
    for row in rows:
        row["keyed"] = False
    _rewrite(_rechain(rows, _sha256))
    _verify_fails("event #3 is not keyed although keyed event #1 comes before it")

    # The whole log unkeyed, so it reads like one written before the key existed.
    rows = _events()
    for row in rows:
        row["keyed"] = False
    _rewrite(_rechain(rows, _sha256))
    stderr = _verify_fails("keyed flags were changed", "is not the event anchored at")
    assert "altered" not in stderr  # every plain hash was recomputed: only the anchor knows


def test_a_cut_tail_with_the_head_moved_fails(api: Api) -> None:
    partner = _activity(api)
    _anchor()
    anchored = _last_seq()
    _cut_back_to(anchored - 2)
    _verify_fails(
        f"records event #{anchored}, but the log ends at #{anchored - 2}: events were cut"
    )

    # Writing on after the cut grows the log past the anchor again, with other events.
    for n in range(3):
        api.client.patch(
            f"/api/v1/organizations/{partner.organization_id}",
            json={"capacity_clusters": 10 + n},
            headers=partner.headers,
        )
    assert _last_seq() > anchored
    _verify_fails(f"event #{anchored} is not the event anchored at")


def test_every_servers_anchor_file_in_the_folder_is_checked(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Servers sharing one anchor folder (or whose files were collected into one) each write
    their own file; the verifier holds the log to all of them."""
    _activity(api)
    monkeypatch.setenv("AUDIT_ANCHOR_NAME", "server-b")
    _anchor()  # the command line as another server
    anchored = _last_seq()
    other = anchors.anchor_path().with_name("anchors-server-b.jsonl")
    assert other.exists() and other != anchors.anchor_path()
    monkeypatch.delenv("AUDIT_ANCHOR_NAME")
    _verify_passes()

    lines = other.read_text().splitlines()
    forged = json.loads(lines[-1])
    forged["hash"] = "0" * 64
    other.write_text("\n".join([*lines, json.dumps(forged)]) + "\n")
    _verify_fails(f"anchor on line {len(lines) + 1} of {other} does not verify")
    other.write_text("\n".join(lines) + "\n")

    _cut_back_to(anchored - 2)  # past the other server's anchor only
    _verify_fails(f"records event #{anchored}, but the log ends at #{anchored - 2}")


def test_an_anchor_that_does_not_verify_fails(api: Api) -> None:
    _activity(api)
    _anchor()
    _verify_passes()
    path = anchors.anchor_path()
    lines = path.read_text().splitlines()
    forged = json.loads(lines[-1])
    forged["seq"] -= 1  # point the newest anchor at an earlier head
    path.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
    _verify_fails(f"anchor on line {len(lines)} of {path} does not verify")

    # An anchor signed with another key is refused the same way.
    content = {k: forged[k] for k in ("seq", "hash", "at", "keyed_from")}
    payload = json.dumps(content, sort_keys=True, separators=(",", ":")).encode()
    forged["mac"] = hmac.new(b"guessed", payload, hashlib.sha256).hexdigest()
    path.write_text("\n".join([*lines[:-1], json.dumps(forged)]) + "\n")
    _verify_fails("does not verify: it was altered or written with another AUDIT_KEY")


def test_removed_anchors_fail_once_keyed_events_exist(api: Api) -> None:
    _activity(api)
    anchors.anchor_path().unlink()
    _verify_fails("no valid anchor in")


def test_anchors_are_written_every_100_events_and_every_10_minutes(api: Api) -> None:
    partner = _activity(api, updates=1)
    path = anchors.anchor_path()
    first = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(first) == 1  # there was no anchor yet, so the first commit wrote one
    while _last_seq() < 100:
        api.client.patch(
            f"/api/v1/organizations/{partner.organization_id}",
            json={"capacity_clusters": 1 + _last_seq() % 5},
            headers=partner.headers,
        )
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert [a["seq"] for a in written] == [first[0]["seq"], 100]
    assert written[-1]["keyed_from"] == 1
    _verify_passes()

    stale = time.time() - 11 * 60
    os.utime(path, (stale, stale))
    api.client.patch(
        f"/api/v1/organizations/{partner.organization_id}",
        json={"capacity_clusters": 3},
        headers=partner.headers,
    )
    written = [json.loads(line) for line in path.read_text().splitlines()]
    assert [a["seq"] for a in written] == [first[0]["seq"], 100, 101]
    _verify_passes()


def test_a_quiet_logs_tail_is_anchored_once_the_newest_anchor_is_10_minutes_old(
    api: Api,
) -> None:
    partner = _activity(api, updates=1)
    path = anchors.anchor_path()
    for n in range(3):  # written just after the first anchor: none of them is due
        api.client.patch(
            f"/api/v1/organizations/{partner.organization_id}",
            json={"capacity_clusters": 5 + n},
            headers=partner.headers,
        )
    assert len(path.read_text().splitlines()) == 1
    # What each worker's timer runs when the newest anchor turns 10 minutes old.
    assert audit.anchor_if_stale(get_engine()) is None  # not 10 minutes yet
    stale = time.time() - 11 * 60
    os.utime(path, (stale, stale))
    caught_up = audit.anchor_if_stale(get_engine())
    assert caught_up is not None and caught_up.seq == _last_seq()
    os.utime(path, (stale, stale))
    assert audit.anchor_if_stale(get_engine()) is None  # stale, but nothing new to anchor
    assert len(path.read_text().splitlines()) == 2
    _verify_passes()


def test_a_rolled_back_event_is_never_anchored(api: Api) -> None:
    _activity(api)
    _anchor()
    path = anchors.anchor_path()
    before = path.read_text()
    stale = time.time() - 11 * 60
    os.utime(path, (stale, stale))  # the next event is due for an anchor
    with Session(get_engine()) as session:
        audit.record(session=session, actor_id=None, action="x.tried", entity="x", entity_id="1")
        session.rollback()
    assert path.read_text() == before
    _verify_passes()


def test_workers_appending_at_once_keep_every_anchor_whole(api: Api) -> None:
    _activity(api)
    env = os.environ.copy()
    runs = [
        subprocess.Popen(  # noqa: S603 - our own command line
            [sys.executable, "-m", "app", "audit-anchor"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        for _ in range(6)
    ]
    assert all(run.wait(timeout=120) == 0 for run in runs)
    found = anchors.read_all()
    assert found.problems == []
    assert len(found.anchors) == 7  # the automatic first one and six from the command line
    _verify_passes()


def _legacy_log(count: int) -> None:
    """A log written before AUDIT_KEY existed: plain SHA-256 of the old canonical form."""
    prev = "0" * 64
    with get_engine().begin() as conn:
        for seq in range(1, count + 1):
            row: dict[str, Any] = {
                "seq": seq,
                "at": utcnow(),
                "actor_id": None,
                "agency_id": None,
                "action": "legacy.event",
                "entity": "legacy",
                "entity_id": str(seq),
                "data": {"n": seq},
                "prev_hash": prev,
            }
            row["hash"] = _sha256(audit._canonical(**row))
            conn.execute(EVENTS.insert(), {**row, "id": f"legacy{seq}", "keyed": False})
            prev = row["hash"]
        conn.execute(text("UPDATE audit_head SET seq = :s, hash = :h"), {"s": count, "h": prev})


def test_an_older_unkeyed_log_is_kept_and_its_head_recorded(api: Api) -> None:
    _legacy_log(5)
    legacy_head = _events()[-1]["hash"]
    _activity(api, updates=1)
    rows = _events()
    assert [r["keyed"] for r in rows[:6]] == [False] * 5 + [True]
    assert rows[5]["data"]["unkeyed_head"] == {"seq": 5, "hash": legacy_head}
    assert rows[4]["hash"] == legacy_head  # the older part is not rewritten
    _anchor()
    _verify_passes()

    # Edit an old event and recompute the whole log, keyed events' links included.
    rows[1]["data"] = {"n": 99}
    rechained = _rechain(rows[1:5], _sha256)
    rows[5]["data"]["unkeyed_head"]["hash"] = rechained[-1]["hash"]
    _rewrite(_rechain([*rechained, *rows[5:]], _sha256))
    _verify_fails("event #6 was altered after it was written (its HMAC under AUDIT_KEY differs)")


def test_an_anchor_of_a_missing_head_is_refused(api: Api) -> None:
    _activity(api)
    with get_engine().begin() as conn:
        conn.execute(text("UPDATE audit_head SET hash = :h"), {"h": "f" * 64})
    result = run_cli("audit-anchor")
    assert result.returncode == 1
    assert "another hash" in result.stderr


def test_the_anchor_directory_is_outside_the_database(api: Api) -> None:
    _activity(api, updates=1)
    path = anchors.anchor_path()
    assert path.parent == Path(get_settings().anchors_dir)
    with get_engine().connect() as conn:
        stored = " ".join(
            str(v) for r in conn.execute(text("SELECT * FROM audit_events")) for v in r
        )
    assert get_settings().audit_key not in stored
