"""Test users and logged-in HTTP sessions, through the real accounts code.

    user = await make_user(app, "qa1", role=Role.QA, password=PASSWORD)
    async with logged_in(app, "qa1", PASSWORD) as qa:     # cookie session, like a browser
        await qa.get("/api/qa/samples")                  # aiohttp response
        await qa.post("/api/...", json={...})            # X-CSRF-Token added for you

`app` is a `RoutedApp` (tests.support.routed) or the aiohttp application.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web

from callcenter.accounts.keys import ACCOUNTS
from callcenter.accounts.users import User
from callcenter.kernel.roles import Role

# Passes the default policy (10+ characters, not the username).
PASSWORD = "correct-horse-battery"


def _application(app: Any) -> web.Application:
    inner = getattr(app, "app", app)
    assert isinstance(inner, web.Application), inner
    return inner


async def make_user(
    app: Any, username: str, *, role: Role, password: str = PASSWORD, staff_no: str | None = None
) -> User:
    """Create an account directly (no HTTP, no admin session needed)."""
    return await _application(app)[ACCOUNTS].create_user(
        username, role=role, password=password, staff_no=staff_no
    )


def base_of(app: Any) -> str:
    """The running server's address (a RoutedApp's TestClient)."""
    return str(app.client.make_url("")).rstrip("/")


class SessionClient:
    """A cookie-jar client that logged in through POST /login and sends the CSRF token."""

    def __init__(self, http: aiohttp.ClientSession, csrf_token: str | None, user: Any) -> None:
        self.http = http
        self.csrf_token = csrf_token
        self.user = user

    def _headers(self, method: str, headers: dict[str, str] | None) -> dict[str, str]:
        merged = dict(headers or {})
        if method.upper() not in {"GET", "HEAD", "OPTIONS"} and self.csrf_token:
            merged.setdefault("X-CSRF-Token", self.csrf_token)
        return merged

    async def request(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> aiohttp.ClientResponse:
        return await self.http.request(
            method, path, headers=self._headers(method, headers), allow_redirects=False, **kwargs
        )

    async def get(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("GET", path, **kwargs)

    async def post(self, path: str, **kwargs: Any) -> aiohttp.ClientResponse:
        return await self.request("POST", path, **kwargs)


def anonymous_client(app: Any) -> aiohttp.ClientSession:
    """A fresh browser-like client: its own cookie jar, no service token."""
    return aiohttp.ClientSession(base_url=base_of(app), cookie_jar=aiohttp.CookieJar(unsafe=True))


@contextlib.asynccontextmanager
async def logged_in(
    app: Any, username: str, password: str = PASSWORD
) -> AsyncIterator[SessionClient]:
    async with anonymous_client(app) as http:
        response = await http.post("/login", json={"username": username, "password": password})
        body = await response.json()
        assert response.status == 200, body
        yield SessionClient(http, body["csrf_token"], body["user"])
