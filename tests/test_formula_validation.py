"""Every formula in a package is type-checked at validation, with the JSON pointer, the
line and column, a caret, and a suggestion where one helps."""

from __future__ import annotations

import copy
from typing import Any

from runtime.errors import Issue
from runtime.metadata.validate import definition_issues

CORE: dict[str, Any] = {
    "name": "core",
    "version": "1.0.0",
    "title": "Core",
    "objects": [
        {"name": "department", "fields": [{"name": "name", "type": "text"}]},
        {
            "name": "employee",
            "fields": [
                {"name": "name", "type": "text"},
                {"name": "user", "type": "user"},
                {
                    "name": "department",
                    "type": "reference",
                    "to": "department",
                    "related_name": "members",
                },
                {"name": "hire_date", "type": "date"},
            ],
        },
    ],
}


def review(**changes: Any) -> dict[str, Any]:
    defn: dict[str, Any] = {
        "name": "review",
        "version": "1.0.0",
        "title": "Review",
        "requires": {"core": "^1.0"},
        "roles": [{"name": "manager"}],
        "objects": [
            {
                "name": "case",
                "fields": [
                    {"name": "employee", "type": "reference", "to": "core.employee"},
                    {"name": "rating", "type": "select", "options": ["S", "A", "B", "C", "D"]},
                    {"name": "score", "type": "decimal", "precision": 6, "scale": 2},
                    {"name": "weight", "type": "integer"},
                    {"name": "due", "type": "date"},
                    {
                        "name": "dept_name",
                        "type": "formula",
                        "returns": "text",
                        "formula": "employee.department.name",
                    },
                    {
                        "name": "weighted",
                        "type": "formula",
                        "returns": "decimal",
                        "formula": "score * weight",
                    },
                ],
                "rules": [{"when": "score < 0", "message": "no negative scores", "code": "NEG"}],
            }
        ],
        "permissions": [
            {
                "role": "manager",
                "object": "case",
                "actions": ["read"],
                "scope": "employee.user = @me",
            },
        ],
        "views": [{"name": "open", "object": "case", "type": "grid", "filter": 'rating = "S"'}],
    }
    for path, value in changes.items():
        target: Any = defn
        keys = path.split("/")
        for key in keys[:-1]:
            target = target[int(key) if key.isdigit() else key]
        last = keys[-1]
        target[int(last) if last.isdigit() else last] = value
    return defn


def check(defn: dict[str, Any]) -> list[Issue]:
    return definition_issues(defn, {"core": copy.deepcopy(CORE)}.get)


def only(defn: dict[str, Any]) -> Issue:
    found = check(defn)
    assert len(found) == 1, [(i.path, i.message) for i in found]
    return found[0]


def test_the_example_app_is_valid() -> None:
    assert check(review()) == []


def test_unknown_field_suggests_the_nearest_and_points_with_a_caret() -> None:
    issue = only(review(**{"objects/0/fields/6/formula": "scor * weight"}))
    assert issue.path == "/objects/0/fields/6/formula"
    assert issue.code == "FORMULA_NAME"
    assert "unknown field 'scor' (did you mean 'score'?)" in issue.message
    assert "column 1" in issue.message
    assert "scor * weight\n^" in issue.message


def test_position_of_a_path_step_and_of_a_multi_line_formula() -> None:
    issue = only(review(**{"objects/0/fields/5/formula": "employee.departmnt.name"}))
    assert "unknown field of employee 'departmnt' (did you mean 'department'?)" in issue.message
    assert "column 10" in issue.message
    issue = only(review(**{"objects/0/fields/6/formula": "score *\n  wieght"}))
    assert "line 2, column 3" in issue.message
    assert "  wieght\n  ^" in issue.message


def test_computed_result_must_fit_returns() -> None:
    issue = only(review(**{"objects/0/fields/6/returns": "date"}))
    assert issue.code == "FORMULA_TYPE"
    assert issue.message == "the formula gives a number, but the field returns date"


def test_missing_returns_suggests_one() -> None:
    defn = review()
    del defn["objects"][0]["fields"][6]["returns"]
    issue = only(defn)
    assert issue.path == "/objects/0/fields/6"
    assert '"returns": "decimal" would fit' in issue.message


def test_conditions_must_be_true_or_false() -> None:
    issue = only(review(**{"objects/0/rules/0/when": "score + 1"}))
    assert issue.path == "/objects/0/rules/0/when"
    assert "a condition must be true or false, but this formula gives a number" in issue.message


