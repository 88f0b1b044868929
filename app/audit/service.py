"""The audit trail: written in the caller's transaction, verified end to end.

New events are hashed with an HMAC under AUDIT_KEY, which the database never holds, so
its administrators cannot recompute the chain after editing it; events from before the key
keep their plain SHA-256. The head is anchored outside the database (`anchors`).
"""

import hashlib
import hmac
import json
import logging
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, event, func, insert, text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session as OrmSession
from sqlmodel import Session, col, select

from app.audit import anchors
from app.audit.anchors import Anchor
from app.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from app.core.config import get_settings
from app.core.db import new_id, utcnow

logger = logging.getLogger("app.audit")


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
    keyed: bool = False,
    rfp_id: str | None = None,
) -> bytes:
    content: dict[str, Any] = {
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
    if keyed:  # an unkeyed event's content stays as it was when it was written
        content["keyed"] = True
        content["rfp_id"] = rfp_id
    return json.dumps(content, sort_keys=True, separators=(",", ":"), default=str).encode()


def _keyed_digest(payload: bytes) -> str:
    return hmac.new(get_settings().audit_key.encode(), payload, hashlib.sha256).hexdigest()


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
        keyed=event.keyed,
        rfp_id=event.rfp_id,
    )
    return _keyed_digest(payload) if event.keyed else hashlib.sha256(payload).hexdigest()


_INSERT_EVENT = insert(AuditEvent.__table__)  # type: ignore[attr-defined]
_ADVANCE_HEAD = text(
    "UPDATE audit_head SET seq = seq + 1 WHERE id = 1 RETURNING seq, hash, keyed_from"
)
_SET_HEAD_HASH = text(
    "UPDATE audit_head SET hash = :h, keyed_from = COALESCE(keyed_from, :s) WHERE id = 1"
)
# Keys of Session.info: this transaction recorded an event / is due for an anchor.
_RECORDED = "audit_recorded"
_ANCHOR_DUE = "audit_anchor_due"


def record(
    *,
    session: Session,
    actor_id: str | None,
    action: str,
    entity: str,
    entity_id: str,
    agency_id: str | None = None,
    data: dict[str, Any] | None = None,
    rfp_id: str | None = None,
) -> None:
    """Append an event in the caller's transaction; it commits or rolls back with the change.

    `rfp_id` marks a partner's proposal event: sealed in every audit view until that RFP
    closes."""
    # Statements on the connection: the head advances with one UPDATE ... RETURNING, which
    # the ORM has no plain form for, and the event row must match it exactly.
    conn = session.connection()
    # The UPDATE takes the head's row lock (PostgreSQL) or the write lock (SQLite) until
    # commit, so concurrent transactions append one after another and never fork the chain.
    seq, prev_hash, keyed_from = conn.execute(_ADVANCE_HEAD).one()
    # Round-trip through JSON so the hashed content equals what the database hands back.
    clean = json.loads(json.dumps(data or {}, default=str))
    if keyed_from is None and seq > 1:
        # The first keyed event of a log that already had events: the older part is not
        # rewritten, and this names its last event.
        clean["unkeyed_head"] = {"seq": int(seq) - 1, "hash": str(prev_hash)}
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
        "keyed": True,
        "rfp_id": rfp_id,
    }
    digest = _keyed_digest(_canonical(**values))
    conn.execute(_INSERT_EVENT, {**values, "id": new_id(), "hash": digest})
    conn.execute(_SET_HEAD_HASH, {"h": digest, "s": seq})
    session.info[_RECORDED] = True
    if anchors.is_due(int(seq)):
        session.info[_ANCHOR_DUE] = True


def anchor_due(session: Session) -> bool:
    """Will this transaction's commit anchor its newest event outside the database?"""
    return bool(session.info.get(_ANCHOR_DUE))


def _anchor_logged(engine: Engine) -> Anchor | None:
    try:
        with engine.connect() as conn:
            return anchors.anchor_head(conn)
    except (anchors.AnchorRefused, OSError, SQLAlchemyError) as exc:
        # The change is committed; the next due event or `audit-anchor` anchors the head.
        logger.warning("audit anchor not written: %s", exc)
        return None


@event.listens_for(OrmSession, "after_commit")
def _anchor_after_commit(session: OrmSession) -> None:
    # Only after the commit: an anchor naming a rolled-back event would fail verification.
    if not session.info.pop(_RECORDED, False):
        return
    engine = session.get_bind().engine
    if session.info.pop(_ANCHOR_DUE, False):
        _anchor_logged(engine)
    _arm_staleness_timer(engine)


@event.listens_for(OrmSession, "after_rollback")
def _forget_anchor(session: OrmSession) -> None:
    session.info.pop(_RECORDED, None)
    session.info.pop(_ANCHOR_DUE, None)


# A quiet log still gets its tail anchored within 10 minutes: after an event, each process
# keeps one timer that fires when the newest anchor turns 10 minutes old.
_timer: threading.Timer | None = None
_timer_lock = threading.Lock()


