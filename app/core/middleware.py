"""Pure ASGI middleware: request ids, security and caching headers, body limits.

Upload bodies stream through untouched; JSON and form bodies, already bounded by their
limit, are kept until their last chunk to refuse a NUL character before an endpoint runs."""

import json
import logging
import re
import time
import uuid
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core import metrics
from app.core.config import get_settings
from app.core.errors import NUL_REFUSED, answer, problem
from app.core.logging import request_id_var
from app.core.routing import route_of

logger = logging.getLogger("app.access")
logger_errors = logging.getLogger("app.errors")
_VALID_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
}


class _BodyRefused(Exception):
    """The body breaks a rule; raised from `receive`, so the endpoint never sees it."""

    def __init__(self, status: int, detail: str, errors: list[dict[str, Any]] | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = errors


def body_limit(scope: Scope) -> int:
    """Uploads stream a file and enforce their own limit on it (their route says it streams
    one); the rest is JSON or a form, and small."""
    if _is_upload(scope):
        return get_settings().max_upload_bytes + 1024 * 1024
    return get_settings().max_json_bytes


def _is_upload(scope: Scope) -> bool:
    return scope.get("method") == "POST" and getattr(route_of(scope), "streams_upload", False)


def _too_large(scope: Scope, limit: int) -> _BodyRefused:
    if _is_upload(scope):
        mb = get_settings().max_upload_mb
        return _BodyRefused(413, f"The file is larger than the {mb} MB limit.")
    return _BodyRefused(
        413, f"The request body is larger than this endpoint accepts ({limit} bytes)."
    )


class _BodyCheck:
    """Counts the body against its limit and, for JSON and urlencoded forms, keeps it (at
    most that limit) to refuse a NUL character once the last chunk is in."""

    def __init__(self, scope: Scope, headers: dict[bytes, bytes]) -> None:
        self.scope = scope
        self.limit: int | None = None  # known once routing has chosen the route
        self.declared = headers.get(b"content-length", b"")
        self.received = 0
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
        # FastAPI reads a body without a content type as JSON.
        self.kind = (
            "json"
            if not media or media.endswith(b"json")
            else "form"
            if media == b"application/x-www-form-urlencoded"
            else None
        )
        self.body = bytearray()

    def before_reading(self) -> None:
        """Called when the endpoint first asks for the body, before a byte is read: by then
        the route is known, and with it the limit; a declared length over it is refused."""
        if self.limit is None:
            self.limit = body_limit(self.scope)
            if self.declared.isdigit() and int(self.declared) > self.limit:
                raise _too_large(self.scope, self.limit)

    def feed(self, message: Message) -> None:
        assert self.limit is not None
        chunk = message.get("body", b"")
        self.received += len(chunk)
        if self.received > self.limit:
            raise _too_large(self.scope, self.limit)
        if self.kind is None:
            return
        self.body += chunk
        if not message.get("more_body", False):
            where = _nul_in_json(bytes(self.body)) if self.kind == "json" else None
            if self.kind == "form" and (b"%00" in self.body or b"\x00" in self.body):
                where = []
            if where is not None:
                raise _BodyRefused(
                    422, NUL_REFUSED, [{"loc": ["body", *where], "msg": NUL_REFUSED}]
                )


def _nul_in_json(body: bytes) -> list[str | int] | None:
    """The path to the first text holding U+0000, or None. JSON can only carry it escaped,
    so a body without the escape is passed without parsing."""
    if b"\\u0000" not in body:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON at all: the endpoint answers that
    return _nul_path(document, [])


def _nul_path(value: Any, path: list[str | int]) -> list[str | int] | None:
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, list):
        items: Any = enumerate(value)
    elif isinstance(value, dict):
        for key in value:
            if "\x00" in key:
                return [*path, key.replace("\x00", "")]
        items = value.items()
    else:
        return None
    for key, item in items:
        found = _nul_path(item, [*path, key])
        if found is not None:
            return found
    return None


