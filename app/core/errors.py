"""Every error leaves the service as RFC 9457 problem+json, never as a stack trace."""

import logging
from collections.abc import Callable, Sequence
from http import HTTPStatus
from typing import Any, TypeAlias

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import DataError, OperationalError, StatementError
from sqlalchemy.exc import TimeoutError as SqlTimeoutError
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.core.logging import request_id_var
from app.core.routing import is_page

logger = logging.getLogger("app.errors")

PROBLEM_MEDIA_TYPE = "application/problem+json"
# PostgreSQL cannot store U+0000 in text, so it is refused before any database sees it.
NUL_REFUSED = "Text may not contain NUL characters (U+0000)."
OUT_OF_RANGE = "A number or date is out of the range this service accepts."


class ProblemError(Exception):
    """A domain rule refused the request; services raise these, handlers render them."""

    status = 400
    slug = "bad-request"

    def __init__(
        self,
        detail: str,
        *,
        slug: str | None = None,
        errors: Sequence[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if slug:
            self.slug = slug
        self.errors = list(errors) if errors else None
        self.headers = headers


class NotFound(ProblemError):
    status = 404
    slug = "not-found"

    def __init__(self, what: str = "Resource", **kwargs: Any) -> None:
        super().__init__(f"{what} not found.", **kwargs)


class Unauthorized(ProblemError):
    status = 401
    slug = "unauthorized"

    def __init__(self, detail: str = "Valid credentials are required.", **kw: Any) -> None:
        kw.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(detail, **kw)


class Forbidden(ProblemError):
    status = 403
    slug = "forbidden"


class Conflict(ProblemError):
    status = 409
    slug = "conflict"


class PreconditionFailed(ProblemError):
    status = 412
    slug = "precondition-failed"


class PayloadTooLarge(ProblemError):
    status = 413
    slug = "payload-too-large"


class UnsupportedMediaType(ProblemError):
    status = 415
    slug = "unsupported-media-type"


class Unprocessable(ProblemError):
    status = 422
    slug = "validation-error"

    @classmethod
    def at(cls, loc: Sequence[str | int], msg: str) -> "Unprocessable":
        return cls(msg, errors=[{"loc": list(loc), "msg": msg}])


class TooManyRequests(ProblemError):
    status = 429
    slug = "too-many-requests"


def problem(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    phrase = HTTPStatus(status).phrase
    body: dict[str, Any] = {
        "type": f"/problems/{slug or phrase.lower().replace(' ', '-')}",
        "title": phrase,
        "status": status,
        "detail": detail,
    }
    if errors is not None:
        body["errors"] = list(errors)
    rid = request_id_var.get()
    if rid:
        body["request_id"] = rid
    return JSONResponse(body, status_code=status, media_type=PROBLEM_MEDIA_TYPE, headers=headers)


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Only location and message: pydantic's "input" echo could carry a password back.
    return [
        {"loc": list(err.get("loc", ())), "msg": str(err.get("msg", ""))} for err in exc.errors()
    ]


# The web pages register a renderer so their errors are pages, not JSON.
HtmlErrorRenderer: TypeAlias = Callable[[Request, int, str], Response]
html_error_renderer: HtmlErrorRenderer | None = None


def _wants_page(request: Request) -> bool:
    return html_error_renderer is not None and is_page(request.scope)


def answer(
    request: Request,
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    errors: Sequence[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """problem+json for the API, an error page for the web pages."""
    if _wants_page(request) and html_error_renderer is not None:
        return html_error_renderer(request, status, detail)
    return problem(status, detail, slug=slug, errors=errors, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ProblemError)
    async def _domain(request: Request, exc: ProblemError) -> Response:
        return answer(
            request, exc.status, exc.detail, slug=exc.slug, errors=exc.errors, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        errors = _validation_errors(exc)
        detail = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'][1:]) or e['loc'][0]}: {e['msg']}" for e in errors
        )
        return answer(
            request, 422, detail or "Invalid request.", slug="validation-error", errors=errors
        )

    @app.exception_handler(ValidationError)
    async def _model_validation(request: Request, exc: ValidationError) -> Response:
        # A service re-validating merged content (e.g. a PATCH combined with stored data).
        errors = [{"loc": ["body", *e["loc"]], "msg": e["msg"]} for e in exc.errors()]
        return answer(request, 422, "; ".join(str(e["msg"]) for e in errors), errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        return answer(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(DataError)
    async def _unstorable(request: Request, exc: DataError) -> Response:
        # Values the database refuses outright, such as a NUL character in text on
        # PostgreSQL; the transaction was rolled back with the request's session.
        logger.warning(
            "database refused a value: %s", exc.orig.__class__.__name__ if exc.orig else exc
        )
        return answer(
            request,
            422,
            "A value cannot be stored: text may not contain NUL characters, and numbers "
            "must be within range.",
        )

    @app.exception_handler(OverflowError)
    async def _overflow(request: Request, exc: OverflowError) -> Response:
        # A number too large for SQLite's integers, or a date past year 9999 once moved to
        # UTC: the input's fault wherever a schema did not bound it first.
        logger.warning("value out of range: %s", exc)
        return answer(request, 422, OUT_OF_RANGE, slug="validation-error")

    @app.exception_handler(StatementError)
    async def _unbindable(request: Request, exc: StatementError) -> Response:
        if not isinstance(exc.orig, OverflowError):
            raise exc
        logger.warning("value out of range: %s", exc.orig)
        return answer(request, 422, OUT_OF_RANGE, slug="validation-error")

    @app.exception_handler(SqlTimeoutError)
    async def _pool_exhausted(request: Request, exc: SqlTimeoutError) -> Response:
        logger.error("no database connection free within the pool timeout")
        return answer(
            request,
            503,
            "The service is very busy. Please try again in a moment.",
            slug="service-unavailable",
            headers={"Retry-After": "2"},
        )

    @app.exception_handler(OperationalError)
    async def _database_down(request: Request, exc: OperationalError) -> Response:
        logger.error("database unavailable: %s", exc.orig.__class__.__name__ if exc.orig else exc)
        return answer(
            request,
            503,
            "The database is temporarily unavailable. Please try again shortly.",
            slug="service-unavailable",
            headers={"Retry-After": "2"},
        )
