"""Generate docs/formulas.md from the function registry.

    python -m runtime.formula.docs > docs/formulas.md

The test suite regenerates it and fails when the file is stale, when an entry lacks its
summary or example, or when an example does not evaluate to its documented result.
"""

from __future__ import annotations

import sys
from collections import defaultdict

from runtime.formula.library import CATEGORIES, REGISTRY, Function

INTRO = """\
# Formulas

One spreadsheet-like language is used everywhere Tenon computes or decides something:
computed fields and rollups, defaults, validation rules, form conditions (visible,
required, read-only), workflow and automation conditions, permission row scopes,
view and dashboard filters, and the API's `filter` parameter. Every formula is parsed
and type-checked when its app package is validated, so mistakes are reported with the
JSON path, the line and column, and a caret under the culprit — before anything runs.

## Syntax

* numbers, text, true/false, blank: `12`, `0.125`, `"R&D"` (`""` inside text is one
  quote), `TRUE`, `FALSE`, `BLANK()` or `NULL`;
* dates: `"2025-09-30"` wherever a date is expected (compared with a date, or given to a
  date function), or `DATE(2025, 9, 30)`;
* fields: `base_salary`; through references: `employee.department.name`;
* related records: `lines` (the records whose reference declares
  `related_name: "lines"`) and `lines.amount`;
* aggregates: `SUM(lines.amount, eligibility = "eligible")`, `COUNT(lines)`, `AVERAGE`,
  `MIN`, `MAX`;
* the signed-in user: `@me`, as in `employee.user = @me`; and the user's own record of an
  object with a unique user field, then its fields: `@me.employee.manager_path`
  (blank for a user without one; a permission rule using it does not apply to them);
* arithmetic: `+ - * /` and parentheses; `date + 7`, `date - 1`,
  `end_date - start_date + 1` (days);
* text: `&` joins (`"P" & level`);
* comparison: `= <> < <= > >=` (text comparisons are case-sensitive).

A leading `=` is allowed, as in a spreadsheet. Function names are case-insensitive.

## Types

Every value is a number, text, true/false, date, date and time, user, record (through a
reference), or a list (multiple choice values, related records, some function results).
Computed fields declare what they give with `returns` (`integer`, `decimal`, `currency`,
`percent`, `text`, `select`, `boolean`, `date`, `datetime`, `reference`, `user`); when it is
missing, validation suggests the right one. Conditions must give true/false. Comparing a
select field with a text that is not one of its options is an error that suggests the
nearest option.

## Blanks

* Arithmetic with a blank gives blank (`salary * 2` is blank while salary is empty).
* A comparison with a blank is FALSE (`<>` is TRUE): a blank is never equal, less or
  greater. Compare with `BLANK()` (or use `ISBLANK`) to test for blank: `end_date = BLANK()`.
* In a condition (IF, AND, OR, NOT, rules, filters) a blank counts as FALSE.
* `&`, CONCAT and TEXTJOIN treat a blank as empty text (most other text functions
  given blank text give blank); aggregates skip blanks;
  `SUM` over no records is 0, `AVERAGE`, `MIN` and `MAX` over none are blank.
* A calculation that has no answer — dividing by zero, the square root of a negative
  number, `VALUE("abc")`, a date outside years 1–9999 — gives blank. Tenon has no error
  values (`#DIV/0!`); `IFERROR(x, fallback)` and `IFBLANK(x, fallback)` give the fallback.

## Numbers

Numbers are exact decimals, never binary floating point: `0.1 + 0.2 = 0.3`.

* `+`, `-` and `*` are exact; a result with more than 30 decimal places is rounded there.
* `/` gives the quotient rounded to 30 decimal places (1/3 is 0.333…333 with 30 threes).
* `ROUND` rounds half away from zero, as Excel does (`ROUND(2.5, 0) = 3`,
  `ROUND(-2.5, 0) = -3`); Python's `round()` would give 2. Negative digits round to tens,
  hundreds, … (`ROUND(272015.34, -3) = 272000`).
* A stored computed field is rounded to its own scale (half away from zero) when written;
  other computed fields of the same record read its exact value, not the rounded one.
* Numbers of more than 38 whole digits are refused with a formula error.

The same rules hold inside the database: on PostgreSQL with NUMERIC, on SQLite (which has
no decimal type) through exact functions Tenon adds to every connection. A filter, a scope
or a bulk recomputation gives exactly what the formula gives for one record.

## Dates

`TODAY()` and `NOW()` read Tenon's clock (UTC; tests and demos can set it). A computed
field using them is computed when read, not stored, so it is never stale.
`date + n` / `date - n` move by whole days; `date - date` is a number of days. Date parts
and differences follow Excel (`EDATE` from 31 January gives the last day of February).

## Where formulas run

* In Python, record by record (forms as you type, workflow conditions, previews): the
  formula is parsed and checked once, then evaluated with simpleeval restricted to
  Tenon's own node types, with a step budget.
* Inside the database (filters, permission scopes, dashboards, stored computed fields,
  bulk recomputation): compiled to SQL. Functions marked "Python only" below cannot be
  used in filters, scopes and dashboards; validation says so.

## Limits

Formulas are at most 4,000 characters, 64 levels of nested parentheses and calls, and
4,000 parts; text built by a formula is at most 100,000 characters; lists hold at most
10,000 items; one evaluation may use at most one second of processor time; `POWER` and
the like refuse results that would be huge; regular
expressions that could backtrack catastrophically are refused. Nothing in a formula can
reach Python: there are no attributes, indexes, comprehensions or lambdas, and only the
functions below can be called.

## Functions
"""


def _entry(fn: Function) -> str:
    lines = [f"#### {fn.name}", "", f"`{fn.signature}`", "", fn.summary, ""]
    lines.append(f"Example: `{fn.example}` → `{fn.result}`")
    where = "runs in the database and in Python" if fn.sql is not None else "Python only"
    lines += ["", f"*{where}*"]
    if fn.notes:
        lines += ["", f"Note: {fn.notes}"]
    lines.append("")
    return "\n".join(lines)


def render() -> str:
    by_category: dict[str, list[Function]] = defaultdict(list)
    for fn in REGISTRY.values():
        by_category[fn.category].append(fn)
    parts = [INTRO]
    total = len(REGISTRY)
    parts.append(f"\n{total} functions in {len(by_category)} groups.\n")
    for key, title in CATEGORIES.items():
        functions = sorted(by_category.get(key, []), key=lambda f: f.name)
        if not functions:
            continue
        names = ", ".join(f.name for f in functions)
        parts.append(f"\n### {title}\n\n{names}\n")
        parts.extend("\n" + _entry(fn) for fn in functions)
    return "".join(parts).rstrip() + "\n"


if __name__ == "__main__":  # pragma: no cover
    sys.stdout.write(render())
