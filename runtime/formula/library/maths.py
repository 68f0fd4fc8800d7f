"""Numbers: rounding, MIN/MAX/SUM/AVERAGE/COUNT (over values, or over related records with
an optional condition), and the rest of the arithmetic library. Results are exact
decimals (see runtime/decimals.py); ROUND rounds half away from zero, like Excel.

The integer-style functions (CEILING, FLOOR, MROUND, MOD, QUOTIENT, …) work on exact
integers: every argument is scaled to a common power of ten first, so no division is
ever rounded, and their PostgreSQL translations use only exact NUMERIC operations
(``mod``, ``div``, ``floor``, ``ceil``, ``trunc``, ``gcd``, ``lcm``). Powers, logarithms,
statistics and the conditional counts live in ``maths_powers`` and ``maths_stats``."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import ROUND_CEILING, Decimal
from typing import Any

import sqlalchemy as sa

from runtime import decimals
from runtime.decimals import CONTEXT, NumberTooLarge
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
    sql=lambda c, a, call: c.python(call, a) if c.sqlite else sa.func.abs(a[0]),
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


# -- exact integer arithmetic -------------------------------------------------------------

_LIMIT = 10**decimals.MAX_DIGITS


def num(value: Any) -> Decimal:
    """An argument as a Decimal within Tenon's range: at most 30 decimal places, and fewer
    than 38 whole digits (a larger literal is refused before any work is done on it)."""
    if isinstance(value, int) and abs(value) >= _LIMIT:
        raise NumberTooLarge("the number is too large (more than 38 digits)")
    return decimals.checked(value if isinstance(value, Decimal) else Decimal(value))


def _integers(*values: Any) -> tuple[list[int], int]:
    """Exact integers ``n`` and one exponent ``e`` with ``value == n * 10**e`` for each."""
    decs = [num(v) for v in values]
    e = min(0, *(int(d.as_tuple().exponent) for d in decs))
    return [int(d.scaleb(-e, CONTEXT)) for d in decs], e


def _decimal(n: int, e: int) -> Decimal:
    return decimals.checked(Decimal(n).scaleb(e, CONTEXT))


def _widest(types: Sequence[FType], call: ir.Call) -> FType:
    return number(max((t.scale for t in types), default=0))


def _n(value: Any) -> Any:
    return sa.cast(value, sa.Numeric())


def _mod_sql(x: Any, d: Any) -> Any:
    """Excel's MOD in PostgreSQL (its ``mod`` takes the sign of the dividend): exact."""
    r = sa.func.mod(x, sa.func.nullif(d, 0))
    return sa.case((sa.func.sign(r) * sa.func.sign(d) < 0, r + d), else_=r)


def _significance(a: list[Any]) -> Any:
    return _n(a[1]) if len(a) > 1 else sa.cast(sa.literal(1), sa.Numeric())


_SIGNIFICANCE = (
    "The significance is optional (default 1, as in CEILING.MATH / FLOOR.MATH). A positive "
    "value with a negative significance gives blank, where Excel gives #NUM!."
)


