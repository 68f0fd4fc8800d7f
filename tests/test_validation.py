"""Semantic validation: names, references across ``requires``, sections, formulas."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from runtime.metadata.validate import definition_issues
from tests.apps import core, people

CORE = core("1.4.2")


def issues(defn: dict[str, Any], installed: dict[str, Any] | None = None) -> list[tuple[str, str]]:
    found = definition_issues(defn, (installed or {}).get)
    return [(i.path, i.message) for i in found]


def app(**sections: Any) -> dict[str, Any]:
    base = {
        "name": "review",
        "version": "1.0.0",
        "title": "Review",
        "requires": {"core": "^1.2"},
        "objects": [
            {
                "name": "case",
                "fields": [
                    {"name": "employee", "type": "reference", "to": "core.employee"},
                    {"name": "status", "type": "select", "options": ["open", "closed"]},
                    {"name": "due", "type": "date"},
                ],
            }
        ],
    }
    base.update(sections)
    return base


def test_a_valid_app_has_no_issues() -> None:
    assert issues(people()) == []
    assert issues(app(), {"core": CORE}) == []


def test_cross_app_references_need_requires_and_resolve() -> None:
    defn = app()
    defn["requires"] = {}
    assert issues(defn, {"core": CORE}) == [
        (
            "/objects/0/fields/0/to",
            "refers to core.employee, but this app does not require 'core'; add it to \"requires\"",
        )
    ]
    defn = app()
    defn["objects"][0]["fields"][0]["to"] = "core.employee_x"
    assert issues(defn, {"core": CORE}) == [
        (
            "/objects/0/fields/0/to",
            "refers to object 'employee_x', which app 'core' does not define "
            "(did you mean 'employee'?)",
        )
    ]


def test_required_versions_are_checked() -> None:
    old_core = {**CORE, "version": "1.1.0"}
    assert issues(app(), {"core": old_core}) == [
        ("/requires/core", "requires core ^1.2, but version 1.1.0 is the one available")
    ]


def test_reverse_relations_must_not_collide() -> None:
    defn = app()
    defn["objects"][0]["fields"][0]["related_name"] = "name"
    defn["objects"][0]["fields"].append(
        {"name": "backup", "type": "reference", "to": "core.employee", "related_name": "name"}
    )
    found = issues(defn, {"core": CORE})
    assert (
        "/objects/0/fields/0/related_name",
        "'name' is already a field of core.employee",
    ) in found
    assert any(
        p == "/objects/0/fields/3/related_name" and "already has a relation" in m for p, m in found
    )


def test_sections_must_name_real_objects_fields_states_and_roles() -> None:
    defn = app(
        roles=[{"name": "hrbp"}],
        views=[
            {"name": "board", "object": "case", "type": "board"},
            {"name": "cal", "object": "case", "type": "calendar", "field": "status"},
            {
                "name": "grid",
                "object": "case",
                "type": "grid",
                "columns": ["employee.name", "stauts"],
            },
        ],
        forms=[{"name": "f", "object": "cases", "sections": [{"fields": ["due"]}]}],
        workflows=[
            {
                "name": "flow",
                "object": "case",
                "initial": "draft",
                "states": [{"name": "open"}, {"name": "closed"}],
                "transitions": [
                    {
                        "action": "close",
                        "from": ["opn"],
                        "to": "closed",
                        "roles": ["hrbp", "core.hr_admin", "core.nobody"],
                    }
                ],
            }
        ],
        permissions=[
            {"role": "hrbpp", "object": "case", "actions": ["read", "close", "archive"]},
            {
                "role": "authenticated",
                "object": "core.employee",
                "actions": ["read"],
                "fields": {"read": ["name", "salary"]},
            },
        ],
    )
    found = dict(issues(defn, {"core": CORE}))
    assert found["/views/0"] == "a board view needs 'field'"
    assert found["/views/1/field"] == "a calendar needs a date field; 'status' is select"
    assert found["/views/2/columns/1"].startswith("names field 'stauts'")
    assert "(did you mean 'status'?)" in found["/views/2/columns/1"]
    assert found["/forms/0/object"].startswith("refers to object 'cases'")
    assert found["/workflows/0/initial"].startswith("names state 'draft'")
    assert found["/workflows/0/transitions/0/from/0"].endswith("(did you mean 'open'?)")
    assert found["/workflows/0/transitions/0/roles/2"].startswith("names role 'nobody'")
    assert found["/permissions/0/role"].endswith("(did you mean 'hrbp'?)")
    assert found["/permissions/0/actions/2"].startswith("'archive' is neither a record action")
    assert "/permissions/0/actions/1" not in found  # 'close' is a workflow action of case
    assert found["/permissions/1/fields/read/1"].startswith("names field 'salary'")


def test_workflow_effects_and_timers_are_checked() -> None:
    defn = app(
        workflows=[
            {
                "name": "flow",
                "object": "case",
                "states": [{"name": "open"}, {"name": "closed"}],
                "transitions": [
                    {
                        "action": "close",
                        "from": ["open"],
                        "to": "closed",
                        "effects": [
                            {"set": {"due": "TODAY() + 1", "dew": "1", "id": "2"}},
                            {
                                "notify": {
                                    "to": [{"role": "nobody"}, {"field": "status"}],
                                    "message": '"closed: " &',
                                }
                            },
                        ],
                    }
                ],
                "timers": [
                    {"name": "a", "at": "due + 1", "action": "clos"},
                    {"name": "b", "at": "status", "action": "close", "states": ["opne"]},
                    {"name": "c", "at": "due", "every": 7, "until": "due +", "action": "close"},
                ],
            }
        ]
    )
    found = dict(issues(defn, {"core": CORE}))
    effects = "/workflows/0/transitions/0/effects/0/set"
    assert f"{effects}/due" not in found
    assert found[f"{effects}/dew"].startswith("names field 'dew'")
    assert found[f"{effects}/id"] == "id is computed or kept by Tenon: an effect cannot set it"
    notify = "/workflows/0/transitions/0/effects/1/notify"
    assert found[f"{notify}/to/0/role"].startswith("names role 'nobody'")
    assert found[f"{notify}/to/1/field"] == "status is not a user field"
    assert found[f"{notify}/message"].startswith("formula error")
    timers = "/workflows/0/timers"
    assert found[f"{timers}/0/action"].endswith("(did you mean 'close'?)")
    assert found[f"{timers}/1/at"] == "gives text, not a date or a date and time"
    assert found[f"{timers}/1/states/0"].startswith("names state 'opne'")
    assert f"{timers}/2/until" in found  # a formula that does not parse
    assert f"{timers}/0/at" not in found and f"{timers}/2/at" not in found


def test_every_formula_is_parsed_with_a_position() -> None:
    defn = app()
    case = defn["objects"][0]
    case["rules"] = [{"when": "due < TODAY(", "message": "Overdue"}]
    case["constraints"] = [
        {
            "name": "one_open",
            "type": "unique",
            "fields": ["employee"],
            "where": 'status <> "closed"',
        },
        {"name": "bad", "type": "unique", "fields": ["employee"], "where": "due < TODAY()"},
    ]
    defn["views"] = [{"name": "v", "object": "case", "type": "grid", "filter": 'status = "open'}]
    found = dict(issues(defn, {"core": CORE}))
    assert found["/objects/0/rules/0/when"] == (
        "formula error: expected a value but found the end of the formula (at position 13)"
    )
    assert found["/objects/0/constraints/1/where"] == (
        "condition error: only fields and literal values can be compared here (at position 7)"
    )
    assert "/objects/0/constraints/0/where" not in found
    assert found["/views/0/filter"] == (
        "formula error: text is missing its closing quote (at position 10)"
    )


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        ({"type": "auto_number", "pattern": "PIP-{YYYY}"}, "/pattern", "must contain one counter"),
        ({"type": "integer", "default": "ten"}, "/default", "the default 'ten' is not a whole"),
        ({"type": "integer", "min": 5, "max": 1}, "/min", "is greater than max"),
        ({"type": "text", "precision": 2}, "/precision", "'precision' does not apply to a text"),
        ({"type": "select"}, "", "a select field needs 'options'"),
        (
            {"type": "multi_select", "options": ["a"], "unique": True},
            "",
            "a multi_select field cannot be unique",
        ),
        (
            {"type": "formula", "formula": "1", "required": True},
            "/required",
            "a computed (formula) field cannot have 'required'",
        ),
        (
            {"type": "reference", "to": "case", "required": True, "on_delete": "set_null"},
            "/on_delete",
            "set_null cannot apply to a required field",
        ),
        ({"type": "text", "$ref": "https://example.org/evil.json"}, "/$ref", "unknown key '$ref'"),
    ],
)
def test_field_options_are_checked(change: dict[str, Any], path: str, message: str) -> None:
    defn = app()
    defn["objects"][0]["fields"].append({"name": "extra", **change})
    found = issues(defn, {"core": CORE})
    assert any(
        p == "/objects/0/fields/3" + path.replace("~", "~0") and message in m for p, m in found
    ), found


def test_all_problems_of_one_package_come_back_together() -> None:
    defn = copy.deepcopy(people())
    defn["name"] = "api"
    defn["objects"][0]["fields"][0]["name"] = "state"
    defn["objects"][1]["fields"][2]["to"] = "departmnt"
    defn["objects"].append(copy.deepcopy(defn["objects"][0]))
    found = [p for p, _ in issues(defn)]
    assert found == [
        "/name",
        "/objects/0/fields/0/name",
        "/objects/1/fields/2/to",
        "/objects/2/fields/0/name",
        "/objects/2/fields/2/related_name",
        "/objects/2/name",
    ]
