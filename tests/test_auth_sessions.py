"""Browser sign-in: cookie flags, rotation, sign-out, revocation and expiry by the clock."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from starlette.testclient import TestClient

from runtime.web.auth import require_actor
from runtime.web.routes_auth import safe_next
from tests.auth_support import (
    PASSWORD,
    START,
    add_user,
    clock_of,
    form_token,
    make_client,
    session_csrf,
    sign_in,
)


@pytest.fixture
def client(db_url: str) -> TestClient:
    with make_client(db_url) as c:
        add_user(c, "ann")
        yield c


def _set_cookie(response_headers: list[str], name: str) -> str:
    [header] = [h for h in response_headers if h.startswith(f"{name}=")]
    return header.lower()


def test_session_cookie_flags_over_http_and_https(db_url: str) -> None:
    for base_url, secure in [("http://testserver", False), ("https://testserver", True)]:
        with make_client(db_url, base_url=base_url) as c:
            if base_url.startswith("http:"):
                add_user(c, "ann")
            page = c.get("/login")
            login_cookie = _set_cookie(page.headers.get_list("set-cookie"), "tenon_csrf")
            assert "httponly" in login_cookie and "samesite=strict" in login_cookie
            response = sign_in(c, "ann")
            assert response.status_code == 303
            cookie = _set_cookie(response.headers.get_list("set-cookie"), "tenon_session")
            assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
            assert ("; secure" in cookie) is secure
            assert c.get("/api/v1/me").json()["username"] == "ann"


def test_secure_cookies_setting_forces_secure_behind_a_tls_proxy(db_url: str) -> None:
    with make_client(db_url, secure_cookies=True) as c:
        add_user(c, "ann")
        page = c.get("/login")
        assert "; secure" in _set_cookie(page.headers.get_list("set-cookie"), "tenon_csrf")
        token = form_token(page)  # the client keeps Secure cookies off plain http: send it
        response = c.post(
            "/login",
            data={"username": "ann", "password": PASSWORD, "csrf_token": token},
            headers={"Cookie": f"tenon_csrf={token}"},
            follow_redirects=False,
        )
        assert "; secure" in _set_cookie(response.headers.get_list("set-cookie"), "tenon_session")


def test_the_session_table_holds_only_a_hash(client: TestClient) -> None:
    sign_in(client, "ann")
    raw = client.cookies["tenon_session"]
    with client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
        rows = conn.execute(sa.text("SELECT * FROM tenon_sessions")).mappings().all()
    assert len(rows) == 1 and raw not in str(dict(rows[0]))
    assert len(rows[0]["id_hash"]) == 64


def test_login_rotates_the_session_and_the_old_cookie_stops_working(client: TestClient) -> None:
    sign_in(client, "ann")
    old = client.cookies["tenon_session"]
    response = sign_in(client, "ann")
    new = client.cookies["tenon_session"]
    assert response.status_code == 303 and new != old
    assert client.get("/api/v1/me").status_code == 200
    client.cookies.clear()
    client.cookies.set("tenon_session", old)
    assert client.get("/api/v1/me").status_code == 401


def test_logout_is_post_only_needs_csrf_and_revokes(client: TestClient) -> None:
    sign_in(client, "ann")
    cookie = client.cookies["tenon_session"]
    assert client.get("/logout").status_code == 405
    assert client.post("/logout").status_code == 403
    response = client.post(
        "/logout", data={"csrf_token": session_csrf(client)}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == "/login"
    assert client.get("/api/v1/me").status_code == 401
    assert "tenon_session" not in client.cookies
    client.cookies.set("tenon_session", cookie)
    assert client.get("/api/v1/me").status_code == 401


def test_an_admin_revokes_every_session_of_a_user(client: TestClient, db_url: str) -> None:
    add_user(client, "root", roles=["system_admin"])
    with make_client(db_url) as ann_browser:
        sign_in(ann_browser, "ann")
        assert ann_browser.get("/api/v1/me").status_code == 200
        sign_in(client, "root")
        headers = {"X-CSRF-Token": session_csrf(client)}
        response = client.post("/api/v1/users/ann/sessions/revoke", headers=headers)
        assert response.json() == {"revoked": 1}
        assert ann_browser.get("/api/v1/me").status_code == 401
        assert client.get("/api/v1/me").status_code == 200


def test_idle_expiry_follows_the_clock_and_requests_keep_a_session_alive(
    client: TestClient,
) -> None:
    clock = clock_of(client)
    sign_in(client, "ann")
    for minutes in (30, 59, 118):  # each request within the hour keeps it alive
        clock.set(START + timedelta(minutes=minutes))
        assert client.get("/api/v1/me").status_code == 200
    clock.set(START + timedelta(minutes=118 + 60))
    assert client.get("/api/v1/me").status_code == 401


def test_last_seen_is_written_at_most_once_a_minute(client: TestClient) -> None:
    clock = clock_of(client)
    sign_in(client, "ann")
    engine = client.app.state.engine  # type: ignore[attr-defined]

    def last_seen() -> object:
        with engine.connect() as conn:
            return conn.execute(sa.text("SELECT last_seen_at FROM tenon_sessions")).scalar_one()

    clock.set(START + timedelta(seconds=30))
    client.get("/api/v1/me")
    assert str(last_seen()).startswith("2025-06-10 09:00:00")
    clock.set(START + timedelta(seconds=90))
    client.get("/api/v1/me")
    assert str(last_seen()).startswith("2025-06-10 09:01:30")


def test_absolute_expiry_ends_a_busy_session(client: TestClient) -> None:
    clock = clock_of(client)
    sign_in(client, "ann")
    for minutes in range(50, 12 * 60, 50):  # never idle for an hour
        clock.set(START + timedelta(minutes=minutes))
        assert client.get("/api/v1/me").status_code == 200
    clock.set(START + timedelta(hours=12))
    assert client.get("/api/v1/me").status_code == 401


def test_sign_in_goes_back_to_a_local_next_only(client: TestClient) -> None:
    response = sign_in(client, "ann", next_path="/apps/people?x=1")
    assert response.headers["location"] == "/apps/people?x=1"
    hostile = [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example",
        "javascript:alert(1)",
        "/ok\r\nSet-Cookie: x=1",
        "",
        None,
    ]
    assert [safe_next(h) for h in hostile] == ["/"] * len(hostile)
    assert safe_next("/a/b?c=%2F%2Fd") == "/a/b?c=%2F%2Fd"


def test_pages_redirect_to_sign_in_and_the_api_answers_401(client: TestClient) -> None:
    async def private(request: Request) -> Response:
        actor = require_actor(request)
        return PlainTextResponse(f"hello {actor.username}")

    client.app.router.routes.append(Route("/private", private))  # type: ignore[attr-defined]
    page = client.get("/private?tab=2", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=/private%3Ftab%3D2"
    htmx = client.get("/private", headers={"HX-Request": "true"}, follow_redirects=False)
    assert htmx.headers["hx-redirect"] == "/login?next=/private"
    form = client.get(page.headers["location"])
    assert 'name="next" value="/private?tab=2"' in form.text
    api = client.get("/api/v1/me")
    assert api.status_code == 401
    assert api.headers["www-authenticate"] == "Bearer"
    assert api.json()["error"]["code"] == "UNAUTHORIZED"
    signed_in = sign_in(client, "ann", next_path="/private?tab=2")
    assert signed_in.headers["location"] == "/private?tab=2"
    assert client.get("/private").text == "hello ann"


def test_the_login_form_has_a_double_submit_token(client: TestClient) -> None:
    token = form_token(client.get("/login"))
    data = {"username": "ann", "password": PASSWORD, "csrf_token": "forged"}
    refused = client.post("/login", data=data, follow_redirects=False)
    assert refused.status_code == 403 and "tenon_session" not in client.cookies
    client.cookies.delete("tenon_csrf")
    data["csrf_token"] = token
    assert client.post("/login", data=data, follow_redirects=False).status_code == 403
    assert sign_in(client, "ann").status_code == 303
    assert "tenon_csrf" not in client.cookies  # spent at sign-in


def test_wrong_password_re_renders_the_form(client: TestClient) -> None:
    response = sign_in(client, "ann", password="not the password")
    assert response.status_code == 401
    assert "Username or password is incorrect." in response.text
    assert 'value="ann"' in response.text and "tenon_session" not in client.cookies
