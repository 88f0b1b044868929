"""The one PDF renderer every document uses (RFPs, MOUs).

HTML comes from Jinja2 templates with autoescaping, so user text is always text. WeasyPrint
may load only the app's own static files through `RestrictedFetcher`: no network, no
`file://`. Output is a tagged PDF/UA-1 document whose bytes depend only on the input: the
identifier comes from the caller and fonts are subset with a fixed timestamp.

Rendering runs in a small process pool: WeasyPrint holds the GIL, so threads would
serialize, and a separate process can be given memory and time limits.
"""

import logging
import mimetypes
import os
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from datetime import UTC, datetime
from functools import lru_cache
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import jinja2

from app.core.config import get_settings
from app.core.errors import ProblemError
from app.core.metrics import PDF_RENDER

logger = logging.getLogger("app.documents")

APP_DIR = Path(__file__).resolve().parents[1]
STATIC_DIR = APP_DIR / "static"
# Documents refer to their stylesheets under this made-up origin; the fetcher maps it to
# STATIC_DIR and nothing else. ".invalid" can never resolve (RFC 2606).
STATIC_ORIGIN = "https://static.invalid/"
# fontTools stamps subset fonts with "now" unless this is set (reproducible builds).
FIXED_EPOCH = "1767225600"  # 2026-01-01T00:00:00Z


class RenderFailed(ProblemError):
    status = 503
    slug = "render-unavailable"


FILE_KINDS = {
    "application/pdf": "PDF",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "Word",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "Excel",
    "text/csv": "CSV",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
}


def format_when(value: datetime | None) -> str:
    """An instant for people: always with its time zone (stored and shown in UTC)."""
    if value is None:
        return ""
    value = value.astimezone(UTC)
    hour = value.strftime("%I").lstrip("0")
    return f"{value.strftime('%B')} {value.day}, {value.year}, {hour}:{value.strftime('%M %p')} UTC"


@lru_cache
def _jinja() -> jinja2.Environment:
    from scoring.matching import NEEDS_AREA_TITLES

    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(APP_DIR / "templates" / "documents"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = format_when
    env.filters["file_kind"] = lambda ct: FILE_KINDS.get(ct, ct)
    env.filters["needs_title"] = lambda key: NEEDS_AREA_TITLES.get(key, key)
    return env


def render_html(template: str, context: dict[str, Any]) -> str:
    return _jinja().get_template(template).render(**context, static=STATIC_ORIGIN)


def _fetch_static(url: str) -> tuple[bytes, str]:
    if not url.startswith(STATIC_ORIGIN):
        raise ValueError(f"refused to fetch {url!r}: documents load only the app's static files")
    relative = url[len(STATIC_ORIGIN) :].split("?", 1)[0].split("#", 1)[0]
    path = (STATIC_DIR / relative).resolve()
    if not path.is_relative_to(STATIC_DIR) or not path.is_file():
        raise ValueError(f"refused to fetch {url!r}: no such static file")
    return path.read_bytes(), mimetypes.guess_type(path.name)[0] or "application/octet-stream"


# Tagged PDF/UA-1, so screen readers can follow headings, lists and tables.
PDF_OPTIONS: dict[str, Any] = {"pdf_variant": "pdf/ua-1", "pdf_tags": True}


def restricted_fetcher() -> Any:
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class RestrictedFetcher(URLFetcher):
        def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:
            body, content_type = _fetch_static(url)
            return URLFetcherResponse(url, body=body, headers={"Content-Type": content_type})

    return RestrictedFetcher()


def _html_to_pdf(html: str, identifier: str) -> bytes:
    """Runs inside a pool process."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=STATIC_ORIGIN, url_fetcher=restricted_fetcher())
    pdf: bytes = document.write_pdf(**PDF_OPTIONS, pdf_identifier=identifier.encode()[:32])
    return pdf


def _init_worker(memory_mb: int) -> None:
    os.environ["SOURCE_DATE_EPOCH"] = FIXED_EPOCH
    if memory_mb > 0:
        import resource

        limit = memory_mb * 1024 * 1024
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


_pool: ProcessPoolExecutor | None = None
_pool_lock = threading.Lock()


def _get_pool() -> ProcessPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            settings = get_settings()
            _pool = ProcessPoolExecutor(
                max_workers=settings.pdf_workers,
                mp_context=get_context("spawn"),
                initializer=_init_worker,
                initargs=(settings.pdf_memory_mb,),
            )
        return _pool


def _discard_pool(pool: ProcessPoolExecutor) -> None:
    global _pool
    with _pool_lock:
        if _pool is pool:
            _pool = None
    for process in list(getattr(pool, "_processes", {}).values()):
        process.kill()  # a render past its time limit would otherwise run on
    pool.shutdown(wait=False, cancel_futures=True)


def html_to_pdf(html: str, identifier: str) -> bytes:
    """Render in the pool, within the configured time limit."""
    pool = _get_pool()
    try:
        future: Future[bytes] = pool.submit(_html_to_pdf, html, identifier)
        return future.result(timeout=get_settings().pdf_timeout_seconds)
    except FutureTimeout as exc:
        _discard_pool(pool)
        raise RenderFailed("The document took too long to render. Please try again.") from exc
    except (MemoryError, OSError) as exc:
        _discard_pool(pool)
        logger.error("pdf render failed: %s", exc.__class__.__name__)
        raise RenderFailed("The document could not be rendered. Please try again.") from exc
    except Exception as exc:
        if exc.__class__.__name__ == "BrokenProcessPool":
            _discard_pool(pool)
            raise RenderFailed("The document renderer restarted. Please try again.") from exc
        raise


def render_pdf(template: str, context: dict[str, Any], identifier: str) -> bytes:
    with PDF_RENDER.labels(template).time():
        return html_to_pdf(render_html(template, context), identifier)


def shutdown() -> None:
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=True, cancel_futures=True)
