"""Annotated dependencies every router uses: the session and the caller."""

import functools
import inspect
from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy import Connection, bindparam, select
from sqlalchemy.orm import make_transient_to_detached
from sqlmodel import Session

from app.accounts.models import User
from app.core import ratelimit
from app.core.config import get_settings
from app.core.db import get_engine, get_session, read_connection, read_session
from app.core.errors import Unauthorized
from app.core.security import AccessClaims, decode_access_token

SessionDep = Annotated[Session, Depends(get_session)]
T = TypeVar("T")

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


_USERS = User.__table__  # type: ignore[attr-defined]
_USER_BY_ID = select(_USERS).where(_USERS.c.id == bindparam("id"))


def _claims_from_token(token: str) -> AccessClaims:
    claims = decode_access_token(token)
    if claims is None:
        raise Unauthorized("The access token is invalid or has expired.")
    return claims


def _user_from_token(token: str | None) -> User | None:
    return _active_user(_claims_from_token(token)) if token else None


def _active_user(claims: AccessClaims) -> User:
    # Every request makes this lookup: a Core read on a connection of its own, not an ORM
    # session. (On SQLite, the request's write transaction must not begin in a dependency
    # and wait there for the endpoint's thread while other requests queue for it.)
    with read_connection() as conn:
        return _active_user_on(conn, claims)


def _active_user_on(conn: Connection, claims: AccessClaims) -> User:
    row = conn.execute(_USER_BY_ID, {"id": claims.user_id}).mappings().first()
    # A password change raises the account's version: every token issued before it is dead.
    if (
        row is None
        or not row["is_active"]
        or row["credentials_version"] != claims.credentials_version
    ):
        raise Unauthorized("The access token is invalid or has expired.")
    user = User.model_validate(row)
    make_transient_to_detached(user)  # like a user loaded by a session that has closed
    return user


async def checked_before_upload(check: Callable[..., T], /, **kwargs: Any) -> T:
    """Run a caller check on a read-only session of its own, before an upload's body is read.

    The request's own session is a writer's; on SQLite, checking with it would queue for the
    write lock (and hold it while the body streams in) only to answer a question a read can.
    """

    def run() -> T:
        with read_session() as session:
            return check(session=session, **kwargs)

    return await run_in_threadpool(run)


class Caller:
    """The bearer of a valid access token, whose account is read on the session of the
    request's own database work, in its thread-pool hop, not in a hop and on a connection of
    its own as for `CurrentUser`.

    For the deadline rush's upload and submit: under a surge each hop to the pool, and on
    PostgreSQL each connection checkout, costs more than the lookup it carries.
    """

    def __init__(self, claims: AccessClaims) -> None:
        self.user_id = claims.user_id
        self.claims = claims

    def account(self, session: Session) -> User:
        return _active_user_on(session.connection(), self.claims)


async def get_caller(token: Annotated[str | None, Depends(_bearer)]) -> Caller:
    if not token:
        raise Unauthorized()
    return Caller(_claims_from_token(token))


SignedInCaller = Annotated[Caller, Depends(get_caller)]


def in_own_session(work: Callable[..., T], /, **kwargs: Any) -> T:
    """`work(session=<a writer's session>, **kwargs)`, the session opened and closed in the
    calling thread. For the deadline rush, instead of `SessionDep`: a dependency with clean-up
    costs each request an exit stack and a cancel scope on the event loop, and holds its
    connection until the response is sent."""
    with Session(get_engine(), expire_on_commit=False) as session:
        return work(session=session, **kwargs)


async def as_caller(caller: Caller, work: Callable[..., T], /, **kwargs: Any) -> T:
    """`work(session=..., actor=<the caller's account>, **kwargs)`: the lookup and the work
    in one pool hop and one transaction, on a session of its own."""

    def run(session: Session) -> T:
        return work(session=session, actor=caller.account(session), **kwargs)

    return await run_in_threadpool(in_own_session, run)


async def caller_checked_before_upload(
    caller: Caller, check: Callable[..., Any], /, **kwargs: Any
) -> User:
    """The caller's account, read and checked as `checked_before_upload` does, in one hop
    and on one read-only session."""

    def run() -> User:
        with read_session() as session:
            user = caller.account(session)
            check(session=session, user=user, **kwargs)
            return user

    return await run_in_threadpool(run)


def get_optional_user(token: Annotated[str | None, Depends(_bearer)]) -> User | None:
    return _user_from_token(token)


async def get_current_user(user: Annotated[User | None, Depends(get_optional_user)]) -> User:
    # async: a check this small should not cost a hop to the thread pool on every request.
    if user is None:
        raise Unauthorized()
    return user


OptionalUser = Annotated[User | None, Depends(get_optional_user)]
CurrentUser = Annotated[User, Depends(get_current_user)]


def client_address(request: Request) -> str:
    # Behind a proxy, uvicorn (run with proxy headers) has already put the client here.
    return request.client.host if request.client else "unknown"


def _limited(name: str, per: timedelta, limit: Callable[[], int], what: str) -> Callable[..., None]:
    def _check(request: Request) -> None:
        # Its own session and transaction, committed here: the endpoint's work starts afresh.
        with Session(get_engine(), expire_on_commit=False) as session:
            ratelimit.hit(session, f"{name}:{client_address(request)}", limit(), per, what)

    return _check


LoginRateLimit = Depends(
    _limited(
        "login",
        timedelta(minutes=1),
        lambda: get_settings().login_rate_per_minute,
        "sign-in attempts",
    )
)
SignupRateLimit = Depends(
    _limited("signup", timedelta(hours=1), lambda: get_settings().signup_rate_per_hour, "sign-ups")
)
RATE_LIMITED: dict[int | str, dict[str, Any]] = {
    429: {"description": "Too many attempts from this network; see Retry-After"}
}


class SessionClosingRoute(APIRoute):
    """Closes the request's session as soon as a sync endpoint returns, in its own thread.

    FastAPI validates a sync endpoint's response in another pool thread before dependency
    clean-up runs; a session still holding a connection across that wait lets a burst of
    requests take every connection while every thread waits for one.
    """

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if not inspect.iscoroutinefunction(endpoint):
            endpoint = _closing_sessions(endpoint)
        super().__init__(path, endpoint, **kwargs)


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
