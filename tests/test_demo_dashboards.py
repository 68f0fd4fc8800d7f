"""Every dashboard of every catalog app answers with data on ``tenon demo``'s dataset for
an HR admin: each widget has a number, groups with rows, cells or table rows, and no
error. The demo is generated once for the module (``made`` of tests/test_demo.py); the
server reads it with the database's test clock, on the dataset's day. An app whose demo
data is not there (talent review, PIP) is skipped, saying so."""

from __future__ import annotations

import re
from collections.abc import Iterator
from decimal import Decimal, InvalidOperation
from typing import Any

import pytest
from starlette.testclient import TestClient

from runtime.demo.run import APPS
from tests import test_demo
from tests.auth_support import make_client
from tests.test_demo import Made

pytestmark = pytest.mark.slow
made = test_demo.made  # the generated demo, once for this module

# the table that holds an app's demo data: no rows, no demo data for that app yet
DATA = {
    "core_hr": "app_core_hr__employee",
    "probation": "app_probation__probation_case",
    "year_end_bonus": "app_year_end_bonus__bonus_line",
    "talent_review": "app_talent_review__talent_assessment",
    "pip": "app_pip__pip_plan",
}


class Signed:
    """A demo user signed in to a server on the demo database."""

    def __init__(self, client: TestClient, token: str) -> None:
        self.client = client
        self.headers = {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> Any:
        response = self.client.get(path, params=params, headers=self.headers)
        assert response.status_code == 200, f"{path}: {response.status_code} {response.text}"
        return response.json()

    def reads_rows_of(self, qualified: str) -> bool:
        app, _, name = qualified.partition(".")
        path = f"/api/v1/apps/{app}/objects/{name}/records"
        found = self.client.get(path, params={"limit": 1}, headers=self.headers)
        return found.status_code == 200 and bool(found.json()["data"])


@pytest.fixture(scope="module")
def signed(made: Made) -> Iterator[dict[str, Signed]]:
    """The first HR admin and the C&B user of the printed logins, by role."""
    with make_client(made.url, test_clock=True, run_jobs=False) as client:
        out = {}
        for role in ("core_hr.hr_admin", "core_hr.comp_admin"):
            login = rf"^([a-z]+\.[a-z]+\.\d{{4}})\s+{re.escape(role)}\b"
            found = re.search(login, made.printed, re.M)
            assert found, made.printed
            body = {"username": found[1], "password": "demo"}
            token = client.post("/api/v1/auth/token", json=body)
            assert token.status_code == 201, token.text
            out[role] = Signed(client, token.json()["token"])
        yield out


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _shown(entry: dict[str, Any]) -> bool:
    """A group or cell that counts rows: a value other than blank or zero, or suppressed
    (fewer rows than the widget's minimum, but rows)."""
    if entry.get("suppressed"):
        return True
    value = entry.get("value")
    number = _number(value)
    return number != 0 if number is not None else value is not None


def missing_data(widget: dict[str, Any]) -> str | None:
    """Why the widget shows no data; None when it does."""
    if "error" in widget:
        error = widget["error"]
        return f"error {error['code']}: {error['message']}"
    data = widget["data"]
    if widget["type"] == "number":
        if data.get("suppressed") or _number(data.get("value")) is not None:
            return None
        return f"no number ({data})"
    if "groups" in data:
        return None if any(_shown(g) for g in data["groups"]) else "no group has rows"
    if "cells" in data:
        return None if any(_shown(c) for c in data["cells"]) else "no cell has rows"
    return None if data.get("rows") else "no rows"


@pytest.mark.parametrize("app", APPS)
def test_every_dashboard_answers_with_data_for_hr(
    made: Made, signed: dict[str, Signed], app: str
) -> None:
    """As an HR admin. A widget over an object whose rows HR may not read at all (bonus
    lines: SPEC §4.6) cannot show them anything; its data is checked as C&B instead."""
    hr, comp = signed["core_hr.hr_admin"], signed["core_hr.comp_admin"]
    installed = {a["name"] for a in hr.get("/api/v1/apps")["data"]}
    assert app in installed
    if not made.rows(f"SELECT COUNT(*) FROM {DATA[app]}")[0][0]:
        pytest.skip(f"{app}: the demo makes no data for it yet ({DATA[app]} is empty)")
    boards = hr.get(f"/api/v1/apps/{app}/dashboards")["data"]
    assert boards, f"{app}: an HR admin sees no dashboard"
    problems = []
    for listed in boards:
        path = f"/api/v1/apps/{app}/dashboards/{listed['name']}"
        board = hr.get(path)
        assert [w["name"] for w in board["widgets"]] == [w["name"] for w in listed["widgets"]]
        as_comp: dict[str, Any] | None = None
        for widget in board["widgets"]:
            why = missing_data(widget)
            if why is not None and "error" not in widget and not hr.reads_rows_of(widget["object"]):
                as_comp = as_comp or {w["name"]: w for w in comp.get(path)["widgets"]}
                why = missing_data(as_comp[widget["name"]])
                why = None if why is None else f"{why} (as C&B; HR reads no {widget['object']})"
            if why is not None:
                problems.append(f"{app}/{board['name']}/{widget['name']}: {why}")
    assert not problems, "widgets without data for an HR admin:\n" + "\n".join(problems)
