"""Workflow state machines through the API, on SQLite and PostgreSQL: states, actions,
who may act, conditions, required fields, inputs, effects, locked fields, the audit, and
exactly one winner when people act at once."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import pytest
from starlette.testclient import TestClient

from runtime.metadata.package import read_package_bytes
from runtime.storage.engine import write_transaction
from tests.auth_support import add_user, bearer, issue_token, make_client

BASE = "/api/v1/apps/leave/objects/request/records"

APP: dict[str, Any] = {
    "name": "leave",
    "version": "1.0.0",
    "title": {"en": "Leave"},
    "roles": [{"name": "member"}, {"name": "approver"}],
    "objects": [
        {
            "name": "request",
            "fields": [
                {"name": "title", "type": "text", "required": True},
                {"name": "days", "type": "integer"},
                {"name": "owner", "type": "user"},
                {"name": "reason", "type": "long_text"},
                {"name": "decision_note", "type": "long_text"},
                {"name": "submitted_on", "type": "date", "system": True},
                {"name": "decided_by", "type": "integer", "system": True},
            ],
        }
    ],
    "workflows": [
        {
            "name": "leave_flow",
            "object": "request",
            "initial": "draft",
            "states": [
                {"name": "draft"},
                {
                    "name": "submitted",
                    "editable_fields": ["reason"],
                    "required_to_leave": ["reason"],
                },
                {"name": "approved", "terminal": True},
                {"name": "rejected", "terminal": True},
            ],
            "transitions": [
                {
                    "action": "submit",
                    "from": ["draft"],
                    "to": "submitted",
                    "required_fields": ["days"],
                    "condition": "AND(days > 0, days <= 20)",
                    "code": "DAYS_OUT_OF_RANGE",
                    "message": {"en": "a request is for 1 to 20 days"},
                    "effects": [
                        {"set": {"submitted_on": "TODAY()"}},
                        {
                            "notify": {
                                "to": [{"role": "approver"}],
                                "message": '"To decide: " & title',
                            }
                        },
                    ],
                },
                {
                    "action": "recall",
                    "from": ["submitted"],
                    "to": "draft",
                    "condition": "owner = @me",
                },
                {
                    "action": "approve",
                    "from": ["submitted"],
                    "to": "approved",
                    "roles": ["approver"],
                    "inputs": [{"name": "decision_note", "type": "long_text"}],
                    "effects": [
                        {"set": {"decided_by": "@me"}},
                        {
                            "notify": {
                                "to": [{"field": "owner"}],
                                "message": 'title & " is approved"',
                            }
                        },
                    ],
                },
                {
                    "action": "reject",
                    "from": ["submitted"],
                    "to": "rejected",
                    "roles": ["approver"],
                    "inputs": [{"name": "decision_note", "type": "long_text", "required": True}],
                    "effects": [
                        {
                            "notify": {
                                "to": [{"field": "owner"}],
                                "message": 'title & " is rejected"',
                            }
                        }
                    ],
                },
            ],
            "timers": [{"name": "auto_approve", "at": "submitted_on + 3", "action": "approve"}],
        }
    ],
    "permissions": [
        {"role": "member", "object": "request", "actions": ["read", "create"]},
        {
            "role": "member",
            "object": "request",
            "actions": ["update", "submit", "recall"],
            "scope": "owner = @me",
        },
        {"role": "approver", "object": "request", "actions": ["read", "approve", "reject"]},
        {"role": "authenticated", "object": "request", "actions": ["reject"]},
    ],
}


class Leave:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.tokens: dict[str, str] = {}

    def call(self, user: str, method: str, path: str, **kw: Any) -> Any:
        if user not in self.tokens:
            self.tokens[user] = issue_token(self.client, user)
        return self.client.request(method, path, headers=bearer(self.tokens[user]), **kw)

    def new(self, user: str = "ann", **fields: Any) -> dict[str, Any]:
        body = {"title": "Trip", "owner": user, **fields}
        made = self.call(user, "POST", BASE, json=body)
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    def act(self, user: str, record: dict[str, Any], action: str, **body: Any) -> Any:
        return self.call(user, "POST", f"{BASE}/{record['id']}/actions/{action}", json=body)


@pytest.fixture
def leave(db_url: str) -> Iterator[Leave]:
    with _leave(db_url) as found:
        yield found


@contextmanager
def _leave(db_url: str, app: dict[str, Any] = APP, **settings: Any) -> Iterator[Leave]:
    with make_client(db_url, **settings) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(app).encode(), "leave.json"), actor="t")
        add_user(client, "ann", roles=["leave.member"])
        add_user(client, "bob", roles=["leave.member"])
        add_user(client, "vic", roles=["leave.approver"])
        add_user(client, "eve")
        yield Leave(client)


def test_a_request_goes_through_its_states(leave: Leave) -> None:
    draft = leave.new(days=3)
    assert draft["state"] == "draft"
    # the state changes only through actions
    sneaky = leave.call(
        "ann", "PATCH", f"{BASE}/{draft['id']}", json={"state": "approved", "version": 1}
    )
    assert sneaky.status_code == 422
    assert sneaky.json()["error"]["details"][0]["code"] == "FIELD_READ_ONLY"

    refused = leave.act("ann", draft, "submit")  # reason is required to leave submitted, not draft
    assert refused.status_code == 200, refused.text
    submitted = refused.json()
    assert submitted["state"] == "submitted" and submitted["version"] == 2
    assert submitted["submitted_on"] == "2025-06-10"  # the effect, by the (test) clock

    no_reason = leave.act("vic", submitted, "approve", decision_note="ok", comment="fine by me")
    assert no_reason.status_code == 422
    assert [(d["path"], d["code"]) for d in no_reason.json()["error"]["details"]] == [
        ("/reason", "REQUIRED")
    ]
    # in submitted only the reason may change
    locked = leave.call("ann", "PATCH", f"{BASE}/{draft['id']}", json={"days": 5, "version": 2})
    assert locked.status_code == 422
    assert locked.json()["error"]["details"] == [
        {
            "path": "/days",
            "code": "FIELD_LOCKED",
            "message": "days cannot change in state 'submitted'",
        }
    ]
    edited = leave.call(
        "ann", "PATCH", f"{BASE}/{draft['id']}", json={"reason": "wedding", "version": 2}
    )
    assert edited.status_code == 200, edited.text

    approved = leave.act("vic", edited.json(), "approve", decision_note="ok", comment="fine by me")
    assert approved.status_code == 200, approved.text
    done = approved.json()
    assert done["state"] == "approved" and done["decision_note"] == "ok"
    vic_id = leave.client.app.state.users.get("vic").id  # type: ignore[attr-defined]
    assert done["decided_by"] == vic_id
    # approved is terminal: nothing changes, nothing leaves it
    frozen = leave.call("ann", "PATCH", f"{BASE}/{draft['id']}", json={"reason": "x", "version": 4})
    assert (
        frozen.status_code == 422 and frozen.json()["error"]["details"][0]["code"] == "FIELD_LOCKED"
    )
    again = leave.act("vic", done, "approve")
    assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_TRANSITION"
    assert "possible: none" in again.json()["error"]["message"]

    history = leave.call("ann", "GET", f"{BASE}/{draft['id']}/history").json()["data"]
    steps = [(h["operation"], h["actor"], h["comment"]) for h in history]
    assert steps == [
        ("create", "ann", None),
        ("action:submit", "ann", None),
        ("update", "ann", None),
        ("action:approve", "vic", "fine by me"),
    ]
    assert history[1]["changes"]["state"] == {"before": "draft", "after": "submitted"}
    assert history[3]["changes"]["state"] == {"before": "submitted", "after": "approved"}


def test_conditions_required_fields_and_inputs_are_checked(leave: Leave) -> None:
    record = leave.new()
    missing = leave.act("ann", record, "submit")
    assert missing.status_code == 422
    assert missing.json()["error"]["details"] == [
        {"path": "/days", "code": "REQUIRED", "message": "days is required to submit"}
    ]
    leave.call("ann", "PATCH", f"{BASE}/{record['id']}", json={"days": 40, "version": 1})
    too_long = leave.act("ann", record, "submit")
    assert too_long.status_code == 422
    error = too_long.json()["error"]
    assert error["code"] == "DAYS_OUT_OF_RANGE"
    assert error["details"][0]["message"] == "a request is for 1 to 20 days"
    leave.call("ann", "PATCH", f"{BASE}/{record['id']}", json={"days": 2, "version": 2})
    submitted = leave.act("ann", record, "submit", version=3).json()
    # reject needs its declared input; undeclared inputs and bad comments are refused
    no_note = leave.act("vic", submitted, "reject")
    assert no_note.status_code == 422
    assert no_note.json()["error"]["details"][0]["path"] == "/decision_note"
    unknown = leave.act("vic", submitted, "reject", decision_note="no", days=1)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["details"][0] == {
        "path": "/days",
        "code": "UNKNOWN_FIELD",
        "message": "reject takes no input 'days'",
    }
    bad_comment = leave.act("vic", submitted, "reject", decision_note="no", comment=["x"])
    assert bad_comment.status_code == 422
    stale = leave.act("vic", submitted, "reject", decision_note="no", version=1)
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "VERSION_CONFLICT"
    nothing = leave.call("ann", "GET", f"{BASE}/{record['id']}").json()
    assert nothing["state"] == "submitted" and nothing["version"] == 4


def test_who_may_act(leave: Leave) -> None:
    anns = leave.act("ann", leave.new(days=1, reason="family"), "submit").json()
    # bob is a member but the rule for submit and recall holds only for his own requests
    assert leave.act("bob", anns, "recall").status_code == 403
    # a member may not approve; the approver may not recall (no rule grants it)
    assert leave.act("ann", anns, "approve").status_code == 403
    assert leave.act("vic", anns, "recall").status_code == 403
    # eve's rule grants reject, but the transition is for approvers only
    eve = leave.act("eve", anns, "reject", decision_note="no")
    assert eve.status_code in (403, 404)
    # an action the workflow does not have, and a record that does not exist
    assert leave.act("ann", anns, "teleport").json()["error"]["code"] == "UNKNOWN_ACTION"
    assert leave.act("ann", {"id": 999999}, "submit").status_code == 404
    # the owner recalls (condition owner = @me), then the record is a draft again
    back = leave.act("ann", anns, "recall")
    assert back.status_code == 200 and back.json()["state"] == "draft"


def test_people_acting_at_once_make_exactly_one_transition(leave: Leave) -> None:
    _race(leave)


def test_people_acting_at_once_under_the_shared_test_clock(db_url: str) -> None:
    """The test clock lives in the database; each request reads it once, so a request
    in a transaction never waits for a second connection (which emptied the pool)."""
    with _leave(db_url, test_clock=True) as leave:
        root = leave.client.app.state.users  # type: ignore[attr-defined]
        root.create("root", "a long enough secret", roles=["system_admin"])
        moved = leave.call(
            "root", "POST", "/api/v1/admin/clock", json={"now": "2025-07-01T08:00:00"}
        )
        assert moved.status_code == 200
        record = _race(leave)
        submitted = leave.call("ann", "GET", f"{BASE}/{record['id']}").json()
        assert submitted["submitted_on"] == "2025-07-01"


def _race(leave: Leave) -> dict[str, Any]:
    record = leave.act("ann", leave.new(days=1, reason="r"), "submit").json()
    leave.act("vic", record, "approve")  # warm: the token exists before the race
    record = leave.act("ann", leave.new(days=1, reason="r"), "submit").json()
    add = leave.client.app.state.users  # type: ignore[attr-defined]
    for name in ("val", "vera", "vince"):
        add.create(name, "a long enough secret", roles=["leave.approver"])
        leave.tokens[name] = issue_token(leave.client, name)
    deciders = ["vic", "val", "vera", "vince"] * 5  # 20 calls
    barrier = threading.Barrier(len(deciders))
    answers: list[int] = []

    def decide(i: int, user: str) -> None:
        barrier.wait()
        if i % 2:
            answer = leave.act(user, record, "approve", comment=f"yes {i}")
        else:
            answer = leave.act(user, record, "reject", decision_note="no", comment=f"no {i}")
        answers.append(answer.status_code)

    threads = [threading.Thread(target=decide, args=(i, u)) for i, u in enumerate(deciders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(answers).count(200) == 1 and set(answers) <= {200, 409}
    final = leave.call("ann", "GET", f"{BASE}/{record['id']}").json()
    history = leave.call("ann", "GET", f"{BASE}/{record['id']}/history").json()["data"]
    decisions = [h for h in history if h["operation"] in ("action:approve", "action:reject")]
    assert len(decisions) == 1
    assert decisions[0]["changes"]["state"]["after"] == final["state"]
    assert final["version"] == record["version"] + 1
    decided = [
        n
        for n in leave.call("ann", "GET", "/api/v1/notifications").json()["data"]
        if n["record_id"] == record["id"] and n["cause"].split()[0] != "action:submit"
    ]
    assert len(decided) == 1 and decided[0]["message"].endswith(final["state"])
    return record


def test_the_state_filters_sorts_and_counts_like_a_field(leave: Leave) -> None:
    first = leave.new(days=1, reason="a")
    leave.act("ann", first, "submit")
    leave.new(days=2)
    drafts = leave.call("ann", "GET", BASE, params={"filter": 'state = "draft"'}).json()["data"]
    assert [r["days"] for r in drafts] == [2]
    ordered = leave.call("ann", "GET", BASE, params={"sort": "-state"}).json()["data"]
    assert [r["state"] for r in ordered] == ["submitted", "draft"]
    counted = leave.call(
        "ann", "GET", "/api/v1/apps/leave/objects/request/aggregate", params={"group_by": "state"}
    )
    assert counted.status_code == 200, counted.text
    assert {(g["state"], g["count"]) for g in counted.json()["data"]} == {
        ("draft", 1),
        ("submitted", 1),
    }


def test_a_timer_takes_its_action_when_its_time_comes(db_url: str) -> None:
    with _leave(db_url, test_clock=True, run_jobs=False) as leave:
        users = leave.client.app.state.users  # type: ignore[attr-defined]
        users.create("root", "a long enough secret", roles=["system_admin"])

        def clock(now: str) -> None:
            moved = leave.call("root", "POST", "/api/v1/admin/clock", json={"now": now})
            assert moved.status_code == 200

        def run_due() -> list[dict[str, Any]]:
            ran = leave.call("root", "POST", "/api/v1/admin/jobs/run-due")
            assert ran.status_code == 200
            return ran.json()["ran"]  # type: ignore[no-any-return]

        def timers() -> list[tuple[str, str]]:
            found = leave.call("root", "GET", "/api/v1/jobs", params={"everyone": "true"})
            jobs = [j for j in found.json()["data"] if j["kind"] == "timer"]
            return [(j["status"], j["run_at"]) for j in jobs]

        clock("2025-06-10T09:00:00")
        record = leave.act("ann", leave.new(days=2, reason="rest"), "submit").json()
        assert timers() == [("queued", "2025-06-13T00:00:00")]
        assert run_due() == []  # not yet
        # an edit that leaves the time alone moves nothing; a recall cancels the timer
        leave.call(
            "ann", "PATCH", f"{BASE}/{record['id']}", json={"reason": "a rest", "version": 2}
        )
        assert timers() == [("queued", "2025-06-13T00:00:00")]
        draft = leave.act("ann", record, "recall").json()
        assert timers() == [("cancelled", "2025-06-13T00:00:00")]
        clock("2025-06-11T10:00:00")
        again = leave.act("ann", draft, "submit").json()
        assert timers()[0] == ("queued", "2025-06-14T00:00:00")

        clock("2025-06-14T08:00:00")
        ran = run_due()
        assert [(j["kind"], j["status"]) for j in ran] == [("timer", "done")]
        assert ran[0]["result"] == {"action": "approve", "id": record["id"]}
        now = leave.call("ann", "GET", f"{BASE}/{record['id']}").json()
        assert now["state"] == "approved" and now["version"] == again["version"] + 1
        assert now["decided_by"] is None  # @me of the system: nobody
        history = leave.call("ann", "GET", f"{BASE}/{record['id']}/history").json()["data"]
        last = history[-1]
        assert (last["operation"], last["actor"], last["on_behalf_of"]) == (
            "action:approve",
            "system",
            "timer auto_approve",
        )
        assert run_due() == []  # once


def test_a_timer_whose_record_moved_on_does_nothing(leave: Leave) -> None:
    state = leave.client.app.state  # type: ignore[attr-defined]
    record = leave.act("ann", leave.new(days=2, reason="rest"), "submit").json()
    leave.act("vic", record, "approve")
    assert [j.status for j in state.jobs.list(kinds=["timer"])] == ["cancelled"]
    # a job left behind for a record that moved on (as after a crash) only says so
    timers = state.current.view().timers
    with write_transaction(state.engine) as conn:
        state.jobs.enqueue(
            conn,
            "timer",
            now=datetime(2025, 6, 10),
            payload={"object": "leave.request", "id": record["id"], "timer": "auto_approve"},
        )
    state.runner.clock.set(datetime(2025, 7, 1))
    ran = state.runner.run_due(kinds=["timer"])
    assert [(j.status, j.result) for j in ran] == [
        ("done", {"skipped": "the record is 'approved' and not due"})
    ]
    assert timers is state.current.view().timers


def test_a_scheduled_change_is_pending_until_its_time_then_applied_once(db_url: str) -> None:
    with _leave(db_url, test_clock=True, run_jobs=False) as leave:
        users = leave.client.app.state.users  # type: ignore[attr-defined]
        users.create("root", "a long enough secret", roles=["system_admin"])
        at = leave.call("root", "POST", "/api/v1/admin/clock", json={"now": "2025-06-10T09:00:00"})
        assert at.status_code == 200
        record = leave.new(days=2)
        path = f"{BASE}/{record['id']}/scheduled-changes"
        made = leave.call(
            "ann", "POST", path, json={"effective_at": "2025-07-01", "changes": {"days": 5}}
        )
        assert made.status_code == 201, made.text
        change = made.json()
        assert change["effective_at"] == "2025-07-01T00:00:00"
        assert (change["fields"], change["changes"]) == (["days"], {"days": 5})
        # problems are found now, not on the day
        for body, where, code in [
            ({"effective_at": "2025-06-01", "changes": {"days": 5}}, "/effective_at", "NOT_FUTURE"),
            ({"effective_at": "soon", "changes": {"days": 5}}, "/effective_at", "INVALID_VALUE"),
            (
                {"effective_at": "2025-07-01", "changes": {"days": "x"}},
                "/changes/days",
                "INVALID_VALUE",
            ),
            (
                {"effective_at": "2025-07-01", "changes": {"state": "x"}},
                "/changes/state",
                "FIELD_READ_ONLY",
            ),
        ]:
            refused = leave.call("ann", "POST", path, json=body)
            assert refused.status_code == 422, (body, refused.text)
            assert refused.json()["error"]["details"][0]["path"] == where
            assert refused.json()["error"]["details"][0]["code"] == code
        assert (
            leave.call(
                "bob", "POST", path, json={"effective_at": "2025-07-01", "changes": {"days": 1}}
            ).status_code
            == 403
        )
        # pending: the author sees the values, another reader only which fields
        mine = leave.call("ann", "GET", path).json()["data"]
        assert [c["changes"] for c in mine] == [{"days": 5}]
        theirs = leave.call("vic", "GET", path).json()["data"]
        assert [("changes" in c, c["fields"]) for c in theirs] == [(False, ["days"])]
        # a second change, cancelled, never happens
        later = leave.call(
            "ann", "POST", path, json={"effective_at": "2025-08-01", "changes": {"days": 9}}
        )
        assert (
            leave.call("ann", "POST", f"/api/v1/jobs/{later.json()['id']}/cancel").status_code
            == 200
        )
        assert len(leave.call("ann", "GET", path).json()["data"]) == 1

        assert leave.call("root", "POST", "/api/v1/admin/jobs/run-due").json() == {"ran": []}
        leave.call("root", "POST", "/api/v1/admin/clock", json={"now": "2025-07-02T00:00:00"})
        ran = leave.call("root", "POST", "/api/v1/admin/jobs/run-due").json()["ran"]
        assert [(j["kind"], j["status"]) for j in ran] == [("scheduled_change", "done")]
        now = leave.call("ann", "GET", f"{BASE}/{record['id']}").json()
        assert now["days"] == 5 and now["version"] == 2
        assert leave.call("ann", "GET", path).json()["data"] == []
        history = leave.call("ann", "GET", f"{BASE}/{record['id']}/history").json()["data"]
        assert [(h["operation"], h["actor"]) for h in history] == [
            ("create", "ann"),
            ("update", "ann"),
        ]


def test_a_scheduled_change_the_record_refuses_by_then_fails_and_writes_nothing(
    db_url: str,
) -> None:
    with _leave(db_url, test_clock=True, run_jobs=False) as leave:
        users = leave.client.app.state.users  # type: ignore[attr-defined]
        users.create("root", "a long enough secret", roles=["system_admin"])
        leave.call("root", "POST", "/api/v1/admin/clock", json={"now": "2025-06-10T09:00:00"})
        record = leave.new(days=2, reason="r")
        path = f"{BASE}/{record['id']}/scheduled-changes"
        body = {"effective_at": "2025-07-01T09:00:00+08:00", "changes": {"days": 3}}
        made = leave.call("ann", "POST", path, json=body).json()
        assert made["effective_at"] == "2025-07-01T01:00:00"  # kept in UTC
        leave.act("ann", record, "submit")  # days are locked in submitted
        leave.call("root", "POST", "/api/v1/admin/clock", json={"now": "2025-07-02T00:00:00"})
        ran = leave.call("root", "POST", "/api/v1/admin/jobs/run-due").json()["ran"]
        changes = [j for j in ran if j["kind"] == "scheduled_change"]
        assert [j["status"] for j in changes] == ["failed"]
        assert changes[0]["result"]["details"][0]["code"] == "FIELD_LOCKED"
        now = leave.call("ann", "GET", f"{BASE}/{record['id']}").json()
        assert now["days"] == 2  # (the auto_approve timer ran meanwhile: approved)


def _reminding() -> dict[str, Any]:
    """The leave app with a reminder count, a self-loop action that counts, a repeating
    timer (every 2 days from the day after submitting, until 6 days after) and a
    one-time timer whose time has already passed when a request is submitted."""
    app = copy.deepcopy(APP)
    app["objects"][0]["fields"].append({"name": "reminders", "type": "integer", "system": True})
    flow = app["workflows"][0]
    flow["transitions"].append(
        {
            "action": "remind",
            "from": ["submitted"],
            "to": "submitted",
            "effects": [{"set": {"reminders": "COALESCE(reminders, 0) + 1"}}],
        }
    )
    flow["timers"] = [
        {
            "name": "chase",
            "at": "submitted_on + 1",
            "every": 2,
            "until": "submitted_on + 6",
            "action": "remind",
        },
        {"name": "nudge", "at": "submitted_on - 1", "action": "remind"},
    ]
    return app


def test_a_repeating_timer_runs_on_each_occurrence_until_its_last_day(db_url: str) -> None:
    with _leave(db_url, _reminding(), test_clock=True, run_jobs=False) as leave:
        users = leave.client.app.state.users  # type: ignore[attr-defined]
        users.create("root", "a long enough secret", roles=["system_admin"])

        def at(now: str) -> list[tuple[str, str]]:
            leave.call("root", "POST", "/api/v1/admin/clock", json={"now": now})
            ran = leave.call("root", "POST", "/api/v1/admin/jobs/run-due").json()["ran"]
            return [(j["result"].get("action", "skipped"), j["run_at"]) for j in ran]

        assert at("2025-06-10T09:00:00") == []
        record = leave.act("ann", leave.new(days=2, reason="r"), "submit").json()
        # the one-time nudge was due yesterday: it fires once, now, and never again
        assert at("2025-06-10T09:00:01") == [("remind", "2025-06-09T00:00:00")]
        assert at("2025-06-10T10:00:00") == []
        assert at("2025-06-11T00:00:00") == [("remind", "2025-06-11T00:00:00")]
        assert at("2025-06-12T12:00:00") == []
        # after downtime, a missed occurrence runs once, and the next one is in the future
        assert at("2025-06-15T12:00:00") == [("remind", "2025-06-13T00:00:00")]
        assert at("2025-06-16T23:00:00") == []  # 06-17 is past the last day (06-16)
        final = leave.call("ann", "GET", f"{BASE}/{record['id']}").json()
        assert final["reminders"] == 3 and final["state"] == "submitted"
        found = leave.call("root", "GET", "/api/v1/jobs", params={"everyone": "true"}).json()
        assert [j for j in found["data"] if j["status"] == "queued"] == []


def test_actions_notify_the_people_they_name(leave: Leave) -> None:
    record = leave.act("ann", leave.new(days=1, reason="r", title="Trip to Dali"), "submit").json()
    inbox = leave.call("vic", "GET", "/api/v1/notifications").json()
    assert inbox["unread"] == 1
    note = inbox["data"][0]
    assert (note["message"], note["record_id"], note["cause"]) == (
        "To decide: Trip to Dali",
        record["id"],
        "action:submit by ann",
    )
    assert leave.call("ann", "GET", "/api/v1/notifications").json() == {"data": [], "unread": 0}
    leave.act("vic", record, "approve")
    mine = leave.call("ann", "GET", "/api/v1/notifications", params={"unread": "true"}).json()
    assert [n["message"] for n in mine["data"]] == ["Trip to Dali is approved"]
    # one's own only: marking someone else's does nothing
    other = leave.call(
        "vic", "POST", "/api/v1/notifications/read", json={"ids": [mine["data"][0]["id"]]}
    )
    assert other.json() == {"marked": 0}
    done = leave.call("ann", "POST", "/api/v1/notifications/read", json={"all": True})
    assert done.json() == {"marked": 1}
    assert leave.call("ann", "GET", "/api/v1/notifications").json()["unread"] == 0
    bad = leave.call("ann", "POST", "/api/v1/notifications/read", json={"ids": "all"})
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "/ids"