def _arm_staleness_timer(engine: Engine) -> None:
    global _timer
    if _timer is not None:  # armed already: the common case costs no lock
        return
    with _timer_lock:
        if _timer is None:
            _timer = threading.Timer(
                anchors.seconds_until_stale(), _on_stale, kwargs={"engine": engine}
            )
            _timer.daemon = True
            _timer.start()


def _on_stale(engine: Engine) -> None:
    global _timer
    with _timer_lock:
        _timer = None
    if anchors.seconds_until_stale() > 0:
        _arm_staleness_timer(engine)  # another worker anchored since: wait for that one
        return
    anchor_if_stale(engine)


def anchor_if_stale(engine: Engine) -> Anchor | None:
    """Anchor the committed head if the newest anchor is 10 minutes old and behind it."""
    if anchors.seconds_until_stale() > 0:
        return None
    try:
        with engine.connect() as conn:
            head = anchors.head_seq(conn)
    except SQLAlchemyError as exc:
        logger.warning("audit head not read: %s", exc)
        return None
    newest = anchors.newest_seq()
    # Without an anchor file the next event writes one (`is_due`); nothing to catch up here.
    if head is None or newest is None or head == newest:
        return None
    return _anchor_logged(engine)


def anchor(session: Session) -> Anchor:
    """Anchor the committed head now (`python -m app audit-anchor`)."""
    return anchors.anchor_head(session.connection())


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    problems: list[str]
    anchor: Anchor | None = None

    @property
    def anchored(self) -> str:
        if self.anchor is None:
            return "no anchor written yet"
        return f"the newest anchor (event #{self.anchor.seq}, {self.anchor.at}) matches"


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
    """Check every link and hash, the keyed part's start, and every anchor that verifies."""
    anchor_file = anchors.read_all()
    problems = list(anchor_file.problems)
    anchored: dict[int, list[Anchor]] = defaultdict(list)
    for a in anchor_file.anchors:
        anchored[a.seq].append(a)
    expected_seq = 1
    last_seq = 0
    prev_hash = GENESIS_HASH
    first_keyed: int | None = None
    checked = 0
    for row in _events_in_order(session):
        checked += 1
        if row.seq != expected_seq:
            problems.append(f"event #{expected_seq} is missing (next present is #{row.seq})")
        if row.prev_hash != prev_hash:
            problems.append(f"event #{row.seq} does not follow the previous event's hash")
        if row.keyed and first_keyed is None:
            first_keyed = row.seq
            named = row.data.get("unkeyed_head") if isinstance(row.data, dict) else None
            if last_seq and named != {"seq": last_seq, "hash": prev_hash}:
                problems.append(
                    f"event #{row.seq} is the first keyed event but does not name "
                    f"event #{last_seq} before it as the end of the unkeyed log"
                )
        elif not row.keyed and first_keyed is not None:
            problems.append(
                f"event #{row.seq} is not keyed although keyed event #{first_keyed} comes "
                "before it: its keyed flag was cleared and its hash recomputed"
            )
        if _hash(row) != row.hash:
            how = "its HMAC under AUDIT_KEY" if row.keyed else "its SHA-256"
            problems.append(f"event #{row.seq} was altered after it was written ({how} differs)")
        for a in anchored.get(row.seq, ()):
            if a.hash != row.hash:
                problems.append(
                    f"event #{row.seq} is not the event anchored at {a.at}: "
                    "the log was rewritten up to it"
                )
        expected_seq = row.seq + 1
        last_seq = row.seq
        prev_hash = row.hash
    newest = max(anchor_file.anchors, key=lambda a: (a.seq, a.at), default=None)
    if newest is not None and newest.seq > last_seq:
        problems.append(
            f"the anchor written at {newest.at} records event #{newest.seq}, but the log ends "
            f"at #{last_seq}: events were cut from the tail"
        )
    for a in anchor_file.anchors:
        starts = f"#{first_keyed}" if first_keyed is not None else "nowhere"
        if a.keyed_from is not None and a.keyed_from != first_keyed:
            problem = (
                f"the anchor written at {a.at} has keyed events start at #{a.keyed_from}, "
                f"but in the log they start {starts}: keyed flags were changed"
            )
        elif a.keyed_from is None and first_keyed is not None and first_keyed <= a.seq:
            problem = (
                f"the anchor written at {a.at} records #{a.seq} before any keyed event, but "
                f"the log has keyed events from #{first_keyed}: keyed flags were changed"
            )
        else:
            continue
        if problem not in problems:
            problems.append(problem)
    if newest is None and first_keyed is not None:
        problems.append(
            f"no valid anchor in {anchor_file.folder}, yet keyed events exist: the anchors "
            "were removed, or AUDIT_ANCHOR_DIR points elsewhere"
        )
    head = session.get(AuditHead, 1)
    if head is None:
        problems.append("the audit head row is missing")
    elif head.seq != last_seq or head.hash != prev_hash:
        problems.append(
            f"the chain ends at #{last_seq} but the head records #{head.seq}"
            + (" with another hash" if head.seq == last_seq else "")
        )
    return VerifyResult(ok=not problems, checked=checked, problems=problems, anchor=newest)


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())
