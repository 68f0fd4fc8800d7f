"""The web app: health, the pinned error shape, security headers, no tracebacks."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from runtime.config import Settings
from runtime.errors import Conflict, Issue, NotFound
from runtime.web.app import create_app
from tests.auth_support import add_user, sign_in


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'web.db'}"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c


def test_health_lists_installed_apps(client: TestClient) -> None:
    response = client.get("/api/v1/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert response.json()["apps"] == []


def test_error_shape_is_pinned(client: TestClient) -> None:
    response = client.get("/api/v1/no-such-thing")
    assert response.status_code == 404
    assert response.json() == {
        "error": {"code": "NOT_FOUND", "message": "Not Found", "details": []}
    }
    error = Conflict(
        "Stale", [Issue("/version", "changed by bob", "VERSION_CONFLICT")], code="VERSION_CONFLICT"
    )
    assert error.body() == {
        "error": {
            "code": "VERSION_CONFLICT",
            "message": "Stale",
            "details": [
                {"path": "/version", "code": "VERSION_CONFLICT", "message": "changed by bob"}
            ],
        }
    }
    assert (NotFound("x").status, Conflict("x").status) == (404, 409)


def test_every_response_carries_security_headers(client: TestClient) -> None:
    for path in ("/", "/health", "/api/v1/missing"):
        headers = client.get(path).headers
        assert "frame-ancestors 'none'" in headers["content-security-policy"]
        assert "unsafe-eval" not in headers["content-security-policy"]
        assert headers["x-content-type-options"] == "nosniff"


def test_html_pages_escape_and_errors_render_as_html(client: TestClient) -> None:
    anonymous = client.get("/", follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"] == "/login?next=/"
    add_user(client, "ann")
    sign_in(client, "ann")
    page = client.get("/")
    assert page.status_code == 200 and "No apps installed yet" in page.text
    missing = client.get("/nowhere")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")


def test_unexpected_errors_give_a_clean_500(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runtime.services.apps import AppService

    def boom(self: AppService) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(AppService, "installed", boom)
    response = client.get("/api/v1/health")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "INTERNAL_ERROR"
    assert "secret" not in response.text
