"""An expense app on a three-level org, for the approval tests.

Departments: ``root`` (HRBP: hana) → ``bu`` → ``team``. People (user = employee):
ceo; vp (manager ceo, dept bu); mgr (manager vp, dept team); emp (manager mgr, dept
team); hana (HRBP, dept root); hugo (dept bu); bo1, bo2 (board); adm (admin role);
out (can read, holds no part); nobody (reads nothing).

An expense goes draft → pending (approval) → approved / rejected; ``return`` and
``withdraw`` lead back to draft. The route: the employee's manager; the HRBP of the
department or its nearest ancestor when the amount is over 1,000; the manager two levels
up for kind "big"; every board member when the amount is over 50,000.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from runtime.metadata.package import read_package_bytes
from tests.auth_support import Caller, add_user, make_client

BASE = "/api/v1/apps/exp/objects"

APP: dict[str, Any] = {
    "name": "exp",
    "version": "1.0.0",
    "title": {"en": "Expenses"},
    "roles": [{"name": "staff"}, {"name": "board"}, {"name": "admin"}],
    "objects": [
        {
            "name": "department",
            "fields": [
                {"name": "name", "type": "text", "required": True},
                {"name": "parent", "type": "reference", "to": "department"},
                {"name": "hrbp", "type": "reference", "to": "employee"},
            ],
        },
        {
            "name": "employee",
            "fields": [
                {"name": "name", "type": "text", "required": True},
                {"name": "user", "type": "user"},
                {"name": "manager", "type": "reference", "to": "employee"},
                {"name": "department", "type": "reference", "to": "department"},
            ],
        },
        {
            "name": "expense",
            "fields": [
                {"name": "title", "type": "text", "required": True},
                {"name": "employee", "type": "reference", "to": "employee", "required": True},
                {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
                {"name": "kind", "type": "select", "options": ["small", "big"]},
                {"name": "owner", "type": "user"},
                {"name": "approved_on", "type": "date", "system": True},
            ],
        },
    ],
    "workflows": [
        {
            "name": "expense_flow",
            "object": "expense",
            "initial": "draft",
            "states": [
                {"name": "draft"},
                {
                    "name": "pending",
                    "approval": {
                        "summary": 'title & " (" & employee.name & ")"',
                        "steps": [
                            {
                                "name": "manager",
                                "approvers": [{"user": "employee.manager.user"}],
                            },
                            {
                                "name": "hrbp",
                                "approvers": [
                                    {
                                        "from": "employee.department",
                                        "up": "parent",
                                        "user": "hrbp.user",
                                    }
                                ],
                                "when": "amount > 1000",
                            },
                            {
                                "name": "skip",
                                "approvers": [
                                    {
                                        "from": "employee",
                                        "up": "manager",
                                        "levels": 2,
                                        "user": "user",
                                    }
                                ],
                                "when": 'kind = "big"',
                            },
                            {
                                "name": "board",
                                "approvers": [{"role": "board"}],
                                "mode": "all",
                                "when": "amount > 50000",
                            },
                        ],
                    },
                },
                {"name": "approved", "terminal": True},
                {"name": "rejected", "terminal": True},
            ],
            "transitions": [
                {"action": "submit", "from": ["draft"], "to": "pending"},
                {
                    "action": "approve",
                    "from": ["pending"],
                    "to": "approved",
                    "effects": [{"set": {"approved_on": "TODAY()"}}],
                },
                {"action": "reject", "from": ["pending"], "to": "rejected"},
                {"action": "return", "from": ["pending"], "to": "draft"},
                {"action": "withdraw", "from": ["pending"], "to": "draft"},
            ],
        }
    ],
    "permissions": [
        {"role": "staff", "object": "department", "actions": ["read"]},
        {"role": "staff", "object": "employee", "actions": ["read"]},
        {"role": "staff", "object": "expense", "actions": ["read", "create"]},
        {
            "role": "staff",
            "object": "expense",
            "actions": ["update", "submit"],
            "scope": "owner = @me",
        },
        {"role": "admin", "object": "department", "actions": ["read", "create", "update"]},
        {"role": "admin", "object": "employee", "actions": ["read", "create", "update"]},
    ],
}

PEOPLE = ["ceo", "vp", "mgr", "emp", "hana", "hugo", "bo1", "bo2", "adm", "out"]


def variant(**approval: Any) -> dict[str, Any]:
    """APP with the approval's settings (or steps) replaced."""
    app = copy.deepcopy(APP)
    app["workflows"][0]["states"][1]["approval"].update(approval)
    return app


