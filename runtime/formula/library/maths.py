"""Numbers: rounding, MIN/MAX/SUM/AVERAGE/COUNT (over values, or over related records with
an optional condition), and the rest of the arithmetic library. Results are exact
decimals (see runtime/decimals.py); ROUND rounds half away from zero, like Excel."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from runtime import decimals
from runtime.formula import ir
from runtime.formula.library.base import flatten, fn, pg
from runtime.formula.types import MAX_SCALE, FType, number


def _rounded_scale(types: Sequence[FType], call: ir.Call) -> FType:
    digits = call.args[1] if len(call.args) > 1 else None
    if digits is None:
        return number(0)
    if isinstance(digits, ir.Const) and isinstance(digits.value, int | Decimal):
        return number(max(0, int(digits.value)))
    return number(min(types[0].scale, MAX_SCALE))


def _round_sql(mode: str) -> Any:
    def sql(c: Any, a: list[Any], call: ir.Call) -> Any:
        digits = a[1] if len(a) > 1 else sa.literal(0)
        return c.round(a[0], digits, mode)

    return sql


@fn(
    "ROUND",
    "math",
    "value: number, digits?: number",
    _rounded_scale,
    "Rounds to `digits` decimal places (default 0), half away from zero; negative digits "
    "round to tens, hundreds, …",
    "ROUND(272015.34, -3)",
    "272000",
    sql=_round_sql("half_up"),
    notes="Halves round away from zero as in Excel (ROUND(2.5, 0) = 3, ROUND(-2.5, 0) = -3), "
    "not to even as Python's round() does.",
)
def _round(value: Any, digits: Any = 0) -> Any:
    return decimals.round_to(value, digits, "half_up")


@fn(
    "ROUNDDOWN",
    "math",
    "value: number, digits?: number",
    _rounded_scale,
    "Rounds toward zero to `digits` decimal places (truncates).",
    "ROUNDDOWN(30246.58, 0)",
    "30246",
    sql=_round_sql("down"),
)
def _rounddown(value: Any, digits: Any = 0) -> Any:
    return decimals.round_to(value, digits, "down")


@fn(
    "ROUNDUP",
    "math",
    "value: number, digits?: number",
    _rounded_scale,
    "Rounds away from zero to `digits` decimal places.",
    "ROUNDUP(-3.141, 1)",
    "-3.2",
    sql=_round_sql("up"),
)
def _roundup(value: Any, digits: Any = 0) -> Any:
    return decimals.round_to(value, digits, "up")


@fn(
    "ABS",
    "math",
    "value: number",
    "T",
    "The value without its sign.",
    "ABS(-2.5)",
    "2.5",
    sql=lambda c, a, call: (
        sa.func.abs(a[0]) if not c.sqlite or not call.type.scale else c.python(call, a)
    ),
)
def _abs(value: Any) -> Any:
    return None if value is None else abs(value)


def _extreme_sql(name: str) -> Any:
    def sql(c: Any, a: list[Any], call: ir.Call) -> Any:
        if len(a) == 1:
            return a[0]
        if c.sqlite:
            return c.python(call, a)
        return getattr(sa.func, "least" if name == "MIN" else "greatest")(*a)

    return sql


@fn(
    "MIN",
    "math",
    "value...: T",
    "T",
    "The smallest value (numbers, dates or text), ignoring blanks; over related records: "
    "`MIN(lines.amount, condition)`.",
    "MIN(3, 1.5, 2)",
    "1.5",
    sql=_extreme_sql("MIN"),
    min_args=1,
    where_arg=1,
    aggregate="MIN",
)
def _min(*values: Any) -> Any:
    items = flatten(values)
    return min(items) if items else None


@fn(
    "MAX",
    "math",
    "value...: T",
    "T",
    "The largest value, ignoring blanks; over related records: `MAX(lines.amount, condition)`.",
    "MAX(3, 1.5, 2)",
    "3",
    sql=_extreme_sql("MAX"),
    min_args=1,
    where_arg=1,
    aggregate="MAX",
)
def _max(*values: Any) -> Any:
    items = flatten(values)
    return max(items) if items else None


def _sum_sql(c: Any, a: list[Any], call: ir.Call) -> Any:
    out = None
    for arg, expr in zip(a, call.args, strict=True):
        term = sa.func.coalesce(arg, 0)
        out = term if out is None else c.arith("+", out, term, (expr.type.scale, expr.type.scale))
    return out


@fn(
    "SUM",
    "math",
    "value...: number",
    "T",
    "Adds the values, ignoring blanks; over related records: "
    '`SUM(lines.amount, eligibility = "eligible")` (0 when there are none).',
    "SUM(1, 2.5, 3)",
    "6.5",
    sql=_sum_sql,
    min_args=1,
    where_arg=1,
    aggregate="SUM",
)
def _sum(*values: Any) -> Any:
    total: Any = 0
    for v in flatten(values):
        total = decimals.add(total, v)
    return total


@fn(
    "AVERAGE",
    "math",
    "value...: number",
    "number",
    "The mean of the values, ignoring blanks (blank when there are none); over related "
    "records: `AVERAGE(lines.score, condition)`.",
    "AVERAGE(1, 2, 4)",
    "2.333333333333333333333333333333",
    sql=pg(
        lambda c, a, call: c.arith("/", _sum_sql(c, a, call), sa.literal(len(a)), (MAX_SCALE, 0))
    ),
    min_args=1,
    where_arg=1,
    aggregate="AVERAGE",
)
def _average(*values: Any) -> Any:
    items = flatten(values)
    return decimals.div(sum(items, Decimal(0)), len(items)) if items else None


@fn(
    "COUNT",
    "math",
    "value...: any",
    "integer",
    "How many of the values are not blank; over related records: `COUNT(lines)` or "
    '`COUNT(lines, status = "open")`.',
    'COUNT(1, BLANK(), "a")',
    "2",
    min_args=1,
    where_arg=1,
    aggregate="COUNT",
    sql=lambda c, a, call: sum((sa.case((x.is_(None), 0), else_=1) for x in a), sa.literal(0)),
    notes="Excel's COUNT counts only numbers; Tenon's counts every value that is not blank "
    "(as COUNTA).",
)
def _count(*values: Any) -> int:
    return len(flatten(values))
