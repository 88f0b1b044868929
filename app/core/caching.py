"""Reads a shared cache may keep: the headers they carry and the conditional GET.

A public document (a published RFP's version, its PDF, the preferred-provider list) is the
same bytes for everyone, so it says `Cache-Control: public, max-age=N` (PUBLIC_CACHE_SECONDS)
with a strong ETag; a request whose If-None-Match names that ETag is answered 304. The
middleware still makes every answer to a request carrying credentials `no-store`.
"""

import threading

from cachetools import LRUCache
from fastapi import Response

from app.core.config import get_settings


def public_cache_control() -> str:
    return f"public, max-age={get_settings().public_cache_seconds}"


def public_headers(etag: str) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": public_cache_control()}


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Does If-None-Match name this ETag? It compares weakly (RFC 9110 13.1.2): W/"x" names
    the same representation as "x"."""
    if not if_none_match:
        return False
    candidates = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in candidates or etag.removeprefix("W/") in candidates


def not_modified(headers: dict[str, str]) -> Response:
    return Response(status_code=304, headers=headers)


class VersionBodies:
    """Serialized bodies of documents that never change once their version exists, by ETag,
    in this process: a read whose version lookup names a kept body sends it without loading
    or serializing anything. Nothing here is shared or needs invalidating: a change makes a
    new version, hence a new ETag, and the old body simply ages out of the LRU."""

    def __init__(self, size: int = 256) -> None:
        self._bodies: LRUCache[str, bytes] = LRUCache(maxsize=size)
        self._lock = threading.Lock()  # endpoints run in the thread pool

    def get(self, etag: str) -> bytes | None:
        with self._lock:
            return self._bodies.get(etag)

    def keep(self, etag: str, body: bytes) -> None:
        with self._lock:
            self._bodies[etag] = body
