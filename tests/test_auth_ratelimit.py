"""Failed sign-ins: one uniform answer, throttled per username and per address in the
database (shared by every worker), with Retry-After."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from starlette.testclient import TestClient

from tests.auth_support import PASSWORD, START, add_user, clock_of, make_client, users_of

INVALID = {
    "error": {
        "code": "INVALID_CREDENTIALS",
        "message": "Username or password is incorrect.",
        "details": [],
    }
}


def _token(client: TestClient, username: str, password: str) -> tuple[int, bytes, dict[str, str]]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    headers = {k: v for k, v in response.headers.items() if k not in ("date", "content-length")}
    return response.status_code, response.content, headers


@pytest.fixture
def client(db_url: str) -> TestClient:
    with make_client(db_url) as c:
        add_user(c, "ann")
        yield c


def test_unknown_inactive_and_wrong_password_look_identical(client: TestClient) -> None:
    add_user(client, "bob")
    users_of(client).set_active("bob", False)
    add_user(client, "cat", password=None)
    answers = [
        _token(client, "ann", "not the password"),
        _token(client, "nobody", PASSWORD),
        _token(client, "bob", PASSWORD),
        _token(client, "cat", PASSWORD),
    ]
    assert all(a == answers[0] for a in answers)
    status, _content, headers = answers[0]
    assert status == 401
    assert (
        client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}).json() == INVALID
    )
    assert headers["www-authenticate"] == "Bearer"
    # only the security audit knows the real reasons
    events = client.app.state.audit.events(event="login_failed")  # type: ignore[attr-defined]
    assert [(e["subject"], e["detail"]["reason"]) for e in events] == [
        ("x", "unknown_user"),
        ("cat", "no_password"),
        ("bob", "inactive"),
        ("nobody", "unknown_user"),
        ("ann", "wrong_password"),
    ]


def test_failures_per_username_are_throttled_with_retry_after(client: TestClient) -> None:
    clock = clock_of(client)
    for _ in range(5):
        assert _token(client, "ann", "wrong password!")[0] == 401
    throttled = client.post("/api/v1/auth/token", json={"username": "ann", "password": PASSWORD})
    assert throttled.status_code == 429
    assert throttled.headers["retry-after"] == str(15 * 60)
    assert throttled.json()["error"]["code"] == "TOO_MANY_REQUESTS"
    # the same answer for a name that does not exist, once it has as many failures
    for _ in range(5):
        _token(client, "nobody", "wrong password!")
    ghost = client.post("/api/v1/auth/token", json={"username": "nobody", "password": "x"})
    assert (ghost.status_code, ghost.content) == (429, throttled.content)
    assert ghost.headers["retry-after"] == throttled.headers["retry-after"]
    # the HTML form is throttled too
    page = client.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    form = {"username": "ANN ", "password": PASSWORD, "csrf_token": token}
    refused = client.post("/login", data=form, follow_redirects=False)
    assert refused.status_code == 429 and refused.headers["retry-after"] == str(15 * 60)
    # waiting works: attempts leave the window
    clock.set(START + timedelta(minutes=10))
    assert int(_token(client, "ann", PASSWORD)[2]["retry-after"]) == 5 * 60
    clock.set(START + timedelta(minutes=15, seconds=1))
    assert _token(client, "ann", PASSWORD)[0] == 201


def test_a_success_clears_the_usernames_failures(client: TestClient) -> None:
    throttle = client.app.state.throttle  # type: ignore[attr-defined]
    for _ in range(4):
        _token(client, "ann", "wrong password!")
    assert throttle.failures("ann") == 4
    assert _token(client, "Ann", PASSWORD)[0] == 201
    assert throttle.failures("ann") == 0
    for _ in range(4):
        assert _token(client, "ann", "wrong password!")[0] == 401
    assert _token(client, "ann", PASSWORD)[0] == 201


def test_failures_per_address_are_throttled(db_url: str) -> None:
    with make_client(db_url, login_max_failures_per_ip=3) as client:
        add_user(client, "ann")
        for name in ("a1", "a2", "a3"):
            assert _token(client, name, "wrong password!")[0] == 401
        status, _, headers = _token(client, "ann", PASSWORD)
        assert status == 429 and int(headers["retry-after"]) > 0


def test_workers_share_the_count_through_the_database(db_url: str) -> None:
    with make_client(db_url) as one, make_client(db_url) as two:
        add_user(one, "ann")
        for worker in (one, two, one, two, one):
            assert _token(worker, "ann", "wrong password!")[0] == 401
        assert _token(two, "ann", PASSWORD)[0] == 429
        engine = one.app.state.engine  # type: ignore[attr-defined]
        with engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT username FROM tenon_login_attempts")).all()
        assert [r[0] for r in rows] == ["ann"] * 5  # refused attempts are not counted
