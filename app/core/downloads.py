"""Downloads, answered one way by the JSON API and the pages alike.

Each carries its file name made safe for the header (an ASCII fallback and the exact name
in UTF-8), its media type, a strong ETag of the bytes it holds, and `Cache-Control:
private, no-cache` (`no-cache` for the same bytes to everyone, a published RFP): a browser
may keep it but asks again, and a request whose If-None-Match names the ETag is answered
304 without a body. (The middleware still makes any answer to a signed-in request
`no-store`.)
"""

import hashlib
import re
from pathlib import Path
from urllib.parse import quote

from fastapi import Request
from fastapi.responses import FileResponse, Response

_UNSAFE_IN_FALLBACK = re.compile(r"[^A-Za-z0-9._ ()-]")


def content_disposition(filename: str, *, inline: bool = False) -> str:
    """`attachment` (or `inline`) with the name twice: an ASCII fallback in which anything
    but letters, digits and `._ ()-` becomes `_`, and the exact name percent-encoded."""
    fallback = _UNSAFE_IN_FALLBACK.sub("_", filename) or "download"
    kind = "inline" if inline else "attachment"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _caching(etag: str, public: bool) -> dict[str, str]:
    return {"ETag": etag, "Cache-Control": "no-cache" if public else "private, no-cache"}


def _not_modified(request: Request | None, etag: str, public: bool) -> Response | None:
    if request is None:
        return None
    # If-None-Match compares weakly: W/"x" names the same bytes as "x".
    sent = request.headers.get("if-none-match", "").split(",")
    candidates = {tag.strip().removeprefix("W/") for tag in sent}
    if etag.removeprefix("W/") in candidates or "*" in candidates:
        return Response(status_code=304, headers=_caching(etag, public))
    return None


def file_download(
    path: Path,
    *,
    filename: str,
    media_type: str,
    etag: str,
    request: Request | None = None,
    inline: bool = False,
    public: bool = False,
) -> Response:
    """A stored file, streamed from disk (range requests too). `etag` is the header's value,
    quotes included (`'"<sha256>"'`); given the request, a matching If-None-Match answers
    304. `public`: the same bytes for everyone, so shared caches may keep them."""
    headers = {
        **_caching(etag, public),
        "Content-Disposition": content_disposition(filename, inline=inline),
    }
    return _not_modified(request, etag, public) or FileResponse(
        path, media_type=media_type, headers=headers
    )


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
