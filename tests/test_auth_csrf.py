"""CSRF: a cookie-authenticated write needs the session's token (header or form field);
bearer tokens need none; a foreign Origin is refused whatever the credentials."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.auth_support import add_user, bearer, issue_token, make_client, session_csrf, sign_in

TARGET = "/api/v1/auth/tokens"  # a mutating route any signed-in user may call


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(f"sqlite:///{tmp_path / 'csrf.db'}") as c:
        add_user(c, "ann")
        sign_in(c, "ann")
        yield c


def _code(response: object) -> tuple[int, str | None]:
    status = response.status_code  # type: ignore[attr-defined]
    body = response.json() if status >= 400 else {}  # type: ignore[attr-defined]
    return status, body.get("error", {}).get("code")


def test_missing_or_wrong_token_is_refused(client: TestClient) -> None:
    assert _code(client.post(TARGET, json={})) == (403, "CSRF_FAILED")
    wrong = client.post(TARGET, json={}, headers={"X-CSRF-Token": "guess"})
    assert _code(wrong) == (403, "CSRF_FAILED")
    for method in ("PUT", "PATCH", "DELETE"):
        assert client.request(method, TARGET).status_code == 403


def test_the_right_header_or_form_field_passes(client: TestClient) -> None:
    token = session_csrf(client)
    assert (
        client.post(TARGET, json={"name": "a"}, headers={"X-CSRF-Token": token}).status_code == 201
    )
    form = client.post("/logout", data={"csrf_token": token, "other": "x"}, follow_redirects=False)
    assert form.status_code == 303


def test_multipart_forms_carry_the_token_too(client: TestClient) -> None:
    token = session_csrf(client)
    response = client.post(
        "/logout",
        data={"csrf_token": token},
        files={"file": ("a.txt", b"hello")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_bearer_requests_are_exempt(client: TestClient) -> None:
    token = issue_token(client, "ann")
    client.cookies.clear()
    assert client.post(TARGET, json={}, headers=bearer(token)).status_code == 201


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://testserver:8080"])
def test_a_foreign_origin_is_refused(client: TestClient, origin: str) -> None:
    token = session_csrf(client)
    headers = {"X-CSRF-Token": token, "Origin": origin}
    assert _code(client.post(TARGET, json={}, headers=headers)) == (403, "CSRF_FAILED")
    api = issue_token(client, "ann")
    client.cookies.clear()
    headers = {**bearer(api), "Origin": origin}
    assert _code(client.post(TARGET, json={}, headers=headers)) == (403, "CSRF_FAILED")


def test_the_own_origin_and_trusted_origins_pass(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'origin.db'}"
    with make_client(db, trusted_origins=("https://hr.example.com",)) as c:
        add_user(c, "ann")
        sign_in(c, "ann")
        token = session_csrf(c)
        for origin in ("http://testserver", "https://hr.example.com"):
            headers = {"X-CSRF-Token": token, "Origin": origin}
            assert c.post(TARGET, json={}, headers=headers).status_code == 201
        behind_proxy = {"X-CSRF-Token": token, "Origin": "https://testserver"}
        assert c.post(TARGET, json={}, headers=behind_proxy).status_code == 403
    with make_client(db, secure_cookies=True) as c:
        api = {"Authorization": f"Bearer {issue_token(c, 'ann')}"}
        behind_proxy = {**api, "Origin": "https://testserver"}
        assert c.post(TARGET, json={}, headers=behind_proxy).status_code == 201


def test_html_pages_carry_the_token_and_the_script_adds_the_header(client: TestClient) -> None:
    page = client.get("/")
    assert '<meta name="csrf-token"' in page.text
    assert '<script src="/static/tenon.js"' in page.text and "<script>" not in page.text
    script = client.get("/static/tenon.js")
    assert script.status_code == 200
    assert "htmx:configRequest" in script.text and "X-CSRF-Token" in script.text
    # htmx (served from our static files) reads its configuration from the page
    config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page.text)
    assert config is not None
    assert json.loads(config.group(1)) | {"allowEval": False, "historyCacheSize": 0} == json.loads(
        config.group(1)
    )
    vendored = re.search(r'<script src="(/static/vendor/htmx-[0-9.]+\.min\.js)"', page.text)
    assert vendored is not None and client.get(vendored.group(1)).status_code == 200


def test_a_refused_html_form_gets_a_page_not_json(client: TestClient) -> None:
    response = client.post("/logout", data={"csrf_token": "old"}, follow_redirects=False)
    assert response.status_code == 403
    assert response.headers["content-type"].startswith("text/html")
    assert "reload the page" in response.text
