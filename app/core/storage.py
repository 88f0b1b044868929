"""File storage behind a small interface: the local folder (the default) or S3-compatible
object storage (`STORAGE_URL=s3://bucket/prefix`, app/core/s3.py).

Keys are relative names (`blobs/ab/<sha256>`, `documents/rfps/<id>/v3.pdf`); no caller is
promised a path on this server's disk. Uploads arrive in a temporary file on the local disk
(`temp_path`) and go into the store by content address (`put_temp`). In the local folder,
files are written to a temporary name in the same tree and then renamed, so a reader never
sees half a file and a crash leaves only temporaries, which `sweep_temporaries` removes.
"""

import os
import secrets
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol

from app.core.config import get_settings
from app.core.metrics import STORAGE_ERRORS

CHUNK = 1024 * 1024


@dataclass
class StoredFile:
    """A stored file opened for reading: its size and its bytes, in chunks. `local_path` is
    set only by the local folder, so a download can be sent from the disk directly."""

    size: int
    chunks: Iterator[bytes]
    local_path: Path | None = None


class Storage(Protocol):
    def temp_path(self) -> Path: ...
    def put_temp(self, temp: Path, sha256: str) -> str: ...
    def write(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes | None: ...
    def open(self, key: str) -> StoredFile: ...  # FileNotFoundError when absent
    def presigned_url(self, key: str, *, disposition: str, media_type: str) -> str | None: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...
    def iter_keys(self, prefix: str) -> Iterator[str]: ...
    def sweep_temporaries(self, stale_after_seconds: float = 86400) -> int: ...


def blob_key(sha256: str) -> str:
    """An uploaded file's content address."""
    return f"blobs/{sha256[:2]}/{sha256}"


def check_key(key: str) -> None:
    if not key or key.startswith("/") or "\\" in key or ".." in Path(key).parts:
        raise ValueError(f"storage key escapes the storage root: {key!r}")


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    @cached_property
    def _real_root(self) -> Path:
        return self.root.resolve()

    def _resolve(self, key: str) -> Path:
        check_key(key)
        # Keys never name links, so a join under the resolved root needs no resolve of its own.
        path = self._real_root / key
        if not path.is_relative_to(self._real_root):
            raise ValueError(f"storage key escapes the storage root: {key!r}")
        return path

    def temp_path(self) -> Path:
        self.tmp.mkdir(parents=True, exist_ok=True)
        # Host and pid in the name let a restarted server tell an orphan from a live upload.
        return self.tmp / f"{_HOST}.{os.getpid()}.{secrets.token_hex(8)}.part"

    def put_temp(self, temp: Path, sha256: str) -> str:
        """Move a finished temporary file to its content address; the key is returned."""
        key = blob_key(sha256)
        target = self._resolve(key)
        with _counting("put"):
            target.parent.mkdir(parents=True, exist_ok=True)
            temp.replace(target)  # same content, same name: replacing is harmless
        return key

    def write(self, key: str, data: bytes) -> None:
        """Store bytes under a key that names one version; a key already written keeps its
        bytes (the link refuses to replace it), as object storage's conditional PUT does."""
        target = self._resolve(key)
        with _counting("put"):
            target.parent.mkdir(parents=True, exist_ok=True)
            temp = self.temp_path()
            try:
                temp.write_bytes(data)
                os.link(temp, target)
            except FileExistsError:
                pass
            finally:
                temp.unlink(missing_ok=True)

    def read(self, key: str) -> bytes | None:
        path = self._resolve(key)
        return path.read_bytes() if path.is_file() else None

    def open(self, key: str) -> StoredFile:
        path = self._resolve(key)
        size = path.stat().st_size  # FileNotFoundError when absent

        def chunks() -> Iterator[bytes]:
            with path.open("rb") as handle:
                while chunk := handle.read(CHUNK):
                    yield chunk

        return StoredFile(size=size, chunks=chunks(), local_path=path)

    def presigned_url(self, key: str, *, disposition: str, media_type: str) -> str | None:
        return None  # the server itself sends what is on its disk

    def path(self, key: str) -> Path:
        """Where a key lives on this disk (the local folder only)."""
        return self._resolve(key)

    def exists(self, key: str) -> bool:
        return self._resolve(key).is_file()

    def delete(self, key: str) -> None:
        self._resolve(key).unlink(missing_ok=True)

    def iter_keys(self, prefix: str) -> Iterator[str]:
        """Every stored key under `prefix` ("" for all), never the temporaries."""
        base = self._resolve(prefix) if prefix else self._real_root
        if base.is_dir():
            for path in sorted(base.rglob("*")):
                relative = path.relative_to(self._real_root)
                if path.is_file() and relative.parts[0] != "tmp":
                    yield relative.as_posix()

    def sweep_temporaries(self, stale_after_seconds: float = 86400) -> int:
        """Remove temporaries whose writer died: this host's files of processes that no longer
        run, and anyone's file untouched for a day (another host's crashed worker)."""
        if not self.tmp.is_dir():
            return 0
        cutoff = time.time() - stale_after_seconds
        removed = 0
        for path in self.tmp.iterdir():
            host, _, rest = path.name.partition(".")
            pid_text = rest.partition(".")[0]
            try:
                orphan = host == _HOST and pid_text.isdigit() and not _alive(int(pid_text))
                if orphan or path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed += 1
            except FileNotFoundError:
                continue
        return removed


_HOST = socket.gethostname().replace(".", "_") or "host"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class _counting:
    """Count a failed write of the local folder (a full or read-only disk)."""

    def __init__(self, operation: str) -> None:
        self.operation = operation

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        if kind is not None and issubclass(kind, OSError):
            STORAGE_ERRORS.labels("local", self.operation).inc()


@lru_cache
def get_storage() -> Storage:
    settings = get_settings()
    local = LocalStorage(settings.files_dir)
    location = settings.s3_location
    backend = "local" if location is None else "s3"
    for operation in ("put", "get", "head", "delete", "list", "presign"):
        STORAGE_ERRORS.labels(backend, operation)  # scraped as 0 until one fails, not absent
    if location is None:
        return local
    # Imported only here: a local deployment never loads boto3.
    from app.core.s3 import S3Storage

    bucket, prefix = location
    return S3Storage(bucket=bucket, prefix=prefix, scratch=local, settings=settings)
