"""Annotated dependencies every router uses: the session and the caller."""

from collections.abc import Callable
from datetime import timedelta
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.accounts.models import User
from app.core import ratelimit
from app.core.config import get_settings
from app.core.db import get_engine, get_session, read_session
from app.core.errors import Unauthorized
from app.core.security import AccessClaims, decode_access_token

SessionDep = Annotated[Session, Depends(get_session)]
T = TypeVar("T")

_bearer = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _claims_from_token(token: str) -> AccessClaims:
    claims = decode_access_token(token)
    if claims is None:
        raise Unauthorized("The access token is invalid or has expired.")
    return claims


def _user_from_token(token: str | None) -> User | None:
    if not token:
        return None
    claims = _claims_from_token(token)
    # A read-only session of its own, closed before the endpoint runs: on SQLite the
    # request's own session would take the write lock for this read and hold it.
    with read_session() as session:
        user = session.get(User, claims.user_id)
    # A password change raises the account's version: every token issued before it is dead.
    if user is None or not user.is_active or user.credentials_version != claims.credentials_version:
        raise Unauthorized("The access token is invalid or has expired.")
    return user


async def checked_before_upload(session: Session, check: Callable[..., T], /, **kwargs: Any) -> T:
    """`check(session=session, **kwargs)`, run before an upload's body is read so a wrong
    caller is refused before a byte of it arrives.

    The check only reads, on a read-only connection, and its transaction ends here: nothing
    is held while the body streams in (not SQLite's write lock, not a PostgreSQL connection).
    """

    def run() -> T:
        session.connection(execution_options={"read_only": True})
        try:
            return check(session=session, **kwargs)
        finally:
            session.rollback()

    return await run_in_threadpool(run)


async def get_optional_user(token: Annotated[str | None, Depends(_bearer)]) -> User | None:
    # async: an anonymous request (the public reads a cache serves) costs no hop to the
    # thread pool; a token is checked there, since that reads the database.
    if not token:
        return None
    return await run_in_threadpool(_user_from_token, token)


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
