"""An app's approvals and to-dos are checked when the package is validated: every
problem named with its JSON path, before anything is installed."""

from __future__ import annotations

import copy
from typing import Any

from runtime.metadata.validate import definition_issues
from tests.approvals_support import APP

PENDING = "/workflows/0/states/1"


def _issues(change: Any) -> list[tuple[str, str]]:
    app = copy.deepcopy(APP)
    change(app)
    return [(i.path, i.code) for i in definition_issues(app)]


def _approval(app: dict[str, Any]) -> dict[str, Any]:
    return app["workflows"][0]["states"][1]["approval"]  # type: ignore[no-any-return]


def test_the_example_app_is_valid() -> None:
    assert _issues(lambda app: None) == []


def test_an_approval_needs_approve_and_reject_transitions_out_of_its_state() -> None:
    def drop(app: dict[str, Any]) -> None:
        flow = app["workflows"][0]
        flow["transitions"] = [t for t in flow["transitions"] if t["action"] != "reject"]

    assert _issues(drop) == [(f"{PENDING}/approval", "MISSING")]


def test_an_approval_cannot_sit_on_the_initial_state() -> None:
    def move(app: dict[str, Any]) -> None:
        app["workflows"][0]["initial"] = "pending"

    assert (f"{PENDING}/approval", "INVALID") in _issues(move)


def test_people_rules_name_users() -> None:
    def rules(app: dict[str, Any]) -> None:
        steps = _approval(app)["steps"]
        steps[0]["approvers"] = [
            {"field": "title"},  # not a user field
            {"field": "nothing"},  # no such field
            {"role": "ghost"},  # no such role
            {"user": "employee.name"},  # a text, not a user
            {"user": "employee.manager.nope"},  # no such field
            {"from": "employee", "up": "manager", "user": "name"},  # walks to a text
        ]
        steps[1]["approvers"] = [{"field": "owner", "role": "staff"}]  # two forms at once

    found = _issues(rules)
    base = f"{PENDING}/approval/steps/0/approvers"
    assert (f"{base}/0/field", "TYPE") in found
    assert (f"{base}/1/field", "UNRESOLVED") in found
    assert (f"{base}/2/role", "UNRESOLVED") in found
    assert (f"{base}/3/user", "FORMULA_TYPE") in found
    assert any(p == f"{base}/4/user" for p, _ in found)
    assert (f"{base}/5/user", "FORMULA_TYPE") in found
    assert any(p.startswith(f"{PENDING}/approval/steps/1/approvers/0") for p, _ in found)


def test_step_conditions_deadlines_and_names_are_checked() -> None:
    def steps(app: dict[str, Any]) -> None:
        approval = _approval(app)
        approval["steps"][0]["when"] = "amount +"  # a syntax error
        approval["steps"][1]["name"] = "manager"  # twice
        approval["steps"][2]["deadline"] = {"due": "title"}  # a text
        approval["steps"][3]["deadline"] = {"due": "3", "escalate": {"after": 1}}
        approval["summary"] = "nope("

    found = _issues(steps)
    assert (f"{PENDING}/approval/steps/0/when", "FORMULA_SYNTAX") in found
    assert (f"{PENDING}/approval/steps/1/name", "DUPLICATE") in found
    assert (f"{PENDING}/approval/steps/2/deadline/due", "FORMULA_TYPE") in found
    assert (f"{PENDING}/approval/steps/3/deadline/escalate", "MISSING") in found
    assert any(p == f"{PENDING}/approval/summary" for p, _ in found)


def test_todos_are_checked_like_steps() -> None:
    def todos(app: dict[str, Any]) -> None:
        app["workflows"][0]["states"][2]["todos"] = [
            {"name": "a", "to": [{"user": "amount"}]},
            {"name": "a", "to": [{"role": "staff"}], "deadline": {"due": "TODAY() > 1"}},
            {
                "name": "b",
                "to": [{"role": "staff"}],
                "deadline": {"due": "3", "escalate": {"after": 1, "do": "approve"}},
            },
        ]

    found = _issues(todos)
    base = "/workflows/0/states/2/todos"
    assert (f"{base}/0/to/0/user", "FORMULA_TYPE") in found
    assert (f"{base}/1/name", "DUPLICATE") in found
    assert (f"{base}/1/deadline/due", "FORMULA_TYPE") in found
    assert (f"{base}/2/deadline/escalate/do", "INVALID") in found
