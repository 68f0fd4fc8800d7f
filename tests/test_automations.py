"""Automations through the API, on SQLite and PostgreSQL: record triggers (create, a
field change, a condition becoming true, a state entered), their actions (set, create,
act on related rows, notify, webhook), the system identity in the audit, loops stopped,
a failing action refusing the write, cron schedules driven by the test clock, and
webhooks signed, retried and given up on, against httpx's MockTransport."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from runtime.metadata.package import read_package_bytes
from runtime.metadata.validate import definition_issues
from runtime.services.webhooks import signature
from tests.auth_support import Caller, add_user, make_client
from tests.test_effects import CORE

SECRET = "a webhook secret of some length"

WATCH: dict[str, Any] = {
    "name": "watch",
    "version": "1.0.0",
    "title": {"en": "Watch"},
    "requires": {"core": "^1.0"},
    "roles": [{"name": "clerk"}],
    "objects": [
        {
            "name": "case",
            "fields": [
                {
                    "name": "employee",
                    "type": "reference",
                    "to": "core.employee",
                    "related_name": "cases",
                    "required": True,
                },
                {"name": "note", "type": "text"},
                {"name": "due", "type": "date"},
                {"name": "reviewed", "type": "boolean", "system": True},
            ],
        }
    ],
    "workflows": [
        {
            "name": "case_flow",
            "object": "case",
            "states": [
                {"name": "open"},
                {"name": "closed", "terminal": True},
                {"name": "withdrawn", "terminal": True},
            ],
            "transitions": [
                {"action": "close", "from": ["open"], "to": "closed"},
                {"action": "withdraw", "from": ["open"], "to": "withdrawn"},
            ],
        }
    ],
    "automations": [
        {
            "name": "open_case",
            "object": "core.employee",
            "trigger": {"on": "update", "fields": ["status"], "condition": 'status = "leaving"'},
            "actions": [
                {
                    "create": {
                        "object": "case",
                        "values": {"employee": "id", "note": '"leaving: " & name'},
                    }
                },
                {"notify": {"to": [{"role": "clerk"}], "message": 'name & " is leaving"'}},
            ],
        },
        {
            "name": "withdraw_cases",
            "object": "core.employee",
            "trigger": {"on": "update", "condition": 'status = "active"'},
            "actions": [
                {
                    "act": {
                        "relation": "cases",
                        "where": 'state = "open"',
                        "action": "withdraw",
                        "comment": "employee stays",
                    }
                }
            ],
        },
        {
            "name": "mark_reviewed",
            "object": "case",
            "trigger": {"on": "create"},
            "actions": [{"set": {"reviewed": "TRUE"}}],
        },
        {
            "name": "shout",
            "object": "case",
            "trigger": {"on": "update", "fields": ["note"]},
            "actions": [{"set": {"note": 'note & "!"'}}],
        },
        {
            "name": "ping",
            "object": "case",
            "trigger": {"on": "transition", "state": "closed"},
            "actions": [
                {"webhook": {"endpoint": "hooks", "body": {"note": "note", "who": "employee.name"}}}
            ],
        },
        {
            "name": "remind_due",
            "object": "case",
            "trigger": {"on": "date", "at": "due - 1", "condition": 'state = "open"'},
            "actions": [
                {"notify": {"to": [{"role": "clerk"}], "message": '"Due tomorrow: " & note'}}
            ],
        },
        {
            "name": "daily",
            "object": "case",
            "trigger": {"on": "schedule", "every": "0 9 * * *", "condition": 'state = "open"'},
            "actions": [
                {"notify": {"to": [{"role": "clerk"}], "message": '"Still open: " & note'}}
            ],
        },
    ],
    "permissions": [
        {"role": "clerk", "object": "case", "actions": ["read", "create", "update", "close"]},
        {"role": "clerk", "object": "core.employee", "actions": ["read"]},
    ],
}


class World(Caller):
    def __init__(self, client: Any, calls: list[httpx.Request]) -> None:
        super().__init__(client)
        self.calls = calls
        self.answers: list[int] = []

    def employee(self, **fields: Any) -> dict[str, Any]:
        made = self.call("hr", "POST", "/api/v1/apps/core/objects/employee/records", json=fields)
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    def patch(self, user: str, path: str, **fields: Any) -> Any:
        now = self.call(user, "GET", f"/api/v1/apps/{path}").json()
        return self.call(
            user, "PATCH", f"/api/v1/apps/{path}", json={**fields, "version": now["version"]}
        )

    def cases(self) -> list[dict[str, Any]]:
        found = self.call("clerk", "GET", "/api/v1/apps/watch/objects/case/records")
        return found.json()["data"]  # type: ignore[no-any-return]

    def notes(self, user: str) -> list[str]:
        found = self.call(user, "GET", "/api/v1/notifications").json()["data"]
        return [n["message"] for n in found]

    def at(self, now: str) -> None:
        assert (
            self.call("root", "POST", "/api/v1/admin/clock", json={"now": now}).status_code == 200
        )

    def run_due(self) -> list[dict[str, Any]]:
        ran = self.call("root", "POST", "/api/v1/admin/jobs/run-due")
        assert ran.status_code == 200, ran.text
        return ran.json()["ran"]  # type: ignore[no-any-return]


@contextmanager
def world(db_url: str, watch: dict[str, Any] = WATCH) -> Iterator[World]:
    calls: list[httpx.Request] = []
    holder: list[World] = []

    def answer(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        status = holder[0].answers.pop(0) if holder[0].answers else 200
        return httpx.Response(status, json={"ok": status < 300})

    client = httpx.Client(transport=httpx.MockTransport(answer))
    with make_client(db_url, test_clock=True, run_jobs=False, http=lambda: client) as app:
        state = app.app.state  # type: ignore[attr-defined]
        for definition in (CORE, watch):
            name = f"{definition['name']}.json"
            state.apps.install(read_package_bytes(json.dumps(definition).encode(), name), actor="t")
        add_user(app, "hr", roles=["core.hr"], password=None)
        add_user(app, "clerk", roles=["watch.clerk"], password=None)
        add_user(app, "root", roles=["system_admin"], password=None)
        found = World(app, calls)
        holder.append(found)
        found.at("2025-06-10T08:00:00")
        yield found


@pytest.fixture
def w(db_url: str) -> Iterator[World]:
    with world(db_url) as found:
        yield found


def test_a_field_becoming_a_value_creates_a_record_in_the_same_transaction(w: World) -> None:
    eve = w.employee(name="Eve", status="active")
    assert (
        w.patch("hr", f"core/objects/employee/records/{eve['id']}", status="leaving").status_code
        == 200
    )
    cases = w.cases()
    assert [(c["employee"], c["note"], c["state"], c["reviewed"]) for c in cases] == [
        (eve["id"], "leaving: Eve", "open", True)  # and the case's own automation ran
    ]
    assert "Eve is leaving" in w.notes("clerk")
    history = w.call(
        "clerk", "GET", f"/api/v1/apps/watch/objects/case/records/{cases[0]['id']}/history"
    )
    entries = [(h["operation"], h["actor"], h["on_behalf_of"]) for h in history.json()["data"]]
    assert entries == [
        ("create", "system", "automation watch.open_case (update by hr)"),
        (
            "update",
            "system",
            "automation watch.mark_reviewed (create by automation watch.open_case (update by hr))",
        ),
    ]
    # the condition must *become* true: another edit while leaving creates nothing more
    w.patch("hr", f"core/objects/employee/records/{eve['id']}", name="Eve L.")
    assert len(w.cases()) == 1


def test_an_automation_takes_workflow_actions_on_related_records(w: World) -> None:
    eve = w.employee(name="Eve", status="active")
    path = f"core/objects/employee/records/{eve['id']}"
    w.patch("hr", path, status="leaving")
    first = w.cases()[0]
    w.call(
        "clerk",
        "POST",
        f"/api/v1/apps/watch/objects/case/records/{first['id']}/actions/close",
        json={},
    )
    w.patch("hr", path, status="active")
    w.patch("hr", path, status="leaving")  # a second case, open
    w.patch("hr", path, status="active")  # withdraws the open one, leaves the closed one
    assert sorted(c["state"] for c in w.cases()) == ["closed", "withdrawn"]
    withdrawn = next(c for c in w.cases() if c["state"] == "withdrawn")
    history = w.call(
        "clerk", "GET", f"/api/v1/apps/watch/objects/case/records/{withdrawn['id']}/history"
    )
    last = history.json()["data"][-1]
    assert (last["operation"], last["comment"]) == ("action:withdraw", "employee stays")
    assert last["on_behalf_of"] == "automation watch.withdraw_cases (update by hr)"


def test_a_loop_is_stopped_after_one_round(w: World) -> None:
    eve = w.employee(name="Eve", status="active")
    made = w.call(
        "clerk",
        "POST",
        "/api/v1/apps/watch/objects/case/records",
        json={"employee": eve["id"], "note": "hi"},
    )
    assert made.status_code == 201
    changed = w.patch("clerk", f"watch/objects/case/records/{made.json()['id']}", note="hey")
    assert changed.status_code == 200
    assert w.cases()[0]["note"] == "hey!"  # shout ran once; its own write did not re-fire it


def test_an_automation_that_fails_refuses_the_write(db_url: str) -> None:
    watch = copy.deepcopy(WATCH)
    watch["automations"][0]["actions"][0]["create"]["values"]["employee"] = "NULL"
    with world(db_url, watch) as w:
        eve = w.employee(name="Eve", status="active")
        refused = w.patch("hr", f"core/objects/employee/records/{eve['id']}", status="leaving")
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["message"].startswith("automation watch.open_case:")
        found = w.call("hr", "GET", f"/api/v1/apps/core/objects/employee/records/{eve['id']}")
        assert found.json()["status"] == "active" and w.cases() == []


def _endpoint(w: World) -> None:
    put = w.call(
        "root",
        "PUT",
        "/api/v1/admin/webhooks/hooks",
        json={"url": "https://hooks.example/in", "secret": SECRET},
    )
    assert put.status_code == 200 and put.json()["secret"] == "set"


def _closed_case(w: World) -> dict[str, Any]:
    eve = w.employee(name="Eve", status="active")
    w.patch("hr", f"core/objects/employee/records/{eve['id']}", status="leaving")
    case = w.cases()[0]
    path = f"/api/v1/apps/watch/objects/case/records/{case['id']}/actions/close"
    assert w.call("clerk", "POST", path, json={}).status_code == 200
    return case


def test_a_webhook_is_signed_and_sent_after_the_commit(w: World) -> None:
    _endpoint(w)
    case = _closed_case(w)
    assert w.calls == []  # queued in the transaction, sent by the job runner
    ran = [j for j in w.run_due() if j["kind"] == "webhook"]
    assert [j["status"] for j in ran] == ["done"]
    (request,) = w.calls
    assert str(request.url) == "https://hooks.example/in"
    body = json.loads(request.content)
    assert body == {
        "app": "watch",
        "object": "case",
        "record_id": case["id"],
        "event": "automation watch.ping (action:close by clerk)",
        "data": {"note": "leaving: Eve", "who": "Eve"},
    }
    stamp = request.headers["X-Tenon-Timestamp"]
    assert request.headers["X-Tenon-Signature"] == signature(SECRET, stamp, request.content)
    assert request.headers["X-Tenon-Delivery"] == str(ran[0]["id"])
    listed = w.call("root", "GET", "/api/v1/admin/webhooks").json()["data"]
    assert listed == [{"name": "hooks", "url": "https://hooks.example/in", "secret": "set"}]
    assert SECRET not in json.dumps(listed)


def test_a_webhook_is_retried_with_backoff_then_given_up_on(w: World) -> None:
    _endpoint(w)
    _closed_case(w)
    w.answers = [503, 500]
    first = [j for j in w.run_due() if j["kind"] == "webhook"]
    assert first[0]["status"] == "queued" and first[0]["attempts"] == 1
    assert w.run_due() == []  # not before its backoff
    w.at("2025-06-10T08:00:31")
    assert [j["status"] for j in w.run_due()] == ["queued"]  # the second failure
    w.at("2025-06-10T08:01:32")
    assert [j["status"] for j in w.run_due()] == ["done"]
    assert len(w.calls) == 3
    assert len({c.headers["X-Tenon-Delivery"] for c in w.calls}) == 1  # one delivery id


def test_a_refused_webhook_fails_at_once(w: World) -> None:
    _endpoint(w)
    _closed_case(w)
    w.answers = [400]
    (job,) = [j for j in w.run_due() if j["kind"] == "webhook"]
    assert job["status"] == "failed" and "refused" in job["error"]


def test_a_schedule_runs_at_its_times_for_the_records_it_selects(w: World) -> None:
    eve = w.employee(name="Eve", status="active")
    w.patch("hr", f"core/objects/employee/records/{eve['id']}", status="leaving")
    assert [j for j in w.run_due() if j["kind"] == "schedule"] == []  # 09:00 not yet
    w.at("2025-06-10T09:00:00")
    (ran,) = [j for j in w.run_due() if j["kind"] == "schedule"]
    assert ran["result"]["records"] == [w.cases()[0]["id"]]
    assert ran["result"]["next"] == "2025-06-11T09:00:00"
    assert w.notes("clerk").count("Still open: leaving: Eve") == 1
    w.at("2025-06-14T10:00:00")  # three days down: the missed runs make one
    assert len([j for j in w.run_due() if j["kind"] == "schedule"]) == 1
    assert w.notes("clerk").count("Still open: leaving: Eve") == 2


def test_only_administrators_configure_webhooks(w: World) -> None:
    body = {"url": "https://x.example", "secret": SECRET}
    assert w.call("clerk", "PUT", "/api/v1/admin/webhooks/hooks", json=body).status_code == 403
    bad = w.call(
        "root", "PUT", "/api/v1/admin/webhooks/hooks", json={"url": "ftp://x", "secret": "s"}
    )
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "/url"
    assert w.call("root", "DELETE", "/api/v1/admin/webhooks/nope").status_code == 404


def _issues(change: Any) -> list[tuple[str, str]]:
    watch = copy.deepcopy(WATCH)
    change(watch["automations"])
    return [(i.path, i.code) for i in definition_issues(watch, {"core": CORE}.get)]


def test_automations_are_validated() -> None:
    assert _issues(lambda a: None) == []

    def broken(autos: list[dict[str, Any]]) -> None:
        autos[0]["trigger"]["fields"] = ["nope"]
        autos[1]["actions"][0]["act"]["action"] = "vanish"
        autos[2]["actions"][0]["set"] = {"missing": "1"}
        autos[4]["actions"][0]["webhook"]["body"]["who"] = "employee.ghost"
        autos[5]["trigger"]["every"] = "every day"
        autos[3]["trigger"]["state"] = "open"

    found = _issues(broken)
    assert ("/automations/0/trigger/fields/0", "UNRESOLVED") in found
    assert ("/automations/1/actions/0/act/action", "UNRESOLVED") in found
    assert ("/automations/2/actions/0/set/missing", "UNRESOLVED") in found
    assert any(p == "/automations/4/actions/0/webhook/body/who" for p, _ in found)
    assert ("/automations/5/trigger/every", "INVALID") in found
    assert ("/automations/3/trigger/state", "INVALID") in found


def test_a_date_trigger_follows_the_record_and_fires_once(w: World) -> None:
    eve = w.employee(name="Eve", status="active")
    made = w.call(
        "clerk",
        "POST",
        "/api/v1/apps/watch/objects/case/records",
        json={"employee": eve["id"], "note": "n", "due": "2025-06-15"},
    ).json()

    def planned() -> list[tuple[str, str]]:
        jobs = w.call("root", "GET", "/api/v1/jobs", params={"everyone": "true"}).json()["data"]
        return [(j["status"], j["run_at"]) for j in jobs if j["kind"] == "automation_date"]

    assert planned() == [("queued", "2025-06-14T00:00:00")]
    w.patch("clerk", f"watch/objects/case/records/{made['id']}", due="2025-06-20")
    assert ("queued", "2025-06-19T00:00:00") in planned()
    w.at("2025-06-19T08:00:00")
    ran = [j for j in w.run_due() if j["kind"] == "automation_date"]
    assert [j["status"] for j in ran] == ["done"]
    assert w.notes("clerk").count("Due tomorrow: n") == 1
    w.patch("clerk", f"watch/objects/case/records/{made['id']}", note="n2")  # same time: once
    assert [j for j in w.run_due() if j["kind"] == "automation_date"] == []
    path = f"/api/v1/apps/watch/objects/case/records/{made['id']}/actions/close"
    w.call("clerk", "POST", path, json={})
    assert all(status != "queued" for status, _ in planned())
