"""Every response — page, API, error, 404, sign-in, 500 — carries the security headers, and
everything but /static is ``no-store``."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from starlette.testclient import TestClient

from tests.auth_support import add_user, bearer, issue_token, make_client, sign_in


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(f"sqlite:///{tmp_path / 'headers.db'}") as c:
        yield c


def _assert_protected(response: httpx.Response, cacheable: bool = False) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp and "script-src 'self'" in csp
    assert "unsafe-eval" not in csp and "unsafe-inline" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == "same-origin"
    if cacheable:
        assert "no-store" not in headers.get("cache-control", "")
    else:
        assert headers.get_list("cache-control") == ["no-store"]


def test_every_kind_of_response_is_protected(client: TestClient) -> None:
    add_user(client, "ann")
    token = issue_token(client, "ann")
    responses = [
        client.get("/"),
        client.get("/health"),
        client.get("/api/v1/health"),
        client.get("/login"),
        client.post("/login", data={"username": "a"}, follow_redirects=False),
        client.get("/nowhere"),
        client.get("/api/v1/nowhere"),
        client.get("/api/v1/me"),
        client.get("/api/v1/me", headers=bearer(token)),
        client.get("/api/v1/users", headers=bearer(token)),
        client.get("/api/v1/me?access_token=x"),
        client.get("/api/v1/me", headers=bearer("tnn_nope")),
        client.post("/api/v1/auth/token", content=b"{"),
        client.delete("/api/v1/health"),
        client.head("/"),
        sign_in(client, "ann"),
        client.post("/logout", follow_redirects=False),
    ]
    assert {r.status_code for r in responses} >= {200, 303, 400, 401, 403, 404, 405}
    for response in responses:
        _assert_protected(response)


def test_static_files_may_be_cached_but_are_still_protected(client: TestClient) -> None:
    response = client.get("/static/tenon.js")
    assert response.status_code == 200
    _assert_protected(response, cacheable=True)
    _assert_protected(client.get("/static/missing.js"), cacheable=True)


def test_https_responses_add_hsts(tmp_path: Path) -> None:
    with make_client(f"sqlite:///{tmp_path / 'tls.db'}", base_url="https://testserver") as c:
        assert c.get("/login").headers["strict-transport-security"].startswith("max-age=")
    with make_client(f"sqlite:///{tmp_path / 'tls.db'}") as c:
        assert "strict-transport-security" not in c.get("/login").headers


def test_a_500_is_protected_too(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    from runtime.services.apps import AppService

    def boom(self: AppService) -> None:
        raise RuntimeError("secret internals")

    add_user(client, "ann")
    sign_in(client, "ann")  # the app launcher is for signed-in users
    monkeypatch.setattr(AppService, "installed", boom)
    for path in ("/api/v1/health", "/"):
        response = client.get(path)
        assert response.status_code == 500 and "secret" not in response.text
        _assert_protected(response)
