"""Helpers for the sign-in, session, token and user tests: an app on a given database with
a settable clock, users, a browser sign-in, a bearer token."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import httpx
from starlette.testclient import TestClient

from runtime.clock import Clock
from runtime.config import Settings
from runtime.security.users import UserInfo, UserService
from runtime.web.app import create_app

PASSWORD = "a long enough secret"
START = datetime(2025, 6, 10, 9, 0, 0)


@contextmanager
def make_client(
    db_url: str,
    clock: Clock | None = None,
    base_url: str = "http://testserver",
    http: Any = None,
    **settings: Any,
) -> Iterator[TestClient]:
    if clock is None and not settings.get("test_clock"):  # else the server's shared clock
        clock = Clock()
        clock.set(START)
    app = create_app(Settings(database_url=db_url, **settings), clock=clock, http=http)
    with TestClient(app, base_url=base_url, raise_server_exceptions=False) as client:
        yield client


def users_of(client: TestClient) -> UserService:
    service: UserService = client.app.state.users  # type: ignore[attr-defined]
    return service


def clock_of(client: TestClient) -> Clock:
    clock: Clock = client.app.state.clock  # type: ignore[attr-defined]
    return clock


def add_user(
    client: TestClient, username: str, roles: Sequence[str] = (), password: str | None = PASSWORD
) -> UserInfo:
    return users_of(client).create(username, password, roles=roles)


def form_token(page: httpx.Response) -> str:
    form = page.text.split('action="/login"', 1)[-1]
    found = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert found, page.text
    return found.group(1)


def sign_in(
    client: TestClient, username: str, password: str = PASSWORD, next_path: str = "/"
) -> httpx.Response:
    """Sign in through the HTML form like a browser; returns the POST's response."""
    token = form_token(client.get("/login"))
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token, "next": next_path},
        follow_redirects=False,
    )


def session_csrf(client: TestClient) -> str:
    """The CSRF token a signed-in page carries in ``<meta name="csrf-token">``."""
    found = re.search(r'<meta name="csrf-token" content="([^"]+)">', client.get("/").text)
    assert found
    return found.group(1)


def issue_token(client: TestClient, username: str, password: str = PASSWORD, **extra: Any) -> str:
    response = client.post(
        "/api/v1/auth/token", json={"username": username, "password": password, **extra}
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["token"]
    return token


def direct_token(client: TestClient, username: str) -> str:
    """A read-write token made directly: no password to hash and check (fast fixtures)."""
    from runtime.security.audit import Origin

    state = client.app.state  # type: ignore[attr-defined]
    found = state.users.get(username)
    secret, _ = state.tokens.create(
        found.id, username, name="test", scope="read_write", origin=Origin()
    )
    return str(secret)


class Caller:
    """Calls the API as any user by name, each with a token made once (fast fixtures);
    ``ids`` keeps the records a test names."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}
        self.ids: dict[str, int] = {}

    def call(self, user: str, method: str, path: str, **kw: Any) -> Any:
        if user not in self.tokens:
            self.tokens[user] = direct_token(self.client, user)
        return self.client.request(method, path, headers=bearer(self.tokens[user]), **kw)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