def test_option_typos_are_caught() -> None:
    issue = only(review(**{"views/0/filter": 'rating = "s"'}))
    assert issue.code == "FORMULA_OPTION"
    assert "'s' is not one of the options (S, A, B, C, D) (did you mean 'S'?)" in issue.message


def test_wrong_argument_types_and_counts() -> None:
    issue = only(review(**{"objects/0/rules/0/when": 'ROUND(score, "2") > 1'}))
    assert issue.message.startswith(
        "formula error: ROUND() expects a number for 'digits', but got a text"
    )
    issue = only(review(**{"objects/0/rules/0/when": "ISBLANK()"}))
    assert "ISBLANK() takes 1 argument (ISBLANK(value)), but 0 were given" in issue.message
    issue = only(review(**{"objects/0/rules/0/when": "ROUDN(score, 0) > 1"}))
    assert "unknown function ROUDN() (did you mean 'ROUND'?)" in issue.message


def test_me_is_refused_in_stored_formulas_but_allowed_in_scopes() -> None:
    issue = only(review(**{"objects/0/fields/5/formula": "IF(employee.user = @me, 'x', '')"}))
    assert issue.code in ("FORMULA_SYNTAX", "FORMULA_CONTEXT")
    issue = only(review(**{"objects/0/fields/5/formula": 'IF(employee.user = @me, "x", "")'}))
    assert issue.code == "FORMULA_CONTEXT"
    assert "@me" in issue.message


def test_scopes_and_filters_must_run_in_the_database() -> None:
    issue = only(review(**{"permissions/0/scope": 'FIRST(SPLIT(employee.name, " ")) = "Li"'}))
    assert issue.path == "/permissions/0/scope"
    assert issue.code == "FORMULA_SQL"
    assert "cannot run inside the database" in issue.message


def test_cycles_are_rejected_naming_the_cycle() -> None:
    defn = review()
    fields = defn["objects"][0]["fields"]
    fields.append({"name": "a", "type": "formula", "returns": "integer", "formula": "b + 1"})
    fields.append({"name": "b", "type": "formula", "returns": "integer", "formula": "a * 2"})
    found = check(defn)
    assert found and all(i.code == "FORMULA_CYCLE" for i in found)
    assert any("case.a → case.b → case.a" in i.message for i in found)


def test_rollups_must_aggregate() -> None:
    defn = copy.deepcopy(CORE)
    defn["version"] = "1.1.0"
    defn["objects"][0]["fields"].append(
        {
            "name": "headcount",
            "type": "rollup",
            "returns": "integer",
            "formula": 'COUNT(members, name <> "")',
        }
    )
    assert definition_issues(defn) == []
    defn["objects"][0]["fields"][-1]["formula"] = "1"
    [issue] = definition_issues(defn)
    assert "a rollup must aggregate related records" in issue.message


def test_aggregate_conditions_are_checked_in_the_related_object() -> None:
    defn = copy.deepcopy(CORE)
    formula = 'COUNT(members, hire_dat > "2025-01-01")'
    defn["objects"][0]["fields"].append(
        {"name": "headcount", "type": "rollup", "returns": "integer", "formula": formula}
    )
    [issue] = definition_issues(defn)
    assert "unknown field 'hire_dat' (did you mean 'hire_date'?)" in issue.message


def test_circles_through_related_records_are_rejected() -> None:
    defn = copy.deepcopy(CORE)
    defn["objects"][0]["fields"].append(
        {"name": "total", "type": "rollup", "returns": "integer", "formula": "SUM(members.share)"}
    )
    defn["objects"][1]["fields"].append(
        {"name": "share", "type": "formula", "returns": "integer", "formula": "department.total"}
    )
    found = definition_issues(defn)
    assert [i.code for i in found] == ["FORMULA_CYCLE"]
    message = found[0].message
    assert "read each other through related records in a circle" in message
    assert "department.total" in message and "employee.share" in message


def test_a_field_reading_its_parent_is_a_hierarchy_not_a_circle() -> None:
    defn = copy.deepcopy(CORE)
    defn["objects"][0]["fields"] += [
        {"name": "parent", "type": "reference", "to": "department", "related_name": "children"},
        {
            "name": "level",
            "type": "formula",
            "returns": "integer",
            "formula": "IF(ISBLANK(parent), 1, parent.level + 1)",
        },
    ]
    assert definition_issues(defn) == []
