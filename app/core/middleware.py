"""Pure ASGI middleware: request ids and security headers, without buffering bodies."""

import logging
import re
import time
import uuid

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.config import get_settings
from app.core.errors import problem
from app.core.logging import request_id_var

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


class _BodyTooLarge(Exception):
    pass


# Uploads stream a file and enforce their own limit on it; the rest is JSON and small.
_UPLOAD_PATH = re.compile(r"^/api/v1/(proposals/[^/]+/attachments|agencies/[^/]+/schools/import)$")


def body_limit(scope: Scope) -> int:
    settings = get_settings()
    if scope.get("method") == "POST" and _UPLOAD_PATH.match(scope.get("path", "")):
        return settings.max_upload_bytes + 1024 * 1024
    return settings.max_json_bytes


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        request_id = incoming if _VALID_ID.match(incoming) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        began = time.perf_counter()
        status_holder = {"status": 500}
        started = {"sent": False}

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                started["sent"] = True
                status_holder["status"] = message["status"]
                headers = MutableHeaders(scope=message)
                headers["X-Request-ID"] = request_id
                for name, value in SECURITY_HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        limit = body_limit(scope)
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        received = {"bytes": 0}

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received["bytes"] += len(message.get("body", b""))
                if received["bytes"] > limit:
                    raise _BodyTooLarge
            return message

        try:
            if declared.isdigit() and int(declared) > limit:
                raise _BodyTooLarge
            await self.app(scope, limited_receive, send_wrapper)
        except _BodyTooLarge:
            if not started["sent"]:
                response = problem(
                    413, f"The request body is larger than this endpoint accepts ({limit} bytes)."
                )
                await response(scope, receive, send_wrapper)
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
                await response(scope, receive, send_wrapper)
        finally:
            logger.info(
                "request",
                extra={
                    "fields": {
                        "method": scope.get("method"),
                        "path": scope.get("path"),
                        "status": status_holder["status"],
                        "ms": round((time.perf_counter() - began) * 1000, 1),
                    }
                },
            )
            request_id_var.reset(token)