class Org(Caller):
    def make(self, obj: str, **fields: Any) -> int:
        made = self.call("adm", "POST", f"{BASE}/{obj}/records", json=fields)
        assert made.status_code == 201, made.text
        return int(made.json()["id"])

    def set(self, obj: str, record_id: int, **fields: Any) -> None:
        now = self.call("adm", "GET", f"{BASE}/{obj}/records/{record_id}").json()
        done = self.call(
            "adm",
            "PATCH",
            f"{BASE}/{obj}/records/{record_id}",
            json={**fields, "version": now["version"]},
        )
        assert done.status_code == 200, done.text

    def expense(self, owner: str = "emp", employee: str = "emp", **fields: Any) -> dict[str, Any]:
        body = {"title": "Taxi", "employee": self.ids[employee], "owner": owner}
        body |= {"amount": "100", "kind": "small", **fields}
        made = self.call(owner, "POST", f"{BASE}/expense/records", json=body)
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    def act(self, who: str, record: dict[str, Any] | int, action: str, /, **body: Any) -> Any:
        record_id = record if isinstance(record, int) else record["id"]
        path = f"{BASE}/expense/records/{record_id}/actions/{action}"
        return self.call(who, "POST", path, json=body)

    def get(self, record: dict[str, Any] | int, user: str = "emp") -> dict[str, Any]:
        record_id = record if isinstance(record, int) else record["id"]
        found = self.call(user, "GET", f"{BASE}/expense/records/{record_id}")
        assert found.status_code == 200, found.text
        return found.json()  # type: ignore[no-any-return]

    def tasks(self, user: str, **params: Any) -> list[dict[str, Any]]:
        found = self.call(user, "GET", "/api/v1/tasks", params=params)
        assert found.status_code == 200, found.text
        return found.json()["data"]  # type: ignore[no-any-return]

    def trail(self, record: dict[str, Any] | int, user: str = "emp") -> Any:
        record_id = record if isinstance(record, int) else record["id"]
        return self.call(user, "GET", f"{BASE}/expense/records/{record_id}/approvals")

    def history(self, record: dict[str, Any]) -> list[dict[str, Any]]:
        path = f"{BASE}/expense/records/{record['id']}/history"
        return self.call("emp", "GET", path).json()["data"]  # type: ignore[no-any-return]

    def ids_user(self, username: str) -> int:
        users = self.client.app.state.users  # type: ignore[attr-defined]
        return int(users.get(username).id)

    def notes(self, user: str) -> list[str]:
        found = self.call(user, "GET", "/api/v1/notifications").json()["data"]
        return [n["message"] for n in found]


@contextmanager
def org(db_url: str, app: dict[str, Any] = APP, **settings: Any) -> Iterator[Org]:
    with make_client(db_url, **settings) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(app).encode(), "exp.json"), actor="t")
        for name in PEOPLE:
            roles = ["exp.staff"]
            roles += ["exp.board"] if name.startswith("bo") else []
            roles += ["exp.admin"] if name == "adm" else []
            add_user(client, name, roles=roles, password=None)
        add_user(client, "nobody", password=None)
        found = Org(client)
        root = found.make("department", name="Root")
        bu = found.make("department", name="BU", parent=root)
        team = found.make("department", name="Team", parent=bu)
        found.ids |= {"root": root, "bu": bu, "team": team}
        chain = [("ceo", None, root), ("vp", "ceo", bu), ("mgr", "vp", team), ("emp", "mgr", team)]
        chain += [("hana", "ceo", root), ("hugo", "vp", bu)]
        for name, manager, dept in chain:
            found.ids[name] = found.make(
                "employee",
                name=name.title(),
                user=name,
                department=dept,
                manager=found.ids[manager] if manager else None,
            )
        found.set("department", root, hrbp=found.ids["hana"])
        yield found
