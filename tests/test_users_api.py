"""The user admin API (system_admin only), /me, the security events and the test clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.apps import PEOPLE_V1
from tests.auth_support import (
    PASSWORD,
    START,
    add_user,
    bearer,
    clock_of,
    issue_token,
    make_client,
    session_csrf,
    sign_in,
)

ADMIN_ROUTES = [
    ("GET", "/api/v1/users", None),
    ("POST", "/api/v1/users", {"username": "zed"}),
    ("GET", "/api/v1/users/ann", None),
    ("PATCH", "/api/v1/users/ann", {"display_name": "A"}),
    ("DELETE", "/api/v1/users/root/roles/system_admin", None),
    ("POST", "/api/v1/users/ann/sessions/revoke", None),
    ("GET", "/api/v1/admin/security-events", None),
    ("POST", "/api/v1/users/ann/roles", {"role": "system_admin"}),  # last: ann becomes admin
]


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    with make_client(f"sqlite:///{tmp_path / 'users.db'}") as c:
        add_user(c, "root", roles=["system_admin"])
        add_user(c, "ann")
        yield c


@pytest.fixture
def tokens(client: TestClient) -> dict[str, str]:
    return {"root": issue_token(client, "root"), "ann": issue_token(client, "ann")}


def test_only_system_admins_manage_users(client: TestClient, tokens: dict[str, str]) -> None:
    for method, path, body in ADMIN_ROUTES:
        anonymous = client.request(method, path, json=body)
        assert anonymous.status_code == 401, path
        assert anonymous.json()["error"]["code"] == "UNAUTHORIZED"
        member = client.request(method, path, json=body, headers=bearer(tokens["ann"]))
        assert member.status_code == 403, path
        assert member.json()["error"]["code"] == "FORBIDDEN"
        admin = client.request(method, path, json=body, headers=bearer(tokens["root"]))
        assert admin.status_code in (200, 201, 409), admin.text  # 409: the last admin stays


def test_create_read_update_users(client: TestClient, tokens: dict[str, str]) -> None:
    root = bearer(tokens["root"])
    created = client.post(
        "/api/v1/users",
        json={
            "username": "Bea",
            "password": PASSWORD,
            "display_name": "Bea B",
            "email": "bea@acme.test",
            "roles": [],
        },
        headers=root,
    )
    assert created.status_code == 201
    assert created.json() == {
        "username": "bea",
        "display_name": "Bea B",
        "email": "bea@acme.test",
        "is_active": True,
        "has_password": True,
        "roles": [],
        "created_at": "2025-06-10T09:00:00",
    }
    listed = client.get("/api/v1/users", headers=root)
    assert [u["username"] for u in listed.json()["data"]] == ["ann", "bea", "root"]
    assert "hash" not in listed.text and "argon2" not in listed.text
    assert client.get("/api/v1/users/bea", headers=root).json()["display_name"] == "Bea B"
    duplicate = client.post("/api/v1/users", json={"username": "bea"}, headers=root)
    assert (duplicate.status_code, duplicate.json()["error"]["code"]) == (409, "USERNAME_TAKEN")
    short = client.patch("/api/v1/users/bea", json={"password": "short"}, headers=root)
    assert short.status_code == 422
    assert short.json()["error"]["details"][0]["path"] == "/password"
    bea = issue_token(client, "bea")
    changed = client.patch(
        "/api/v1/users/bea", json={"is_active": False, "display_name": None}, headers=root
    )
    assert changed.json()["is_active"] is False and changed.json()["display_name"] is None
    assert client.get("/api/v1/me", headers=bearer(bea)).status_code == 401
    missing = client.get("/api/v1/users/nobody", headers=root)
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "USER_NOT_FOUND")
    for bad in (b"not json", b"[]", b""):
        response = client.post("/api/v1/users", content=bad, headers=root)
        assert response.status_code == 400
    typo = client.patch("/api/v1/users/bea", json={"is_activ": True}, headers=root)
    assert typo.status_code == 422 and "did you mean 'is_active'" in typo.text
    wrong_type = client.patch("/api/v1/users/bea", json={"is_active": "yes"}, headers=root)
    assert wrong_type.json()["error"]["details"][0]["path"] == "/is_active"


def test_role_grants_are_validated_against_installed_apps(db_url: str, install: object) -> None:
    install(PEOPLE_V1)  # type: ignore[operator]
    with make_client(db_url) as client:
        add_user(client, "root", roles=["system_admin"])
        add_user(client, "ann")
        sign_in(client, "root")
        csrf = {"X-CSRF-Token": session_csrf(client)}
        granted = client.post(
            "/api/v1/users/ann/roles", json={"role": "people.hr_admin"}, headers=csrf
        )
        assert granted.status_code == 201 and granted.json()["roles"] == ["people.hr_admin"]
        again = client.post(
            "/api/v1/users/ann/roles", json={"role": "people.hr_admin"}, headers=csrf
        )
        assert again.status_code == 200
        typo = client.post("/api/v1/users/ann/roles", json={"role": "people.hr_admn"}, headers=csrf)
        assert typo.status_code == 422
        error = typo.json()["error"]
        assert error["code"] == "VALIDATION_FAILED"
        assert "'people.hr_admn'" in error["message"]
        assert "did you mean 'people.hr_admin'?" in error["message"]
        assert error["details"][0]["path"] == "/role"
        absent = client.post("/api/v1/users/ann/roles", json={"role": "pay.clerk"}, headers=csrf)
        assert "no app 'pay' is installed" in absent.json()["error"]["message"]
        created = client.post(
            "/api/v1/users", json={"username": "cy", "roles": ["people.boss"]}, headers=csrf
        )
        assert created.status_code == 422
        assert client.get("/api/v1/users/cy").status_code == 404  # nothing half-made
        revoked = client.delete("/api/v1/users/ann/roles/people.hr_admin", headers=csrf)
        assert revoked.json()["roles"] == []
        again_revoked = client.delete("/api/v1/users/ann/roles/people.hr_admin", headers=csrf)
        assert again_revoked.status_code == 404
        me = client.get("/api/v1/me").json()
        assert (me["username"], me["roles"], me["via"]) == ("root", ["system_admin"], "session")


def test_security_events_are_written_and_listed_newest_first(
    client: TestClient, tokens: dict[str, str]
) -> None:
    root = bearer(tokens["root"])
    client.post("/api/v1/auth/token", json={"username": "ann", "password": "wrong password!"})
    client.post("/api/v1/users/ann/roles", json={"role": "system_admin"}, headers=root)
    client.delete("/api/v1/users/ann/roles/system_admin", headers=root)
    client.patch("/api/v1/users/ann", json={"password": "another fine secret"}, headers=root)
    client.post("/api/v1/users/ann/sessions/revoke", headers=root)
    sign_in(client, "ann", password="another fine secret")
    client.post("/logout", data={"csrf_token": session_csrf(client)})
    events = client.get("/api/v1/admin/security-events?subject=ann", headers=root).json()["data"]
    assert [e["event"] for e in events] == [
        "logout",
        "login_succeeded",
        "session_revoked",
        "password_changed",
        "role_revoked",
        "role_granted",
        "login_failed",
        "token_created",
        "login_succeeded",
        "user_created",
    ]
    assert all("wrong password" not in str(e) and "another fine" not in str(e) for e in events)
    granted = events[5]
    assert (granted["actor"], granted["detail"]) == ("root", {"role": "system_admin"})
    assert events[6]["detail"] == {"reason": "wrong_password", "via": "token"}
    assert events[6]["ip"] == "testclient"
    only = client.get("/api/v1/admin/security-events?event=logout&limit=5", headers=root)
    assert [e["event"] for e in only.json()["data"]] == ["logout"]
    typo = client.get("/api/v1/admin/security-events?event=logut", headers=root)
    assert typo.status_code == 422 and "did you mean 'logout'" in typo.text
    bad_limit = client.get("/api/v1/admin/security-events?limit=lots", headers=root)
    assert bad_limit.status_code == 422


def test_the_test_clock_route_exists_only_with_the_setting(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'clock.db'}"
    with make_client(db) as plain:
        add_user(plain, "root", roles=["system_admin"])
        token = issue_token(plain, "root")
        body = {"now": "2025-07-11T08:00:00"}
        assert (
            plain.post("/api/v1/admin/clock", json=body, headers=bearer(token)).status_code == 404
        )
    with make_client(db, test_clock=True) as client:
        clock_of(client).set(START)  # the server's clock, shared through the database
        add_user(client, "ann")
        ann = issue_token(client, "ann")
        assert client.post("/api/v1/admin/clock", json=body, headers=bearer(ann)).status_code == 403
        bad = client.post("/api/v1/admin/clock", json={"now": "soon"}, headers=bearer(token))
        assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "/now"
        moved = client.post("/api/v1/admin/clock", json=body, headers=bearer(token))
        assert moved.json() == {"now": "2025-07-11T08:00:00"}
        assert clock_of(client).now().isoformat() == "2025-07-11T08:00:00"
        # a month later the 30-day token has expired
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401
