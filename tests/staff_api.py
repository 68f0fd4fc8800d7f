"""The staff app over HTTP: a signed-in client per user, for the records API tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from starlette.testclient import TestClient

from runtime.metadata.package import read_package_bytes
from tests.auth_support import PASSWORD, bearer, issue_token, make_client, users_of
from tests.staff import USERS, Staff, definition, seed

BASE = "/api/v1/apps/staff/objects"


class Api:
    def __init__(self, client: TestClient, staff: Staff) -> None:
        self.client = client
        self.staff = staff
        self.tokens: dict[str, str] = {}

    def call(self, caller: str, method: str, path: str, **kw: Any) -> Any:
        if caller not in self.tokens:
            self.tokens[caller] = issue_token(self.client, caller)
        return self.client.request(method, path, headers=bearer(self.tokens[caller]), **kw)

    def get(self, caller: str, path: str, **params: Any) -> Any:
        return self.call(caller, "GET", path, params=params)


@contextmanager
def staff_api(db_url: str, defn: dict[str, Any] | None = None, **settings: Any) -> Iterator[Api]:
    """A server with the staff app (or ``defn``, a variant of it) installed and seeded,
    every user with a password."""
    with make_client(db_url, **settings) as client:
        state = client.app.state  # type: ignore[attr-defined]
        chosen = definition() if defn is None else defn
        package = read_package_bytes(json.dumps(chosen).encode(), "staff.json")
        state.apps.install(package, actor="tester")
        staff = seed(state.engine, state.apps.get("staff"))
        users = users_of(client)
        for name in USERS:
            users.set_password(name, PASSWORD)
            for role in USERS[name]:
                users.grant_role(name, role)
        yield Api(client, staff)
