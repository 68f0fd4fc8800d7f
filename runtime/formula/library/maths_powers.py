"""Numbers, continued: signs and parity, GCD/LCM, PRODUCT, and powers, roots,
exponentials and logarithms (POWER, SQRT, EXP, LN, LOG, LOG10, PI).

Powers, roots, exponentials and logarithms are computed with ``runtime.decimals.CONTEXT``
precision (80 digits) and rounded half away from zero to 30 decimal places, so a value
is the same on every machine; a whole-number power is exact before that rounding. They
run in Python only: PostgreSQL's NUMERIC functions round differently in the last digits,
and a translation that can disagree with the evaluator is worse than none.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from runtime import decimals
from runtime.decimals import CONTEXT, MAX_DIGITS, NumberTooLarge
from runtime.formula import ir
from runtime.formula.library.base import EvalError, flatten, fn, pg
from runtime.formula.library.maths import num
from runtime.formula.types import MAX_SCALE, FType, number

_LIMIT = 10**MAX_DIGITS


def _n(value: Any) -> Any:
    return sa.cast(value, sa.Numeric())


@fn(
    "SIGN",
    "math",
    "value: number",
    "integer",
    "1 for a positive value, -1 for a negative one, 0 for zero.",
    "SIGN(-0.5)",
    "-1",
    sql=pg(lambda c, a, call: sa.func.sign(_n(a[0]))),
)
def _sign(value: Any) -> int | None:
    return None if value is None else (value > 0) - (value < 0)


def _parity_pg(even: bool) -> Any:
    def sql(c: Any, a: list[Any], call: ir.Call) -> Any:
        rest = sa.func.mod(sa.func.trunc(_n(a[0])), 2)
        return sa.func.coalesce(rest == 0 if even else rest != 0, sa.false())

    return sql


_PARITY = "A blank value gives FALSE (Excel treats an empty cell as 0, which is even)."


@fn(
    "ISEVEN",
    "math",
    "value: number",
    "boolean",
    "TRUE when the whole-number part of the value is even.",
    "ISEVEN(-2.5)",
    "TRUE",
    sql=pg(_parity_pg(True)),
    notes=_PARITY,
)
def _iseven(value: Any) -> bool:
    return value is not None and int(num(value)) % 2 == 0


@fn(
    "ISODD",
    "math",
    "value: number",
    "boolean",
    "TRUE when the whole-number part of the value is odd.",
    "ISODD(3.9)",
    "TRUE",
    sql=pg(_parity_pg(False)),
    notes=_PARITY,
)
def _isodd(value: Any) -> bool:
    return value is not None and int(num(value)) % 2 == 1


def _wholes(values: Sequence[Any]) -> list[int] | None:
    items = flatten(values)
    if not items or any(v < 0 for v in items):
        return None
    return [int(num(v)) for v in items]


def _gcd_lcm_pg(name: str, neutral: int) -> Any:
    def sql(c: Any, a: list[Any], call: ir.Call) -> Any:
        values = [_n(x) for x in a]
        out = None
        for v in values:
            term = sa.func.coalesce(sa.func.trunc(v), neutral)
            out = term if out is None else getattr(sa.func, name)(out, term)
        return sa.case(
            (sa.and_(*[v.is_(None) for v in values]), sa.null()),
            (sa.or_(*[v < 0 for v in values]), sa.null()),
            else_=out,
        )

    return sql


_WHOLES = (
    "Decimals are truncated to whole numbers, as in Excel. Blanks are skipped (as SUM skips "
    "them; Excel reads an empty cell as 0) and only blanks give blank. A negative value gives "
    "blank (Excel: #NUM!)."
)


@fn(
    "GCD",
    "math",
    "value...: number",
    "integer",
    "The greatest common divisor of the whole numbers.",
    "GCD(24, 36)",
    "12",
    min_args=1,
    sql=pg(_gcd_lcm_pg("gcd", 0)),
    notes=_WHOLES,
)
def _gcd(*values: Any) -> int | None:
    wholes = _wholes(values)
    return None if wholes is None else math.gcd(*wholes)


@fn(
    "LCM",
    "math",
    "value...: number",
    "integer",
    "The least common multiple of the whole numbers (0 when one of them is 0).",
    "LCM(4, 6)",
    "12",
    min_args=1,
    sql=pg(_gcd_lcm_pg("lcm", 1)),
    notes=_WHOLES,
)
def _lcm(*values: Any) -> int | None:
    wholes = _wholes(values)
    if wholes is None:
        return None
    out = 1
    for whole in wholes:
        out = math.lcm(out, whole)
        if out >= _LIMIT:
            raise NumberTooLarge("the result is too large (more than 38 digits)")
    return out


def _product_scale(types: Sequence[FType], call: ir.Call) -> FType:
    return number(min(sum(t.scale for t in types), MAX_SCALE))


def _product_pg(c: Any, a: list[Any], call: ir.Call) -> Any:
    out, scale = None, 0
    for arg, expr in zip(a, call.args, strict=True):
        term = sa.func.coalesce(arg, 1)
        if out is None:
            out, scale = term, expr.type.scale
        else:
            out = c.arith("*", out, term, (scale, expr.type.scale))
            scale = min(scale + expr.type.scale, MAX_SCALE)
    return sa.case((sa.and_(*[x.is_(None) for x in a]), sa.null()), else_=out)


@fn(
    "PRODUCT",
    "math",
    "value...: number",
    _product_scale,
    "Multiplies the values, ignoring blanks.",
    "PRODUCT(2, 3.5, 4)",
    "28",
    min_args=1,
    sql=pg(_product_pg),
    notes="Only blanks give blank (Excel gives 0). The same as multiplying with *, so a "
    "product with more than 30 decimal places is rounded there at each step.",
)
def _product(*values: Any) -> Decimal | None:
    items = flatten(values)
    if not items:
        return None
    out = decimals.mul(1, items[0])
    for v in items[1:]:
        out = decimals.mul(out, v)
    return out


# -- powers and logarithms ----------------------------------------------------------------

_EXACT_DIGITS = 4_000  # a whole-number power is computed exactly up to this many digits
PI = Decimal("3.141592653589793238462643383280")  # rounded half up to 30 places


def _half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` (denominator > 0) rounded half away from zero."""
    whole, rest = divmod(abs(numerator), denominator)
    whole += 2 * rest >= denominator
    return whole if numerator >= 0 else -whole


