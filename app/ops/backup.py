"""Backup and restore of the database and the stored files, as one folder.

SQLite is copied with its online backup API (safe while the service runs); PostgreSQL is
dumped with pg_dump's custom format and restored with pg_restore. Files are archived as a
tar of every stored key, read through the storage interface, so the local folder and an S3
bucket back up the same way (objects are streamed into the archive, never held whole). A
manifest records row counts and file hashes, and a restore is checked against it.
"""

import hashlib
import io
import json
import shutil
import sqlite3
import subprocess
import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from app.all_models import metadata
from app.core.config import get_settings
from app.core.db import get_engine, utcnow
from app.core.storage import LocalStorage, Storage, get_storage

Say = Callable[[str], None]


class BackupError(Exception):
    pass


def _row_counts() -> dict[str, int]:
    with get_engine().connect() as conn:
        return {
            table.name: int(conn.execute(select(func.count()).select_from(table)).scalar_one())
            for table in metadata.sorted_tables
        }


def _file_hashes(storage: Storage) -> dict[str, str]:
    hashes: dict[str, str] = {}
    for key in storage.iter_keys(""):
        digest = hashlib.sha256()
        for chunk in storage.open(key).chunks:
            digest.update(chunk)
        hashes[key] = digest.hexdigest()
    return dict(sorted(hashes.items()))


class _HashingReader(io.RawIOBase):
    """A stored file's chunks as the file object tarfile reads, hashed on the way."""

    def __init__(self, chunks: Iterator[bytes]) -> None:
        self.chunks = chunks
        self.pending = b""
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self.pending) < size:
            chunk = next(self.chunks, None)
            if chunk is None:
                break
            self.digest.update(chunk)
            self.pending += chunk
        if size < 0:
            size = len(self.pending)
        data, self.pending = self.pending[:size], self.pending[size:]
        return data


def _libpq_url() -> str:
    url = make_url(get_settings().database_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def backup(dest: Path, say: Say = print) -> dict[str, Any]:
    settings = get_settings()
    if dest.exists() and any(dest.iterdir()):
        raise BackupError(f"{dest} is not empty; choose a new folder for the backup.")
    dest.mkdir(parents=True, exist_ok=True)
    engine = get_engine()
    say("copying the database ...")
    if engine.dialect.name == "sqlite":
        source_path = make_url(settings.database_url).database
        assert source_path
        with (
            sqlite3.connect(source_path) as source,
            sqlite3.connect(dest / "database.sqlite") as target,
        ):
            source.backup(target)
        database_file = "database.sqlite"
    else:
        database_file = "database.dump"
        subprocess.run(
            [
                "pg_dump",
                "--format=custom",
                "--no-owner",
                f"--file={dest / database_file}",
                _libpq_url(),
            ],
            check=True,
            capture_output=True,
        )
    say("archiving the stored files ...")
    storage = get_storage()
    hashes: dict[str, str] = {}
    with tarfile.open(dest / "files.tar", "w") as archive:
        for key in sorted(storage.iter_keys("")):
            stored = storage.open(key)
            member = tarfile.TarInfo(key)
            member.size = stored.size
            member.mtime = int(utcnow().timestamp())
            reader = _HashingReader(stored.chunks)
            archive.addfile(member, reader)
            hashes[key] = reader.digest.hexdigest()
    with engine.connect() as conn:
        revision = conn.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    manifest = {
        "created_at": utcnow().isoformat(),
        "database": engine.dialect.name,
        "database_file": database_file,
        "revision": revision,
        "rows": _row_counts(),
        "storage": "local" if isinstance(storage, LocalStorage) else "s3",
        "files": dict(sorted(hashes.items())),
    }
    (dest / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True))
    say(
        f"backup written to {dest}: {sum(manifest['rows'].values())} rows, "
        f"{len(manifest['files'])} files"
    )
    return manifest


def restore(source: Path, say: Say = print) -> dict[str, Any]:
    """Replace the database and the stored files with a backup's. Stop the service first."""
    settings = get_settings()
    manifest_path = source / "manifest.json"
    if not manifest_path.is_file():
        raise BackupError(f"{source} holds no manifest.json: it is not a backup folder.")
    manifest: dict[str, Any] = json.loads(manifest_path.read_text())
    engine = get_engine()
    if manifest["database"] != engine.dialect.name:
        raise BackupError(
            f"This backup is of a {manifest['database']} database, not {engine.dialect.name}."
        )
    say("restoring the database ...")
    engine.dispose()
    if engine.dialect.name == "sqlite":
        target_path = make_url(settings.database_url).database
        assert target_path
        with (
            sqlite3.connect(source / manifest["database_file"]) as backup_db,
            sqlite3.connect(target_path) as target,
        ):
            backup_db.backup(target)
    else:
        subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                f"--dbname={_libpq_url()}",
                str(source / manifest["database_file"]),
            ],
            check=True,
            capture_output=True,
        )
    say("restoring the stored files ...")
    storage = get_storage()
    if isinstance(storage, LocalStorage):
        _restore_folder(settings.files_dir, source / "files.tar")
    else:
        _restore_objects(storage, source / "files.tar")
    rows, hashes = _row_counts(), _file_hashes(storage)
    if rows != manifest["rows"] or hashes != manifest["files"]:
        raise BackupError("The restored data does not match the backup's manifest.")
    say(f"restored {sum(rows.values())} rows and {len(hashes)} files from {source}")
    return manifest


def _restore_folder(files: Path, archive_path: Path) -> None:
    """Unpack beside the folder, then swap it in, so a failed restore leaves the old one."""
    staging = files.with_name(files.name + ".restoring")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    with tarfile.open(archive_path) as archive:
        archive.extractall(staging, filter="data")  # refuses absolute paths and "..", links
    old = files.with_name(files.name + ".replaced")
    shutil.rmtree(old, ignore_errors=True)
    if files.exists():
        files.rename(old)
    staging.rename(files)
    shutil.rmtree(old, ignore_errors=True)


def _restore_objects(storage: Storage, archive_path: Path) -> None:
    """Make the bucket's prefix hold exactly the backup's objects. Keys are never rewritten
    in place (a put is conditional), so each one the backup holds is removed first."""
    with tarfile.open(archive_path) as archive:
        members = [m for m in archive.getmembers() if m.isfile()]
        wanted = {m.name for m in members}
        for key in list(storage.iter_keys("")):
            storage.delete(key)  # what came after the backup, and what is put back below
        for member in members:
            handle = archive.extractfile(member)
            assert handle is not None
            storage.write(member.name, handle.read())
        if len(wanted) != len(members):
            raise BackupError("The backup's archive names one file twice.")