class RequestContextMiddleware:
    """Request ids, security and caching headers, and the refusal of bodies too large or
    holding NUL characters (answered before any endpoint reads them).

    `session_cookie` names the web session's cookie and `private_paths` the prefixes of
    sign-in, sign-up and password pages: their responses, every response to a request
    carrying credentials and every answer to a write are `Cache-Control: no-store`.
    Anonymous reads of public pages and lists, and anything under `public_paths` (static
    files), keep whatever caching they declare.
    """

    def __init__(
        self,
        app: ASGIApp,
        session_cookie: str = "",
        private_paths: tuple[str, ...] = (),
        public_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.session_cookie = session_cookie.encode("latin-1")
        self.private_paths = private_paths
        self.public_paths = public_paths

    def _private(self, scope: Scope, headers: dict[bytes, bytes]) -> bool:
        path = scope.get("path", "")
        if scope.get("method") not in ("GET", "HEAD"):
            return True
        if path.startswith(self.public_paths):
            return False  # the same bytes for everyone (stylesheets, scripts, images)
        if b"authorization" in headers:
            return True
        if self.session_cookie and _has_cookie(headers.get(b"cookie", b""), self.session_cookie):
            return True
        return path.startswith(self.private_paths)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = dict(scope.get("headers") or [])
        incoming = request_headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        began = time.perf_counter()
        status_holder = {"status": 500}
        started = {"sent": False}
        private = self._private(scope, request_headers)
        refused: list[_BodyRefused] = []

        observed = {"done": False}

        def observe() -> None:
            observed["done"] = True
            seconds = time.perf_counter() - began
            logger.info(
                "request",
                extra={
                    "fields": {
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status_holder["status"],
                        "ms": round(seconds * 1000, 1),
                    }
                },
            )
            metrics.observe_request(
                str(scope.get("method")),
                metrics.route_label(scope),
                status_holder["status"],
                seconds,
            )

        async def send_decorated(message: Message) -> None:
            # Counted before the answer's last bytes leave: a client that reads the metrics
            # after its answer finds the answer in them.
            last = message["type"] == "http.response.body" and not message.get("more_body")
            if last and not observed["done"]:
                observe()
            if message["type"] == "http.response.start":
                started["sent"] = True
                status_holder["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
                # A cookie is one browser's: never for a shared cache either.
                if private or "set-cookie" in headers:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        async def send_wrapper(message: Message) -> None:
            # FastAPI turns any failure while reading a body into its own 400; when the body
            # was refused here, that answer is dropped and the refusal sent instead.
            if refused and not started["sent"]:
                return
            await send_decorated(message)

        check = _BodyCheck(scope, request_headers)

        async def checked_receive() -> Message:
            try:
                check.before_reading()
                message = await receive()
                if message["type"] == "http.request":
                    check.feed(message)
            except _BodyRefused as exc:
                refused.append(exc)
                raise
            return message

        try:
            if "\x00" in scope.get("path", "") or b"%00" in scope.get("query_string", b""):
                raise _BodyRefused(422, NUL_REFUSED)
            await self.app(scope, checked_receive, send_wrapper)
            if refused and not started["sent"]:
                raise refused[0]
        except _BodyRefused as exc:
            if not started["sent"]:
                response = await run_in_threadpool(
                    answer, Request(scope), exc.status, exc.detail, errors=exc.errors
                )
                await response(scope, receive, send_decorated)
        except Exception:
            # Handled here rather than in Starlette's outermost error middleware so the log
            # line and the problem body still carry this request's id.
            logger_errors.exception("unhandled error")
            if not started["sent"]:
                response = problem(
                    500,
                    "An unexpected error occurred. It has been logged with this request's id.",
                    slug="internal-error",
                )
                await response(scope, receive, send_decorated)
        finally:
            if not observed["done"]:  # no last body chunk went out (a failure, a drop)
                observe()
            request_id_var.reset(token)


def _has_cookie(header: bytes, name: bytes) -> bool:
    return any(
        part.strip().split(b"=", 1)[0] == name and part.strip() != name + b"="
        for part in header.split(b";")
    )