def _exact_power(x: Decimal, n: int) -> Decimal:
    """``x ** n`` for a whole ``n``, rounded once (half away from zero) to 30 places."""
    sign, digits, exponent = x.as_tuple()
    coefficient, e = int("".join(map(str, digits))), int(exponent)
    if e > 0:  # 1E+5 (SQLite gives such values): a whole coefficient
        coefficient, e = coefficient * 10**e, 0
    power = coefficient ** abs(n) * (-1 if sign and n % 2 else 1)
    shift = e * abs(n) + MAX_SCALE  # power * 10**(e*|n|) in units of 10**-30
    if n > 0:
        units = power * 10**shift if shift >= 0 else _half_up(power, 10**-shift)
    else:  # 1 / (power * 10**(e*|n|))
        scale = MAX_SCALE - e * abs(n)
        units = _half_up(10**scale * (1 if power > 0 else -1), abs(power))
    if abs(units) >= _LIMIT * 10**MAX_SCALE:
        raise NumberTooLarge("the result is too large (more than 38 digits)")
    exact = Decimal(units).scaleb(-MAX_SCALE, CONTEXT).normalize(CONTEXT)
    return (
        exact.quantize(Decimal(1), context=CONTEXT) if int(exact.as_tuple().exponent) > 0 else exact
    )


def _power_type(types: Sequence[FType], call: ir.Call) -> FType:
    """A whole, non-negative literal exponent keeps the base's decimal places (times n)."""
    exponent = call.args[1]
    if isinstance(exponent, ir.Const) and isinstance(exponent.value, int) and exponent.value >= 0:
        return number(min(types[0].scale * exponent.value, MAX_SCALE))
    return number(MAX_SCALE)


