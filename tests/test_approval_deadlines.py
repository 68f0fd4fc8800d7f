"""Deadlines of approval steps and to-dos, driven by the test clock (no sleeps):
reminders before and after the due time, escalation by notice, transfer or decision,
and nothing left to do once the step is decided. Also: to-dos, and a running approval
keeping its route when the app is upgraded."""

from __future__ import annotations

import copy
import json
from typing import Any

from runtime.metadata.package import read_package_bytes
from tests.approvals_support import APP, Org, org, variant


def _deadline(**escalate: Any) -> dict[str, Any]:
    return {
        "due": "2",
        "remind": [1],
        "repeat": 1,
        "escalate": {"after": 1, "to": [{"role": "admin"}], **escalate},
    }


def _steps(**escalate: Any) -> list[dict[str, Any]]:
    return [
        {
            "name": "manager",
            "approvers": [{"user": "employee.manager.user"}],
            "deadline": _deadline(**escalate),
        },
        {"name": "board", "approvers": [{"role": "board"}], "when": "amount > 1000"},
    ]


class Clocked:
    def __init__(self, exp: Org) -> None:
        self.exp = exp
        exp.client.app.state.users.create(  # type: ignore[attr-defined]
            "root", None, roles=["system_admin"]
        )

    def at(self, now: str) -> None:
        moved = self.exp.call("root", "POST", "/api/v1/admin/clock", json={"now": now})
        assert moved.status_code == 200, moved.text

    def run_due(self) -> list[dict[str, Any]]:
        ran = self.exp.call("root", "POST", "/api/v1/admin/jobs/run-due")
        assert ran.status_code == 200, ran.text
        return [j for j in ran.json()["ran"] if j["kind"] == "deadline"]


def _clocked(db_url: str, app: dict[str, Any]) -> Any:
    return org(db_url, app, test_clock=True, run_jobs=False)


def test_reminders_come_before_and_after_the_due_time_and_stop_once_decided(
    db_url: str,
) -> None:
    with _clocked(db_url, variant(steps=_steps())) as exp:
        clock = Clocked(exp)
        clock.at("2025-06-10T09:00:00")
        record = exp.act("emp", exp.expense(), "submit").json()
        task = exp.tasks("mgr")[0]
        assert (task["due"], task["overdue"]) == ("2025-06-12T09:00:00", False)
        assert clock.run_due() == []
        clock.at("2025-06-11T09:30:00")  # a day before the due time
        ran = clock.run_due()
        assert [j["result"]["reminded"] for j in ran] == [[exp.ids_user("mgr")]]
        assert "Reminder: Taxi (Emp) is due 2025-06-12T09:00" in exp.notes("mgr")
        assert clock.run_due() == []  # once
        clock.at("2025-06-12T10:00:00")
        assert exp.tasks("mgr")[0]["overdue"] is True
        clock.at("2025-06-13T09:30:00")  # due + 1: a repeat reminder and the escalation
        ran = clock.run_due()
        assert ran[0]["result"]["escalated"] == "notify"
        assert any(
            n.startswith("Overdue since 2025-06-12T09:00: Taxi (Emp)") for n in exp.notes("adm")
        )
        assert any("waiting for mgr" in n for n in exp.notes("adm"))
        clock.at("2025-06-14T09:30:00")  # escalated once; reminders go on
        ran = clock.run_due()
        assert ran[0]["result"] == {"reminded": [exp.ids_user("mgr")], "escalated": None}
        exp.act("mgr", record, "approve")
        clock.at("2025-06-20T09:30:00")
        assert clock.run_due() == []  # decided: nothing is queued any more
        reminders = [n for n in exp.notes("mgr") if n.startswith("Reminder")]
        assert len(reminders) == 3


def test_missed_reminders_after_downtime_are_sent_once(db_url: str) -> None:
    with _clocked(db_url, variant(steps=_steps())) as exp:
        clock = Clocked(exp)
        clock.at("2025-06-10T09:00:00")
        exp.act("emp", exp.expense(), "submit")
        clock.at("2025-06-30T09:00:00")  # nothing ran for weeks
        ran = clock.run_due()
        assert len(ran) == 1 and ran[0]["result"]["escalated"] == "notify"
        assert len([n for n in exp.notes("mgr") if n.startswith("Reminder")]) == 1
        assert clock.run_due() == []


def test_an_escalation_transfers_the_task(db_url: str) -> None:
    with _clocked(db_url, variant(steps=_steps(do="transfer"))) as exp:
        clock = Clocked(exp)
        clock.at("2025-06-10T09:00:00")
        record = exp.act("emp", exp.expense(), "submit").json()
        clock.at("2025-06-13T10:00:00")
        assert clock.run_due()[0]["result"]["escalated"] == "transfer"
        assert exp.tasks("mgr") == [] and [t["origin"] for t in exp.tasks("adm")] == ["escalation"]
        assert exp.act("adm", record, "approve").json()["state"] == "approved"


