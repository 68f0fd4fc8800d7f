"""Dashboards over the API, on SQLite and PostgreSQL: exact grouped counts and sums, a
3 × 3 matrix, the caller's row scope and hidden fields, aggregate_only suppression,
validation of the definition, 404 and 401, and a runaway widget stopped by its time limit.

The fixture is the staff permission app (tests/staff.py) with three dashboards added.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from runtime.config import Settings
from runtime.metadata.validate import definition_issues
from runtime.services import dashboards
from tests.staff import definition
from tests.staff_api import Api, staff_api

BAND = 'IF(rating = "S", "high", IF(OR(rating = "A", rating = "B"), "medium", "low"))'
DASHBOARDS: list[dict[str, Any]] = [
    {
        "name": "people",
        "title": {"en": "People", "zh": "人员"},
        "widgets": [
            {"name": "headcount", "type": "number", "object": "employee"},
            {
                "name": "by_department",
                "type": "bar",
                "object": "employee",
                "group_by": ["department"],
                "sort": "-value",
            },
            {
                "name": "salary",
                "type": "bar",
                "object": "employee",
                "group_by": ["department"],
                "measure": "SUM(base_salary)",
            },
            {
                "name": "by_parent",
                "type": "pie",
                "object": "employee",
                "group_by": ["department.parent"],
            },
            {"name": "budget", "type": "number", "object": "department", "measure": "SUM(budget)"},
            {
                "name": "roster",
                "type": "table",
                "object": "employee",
                "columns": ["employee_no", "name", "department"],
                "sort": "employee_no",
                "limit": 3,
            },
        ],
    },
    {
        "name": "talent",
        "widgets": [
            {
                "name": "nine_box",
                "type": "matrix",
                "object": "review",
                "group_by": ["potential", BAND],
            },
            {"name": "ratings", "type": "bar", "object": "review", "group_by": ["rating"]},
        ],
    },
    {
        "name": "pay",
        "roles": ["hr_admin"],
        "aggregate_only": True,
        "min_group_size": 2,
        "widgets": [
            {
                "name": "by_department",
                "type": "table",
                "object": "employee",
                "columns": ["department", "COUNT()", "SUM(base_salary)", "AVERAGE(base_salary)"],
                "sort": "-SUM(base_salary)",
            },
            {
                "name": "total",
                "type": "number",
                "object": "employee",
                "measure": "SUM(base_salary)",
            },
        ],
    },
]


def with_dashboards(boards: list[dict[str, Any]]) -> dict[str, Any]:
    defn = definition()
    defn["objects"][0]["label_field"] = "name"  # departments are named by their name
    defn["dashboards"] = copy.deepcopy(boards)
    return defn


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with staff_api(db_url, with_dashboards(DASHBOARDS)) as api:
        yield api


def board(api: Api, user: str, name: str, **params: Any) -> dict[str, dict[str, Any]]:
    response = api.get(user, f"/api/v1/apps/staff/dashboards/{name}", **params)
    assert response.status_code == 200, response.text
    return {w["name"]: w for w in response.json()["widgets"]}


def by_label(widget: dict[str, Any]) -> dict[Any, Any]:
    return {g["label"]: g.get("value", "suppressed") for g in widget["data"]["groups"]}


def test_counts_and_sums_per_group_are_exact(api: Api) -> None:
    cole = board(api, "cole", "people")  # comp_admin: every row, every salary
    assert cole["headcount"]["data"] == {"value": 9}
    assert by_label(cole["salary"]) == {
        "Root": "90000.00",
        "Eng": "135000.00",
        "Plat": "60000.00",
        "Sales": "72000.00",
        "Hr": "40000.00",
    }
    groups = cole["by_department"]["data"]["groups"]  # sorted by value, descending
    assert [(g["label"], g["value"]) for g in groups][:1] == [("Eng", 3)]
    assert sorted(g["value"] for g in groups) == [1, 1, 2, 2, 3]
    eng = api.staff.departments["ENG"]
    assert {"key": eng, "label": "Eng", "value": 3} in groups
    # a path through a reference: the department's parent (blank for the root's people)
    assert by_label(cole["by_parent"]) == {"Root": 6, "Eng": 2, None: 1}


def test_a_scoped_caller_sees_only_the_aggregates_of_their_rows(api: Api) -> None:
    mia = board(api, "mia", "people")  # her own record and her three direct reports
    assert mia["headcount"]["data"] == {"value": 4}
    assert by_label(mia["by_department"]) == {"Eng": 2, "Plat": 2}
    # she reads only her own salary: the others count as blank, never their values
    assert by_label(mia["salary"]) == {"Eng": "45000.00", "Plat": "0.00"}
    roster = mia["roster"]["data"]
    assert roster["columns"] == ["employee_no", "name", "department"]
    assert [r["cells"]["employee_no"] for r in roster["rows"]] == ["E2", "E4", "E5"]
    first = roster["rows"][0]
    assert first["id"] == api.staff.employees["E2"]
    assert first["cells"]["department"] == {"key": api.staff.departments["ENG"], "label": "Eng"}
    ann = board(api, "ann", "people")
    assert ann["headcount"]["data"] == {"value": 1}


def test_a_field_the_caller_cannot_read_refuses_its_widget_only(api: Api) -> None:
    mia = board(api, "mia", "people")  # department budgets are compensation
    assert "data" not in mia["budget"]
    assert mia["budget"]["error"]["code"] == "FIELD_NOT_READABLE"
    assert "budget" in mia["budget"]["error"]["details"][0]["message"]
    assert mia["headcount"]["data"] == {"value": 4}
    hera = board(api, "hera", "people")  # hr_admin reads budgets
    assert hera["budget"]["data"] == {"value": "1950000.00"}
    sid = board(api, "sid", "people")  # system_admin: no employee rows, no budgets
    assert sid["headcount"]["data"] == {"value": 0}
    assert by_label(sid["salary"]) == {}
    assert sid["budget"]["error"]["code"] == "FIELD_NOT_READABLE"


def test_a_three_by_three_matrix(api: Api) -> None:
    hera = board(api, "hera", "talent")
    data = hera["nine_box"]["data"]
    assert [r["key"] for r in data["rows"]] == ["low", "medium", "high"]  # option order
    assert [c["key"] for c in data["columns"]] == ["high", "low", "medium"]
    cells = {(c["row"], c["column"]): c["value"] for c in data["cells"]}
    assert cells == {
        ("low", "low"): 2,
        ("low", "medium"): 1,
        ("medium", "medium"): 3,
        ("high", "high"): 1,
        ("high", "medium"): 1,
    }
    ratings = by_label(hera["ratings"])
    assert ratings == {"S": 1, "A": 2, "B": 3, "C": 1, "D": 1}
    # a manager: her own review (potential hidden: blank) and her three reports'
    mia = board(api, "mia", "talent")["nine_box"]["data"]
    assert [r["key"] for r in mia["rows"]] == ["low", "medium", "high", None]
    cells = {(c["row"], c["column"]): c["value"] for c in mia["cells"]}
    assert cells == {("low", "low"): 2, ("high", "high"): 1, (None, "medium"): 1}


def test_aggregate_only_suppresses_small_groups(api: Api) -> None:
    hera = board(api, "hera", "pay")  # no compensation clearance, yet pool aggregates
    table = hera["by_department"]
    assert table["aggregate_only"] is True and table["min_group_size"] == 2
    rows = [(r["cells"]["department"]["label"], r) for r in table["data"]["rows"]]
    shown = [
        (name, r["cells"]["COUNT()"], r["cells"]["SUM(base_salary)"])
        for name, r in rows
        if not r.get("suppressed")
    ]
    assert shown == [("Eng", 3, "135000.00"), ("Sales", 2, "72000.00"), ("Plat", 2, "60000.00")]
    hidden = {name: r for name, r in rows if r.get("suppressed")}
    assert set(hidden) == {"Root", "Hr"}
    assert set(hidden["Hr"]["cells"]) == {"department"}  # no count, no salary
    eng = dict(rows)["Eng"]["cells"]
    assert eng["AVERAGE(base_salary)"] == "45000.0000"
    assert hera["total"]["data"] == {"value": "397000.00"}
    for outsider in ("mia", "cole"):  # not in the dashboard's roles: not found
        response = api.get(outsider, "/api/v1/apps/staff/dashboards/pay")
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"


def test_the_request_filter_narrows_widgets_whose_object_has_its_fields(api: Api) -> None:
    hera = board(api, "hera", "people", filter='department.code = "ENG"')
    assert hera["headcount"]["filtered"] is True
    assert hera["headcount"]["data"] == {"value": 3}
    assert hera["budget"]["filtered"] is False  # departments have no field "department"
    assert hera["budget"]["data"] == {"value": "1950000.00"}
    mia = board(api, "mia", "people", filter="base_salary > 40000")  # masked: hers only
    assert mia["headcount"]["data"] == {"value": 1}
    broken = api.get("hera", "/api/v1/apps/staff/dashboards/people", filter="a =")
    assert broken.status_code == 400
    assert broken.json()["error"]["details"][0]["path"] == "filter"
    never = api.get("hera", "/api/v1/apps/staff/dashboards/pay", filter="id > 0")
    assert never.status_code == 400
    assert never.json()["error"]["code"] == "FILTER_NOT_APPLICABLE"


def test_listing_404s_and_401(api: Api) -> None:
    listed = api.get("mia", "/api/v1/apps/staff/dashboards", lang="zh").json()["data"]
    assert [b["name"] for b in listed] == ["people", "talent"]
    assert listed[0]["title"] == "人员"
    assert listed[0]["widgets"][0] == {
        "index": 0,
        "name": "headcount",
        "type": "number",
        "title": None,
    }
    hera = api.get("hera", "/api/v1/apps/staff/dashboards").json()["data"]
    assert [b["name"] for b in hera] == ["people", "talent", "pay"]
    for path in ("/api/v1/apps/staff/dashboards/nope", "/api/v1/apps/nope/dashboards/people"):
        response = api.get("hera", path)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"
    for path in ("/api/v1/apps/staff/dashboards", "/api/v1/apps/staff/dashboards/people"):
        anonymous = api.client.get(path)
        assert anonymous.status_code == 401
    paths = api.get("hera", "/api/v1/openapi.json").json()["paths"]
    named = paths["/api/v1/apps/staff/dashboards/{name}"]["get"]["parameters"][0]
    assert named["schema"]["enum"] == ["people", "talent", "pay"]


SLOW = {
    "sqlite": "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r "
    "WHERE i < 1000000000) SELECT COUNT(*) FROM r",
    "postgresql": "SELECT pg_sleep(60)",
}


def test_a_runaway_widget_is_stopped_and_the_others_answer(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A widget whose query would run for minutes answers WIDGET_TIMEOUT after the
    limit, naming it; the widgets after it in the same dashboard (the same transaction on
    PostgreSQL) still answer, and so does the next request."""
    run = dashboards._Compute.run

    def slow_first(self: Any, *args: Any) -> Any:
        if self.spec.name == "slow":
            self.conn.exec_driver_sql(SLOW[self.conn.dialect.name])
        return run(self, *args)

    monkeypatch.setattr(dashboards._Compute, "run", slow_first)
    limits = {
        "name": "limits",
        "widgets": [
            {"name": "slow", "type": "number", "object": "employee"},
            {"name": "after", "type": "bar", "object": "employee", "group_by": ["department"]},
        ],
    }
    defn = with_dashboards([*DASHBOARDS, limits])
    with staff_api(db_url, defn, dashboard_widget_timeout_ms=300) as api:
        started = time.monotonic()
        found = board(api, "cole", "limits")
        assert time.monotonic() - started < 20
        error = found["slow"]["error"]
        assert error["code"] == "WIDGET_TIMEOUT" and "data" not in found["slow"]
        assert "'slow'" in error["message"] and "300 ms" in error["message"]
        assert sum(g["value"] for g in found["after"]["data"]["groups"]) == 9
        assert board(api, "cole", "people")["headcount"]["data"] == {"value": 9}


