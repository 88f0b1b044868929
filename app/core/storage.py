"""File storage behind a small interface: a local folder now, object storage later.

Files are written to a temporary name in the same folder tree and then renamed, so a reader
never sees half a file and a crash leaves only temporaries, which `sweep_temporaries` removes.
"""

import os
import secrets
import socket
import time
from collections.abc import Iterator
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Protocol

from app.core.config import get_settings


class Storage(Protocol):
    def temp_path(self) -> Path: ...
    def put_temp(self, temp: Path, sha256: str) -> str: ...
    def write(self, key: str, data: bytes) -> None: ...
    def read(self, key: str) -> bytes | None: ...
    def path(self, key: str) -> Path: ...
    def exists(self, key: str) -> bool: ...
    def delete(self, key: str) -> None: ...


class LocalStorage:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.tmp = root / "tmp"

    @cached_property
    def _real_root(self) -> Path:
        return self.root.resolve()

    def _resolve(self, key: str) -> Path:
        if ".." in Path(key).parts:
            raise ValueError(f"storage key escapes the storage root: {key!r}")
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
        key = f"blobs/{sha256[:2]}/{sha256}"
        target = self._resolve(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp.replace(target)  # same content, same name: replacing is harmless
        return key

    def write(self, key: str, data: bytes) -> None:
        target = self._resolve(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        temp = self.temp_path()
        temp.write_bytes(data)
        temp.replace(target)

    def read(self, key: str) -> bytes | None:
        path = self._resolve(key)
        return path.read_bytes() if path.is_file() else None

    def path(self, key: str) -> Path:
        return self._resolve(key)

    def exists(self, key: str) -> bool:
        return self._resolve(key).is_file()

    def delete(self, key: str) -> None:
        self._resolve(key).unlink(missing_ok=True)

    def iter_keys(self, prefix: str) -> Iterator[str]:
        base = self._resolve(prefix)
        if base.is_dir():
            for path in base.rglob("*"):
                if path.is_file():
                    yield path.relative_to(self._real_root).as_posix()

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


@lru_cache
def get_storage() -> LocalStorage:
    return LocalStorage(get_settings().files_dir)
