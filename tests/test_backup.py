"""backup then restore keeps every row and every stored file."""

import hashlib
from pathlib import Path

from sqlalchemy import text

from app.all_models import metadata
from app.core.db import get_engine
from app.core.storage import get_storage
from tests.support import Api, published_rfp, run_cli, submitted_proposal


def _snapshot() -> tuple[dict[str, int], dict[str, str]]:
    with get_engine().connect() as conn:
        rows = {
            t.name: int(conn.execute(text(f"SELECT count(*) FROM {t.name}")).scalar_one())  # noqa: S608
            for t in metadata.sorted_tables
        }  # noqa: S608
    storage = get_storage()  # the local folder or the bucket, whichever the run uses
    files = {
        key: hashlib.sha256(b"".join(storage.open(key).chunks)).hexdigest()
        for key in storage.iter_keys("")
    }
    return rows, files


def test_backup_restore_round_trip(api: Api, tmp_path: Path) -> None:
    staff = api.staff()
    rfp = published_rfp(api, staff)
    partner = api.partner()
    proposal = submitted_proposal(api, partner, rfp)
    api.client.get(f"/api/v1/rfps/{rfp['id']}/document.pdf")  # a rendered file too
    before = _snapshot()
    assert before[0]["proposal_versions"] == 1 and before[1]
    dest = tmp_path / "backup"
    made = run_cli("backup", str(dest))
    assert made.returncode == 0, made.stderr
    assert (dest / "manifest.json").is_file()
    assert run_cli("backup", str(dest)).returncode == 1  # never overwrites a backup

    # Lose data: rows and files.
    with get_engine().begin() as conn:
        conn.execute(text("DELETE FROM proposal_versions"))
    for key in list(get_storage().iter_keys("")):
        get_storage().delete(key)
    assert _snapshot() != before

    assert run_cli("restore", str(dest)).returncode == 2  # asks for --yes
    restored = run_cli("restore", str(dest), "--yes")
    assert restored.returncode == 0, restored.stderr
    get_engine().dispose()
    assert _snapshot() == before
    versions = api.client.get(
        f"/api/v1/proposals/{proposal['id']}/versions", headers=partner.headers
    )
    assert [v["receipt"] for v in versions.json()["items"]] == [proposal["receipt"]]