def test_the_widget_time_limit_is_a_setting() -> None:
    assert Settings().dashboard_widget_timeout_ms == 10000
    env = {"TENON_DASHBOARD_WIDGET_TIMEOUT_MS": "2500"}
    assert Settings.from_env(env).dashboard_widget_timeout_ms == 2500


def _issues(boards: list[dict[str, Any]]) -> dict[str, str]:
    return {i.path: i.code for i in definition_issues(with_dashboards(boards))}


def test_validation_names_the_widget_key_at_fault() -> None:
    widgets: list[dict[str, Any]] = [
        {"type": "number", "object": "employee", "measure": "SUM(name)"},
        {"type": "bar", "object": "employee", "group_by": ["department", "job_title"]},
        {"type": "bar", "object": "employee", "group_by": ["departmnt"]},
        {"type": "number", "object": "employee", "measure": "TOTAL(base_salary)"},
        {"type": "bar", "object": "employee", "group_by": ["job_title"], "sort": "size"},
        {"type": "table", "object": "employee", "columns": ["name"], "sort": "nam"},
        {"type": "number", "object": "employee", "min_group_size": 3},
        {"type": "matrix", "object": "review", "group_by": ["rating", "potential"], "limit": 3},
        {"type": "number", "object": "employee", "measure": "MAX(name)"},
    ]
    issues = _issues([{"name": "d", "widgets": widgets}])
    base = "/dashboards/0/widgets"
    assert issues[f"{base}/0/measure"] == "TYPE"
    assert issues[f"{base}/1/group_by"] == "INVALID"
    assert issues[f"{base}/2/group_by/0"] == "FORMULA_NAME"
    assert issues[f"{base}/3/measure"] == "INVALID"
    assert issues[f"{base}/4/sort"] == "INVALID"
    assert issues[f"{base}/5/sort"] == "UNRESOLVED"
    assert issues[f"{base}/6/min_group_size"] == "INVALID"
    assert issues[f"{base}/7/limit"] == "INVALID"
    assert issues[f"{base}/8/measure"] == "TYPE"
    exposed = [
        {
            "name": "d",
            "aggregate_only": True,
            "widgets": [
                {"type": "table", "object": "employee", "columns": ["name"]},
                {"type": "number", "object": "employee", "measure": "MAX(base_salary)"},
            ],
        }
    ]
    issues = _issues(exposed)
    assert issues["/dashboards/0/widgets/1/measure"] == "INVALID"  # one person's salary
    assert issues["/dashboards/0/roles"] == "MISSING"  # every user would see all rows
    assert issues["/dashboards/0/widgets/0/columns"] == "INVALID"  # a list, not aggregates
    assert _issues(DASHBOARDS) == {}


def test_every_error_code_of_dashboards_is_documented() -> None:
    root = Path(__file__).parent.parent
    doc = (root / "docs" / "dashboards.md").read_text(encoding="utf-8")
    codes: set[str] = set()
    for name in ("dashboards.py", "widgets.py"):
        source = (root / "runtime" / "services" / name).read_text(encoding="utf-8")
        codes |= set(re.findall(r'"([A-Z][A-Z_]{3,})"', source))
    codes -= {"COUNT", "SUM", "AVERAGE", "MIN", "MAX"}  # measures
    missing = sorted(c for c in codes if f"`{c}`" not in doc)
    assert not missing, f"document these error codes in docs/dashboards.md: {missing}"
