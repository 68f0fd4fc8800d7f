"""API tokens: stored hashed, shown once, scoped, expiring, revocable at once, and never
accepted in a URL."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.auth_support import (
    START,
    add_user,
    bearer,
    clock_of,
    issue_token,
    make_client,
    session_csrf,
    sign_in,
)


@pytest.fixture
def client(db_url: str) -> TestClient:
    with make_client(db_url) as c:
        add_user(c, "ann")
        yield c


def test_the_database_never_holds_the_token(client: TestClient) -> None:
    response = client.post(
        "/api/v1/auth/token",
        json={"username": "ann", "password": "a long enough secret", "name": "laptop"},
    )
    assert response.status_code == 201
    issued = response.json()
    token = issued["token"]
    assert issued["scope"] == "read_write"
    assert issued["expires_at"] == (START + timedelta(days=30)).isoformat()
    engine = client.app.state.engine  # type: ignore[attr-defined]
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM tenon_api_tokens")).mappings().all()
        events = conn.execute(sa.text("SELECT detail FROM tenon_security_events")).scalars()
        everything = str([dict(r) for r in rows]) + "".join(events)
    assert token not in everything and token[len(issued["prefix"]) :] not in everything
    assert rows[0]["prefix"] == token[:12] and len(rows[0]["token_hash"]) == 64
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.json() == {
        "username": "ann",
        "display_name": None,
        "roles": [],
        "via": "token",
        "read_only": False,
    }
    listed = client.get("/api/v1/auth/tokens", headers=bearer(token)).json()["data"]
    assert [(t["name"], t["prefix"], t["active"]) for t in listed] == [
        ("laptop", issued["prefix"], True)
    ]
    assert "token" not in listed[0] and "token_hash" not in listed[0]


SECRET = "a long enough secret"


INVALID_REQUESTS = [
    ({"username": "ann", "password": SECRET, "scope": "admin"}, "/scope"),
    ({"username": "ann", "password": SECRET, "expires_in_days": 366}, "/expires_in_days"),
    ({"username": "ann", "password": SECRET, "expires_in_days": "7"}, "/expires_in_days"),
    ({"username": "ann"}, "/password"),
    ({"username": "ann", "password": "x", "extra": 1}, "/extra"),
]


def test_token_requests_are_checked_before_any_password(tmp_path: Path) -> None:
    with make_client(f"sqlite:///{tmp_path / 'tokens.db'}") as client:
        for body, path in INVALID_REQUESTS:
            response = client.post("/api/v1/auth/token", json=body)
            assert response.status_code == 422
            assert [d["path"] for d in response.json()["error"]["details"]] == [path]
        for raw in (b"", b"{", b"[1]", b"\xff", b"[" * 100_000):  # never a 500
            response = client.post(
                "/api/v1/auth/token", content=raw, headers={"content-type": "application/json"}
            )
            assert response.status_code == 400
            assert response.json()["error"]["code"] == "BAD_JSON"
        assert client.app.state.throttle.failures("ann") == 0  # type: ignore[attr-defined]


def test_tokens_expire_and_revocation_is_immediate(client: TestClient) -> None:
    clock = clock_of(client)
    short = issue_token(client, "ann", expires_in_days=1)
    other = issue_token(client, "ann")
    assert client.get("/api/v1/me", headers=bearer(short)).status_code == 200
    clock.set(START + timedelta(days=1))
    expired = client.get("/api/v1/me", headers=bearer(short))
    assert expired.status_code == 401
    assert expired.json()["error"]["code"] == "INVALID_TOKEN"
    assert expired.headers["www-authenticate"] == 'Bearer error="invalid_token"'
    [other_info] = [
        t
        for t in client.get("/api/v1/auth/tokens", headers=bearer(other)).json()["data"]
        if t["active"]
    ]
    response = client.delete(f"/api/v1/auth/tokens/{other_info['id']}", headers=bearer(other))
    assert response.status_code == 204
    assert client.get("/api/v1/me", headers=bearer(other)).status_code == 401
    for made_up in ("tnn_nothing", "nothing", ""):
        assert client.get("/api/v1/me", headers=bearer(made_up)).status_code == 401


def test_a_token_in_the_url_is_refused_and_not_used(client: TestClient) -> None:
    token = issue_token(client, "ann")
    for name in ("access_token", "token", "API_KEY", "apikey", "Auth"):
        response = client.get(f"/api/v1/me?{name}={token}")
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "TOKEN_IN_QUERY"
        assert token not in response.text
        also_with_header = client.get(f"/api/v1/me?{name}=x", headers=bearer(token))
        assert also_with_header.status_code == 400


def test_read_tokens_only_read(client: TestClient) -> None:
    token = issue_token(client, "ann", scope="read")
    assert client.get("/api/v1/me", headers=bearer(token)).json()["read_only"] is True
    assert client.head("/api/v1/me", headers=bearer(token)).status_code == 200
    mine = client.get("/api/v1/auth/tokens", headers=bearer(token)).json()["data"][0]["id"]
    for method, path in (
        ("POST", "/api/v1/auth/tokens"),
        ("DELETE", f"/api/v1/auth/tokens/{mine}"),
        ("PATCH", "/api/v1/users/ann"),
    ):
        response = client.request(method, path, headers=bearer(token), json={})
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "TOKEN_READ_ONLY"
    assert client.get("/api/v1/auth/tokens", headers=bearer(token)).json()["data"][0]["id"] == mine


def test_personal_tokens_with_a_session_or_a_token(client: TestClient) -> None:
    clock = clock_of(client)
    sign_in(client, "ann")
    csrf = {"X-CSRF-Token": session_csrf(client)}
    made = client.post("/api/v1/auth/tokens", json={"name": "ci", "scope": "read"}, headers=csrf)
    assert made.status_code == 201 and made.json()["scope"] == "read"
    client.cookies.clear()
    parent = issue_token(client, "ann", expires_in_days=2)
    child = client.post("/api/v1/auth/tokens", json={"expires_in_days": 90}, headers=bearer(parent))
    assert child.status_code == 201
    assert child.json()["expires_at"] == (START + timedelta(days=2)).isoformat()  # capped
    clock.set(START + timedelta(days=2))
    assert client.get("/api/v1/me", headers=bearer(child.json()["token"])).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(made.json()["token"])).status_code == 200
    assert client.post("/api/v1/auth/tokens", json={}).status_code == 401


def test_only_owners_and_system_admins_revoke_a_token(client: TestClient) -> None:
    add_user(client, "bob")
    add_user(client, "root", roles=["system_admin"])
    ann = issue_token(client, "ann")
    bob = issue_token(client, "bob")
    root = issue_token(client, "root")
    [ann_id] = [
        t["id"] for t in client.get("/api/v1/auth/tokens", headers=bearer(ann)).json()["data"]
    ]
    response = client.delete(f"/api/v1/auth/tokens/{ann_id}", headers=bearer(bob))
    assert response.status_code == 404  # someone else's token is not even there
    assert client.delete("/api/v1/auth/tokens/99999", headers=bearer(bob)).status_code == 404
    assert client.delete(f"/api/v1/auth/tokens/{ann_id}", headers=bearer(root)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(ann)).status_code == 401
    events = client.get(
        "/api/v1/admin/security-events?event=token_revoked", headers=bearer(root)
    ).json()["data"]
    assert [(e["actor"], e["subject"]) for e in events] == [("root", "ann")]


def test_a_write_is_refused_for_its_token_before_its_body_is_read_as_json(
    client: TestClient,
) -> None:
    """The write routes resolve the token in their own trip to the thread pool: still
    before the body is parsed or the object looked up."""
    good = issue_token(client, "ann")
    reader = issue_token(client, "ann", scope="read")
    base = "/api/v1/apps/nope/objects/nothing/records"
    writes = [("POST", base), ("POST", f"{base}/bulk"), ("PATCH", f"{base}/bulk")]
    writes += [("PATCH", f"{base}/abc"), ("DELETE", f"{base}/abc")]
    for method, path in writes:
        bad = client.request(method, path, headers=bearer(good + "x"), content=b"{not json")
        assert bad.status_code == 401, (method, path, bad.text)
        assert bad.json()["error"]["code"] == "INVALID_TOKEN"
        read_only = client.request(method, path, headers=bearer(reader), content=b"{not json")
        assert read_only.status_code == 403
        assert read_only.json()["error"]["code"] == "TOKEN_READ_ONLY"
        nobody = client.request(method, path, content=b"{not json")
        assert nobody.status_code == 401
    # signed in, the body is looked at next
    answer = client.post(base, headers=bearer(good), content=b"{not json")
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "BAD_JSON"
