"""The OpenAPI document says what the API really answers: problem+json for every error."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An error, as RFC 9457 problem details.",
    "type": "object",
    "required": ["type", "title", "status", "detail"],
    "properties": {
        "type": {"type": "string", "description": "A path naming the kind of problem."},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string", "description": "What went wrong, in plain words."},
        "errors": {
            "type": "array",
            "description": "Each invalid field: where it is and what is wrong with it.",
            "items": {
                "type": "object",
                "required": ["loc", "msg"],
                "properties": {
                    "loc": {
                        "type": "array",
                        "items": {"anyOf": [{"type": "string"}, {"type": "integer"}]},
                    },
                    "msg": {"type": "string"},
                },
            },
        },
        "request_id": {"type": "string"},
    },
}

# What each status means whichever operation answers it.
DESCRIPTIONS = {
    400: "The request could not be read",
    401: "Not signed in, or the token has expired",
    403: "The caller's role may not do this",
    404: "No such object, or the caller may not see it",
    409: "The object's state does not allow this now",
    412: "The object changed since it was read (If-Match)",
    413: "The body is too large",
    415: "The body's type is not accepted",
    422: "The input is invalid; `errors` names each field",
    429: "Too many attempts; retry after the time in Retry-After",
    503: "The database is briefly unreachable; retry",
}
READS = (400, 401, 403, 404, 409, 422, 503)
WRITES = (*READS, 412, 413, 415)


def install_openapi(app: FastAPI) -> None:
    def build() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                summary=app.summary,
                routes=app.routes,
            )
            document_problems(schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = build  # type: ignore[method-assign]


def document_problems(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    # FastAPI's own 422 body is never sent: the handlers answer problem+json instead.
    components.pop("HTTPValidationError", None)
    components.pop("ValidationError", None)
    components["Problem"] = PROBLEM_SCHEMA
    content = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for operations in schema.get("paths", {}).values():
        for method, operation in operations.items():
            statuses = READS if method in ("get", "head") else WRITES
            responses = operation.setdefault("responses", {})
            for status in statuses:
                responses.setdefault(str(status), {"description": DESCRIPTIONS[status]})
            for code, entry in responses.items():
                if code.startswith(("4", "5")):
                    entry["content"] = content
