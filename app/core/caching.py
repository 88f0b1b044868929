"""Reads a shared cache may keep: the headers they carry and the conditional GET.

A public document (a published RFP's version, its PDF, the preferred-provider list) is the
same bytes for everyone, so it says `Cache-Control: public, max-age=N` (PUBLIC_CACHE_SECONDS)
with a strong ETag; a request whose If-None-Match names that ETag is answered 304. The
middleware still makes every answer to a request carrying credentials `no-store`.
"""

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
