"""A signed-in person using the web pages over HTTP: forms carry the page's CSRF token."""

import re
from typing import Any

import httpx

from tests.support import PASSWORD

_TOKEN = re.compile(r'name="csrf_token" value="([^"]*)"')


class Person:
    def __init__(self, client: httpx.Client) -> None:
        # Own cookie jar: one person per client, sharing the app (or live server) with others.
        self.client = httpx.Client(
            transport=client._transport, base_url=client.base_url, timeout=client.timeout
        )
        self.token = ""

    def get(self, path: str, status: int = 200) -> str:
        response = self.client.get(path)
        assert response.status_code == status, f"GET {path}: {response.status_code}"
        tokens = set(_TOKEN.findall(response.text))
        # Every form on a page carries the same token (an empty one would be refused).
        assert len(tokens) <= 1 and "" not in tokens, f"GET {path}: CSRF tokens {tokens}"
        if tokens:
            self.token = tokens.pop()
        return response.text

    def post(
        self, path: str, data: dict[str, Any] | None = None, files: Any = None, csrf: bool = True
    ) -> httpx.Response:
        if not self.token:
            self.get("/sign-in")
        body = {**(data or {}), **({"csrf_token": self.token} if csrf else {})}
        return self.client.post(path, data=body, files=files)

    def sign_in(self, email: str, password: str = PASSWORD) -> "Person":
        response = self.post("/sign-in", {"email": email, "password": password})
        assert response.status_code == 303, response.text
        # As a browser does: the page after signing in carries the session's own CSRF token
        # (the one from before signing in is no longer accepted).
        self.get(response.headers["location"])
        return self


def text_of(html: str) -> str:
    """The page's words without tags, whitespace collapsed: what a reader sees."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())
