"""Server-side sessions for the web pages, and the CSRF token every form carries."""

import hashlib
import hmac
import secrets
from datetime import timedelta

from fastapi import Request, Response

from app.accounts import credentials
from app.accounts.models import User, WebSession
from app.core.config import get_settings
from app.core.security import token_digest

COOKIE = "lpp_session"
LIFETIME = timedelta(hours=8)


def start(response: Response, user: User) -> None:
    token = credentials.start_web_session(user=user, lifetime=LIFETIME)
    response.set_cookie(
        COOKIE,
        token,
        max_age=int(LIFETIME.total_seconds()),
        httponly=True,
        samesite="lax",
        secure=get_settings().environment == "production",
        path="/",
    )


def end(request: Request, response: Response) -> None:
    token = request.cookies.get(COOKIE)
    if token:
        credentials.end_web_session(token=token)
    response.delete_cookie(COOKIE, path="/")


def current(request: Request) -> tuple[User, WebSession] | None:
    token = request.cookies.get(COOKIE)
    return credentials.web_session_user(token=token) if token else None


# CSRF protection. Signed in, a form's token is an HMAC of the web session (keyed with
# SECRET_KEY): only that session's pages carry it, so a token from another person's session,
# or from the same browser before it signed in, is refused, even where an attacker managed
# to plant a cookie. Anonymous forms (sign-in, sign-up, an invitation) use double submit: a
# random value in a SameSite cookie and in the form; another site can make a browser post
# a form but can read neither.
CSRF_COOKIE = "lpp_csrf"


def _session_csrf(session_token: str) -> str:
    key = get_settings().secret_key.encode()
    message = b"web-csrf:" + token_digest(session_token).encode()
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def csrf_token(request: Request) -> str:
    session_token = request.cookies.get(COOKIE)
    if session_token:
        return _session_csrf(session_token)
    return request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)


def remember_csrf(request: Request, response: Response, token: str) -> None:
    """Keep an anonymous form's token in its cookie. Only a page that carries a form sets
    one, so public pages without forms stay free of cookies (and cacheable)."""
    if request.cookies.get(COOKIE) or request.cookies.get(CSRF_COOKIE) == token:
        return
    if token.encode() not in response.body:
        return
    response.set_cookie(
        CSRF_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=get_settings().environment == "production",
        path="/",
    )


def csrf_matches(request: Request, submitted: str | None) -> bool:
    session_token = request.cookies.get(COOKIE)
    expected = _session_csrf(session_token) if session_token else request.cookies.get(CSRF_COOKIE)
    return bool(expected and submitted and hmac.compare_digest(expected, submitted))
