"""A ``create`` effect repeated over a date series (one record per date, ``where`` keeping
those still to come), on SQLite and PostgreSQL; its validation with JSON paths; a unique
constraint whose condition reads the workflow state and answers with its own code; and
a timer whose date a rollup moved later waiting for the new date."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from runtime.metadata.package import read_package_bytes
from runtime.metadata.validate import definition_issues
from tests.auth_support import Caller, add_user, make_client

SESSIONS = {
    "create": {
        "object": "session",
        "values": {"course": "id", "note": 'title & " session"'},
        "repeat": {
            "field": "day",
            "from": "start_date + delay",
            "every": "every",
            "until": "last_day",
            "where": "day >= TODAY()",
        },
    }
}

APP: dict[str, Any] = {
    "name": "sched",
    "version": "1.0.0",
    "title": {"en": "Schedules"},
    "roles": [{"name": "planner"}],
    "objects": [
        {
            "name": "course",
            "fields": [
                {"name": "title", "type": "text", "required": True},
                {"name": "learner", "type": "text"},
                {"name": "start_date", "type": "date", "required": True},
                {"name": "end_date", "type": "date"},
                {"name": "every", "type": "integer"},
                {
                    "name": "delay",
                    "type": "rollup",
                    "returns": "integer",
                    "formula": "SUM(breaks.days)",
                },
                {
                    "name": "last_day",
                    "type": "formula",
                    "returns": "date",
                    "formula": "end_date + delay",
                },
            ],
            "constraints": [
                {
                    "name": "one_running",
                    "type": "unique",
                    "fields": ["learner"],
                    "where": 'state = "running"',
                    "code": "ALREADY_RUNNING",
                    "message": {"en": "This learner already follows a course"},
                }
            ],
        },
        {
            "name": "session",
            "fields": [
                {
                    "name": "course",
                    "type": "reference",
                    "to": "course",
                    "related_name": "sessions",
                    "required": True,
                },
                {"name": "day", "type": "date", "required": True},
                {"name": "note", "type": "text"},
            ],
        },
        {
            "name": "pause",
            "fields": [
                {
                    "name": "course",
                    "type": "reference",
                    "to": "course",
                    "related_name": "breaks",
                    "required": True,
                },
                {"name": "days", "type": "integer"},
            ],
        },
    ],
    "workflows": [
        {
            "name": "course_flow",
            "object": "course",
            "states": [{"name": "draft"}, {"name": "running"}, {"name": "done", "terminal": True}],
            "transitions": [
                {"action": "start", "from": ["draft"], "to": "running", "effects": [SESSIONS]},
                {
                    "action": "delay",
                    "from": ["running"],
                    "to": "running",
                    "effects": [
                        {"create": {"object": "pause", "values": {"course": "id", "days": "7"}}},
                        {
                            "each": {
                                "relation": "sessions",
                                "where": "day >= TODAY()",
                                "set": {"note": '"moved"'},
                            }
                        },
                        SESSIONS,
                    ],
                },
                {
                    "action": "finish",
                    "from": ["running"],
                    "to": "done",
                    "condition": "TODAY() > last_day",
                },
            ],
            "timers": [{"name": "finish", "at": "last_day + 1", "action": "finish"}],
        }
    ],
    "permissions": [
        {
            "role": "planner",
            "object": "course",
            "actions": ["read", "create", "update", "start", "delay"],
        },
        {"role": "planner", "object": "session", "actions": ["read", "create", "update"]},
        {"role": "planner", "object": "pause", "actions": ["read", "create"]},
    ],
}

BASE = "/api/v1/apps/sched/objects"


class Planner(Caller):
    def at(self, now: str) -> None:
        moved = self.call("root", "POST", "/api/v1/admin/clock", json={"now": now})
        assert moved.status_code == 200, moved.text
        self.tokens.clear()  # weeks pass: tokens would expire

    def state(self, course: dict[str, Any]) -> str:
        found = self.call("pat", "GET", f"{BASE}/course/records/{course['id']}")
        assert found.status_code == 200, found.text
        return str(found.json()["state"])

    def course(self, **fields: Any) -> dict[str, Any]:
        body = {"title": "Go", "start_date": "2025-03-03", "end_date": "2025-03-31", "every": 7}
        made = self.call("pat", "POST", f"{BASE}/course/records", json=body | fields)
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    def act(self, course: dict[str, Any], action: str) -> Any:
        path = f"{BASE}/course/records/{course['id']}/actions/{action}"
        return self.call("pat", "POST", path, json={})

    def sessions(self, course: dict[str, Any]) -> list[tuple[str, str]]:
        found = self.call("pat", "GET", f"{BASE}/session/records", params={"sort": "day"})
        rows = [r for r in found.json()["data"] if r["course"] == course["id"]]
        return [(r["day"], r["note"]) for r in rows]


@pytest.fixture
def p(db_url: str) -> Iterator[Planner]:
    with make_client(db_url, test_clock=True, run_jobs=False) as client:
        package = read_package_bytes(json.dumps(APP).encode(), "sched.json")
        client.app.state.apps.install(package, actor="t")  # type: ignore[attr-defined]
        add_user(client, "root", roles=["system_admin"], password=None)
        add_user(client, "pat", roles=["sched.planner"], password=None)
        found = Planner(client)
        found.at("2025-03-01T09:00:00")
        yield found


def test_one_record_per_date_of_the_series_up_to_the_last_day(p: Planner) -> None:
    course = p.course()
    started = p.act(course, "start")
    assert started.status_code == 200, started.text
    days = ["2025-03-03", "2025-03-10", "2025-03-17", "2025-03-24", "2025-03-31"]
    assert p.sessions(course) == [(d, "Go session") for d in days]  # the last day included


def test_where_keeps_the_dates_to_come_and_a_rollup_moves_the_rest(p: Planner) -> None:
    course = p.course()
    p.at("2025-03-12T09:00:00")
    p.act(course, "start")
    assert [d for d, _ in p.sessions(course)] == ["2025-03-17", "2025-03-24", "2025-03-31"]
    p.at("2025-03-20T09:00:00")
    delayed = p.act(course, "delay")  # a 7-day break: the series reads the new rollup
    assert delayed.status_code == 200, delayed.text
    assert delayed.json()["last_day"] == "2025-04-07"
    assert p.sessions(course) == [
        ("2025-03-17", "Go session"),
        ("2025-03-24", "moved"),
        ("2025-03-24", "Go session"),  # start + 7 (break) + 7k, from today
        ("2025-03-31", "moved"),
        ("2025-03-31", "Go session"),
        ("2025-04-07", "Go session"),
    ]


def test_a_blank_end_creates_nothing_and_a_bad_step_refuses_the_action(p: Planner) -> None:
    open_ended = p.course(end_date=None)
    assert p.act(open_ended, "start").status_code == 200
    assert p.sessions(open_ended) == []
    for every, path, words in (
        (0, "/effects/0/create/repeat", "at least 1"),
        (1, "/effects/0/create/repeat", "more than 400"),
    ):
        course = p.course(every=every, learner=f"l{every}", end_date="2027-03-31")
        refused = p.act(course, "start")
        assert refused.status_code == 422, refused.text
        (detail,) = refused.json()["error"]["details"]
        assert (detail["path"], detail["code"]) == (path, "EFFECT_FAILED")
        assert words in detail["message"]
        after = p.call("pat", "GET", f"{BASE}/course/records/{course['id']}").json()
        assert after["state"] == "draft" and p.sessions(course) == []


def test_a_unique_constraint_on_the_state_answers_with_its_code(p: Planner) -> None:
    first, second = p.course(learner="ann"), p.course(learner="ann")  # two drafts: fine
    assert p.act(first, "start").status_code == 200
    refused = p.act(second, "start")
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "ALREADY_RUNNING"
    assert error["details"] == [
        {
            "path": "/learner",
            "code": "ALREADY_RUNNING",
            "message": "This learner already follows a course",
        }
    ]


def test_a_timer_whose_date_a_rollup_moved_waits_for_the_new_date(p: Planner) -> None:
    course = p.course()
    p.act(course, "start")  # the timer waits for 2025-04-01
    p.act(course, "delay")  # the break moves the last day (a rollup): 2025-04-08
    p.at("2025-04-01T09:00:00")
    ran = p.call("root", "POST", "/api/v1/admin/jobs/run-due").json()["ran"]
    assert [j["result"] for j in ran if j["kind"] == "timer"] == [{"moved": "2025-04-08T00:00:00"}]
    assert p.state(course) == "running"
    p.at("2025-04-08T09:00:00")
    p.call("root", "POST", "/api/v1/admin/jobs/run-due")
    assert p.state(course) == "done"


def test_a_repeat_is_validated_with_json_paths() -> None:
    broken = copy.deepcopy(APP)
    create = broken["workflows"][0]["transitions"][0]["effects"][0]["create"]
    create["repeat"] |= {"field": "note", "every": "start_date", "from": "every", "where": "x"}
    create["for_each"] = {"field": "course"}
    found = {(i.path, i.code) for i in definition_issues(broken, {}.get)}
    base = "/workflows/0/transitions/0/effects/0/create/repeat"
    assert {
        (base, "INVALID"),
        (f"{base}/field", "FORMULA_TYPE"),
        (f"{base}/every", "FORMULA_TYPE"),
        (f"{base}/from", "FORMULA_TYPE"),
    } <= found
    assert any(path == f"{base}/where" for path, _ in found)
    assert not definition_issues(APP, {}.get)
