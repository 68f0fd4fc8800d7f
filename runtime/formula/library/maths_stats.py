"""Numbers, continued: statistics (MEDIAN, RANK) and counting, plain and conditional
(COUNTA, COUNTBLANK, COUNTIF, SUMIF, AVERAGEIF)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from runtime import decimals
from runtime.formula import ir, operators
from runtime.formula.errors import FormulaError
from runtime.formula.library.base import flatten, fn
from runtime.formula.types import ANY, MAX_SCALE, FType, number

# -- statistics ---------------------------------------------------------------------------


def _element(t: FType) -> FType:
    return (t.of or ANY) if t.kind == "list" else t


def _numbers(extra: int) -> Any:
    """The result type of a function of numbers and lists of numbers (checked here, as the
    parameter type ``value`` accepts both)."""

    def returns(types: Sequence[FType], call: ir.Call) -> FType:
        for t, arg in zip(types, call.args, strict=True):
            if _element(t).kind not in ("number", "blank", "any"):
                raise FormulaError(
                    f"{call.function.name}() expects numbers or lists of numbers, but got a {t}",
                    arg.pos,
                    "FORMULA_TYPE",
                )
        scale = max((_element(t).scale for t in types), default=0)
        return number(min(scale + extra, MAX_SCALE))

    return returns


@fn(
    "MEDIAN",
    "math",
    "value...: value",
    _numbers(1),
    "The middle value (the mean of the two middle ones for an even count), ignoring "
    "blanks; takes numbers and lists such as `MEDIAN(lines.amount)`.",
    "MEDIAN(3, 1, 4, 2)",
    "2.5",
    min_args=1,
    notes="Blank when there are no values (Excel: #NUM!).",
)
def _median(*values: Any) -> Any:
    items = sorted(flatten(values))
    if not items:
        return None
    middle = len(items) // 2
    if len(items) % 2:
        return items[middle]
    return decimals.div(decimals.add(items[middle - 1], items[middle]), 2)


def _rank_type(types: Sequence[FType], call: ir.Call) -> FType:
    if len(types) > 2 and types[2].kind not in ("boolean", "number", "blank", "any"):
        raise FormulaError(
            f"RANK() expects TRUE/FALSE (or a number, as in Excel) for 'ascending', but got "
            f"a {types[2]}",
            call.args[2].pos,
            "FORMULA_TYPE",
        )
    return number(0)


@fn(
    "RANK",
    "math",
    "value: number, values: list:number, ascending?: any",
    _rank_type,
    "The position of `value` among `values`, largest first (smallest first when "
    "`ascending` is TRUE); equal values share a rank: `RANK(score, team.scores)`.",
    "RANK(3, LIST(1, 3, 5))",
    "2",
    notes="Blank when the value is not in the list (Excel: #N/A) or is blank. Blanks in the "
    "list are skipped. `ascending` is TRUE/FALSE; a number works as Excel's order (0 for "
    "largest first).",
)
def _rank(value: Any, values: Any, ascending: Any = False) -> int | None:
    items = [v for v in values or [] if v is not None]
    if value is None or not any(v == value for v in items):
        return None
    upward = ascending is True or (
        not isinstance(ascending, bool) and isinstance(ascending, int | Decimal) and ascending != 0
    )
    return 1 + sum(1 for v in items if (v < value if upward else v > value))


# -- counting -----------------------------------------------------------------------------


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _count_sql(blank: bool) -> Any:
    def sql(c: Any, a: list[Any], call: ir.Call) -> Any:
        tests = [c.is_blank(x, e.type) for x, e in zip(a, call.args, strict=True)]
        cases = [sa.case((t, 1 if blank else 0), else_=0 if blank else 1) for t in tests]
        return sum(cases, sa.literal(0))

    return sql


@fn(
    "COUNTA",
    "math",
    "value...: any",
    "integer",
    "How many of the values are not blank (empty text counts as blank); over related "
    'records: `COUNTA(lines, status = "open")`.',
    'COUNTA(1, "", BLANK(), "a")',
    "2",
    min_args=1,
    where_arg=1,
    aggregate="COUNT",
    sql=_count_sql(False),
    notes='Empty text ("") is blank, so COUNTA + COUNTBLANK is the number of values '
    "(Excel's COUNTA counts a cell holding empty text). Over related records it counts "
    "like COUNT(lines.field), where a field holding empty text is counted.",
)
def _counta(*values: Any) -> int:
    return sum(1 for v in values if not _blank(v))


@fn(
    "COUNTBLANK",
    "math",
    "value...: any",
    "integer",
    "How many of the values are blank (empty text counts as blank).",
    'COUNTBLANK(1, "", BLANK(), "a")',
    "2",
    min_args=1,
    sql=_count_sql(True),
    notes="Takes values rather than a range; for related records use "
    "COUNTIF(lines, ISBLANK(field)).",
)
def _countblank(*values: Any) -> int:
    return sum(1 for v in values if _blank(v))


_IF_NOTES = (
    "Over related records the condition names fields of those records directly and runs in "
    "the database, like SUM(lines.amount, condition). For another list (such as LIST(…)), "
    "the second argument is a value and the items equal to it are used; Excel's criteria "
    'text (">5") is not interpreted, and a blank criterion matches nothing (use COUNTBLANK).'
)


def _matching(values: Any, criterion: Any) -> list[Any]:
    return [v for v in values or [] if operators.eq(v, criterion)]


def _of_list(types: Sequence[FType], call: ir.Call) -> FType:
    element = _element(types[0])
    return element if element.kind == "number" else number(0)


@fn(
    "COUNTIF",
    "math",
    "range: list, criterion: any",
    "integer",
    'How many related records meet the condition: `COUNTIF(lines, status = "open")`.',
    "COUNTIF(LIST(1, 2, 2, 3), 2)",
    "2",
    where_arg=1,
    aggregate="COUNT",
    notes=_IF_NOTES,
)
def _countif(values: Any, criterion: Any) -> int:
    return len(_matching(values, criterion))


@fn(
    "SUMIF",
    "math",
    "range: list:number, criterion: any",
    _of_list,
    "Adds a field of the related records that meet the condition: "
    "`SUMIF(lines.amount, eligible = TRUE)` (0 when there are none).",
    "SUMIF(LIST(1, 2, 2, 3), 2)",
    "4",
    where_arg=1,
    aggregate="SUM",
    notes="The same as SUM(lines.amount, condition). " + _IF_NOTES,
)
def _sumif(values: Any, criterion: Any) -> Any:
    total: Any = 0
    for v in _matching(values, criterion):
        total = decimals.add(total, v)
    return total


@fn(
    "AVERAGEIF",
    "math",
    "range: list:number, criterion: any",
    "number",
    "The mean of a field of the related records that meet the condition: "
    '`AVERAGEIF(lines.score, status = "done")` (blank when there are none).',
    "AVERAGEIF(LIST(1, 2, 2, 3), 2)",
    "2",
    where_arg=1,
    aggregate="AVERAGE",
    notes="The same as AVERAGE(lines.score, condition). " + _IF_NOTES,
)
def _averageif(values: Any, criterion: Any) -> Any:
    items = _matching(values, criterion)
    return decimals.div(_sumif(items, criterion), len(items)) if items else None