@fn(
    "CEILING",
    "math",
    "value: number, significance?: number",
    _widest,
    "Rounds up to a multiple of `significance` (default 1); a negative value rounds toward "
    "zero, or away from zero when the significance is negative too.",
    "CEILING(0.234, 0.01)",
    "0.24",
    sql=pg(
        lambda c, a, call: sa.case(
            (_significance(a) == 0, _n(a[0]) * 0),
            (sa.and_(_n(a[0]) > 0, _significance(a) < 0), sa.null()),
            else_=_n(a[0]) + _mod_sql(-_n(a[0]), _significance(a)),
        )
    ),
    notes="As Excel: CEILING(-2.5, 2) = -2, CEILING(-2.5, -2) = -4 and a significance of 0 "
    "gives 0. " + _SIGNIFICANCE,
)
def _ceiling(value: Any, significance: Any = 1) -> Decimal | None:
    if value is None or significance is None:
        return None
    (x, s), e = _integers(value, significance)
    if s == 0:
        return Decimal(0)
    if x > 0 and s < 0:
        return None
    return _decimal(-(-x // s) * s, e)


@fn(
    "FLOOR",
    "math",
    "value: number, significance?: number",
    _widest,
    "Rounds down to a multiple of `significance` (default 1); a negative value rounds away "
    "from zero, or toward zero when the significance is negative too.",
    "FLOOR(-2.5, 2)",
    "-4",
    sql=pg(
        lambda c, a, call: sa.case(
            (sa.and_(_n(a[0]) > 0, _significance(a) < 0), sa.null()),
            else_=_n(a[0]) - _mod_sql(_n(a[0]), _significance(a)),
        )
    ),
    notes="As Excel: FLOOR(3.7, 2) = 2, FLOOR(-2.5, -2) = -2. A significance of 0 gives "
    "blank (Excel: #DIV/0!). " + _SIGNIFICANCE,
)
def _floor(value: Any, significance: Any = 1) -> Decimal | None:
    if value is None or significance is None:
        return None
    (x, s), e = _integers(value, significance)
    if s == 0 or (x > 0 and s < 0):
        return None
    return _decimal(x // s * s, e)


def _mround_pg(c: Any, a: list[Any], call: ir.Call) -> Any:
    x, m = _n(a[0]), _n(a[1])
    size = sa.func.abs(m)
    rest = sa.func.mod(sa.func.abs(x), sa.func.nullif(size, 0))
    down = sa.func.abs(x) - rest
    nearest = sa.case((rest * 2 >= size, down + size), else_=down)
    return sa.case(
        (m == 0, x * 0),
        (sa.func.sign(x) * sa.func.sign(m) < 0, sa.null()),
        else_=sa.func.sign(x) * nearest,
    )


@fn(
    "MROUND",
    "math",
    "value: number, multiple: number",
    _widest,
    "Rounds to the nearest multiple of `multiple`, halves away from zero.",
    "MROUND(7.5, 5)",
    "10",
    sql=pg(_mround_pg),
    notes="A multiple of 0 gives 0; a value and multiple of opposite signs give blank "
    "(Excel: #NUM!). Exact decimal arithmetic finds halves exactly: MROUND(6.05, 0.1) = 6.1.",
)
def _mround(value: Any, multiple: Any) -> Decimal | None:
    if value is None or multiple is None:
        return None
    (x, m), e = _integers(value, multiple)
    if m == 0 or x == 0:
        return Decimal(0)
    if (x < 0) != (m < 0):
        return None
    units, rest = divmod(abs(x), abs(m))
    units += 2 * rest >= abs(m)
    return _decimal(units * abs(m) * (1 if x > 0 else -1), e)


@fn(
    "TRUNC",
    "math",
    "value: number, digits?: number",
    _rounded_scale,
    "Cuts the value to `digits` decimal places (default 0), toward zero; negative digits cut "
    "to tens, hundreds, ….",
    "TRUNC(-8.97, 1)",
    "-8.9",
    sql=_round_sql("down"),
    notes="The same as ROUNDDOWN.",
)
def _trunc(value: Any, digits: Any = 0) -> Any:
    return decimals.round_to(value, digits, "down")


@fn(
    "INT",
    "math",
    "value: number",
    "integer",
    "Rounds down to a whole number (toward negative infinity: INT(-2.5) = -3).",
    "INT(-8.9)",
    "-9",
    sql=pg(lambda c, a, call: sa.func.floor(_n(a[0]))),
)
def _int(value: Any) -> Any:
    return None if value is None else decimals.round_to(num(value), 0, "floor")


def _away(value: Any) -> tuple[int, int]:
    """The sign of ``value`` and its absolute value rounded up to a whole number."""
    x = num(value)
    return (-1 if x < 0 else 1), int(x.copy_abs().to_integral_value(ROUND_CEILING, CONTEXT))


@fn(
    "EVEN",
    "math",
    "value: number",
    "integer",
    "Rounds away from zero to the nearest even whole number.",
    "EVEN(1.5)",
    "2",
    sql=pg(
        lambda c, a, call: (
            sa.func.sign(_n(a[0]))
            * (
                sa.func.ceil(sa.func.abs(_n(a[0])))
                + sa.func.mod(sa.func.ceil(sa.func.abs(_n(a[0]))), 2)
            )
        )
    ),
)
def _even(value: Any) -> Decimal | None:
    if value is None:
        return None
    sign, whole = _away(value)
    return decimals.checked(Decimal(sign * (whole + whole % 2)))


def _odd_pg(c: Any, a: list[Any], call: ir.Call) -> Any:
    whole = sa.func.ceil(sa.func.abs(_n(a[0])))
    odd = whole + 1 - sa.func.mod(whole, 2)
    return sa.case((_n(a[0]) < 0, -odd), else_=odd)


@fn(
    "ODD",
    "math",
    "value: number",
    "integer",
    "Rounds away from zero to the nearest odd whole number (ODD(0) = 1).",
    "ODD(2)",
    "3",
    sql=pg(_odd_pg),
)
def _odd(value: Any) -> Decimal | None:
    if value is None:
        return None
    sign, whole = _away(value)
    return decimals.checked(Decimal(sign * (whole + 1 - whole % 2)))


@fn(
    "MOD",
    "math",
    "value: number, divisor: number",
    _widest,
    "The remainder after dividing by `divisor`; it has the sign of the divisor, as in Excel.",
    "MOD(-3, 2)",
    "1",
    sql=pg(lambda c, a, call: _mod_sql(_n(a[0]), _n(a[1]))),
    notes="A divisor of 0 gives blank (Excel: #DIV/0!). Exact for decimals: MOD(0.3, 0.1) "
    "is 0, MOD(-5.5, 2) is 0.5.",
)
def _mod(value: Any, divisor: Any) -> Decimal | None:
    if value is None or divisor is None:
        return None
    (x, d), e = _integers(value, divisor)
    return None if d == 0 else _decimal(x % d, e)


@fn(
    "QUOTIENT",
    "math",
    "value: number, divisor: number",
    "integer",
    "The whole-number part of value / divisor, truncated toward zero.",
    "QUOTIENT(-7, 2)",
    "-3",
    sql=pg(lambda c, a, call: sa.func.div(_n(a[0]), sa.func.nullif(_n(a[1]), 0))),
    notes="A divisor of 0 gives blank (Excel: #DIV/0!).",
)
def _quotient(value: Any, divisor: Any) -> Decimal | None:
    if value is None or divisor is None:
        return None
    (x, d), _ = _integers(value, divisor)
    if d == 0:
        return None
    whole = abs(x) // abs(d)
    return decimals.checked(Decimal(-whole if (x < 0) != (d < 0) else whole))
