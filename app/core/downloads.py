"""Downloads, answered one way by the JSON API and the pages alike.

Each carries its file name made safe for the header (an ASCII fallback and the exact name
in UTF-8), its media type, a strong ETag of the bytes it holds, and `Cache-Control:
private, no-cache` (a browser may keep it but asks again), or, for the same bytes to
everyone (a published RFP's PDF), `public, max-age=N` (app/core/caching.py). A request
whose If-None-Match names the ETag is answered 304 without a body. (The middleware still
makes any answer to a signed-in request `no-store`.)

Stored files come from the store by key: from the local folder as a file response (range
requests too), from object storage streamed through, or, with STORAGE_PRESIGN=true, as a
redirect to a short-lived presigned URL, so the bytes never pass through the app server.
"""

import hashlib
import re
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse

from app.core.caching import none_match, public_cache_control
from app.core.storage import get_storage

_UNSAFE_IN_FALLBACK = re.compile(r"[^A-Za-z0-9._ ()-]")


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """`attachment` (or `inline`) with the name twice: an ASCII fallback in which anything
    but letters, digits and `._ ()-` becomes `_`, and the exact name percent-encoded."""
    fallback = _UNSAFE_IN_FALLBACK.sub("_", filename) or "download"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _caching(etag: str, public: bool) -> dict[str, str]:
    return {
        "ETag": etag,
        "Cache-Control": public_cache_control() if public else "private, no-cache",
    }


def _not_modified(request: Request | None, etag: str, public: bool) -> Response | None:
    if request is None or not none_match(request.headers.get("if-none-match"), etag):
        return None
    return Response(status_code=304, headers=_caching(etag, public))


def file_download(
    key: str,
    *,
    filename: str,
    media_type: str,
    etag: str,
    request: Request | None = None,
    inline: bool = False,
    public: bool = False,
) -> Response:
    """The stored file `key`. `etag` is the header's value, quotes included
    (`'"<sha256>"'`); given the request, a matching If-None-Match answers 304. `public`: the
    same bytes for everyone, so shared caches may keep them."""
    not_modified = _not_modified(request, etag, public)
    if not_modified is not None:
        return not_modified
    storage = get_storage()
    disposition = content_disposition(filename, inline=inline)
    presigned = storage.presigned_url(key, disposition=disposition, media_type=media_type)
    if presigned is not None:
        # The link carries its own expiry; the redirect itself is never kept.
        return RedirectResponse(presigned, status_code=307, headers={"Cache-Control": "no-store"})
    headers = {**_caching(etag, public), "Content-Disposition": disposition}
    stored = storage.open(key)
    if stored.local_path is not None:
        return FileResponse(stored.local_path, media_type=media_type, headers=headers)
    headers["Content-Length"] = str(stored.size)
    return StreamingResponse(stored.chunks, media_type=media_type, headers=headers)


def document_download(
    content: bytes,
    *,
    filename: str,
    media_type: str,
    etag: str | None = None,
    request: Request | None = None,
    inline: bool = False,
    public: bool = False,
) -> Response:
    """A document made in memory (a PDF, a CSV); otherwise as `file_download`. Without an
    `etag` (a version's tag, say), the SHA-256 of the content is the tag."""
    etag = etag or f'"{hashlib.sha256(content).hexdigest()}"'
    headers = {
        **_caching(etag, public),
        "Content-Disposition": content_disposition(filename, inline=inline),
    }
    return _not_modified(request, etag, public) or Response(
        content, media_type=media_type, headers=headers
    )
