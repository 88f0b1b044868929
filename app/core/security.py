"""Password hashing (argon2 through pwdlib), the password policy, and signed access tokens
(PyJWT)."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from typing import Any

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.config import get_settings
from app.core.db import utcnow

ALGORITHM = "HS256"


@lru_cache(maxsize=1)
def _hasher() -> PasswordHash:
    # The argon2id cost comes from the settings (OWASP's baseline by default; the test
    # settings lower it, since the suite hashes thousands of passwords).
    settings = get_settings()
    return PasswordHash(
        (
            Argon2Hasher(
                memory_cost=settings.argon2_memory_kib,
                time_cost=settings.argon2_time_cost,
                parallelism=1,
            ),
        )
    )


@lru_cache(maxsize=1)
def _dummy_hash() -> str:
    # Verified against when the account is unknown, so both answers take the same time.
    return _hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _hasher().verify(password, _dummy_hash())
        return False
    return _hasher().verify(password, password_hash)


PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 128


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    # zxcvbn's frequency list of 30,000 passwords most often found in breaches, shipped in
    # the package (offline); loaded once, on the first password set.
    from zxcvbn.frequency_lists import FREQUENCY_LISTS

    return frozenset(FREQUENCY_LISTS["passwords"])


def password_problem(password: str, email: str | None) -> str | None:
    """Why this password may not be used (a sentence for the person choosing it), or None.

    The one password policy: sign-up, staff and admin creation, invitation acceptance,
    password change and reset all ask here."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return f"A password needs at least {PASSWORD_MIN_LENGTH} characters."
    if len(password) > PASSWORD_MAX_LENGTH:
        return f"A password has at most {PASSWORD_MAX_LENGTH} characters."
    lowered = password.lower()
    if lowered in _common_passwords() or len(set(lowered)) < 4:
        return "This password is too common or too easy to guess. Choose another."
    local_part = (email or "").partition("@")[0].strip().lower()
    if len(local_part) >= 3 and local_part in lowered:
        return "A password may not contain your email address. Choose another."
    return None


def create_access_token(
    subject: str, expires_delta: timedelta | None = None, *, credentials_version: int = 0
) -> str:
    settings = get_settings()
    now = utcnow()
    expires = now + (expires_delta or timedelta(minutes=settings.access_token_minutes))
    payload: dict[str, Any] = {
        "sub": subject,
        "iat": now,
        "exp": expires,
        "typ": "access",
        "cv": credentials_version,
    }
    return jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM)


@dataclass(frozen=True)
class AccessClaims:
    user_id: str
    # The account's credentials_version when the token was issued; a token is honoured
    # only while it still equals the account's.
    credentials_version: int


def decode_access_token(token: str) -> AccessClaims | None:
    """What the token says, or None when it is invalid or expired."""
    try:
        payload = jwt.decode(
            token,
            get_settings().secret_key,
            algorithms=[ALGORITHM],
            options={"require": ["sub", "exp", "iat", "cv"]},
        )
    except jwt.PyJWTError:
        return None
    if payload.get("typ") != "access" or not isinstance(payload.get("sub"), str):
        return None
    version = payload.get("cv")
    if not isinstance(version, int) or isinstance(version, bool):
        return None
    return AccessClaims(str(payload["sub"]), version)


def new_opaque_token() -> tuple[str, str]:
    """A random token for the user and the digest we store (a leaked table reveals nothing)."""
    token = secrets.token_urlsafe(32)
    return token, token_digest(token)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
