"""Effects that write other records, in the action's transaction, on SQLite and
PostgreSQL: every related row (a snapshot), the referenced record in a required app, a
new record there; as the acting user or, where declared, as the system; all or nothing."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from runtime.metadata.package import read_package_bytes
from runtime.metadata.validate import definition_issues
from tests.auth_support import Caller, add_user, make_client

CORE: dict[str, Any] = {
    "name": "core",
    "version": "1.0.0",
    "title": {"en": "Core"},
    "roles": [{"name": "hr"}],
    "objects": [
        {
            "name": "employee",
            "fields": [
                {"name": "name", "type": "text", "required": True},
                {"name": "status", "type": "select", "options": ["active", "leaving"]},
                {"name": "on_pip", "type": "boolean", "system": True},
            ],
        },
        {
            "name": "offboarding",
            "fields": [
                {"name": "employee", "type": "reference", "to": "employee", "required": True},
                {"name": "reason", "type": "text", "required": True},
                {"name": "last_day", "type": "date"},
                {"name": "opened_by", "type": "user"},
            ],
            "rules": [{"when": "last_day < TODAY()", "message": "the last day is past"}],
        },
    ],
    "permissions": [
        {"role": "hr", "object": "employee", "actions": ["read", "create", "update"]},
        {"role": "hr", "object": "offboarding", "actions": ["read", "create"]},
        {"role": "authenticated", "object": "employee", "actions": ["read"]},
    ],
}

PLAN: dict[str, Any] = {
    "name": "plan",
    "version": "1.0.0",
    "title": {"en": "Plan"},
    "requires": {"core": "^1.0"},
    "roles": [{"name": "owner"}],
    "objects": [
        {
            "name": "plan",
            "fields": [
                {"name": "title", "type": "text", "required": True},
                {"name": "employee", "type": "reference", "to": "core.employee"},
                {"name": "budget", "type": "decimal", "precision": 12, "scale": 2},
                {"name": "days", "type": "integer"},
                {
                    "name": "total",
                    "type": "rollup",
                    "formula": "SUM(lines.amount, eligible)",
                    "returns": "decimal",
                },
                {
                    "name": "scale",
                    "type": "formula",
                    "formula": "IF(total > budget, budget / total, 1)",
                    "returns": "decimal",
                },
            ],
        },
        {
            "name": "line",
            "fields": [
                {
                    "name": "plan",
                    "type": "reference",
                    "to": "plan",
                    "related_name": "lines",
                    "required": True,
                },
                {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
                {"name": "eligible", "type": "boolean"},
                {
                    "name": "suggested",
                    "type": "decimal",
                    "precision": 12,
                    "scale": 0,
                    "system": True,
                },
            ],
        },
    ],
    "workflows": [
        {
            "name": "plan_flow",
            "object": "plan",
            "states": [{"name": "draft"}, {"name": "open"}, {"name": "closed"}],
            "transitions": [
                {
                    "action": "open",
                    "from": ["draft"],
                    "to": "open",
                    "effects": [
                        {
                            "each": {
                                "relation": "lines",
                                "where": "eligible",
                                "set": {"suggested": "ROUNDDOWN(amount * plan.scale, 0)"},
                            }
                        },
                        {
                            "update": {
                                "record": "employee",
                                "set": {"on_pip": "TRUE"},
                                "as": "system",
                            }
                        },
                    ],
                },
                {
                    "action": "close",
                    "from": ["open"],
                    "to": "closed",
                    "effects": [
                        {
                            "create": {
                                "object": "core.offboarding",
                                "values": {
                                    "employee": "employee",
                                    "reason": '"plan closed: " & title',
                                    "last_day": "TODAY() + days",
                                    "opened_by": "@me",
                                },
                                "as": "system",
                            }
                        },
                        {
                            "update": {
                                "record": "employee",
                                "set": {"on_pip": "FALSE"},
                                "as": "system",
                            }
                        },
                    ],
                },
                {
                    "action": "fail",
                    "from": ["open"],
                    "to": "closed",
                    "effects": [
                        {
                            "update": {
                                "record": "employee",
                                "set": {"on_pip": "FALSE"},
                                "as": "system",
                            }
                        },
                        {
                            "create": {
                                "object": "core.offboarding",
                                "values": {"employee": "employee", "reason": '"failed"'},
                            }
                        },
                    ],
                },
            ],
        }
    ],
    "permissions": [
        {
            "role": "owner",
            "object": "plan",
            "actions": ["read", "create", "update", "open", "close", "fail"],
        },
        {"role": "owner", "object": "line", "actions": ["read", "create", "update"]},
    ],
}


class Apps(Caller):
    def make(self, user: str, path: str, **fields: Any) -> dict[str, Any]:
        made = self.call(user, "POST", f"/api/v1/apps/{path}/records", json=fields)
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    def get(self, user: str, path: str) -> dict[str, Any]:
        found = self.call(user, "GET", f"/api/v1/apps/{path}")
        assert found.status_code == 200, found.text
        return found.json()  # type: ignore[no-any-return]

    def act(self, user: str, plan: dict[str, Any], action: str) -> Any:
        path = f"/api/v1/apps/plan/objects/plan/records/{plan['id']}/actions/{action}"
        return self.call(user, "POST", path, json={})


@contextmanager
def _apps(db_url: str, plan: dict[str, Any] = PLAN) -> Iterator[Apps]:
    with make_client(db_url) as client:
        state = client.app.state  # type: ignore[attr-defined]
        for app in (CORE, plan):
            package = read_package_bytes(json.dumps(app).encode(), f"{app['name']}.json")
            state.apps.install(package, actor="t")
        add_user(client, "hr", roles=["core.hr"], password=None)
        add_user(client, "ann", roles=["plan.owner"], password=None)
        yield Apps(client)


@pytest.fixture
def apps(db_url: str) -> Iterator[Apps]:
    with _apps(db_url) as found:
        yield found


def _plan(apps: Apps, **fields: Any) -> tuple[dict[str, Any], dict[str, Any], list[int]]:
    employee = apps.make("hr", "core/objects/employee", name="Eve", status="active")
    plan = apps.make(
        "ann", "plan/objects/plan", title="P1", employee=employee["id"], budget="1000", **fields
    )
    lines = [
        apps.make("ann", "plan/objects/line", plan=plan["id"], amount=a, eligible=e)["id"]
        for a, e in (("700", True), ("800", True), ("999", False))
    ]
    return employee, plan, lines


def test_an_action_snapshots_every_related_row_and_updates_the_referenced_record(
    apps: Apps,
) -> None:
    employee, plan, lines = _plan(apps)
    opened = apps.act("ann", plan, "open")
    assert opened.status_code == 200, opened.text
    # scale = 1000 / 1500; 700 * 2/3 = 466.67 → 466; 800 * 2/3 = 533.33 → 533; Σ 999 ≤ 1000
    got = [apps.get("ann", f"plan/objects/line/records/{i}")["suggested"] for i in lines]
    assert got == ["466", "533", None]
    assert apps.get("hr", f"core/objects/employee/records/{employee['id']}")["on_pip"] is True
    path = f"/api/v1/apps/core/objects/employee/records/{employee['id']}/history"
    last = apps.call("hr", "GET", path).json()["data"][-1]
    assert (last["operation"], last["actor"]) == ("update", "system")
    assert last["on_behalf_of"] == f"effect of action:open on plan {plan['id']} by ann"
    line_history = apps.call(
        "ann", "GET", f"/api/v1/apps/plan/objects/line/records/{lines[0]}/history"
    )
    entry = line_history.json()["data"][-1]
    assert (entry["actor"], entry["on_behalf_of"]) == (
        "ann",
        f"effect of action:open on plan {plan['id']} by ann",
    )


def test_an_action_creates_a_record_in_a_required_app(apps: Apps) -> None:
    employee, plan, _ = _plan(apps, days=30)
    apps.act("ann", plan, "open")
    closed = apps.act("ann", plan, "close")
    assert closed.status_code == 200, closed.text
    cases = apps.call("hr", "GET", "/api/v1/apps/core/objects/offboarding/records").json()["data"]
    assert [(c["employee"], c["reason"], c["last_day"], c["opened_by"]) for c in cases] == [
        (employee["id"], "plan closed: P1", "2025-07-10", "ann")
    ]
    assert apps.get("hr", f"core/objects/employee/records/{employee['id']}")["on_pip"] is False


def test_an_effect_the_acting_user_may_not_write_refuses_the_whole_action(apps: Apps) -> None:
    employee, plan, _ = _plan(apps)
    apps.act("ann", plan, "open")
    before = apps.get("ann", f"plan/objects/plan/records/{plan['id']}")
    failed = apps.act("ann", plan, "fail")  # ann may not create offboarding cases
    assert failed.status_code == 403, failed.text
    after = apps.get("ann", f"plan/objects/plan/records/{plan['id']}")
    assert (after["state"], after["version"]) == ("open", before["version"])
    assert apps.get("hr", f"core/objects/employee/records/{employee['id']}")["on_pip"] is True
    cases = apps.call("hr", "GET", "/api/v1/apps/core/objects/offboarding/records").json()
    assert cases["data"] == []


def test_a_record_an_effect_creates_must_pass_its_rules(apps: Apps) -> None:
    employee, plan, _ = _plan(apps, days=-3)  # the last day would be in the past
    apps.act("ann", plan, "open")
    refused = apps.act("ann", plan, "close")
    assert refused.status_code == 422, refused.text
    detail = refused.json()["error"]["details"][0]
    assert detail["path"].startswith("/effects/0/create/values")
    assert apps.get("ann", f"plan/objects/plan/records/{plan['id']}")["state"] == "open"
    assert apps.get("hr", f"core/objects/employee/records/{employee['id']}")["on_pip"] is True


def _effects_issues(change: Any) -> list[tuple[str, str]]:
    plan = copy.deepcopy(PLAN)
    change(plan["workflows"][0]["transitions"])
    return [(i.path, i.code) for i in definition_issues(plan, {"core": CORE}.get)]


def test_effects_on_other_records_are_validated() -> None:
    assert _effects_issues(lambda t: None) == []

    def broken(transitions: list[dict[str, Any]]) -> None:
        effects = transitions[0]["effects"]
        effects[0]["each"]["relation"] = "linez"
        effects[1]["update"]["record"] = "title"
        transitions[1]["effects"][0]["create"]["values"]["nothing"] = "1"
        transitions[1]["effects"][0]["create"]["values"]["reason"] = "days"
        transitions[2]["effects"][1]["create"]["object"] = "core.ghost"
        transitions[1]["effects"][0]["create"]["for_each"] = {"field": "reason", "where": "1"}

    found = _effects_issues(broken)
    base = "/workflows/0/transitions"
    assert (f"{base}/0/effects/0/each/relation", "UNRESOLVED") in found
    assert (f"{base}/0/effects/1/update/record", "FORMULA_TYPE") in found
    assert (f"{base}/1/effects/0/create/values/nothing", "UNRESOLVED") in found
    assert (f"{base}/1/effects/0/create/values/reason", "FORMULA_TYPE") in found
    assert (f"{base}/2/effects/1/create/object", "UNRESOLVED") in found
    assert (f"{base}/1/effects/0/create/for_each/field", "UNRESOLVED") in found