@fn(
    "POWER",
    "math",
    "base: number, exponent: number",
    _power_type,
    "`base` raised to `exponent`; fractional exponents need a base that is not negative.",
    "POWER(1.5, 2)",
    "2.25",
    notes="A negative base with a fractional exponent gives blank (Excel: #NUM!), and so does "
    "0 with a negative exponent (Excel: #DIV/0!); POWER(0, 0) is 1 (Excel: #NUM!). A result "
    "beyond Tenon's number range is a formula error, refused before it is computed.",
)
def _power(base: Any, exponent: Any) -> Decimal | None:
    if base is None or exponent is None:
        return None
    x, y = num(base), num(exponent)
    whole = y == y.to_integral_value()
    if x == 0:
        return Decimal(0) if y > 0 else Decimal(1) if y == 0 else None
    if x < 0 and not whole:
        return None
    if y == 0 or x == 1:
        return Decimal(1)
    size = float(y) * math.log10(abs(float(x)))  # about how many whole digits
    if size >= MAX_DIGITS + 1:
        raise EvalError("POWER(): the result would have more than 38 whole digits")
    if size < -(MAX_SCALE + 2):
        return Decimal(0)
    if whole and abs(int(y)) * len(x.as_tuple().digits) <= _EXACT_DIGITS:
        return _exact_power(x, int(y))
    return decimals.checked(CONTEXT.power(x, y))


@fn(
    "SQRT",
    "math",
    "value: number",
    "number",
    "The square root (blank for a negative value).",
    "SQRT(16)",
    "4",
    notes="A negative value gives blank (Excel: #NUM!). Results have 30 decimal places at "
    "most, rounded half away from zero.",
)
def _sqrt(value: Any) -> Decimal | None:
    if value is None or value < 0:
        return None
    return decimals.checked(CONTEXT.sqrt(num(value)))


@fn(
    "EXP",
    "math",
    "value: number",
    "number",
    "e raised to the value.",
    "EXP(1)",
    "2.718281828459045235360287471353",
    notes="Results have 30 decimal places at most (Excel shows about 15 significant "
    "digits); from EXP(88) on the result is beyond Tenon's number range: a formula error.",
)
def _exp(value: Any) -> Decimal | None:
    if value is None:
        return None
    x = num(value)
    if x > 90:
        raise EvalError("EXP(): the result would have more than 38 whole digits")
    if x < -80:
        return Decimal(0)
    return decimals.checked(CONTEXT.exp(x))


def _positive(value: Any) -> Decimal | None:
    if value is None or value <= 0:
        return None
    return num(value)


_LOGS = "A value (or base) that is 0 or negative, or a base of 1, gives blank (Excel: #NUM!)."


@fn(
    "LN",
    "math",
    "value: number",
    "number",
    "The natural logarithm (base e).",
    "LN(10)",
    "2.302585092994045684017991454684",
    notes=_LOGS,
)
def _ln(value: Any) -> Decimal | None:
    x = _positive(value)
    return None if x is None else decimals.checked(CONTEXT.ln(x))


@fn(
    "LOG",
    "math",
    "value: number, base?: number",
    "number",
    "The logarithm to `base` (default 10).",
    "LOG(8, 2)",
    "3",
    notes=_LOGS,
)
def _log(value: Any, base: Any = 10) -> Decimal | None:
    x, b = _positive(value), _positive(base)
    if x is None or b is None or b == 1:
        return None
    if b == 10:
        return decimals.checked(CONTEXT.log10(x))
    return decimals.checked(CONTEXT.divide(CONTEXT.ln(x), CONTEXT.ln(b)))


@fn(
    "LOG10",
    "math",
    "value: number",
    "number",
    "The logarithm to base 10.",
    "LOG10(1000)",
    "3",
    notes=_LOGS,
)
def _log10(value: Any) -> Decimal | None:
    x = _positive(value)
    return None if x is None else decimals.checked(CONTEXT.log10(x))


@fn(
    "PI",
    "math",
    "",
    "number",
    "The number π, to 30 decimal places.",
    "PI()",
    "3.14159265358979323846264338328",
    sql=lambda c, a, call: c.literal(PI),
    notes="30 decimal places (Excel: 15 significant digits).",
)
def _pi() -> Decimal:
    return PI
