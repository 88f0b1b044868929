"""Anchors: the chain's head written outside the database, where its administrators cannot
reach, so a log that was rewritten or cut after an anchor no longer matches it.

Each server appends to its own file of JSON lines under AUDIT_ANCHOR_DIR,
`anchors-<AUDIT_ANCHOR_NAME>.jsonl` (the host name by default), so several servers may share
one folder, or have their files collected into one, without two writers on a file; the
verifier reads every `anchors*.jsonl` there (`anchors.jsonl` is the single file of earlier
versions). Each line names a committed head `{seq, hash, at, keyed_from}` and carries an
HMAC of those fields under AUDIT_KEY.
"""

import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, text

from app.core.config import get_settings
from app.core.db import utcnow

ANCHOR_FILES = "anchors*.jsonl"
EVERY_EVENTS = 100
EVERY_SECONDS = 600
_FIELDS = ("seq", "hash", "at", "keyed_from")


class AnchorRefused(Exception):
    """The database's head does not name an event it holds: anchoring it would bless that."""


@dataclass(frozen=True)
class Anchor:
    seq: int
    hash: str
    at: str
    keyed_from: int | None


@dataclass
class AnchorFiles:
    folder: Path
    anchors: list[Anchor] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def anchor_path() -> Path:
    """This server's anchor file."""
    settings = get_settings()
    return settings.anchors_dir / f"anchors-{settings.audit_anchor_name}.jsonl"


def _canonical(content: dict[str, Any]) -> bytes:
    return json.dumps(content, sort_keys=True, separators=(",", ":")).encode()


def mac(content: dict[str, Any]) -> str:
    key = get_settings().audit_key.encode()
    return hmac.new(key, _canonical(content), hashlib.sha256).hexdigest()


def seconds_until_stale() -> float:
    """How long until the newest anchor is 10 minutes old: one stat(), 0 if there is none."""
    try:
        written = anchor_path().stat().st_mtime
    except FileNotFoundError:
        return 0
    return max(0.0, written + EVERY_SECONDS - time.time())


def is_due(seq: int) -> bool:
    """Every 100th event, or when the newest anchor is 10 minutes old."""
    return seq % EVERY_EVENTS == 0 or seconds_until_stale() == 0


def newest_seq() -> int | None:
    """The head the file's last line names (unchecked: only to decide whether to anchor)."""
    path = anchor_path()
    try:
        with path.open("rb") as f:
            size = f.seek(0, os.SEEK_END)
            f.seek(max(0, size - 4096))
            lines = f.read().splitlines()
        return int(json.loads(lines[-1])["seq"])
    except (OSError, IndexError, ValueError, KeyError, TypeError):
        return None


def append(seq: int, head_hash: str, keyed_from: int | None) -> Anchor:
    anchor = Anchor(seq, head_hash, utcnow().isoformat(timespec="microseconds"), keyed_from)
    content = {name: getattr(anchor, name) for name in _FIELDS}
    line = (json.dumps({**content, "mac": mac(content)}, sort_keys=True) + "\n").encode()
    path = anchor_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_APPEND and one write() a line: workers appending at once never interleave a line.
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        if os.write(fd, line) != len(line):
            raise OSError(f"short write to {path}")
        os.fsync(fd)
    finally:
        os.close(fd)
    return anchor


_HEAD = text(
    "SELECT audit_head.seq, audit_head.hash, audit_head.keyed_from, audit_events.hash "
    "FROM audit_head LEFT JOIN audit_events ON audit_events.seq = audit_head.seq "
    "WHERE audit_head.id = 1"
)


def head_seq(conn: Connection) -> int | None:
    return conn.execute(text("SELECT seq FROM audit_head WHERE id = 1")).scalar_one_or_none()


def anchor_head(conn: Connection) -> Anchor:
    """Anchor the committed head that `conn` sees."""
    row = conn.execute(_HEAD).one_or_none()
    if row is None:
        raise AnchorRefused("the audit head row is missing")
    seq, head_hash, keyed_from, event_hash = row
    if seq > 0 and event_hash != head_hash:
        held = "no such event" if event_hash is None else "an event with another hash"
        raise AnchorRefused(f"the audit head names event #{seq} but the log holds {held}")
    return append(int(seq), str(head_hash), keyed_from)


def read_all() -> AnchorFiles:
    """Every anchor, of every server's file, whose MAC verifies, and a problem for each line
    that does not."""
    folder = get_settings().anchors_dir
    found = AnchorFiles(folder)
    for path in sorted(folder.glob(ANCHOR_FILES)):
        _read_file(path, found)
    return found


def _read_file(path: Path, found: AnchorFiles) -> None:
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return
    for number, raw in enumerate(lines, start=1):
        try:
            entry = json.loads(raw)
            content = {name: entry[name] for name in _FIELDS}
            valid = isinstance(entry["mac"], str) and hmac.compare_digest(
                entry["mac"], mac(content)
            )
            anchor = Anchor(
                int(content["seq"]),
                str(content["hash"]),
                str(content["at"]),
                None if content["keyed_from"] is None else int(content["keyed_from"]),
            )
        except (ValueError, KeyError, TypeError):
            valid = False
        if valid:
            found.anchors.append(anchor)
        else:
            found.problems.append(
                f"anchor on line {number} of {path} does not verify: it was altered or "
                "written with another AUDIT_KEY"
            )
