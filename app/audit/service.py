"""The audit trail: written in the caller's transaction, verified end to end."""

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, text
from sqlmodel import Session, col, select

from app.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from app.core.db import new_id, utcnow


def _canonical(
    *,
    seq: int,
    at: datetime,
    actor_id: str | None,
    agency_id: str | None,
    action: str,
    entity: str,
    entity_id: str,
    data: dict[str, Any],
    prev_hash: str,
) -> bytes:
    content = {
        "seq": seq,
        "at": at.isoformat(timespec="microseconds"),
        "actor_id": actor_id,
        "agency_id": agency_id,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "data": data,
        "prev_hash": prev_hash,
    }
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


def _hash(event: AuditEvent) -> str:
    payload = _canonical(
        seq=event.seq,
        at=event.at,
        actor_id=event.actor_id,
        agency_id=event.agency_id,
        action=event.action,
        entity=event.entity,
        entity_id=event.entity_id,
        data=event.data,
        prev_hash=event.prev_hash,
    )
    return hashlib.sha256(payload).hexdigest()


_INSERT_EVENT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]
_ADVANCE_HEAD = text("UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash")
_SET_HEAD_HASH = text("UPDATE audit_head SET hash = :h WHERE id = 1")


def record(
    *,
    session: Session,
    actor_id: str | None,
    action: str,
    entity: str,
    entity_id: str,
    agency_id: str | None = None,
    data: dict[str, Any] | None = None,
) -> None:
    """Append an event in the caller's transaction; it commits or rolls back with the change."""
    # Core statements, not the ORM: every write of the deadline rush appends here.
    conn = session.connection()
    # The UPDATE takes the head's row lock (PostgreSQL) or the write lock (SQLite) until
    # commit, so concurrent transactions append one after another and never fork the chain.
    seq, prev_hash = conn.execute(_ADVANCE_HEAD).one()
    # Round-trip through JSON so the hashed content equals what the database hands back.
    clean = json.loads(json.dumps(data or {}, default=str))
    values: dict[str, Any] = {
        "seq": int(seq),
        "at": utcnow(),
        "actor_id": actor_id,
        "agency_id": agency_id,
        "action": action,
        "entity": entity,
        "entity_id": entity_id,
        "data": clean,
        "prev_hash": str(prev_hash),
    }
    digest = hashlib.sha256(_canonical(**values)).hexdigest()
    conn.execute(_INSERT_EVENT, {**values, "id": new_id(), "hash": digest})
    conn.execute(_SET_HEAD_HASH, {"h": digest})


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]


def _events_in_order(session: Session, batch: int = 1000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.exec(
            select(AuditEvent)
            .where(AuditEvent.seq > last)
            .order_by(col(AuditEvent.seq))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(session: Session) -> VerifyResult:
    problems: list[str] = []
    expected_seq = 1
    prev_hash = GENESIS_HASH
    checked = 0
    for event in _events_in_order(session):
        checked += 1
        if event.seq != expected_seq:
            problems.append(f"event #{expected_seq} is missing (next present is #{event.seq})")
        if event.prev_hash != prev_hash:
            problems.append(f"event #{event.seq} does not follow the previous event's hash")
        if _hash(event) != event.hash:
            problems.append(f"event #{event.seq} was altered after it was written")
        expected_seq = event.seq + 1
        prev_hash = event.hash
    head = session.get(AuditHead, 1)
    if head is None:
        problems.append("the audit head row is missing")
    elif head.seq != expected_seq - 1 or head.hash != prev_hash:
        problems.append(f"the chain ends at #{expected_seq - 1} but the head records #{head.seq}")
    return VerifyResult(ok=not problems, checked=checked, problems=problems)


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())