def test_an_escalation_approves_the_step_as_the_system(db_url: str) -> None:
    with _clocked(db_url, variant(steps=_steps(do="approve"))) as exp:
        clock = Clocked(exp)
        clock.at("2025-06-10T09:00:00")
        record = exp.act("emp", exp.expense(amount="5000"), "submit").json()
        clock.at("2025-06-13T10:00:00")
        assert clock.run_due()[0]["result"]["escalated"] == "approve"
        assert exp.get(record)["state"] == "pending"  # the board step is next
        assert len(exp.tasks("bo1")) == 1
        last = exp.history(record)[-1]
        assert (last["operation"], last["actor"], last["on_behalf_of"]) == (
            "action:approve",
            "system",
            "escalation of manager",
        )
        exp.act("bo2", record, "approve")
        assert exp.get(record)["state"] == "approved"


def test_a_rejecting_escalation_ends_the_approval(db_url: str) -> None:
    with _clocked(db_url, variant(steps=_steps(do="reject"))) as exp:
        clock = Clocked(exp)
        clock.at("2025-06-10T09:00:00")
        record = exp.act("emp", exp.expense(), "submit").json()
        clock.at("2025-06-13T10:00:00")
        clock.run_due()
        assert exp.get(record)["state"] == "rejected" and exp.tasks("mgr") == []


def _with_todo() -> dict[str, Any]:
    app = copy.deepcopy(APP)
    app["workflows"][0]["states"][2]["todos"] = [
        {
            "name": "file_receipt",
            "title": '"File the receipt of " & title',
            "to": [{"field": "owner"}],
            "deadline": {"due": "approved_on + 5", "remind": [0]},
        }
    ]
    app["workflows"][0]["states"][2]["terminal"] = False
    app["workflows"][0]["states"].append({"name": "filed", "terminal": True})
    app["workflows"][0]["transitions"].append(
        {"action": "file", "from": ["approved"], "to": "filed"}
    )
    app["permissions"].append(
        {"role": "staff", "object": "expense", "actions": ["file"], "scope": "owner = @me"}
    )
    return app


def test_a_todo_waits_in_the_inbox_until_the_record_moves_on(db_url: str) -> None:
    with _clocked(db_url, _with_todo()) as exp:
        clock = Clocked(exp)
        clock.at("2025-06-10T09:00:00")
        record = exp.act("emp", exp.expense(), "submit").json()
        exp.act("mgr", record, "approve")
        todo = exp.tasks("emp")
        assert [(t["kind"], t["title"], t["due"], t["actions"]) for t in todo] == [
            ("todo", "File the receipt of Taxi", "2025-06-15", [])
        ]
        clock.at("2025-06-15T08:00:00")
        assert clock.run_due()[0]["result"]["reminded"] == [exp.ids_user("emp")]
        assert "Reminder: File the receipt of Taxi is due 2025-06-15" in exp.notes("emp")
        exp.act("emp", record, "file")
        assert exp.tasks("emp") == []
        assert exp.tasks("emp", status="closed")[0]["status"] == "done"
        assert exp.trail(record).json()["todos"][0]["status"] == "done"


def test_a_running_approval_keeps_its_route_when_the_app_is_upgraded(db_url: str) -> None:
    with org(db_url) as exp:
        record = exp.act("emp", exp.expense(amount="5000"), "submit").json()
        newer = copy.deepcopy(APP)
        newer["version"] = "1.1.0"
        steps = newer["workflows"][0]["states"][1]["approval"]["steps"]
        steps[1]["approvers"] = [{"role": "board"}]  # the HRBP step asks the board now
        package = read_package_bytes(json.dumps(newer).encode(), "exp.json")
        state = exp.client.app.state  # type: ignore[attr-defined]
        plan = state.apps.install(package, actor="t", dry_run=True).as_dict()["plan"]
        assert plan["in_flight"] == [
            {"object": "expense", "state": "pending", "version": "1.0.0", "count": 1}
        ]
        state.apps.install(package, actor="t")
        exp.act("mgr", record, "approve")
        assert [t["step"] for t in exp.tasks("hana")] == ["hrbp"]  # as it started
        assert exp.tasks("bo1") == []
        assert exp.trail(record).json()["approvals"][0]["app_version"] == "1.0.0"
        fresh = exp.act("emp", exp.expense(amount="5000"), "submit").json()
        exp.act("mgr", fresh, "approve")
        assert [t["record_id"] for t in exp.tasks("bo1")] == [fresh["id"]]
