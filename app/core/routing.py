"""The project's routers: one for the JSON API, one for the web pages.

What a route is (an API call or a page, an upload or not) is said once, where the route is
declared, and everything that answers differently for pages reads it from the route: the
error format, the request's session, the body limit. Nothing guesses from the path.
"""

import functools
import inspect
from collections.abc import Callable, Sequence
from enum import Enum
from typing import Any, TypeVar

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlmodel import Session
from starlette.routing import BaseRoute
from starlette.types import Scope

F = TypeVar("F", bound=Callable[..., Any])


def streams_upload(endpoint: F) -> F:
    """Mark an endpoint that streams a file upload (app/core/uploads.py): its body may be
    as large as the upload limit, not the small limit of JSON and forms."""
    endpoint.streams_upload = True  # type: ignore[attr-defined]
    return endpoint


class ApiRoute(APIRoute):
    """A JSON API route. Closes the request's session as soon as a sync endpoint returns,
    in its own thread.

    FastAPI validates a sync endpoint's response in another pool thread before dependency
    clean-up runs; a session still holding a connection across that wait lets a burst of
    requests take every connection while every thread waits for one.
    """

    is_page = False

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        self.streams_upload: bool = getattr(endpoint, "streams_upload", False)
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _closing_sessions(endpoint)
        super().__init__(path, endpoint, **kwargs)


class PageRoute(ApiRoute):
    """A web page: its errors are pages, and it stays out of the OpenAPI document."""

    is_page = True


def _closing_sessions(endpoint: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return endpoint(*args, **kwargs)
        finally:
            for value in kwargs.values():
                if isinstance(value, Session):
                    value.close()

    return run


def api_router(*, tags: Sequence[str | Enum] | None = None) -> APIRouter:
    return APIRouter(route_class=ApiRoute, prefix="/api/v1", tags=list(tags or []))


def page_router() -> APIRouter:
    return APIRouter(route_class=PageRoute, include_in_schema=False)


def route_of(scope: Scope) -> BaseRoute | None:
    """The route routing chose for this request; None before routing, or for a path no
    route serves."""
    route: BaseRoute | None = scope.get("route")
    return route


def is_page(scope: Scope) -> bool:
    """Does this request want a page? Its route says; for a path no route serves, the
    browser's Accept header does."""
    route = route_of(scope)
    if route is not None:
        return bool(getattr(route, "is_page", False))
    accept = dict(scope.get("headers") or []).get(b"accept", b"")
    return b"text/html" in accept
