"""What the catalog apps' API tests share: creating a record as someone, moving the
test clock, and running the jobs that are due, each asserting the API said yes."""

from __future__ import annotations

from typing import Any

from tests.auth_support import Caller


class CatalogWorld(Caller):
    def create(self, path: str, by: str = "admin", **fields: Any) -> dict[str, Any]:
        """A record made through ``POST {path}/records`` as ``by``."""
        made = self.call(by, "POST", f"{path}/records", json=fields)
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    def at(self, now: str) -> None:
        """The test clock set to ``now`` (tokens are made again: months pass)."""
        moved = self.call("root", "POST", "/api/v1/admin/clock", json={"now": now})
        assert moved.status_code == 200, moved.text
        self.tokens.clear()

    def run_due(self) -> list[dict[str, Any]]:
        ran = self.call("root", "POST", "/api/v1/admin/jobs/run-due")
        assert ran.status_code == 200, ran.text
        return ran.json()["ran"]  # type: ignore[no-any-return]
