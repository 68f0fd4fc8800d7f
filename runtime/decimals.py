"""Exact decimal arithmetic shared by the formula evaluator and the SQLite SQL functions.

The rules (docs/formulas.md, "Numbers"):

* ``+``, ``-`` and ``*`` are exact, except that a result with more than ``MAX_SCALE``
  (30) decimal places is rounded there, half away from zero;
* ``/`` gives the quotient rounded half away from zero to 30 decimal places; dividing by
  zero gives blank (None);
* a blank operand gives blank;
* a result of ``MAX_DIGITS`` (38) or more whole digits is an error (``NumberTooLarge``).

PostgreSQL's NUMERIC follows the same rules when the compiler adds the rounding, so a
value computed in Python equals the value computed inside either database.
"""

from __future__ import annotations

from decimal import (
    ROUND_CEILING,
    ROUND_DOWN,
    ROUND_FLOOR,
    ROUND_HALF_UP,
    ROUND_UP,
    Context,
    Decimal,
    InvalidOperation,
)

MAX_SCALE = 30
MAX_DIGITS = 38  # whole digits; NUMERIC(38) is the widest column Tenon declares
CONTEXT = Context(prec=MAX_DIGITS + MAX_SCALE + 12, rounding=ROUND_HALF_UP)
_QUANTUM = Decimal(1).scaleb(-MAX_SCALE)
_LIMIT = Decimal(10) ** MAX_DIGITS
_QUANTA = [Decimal(1).scaleb(-n) for n in range(MAX_SCALE + 1)]

Number = Decimal | int


class NumberTooLarge(ArithmeticError):
    """A result outside what Tenon stores (38 whole digits)."""


def bounded(value: Decimal) -> Decimal:
    """``value`` if it has fewer than 38 whole digits (else ``NumberTooLarge``)."""
    if value.adjusted() >= MAX_DIGITS and value:
        raise NumberTooLarge("the result is too large (more than 38 digits)")
    return value


def checked(value: Decimal) -> Decimal:
    """``value`` bounded, and rounded to 30 decimal places if it has more."""
    if not value.is_finite():
        raise NumberTooLarge("the result is too large (more than 38 digits)")
    bounded(value)
    if value.as_tuple().exponent < -MAX_SCALE:  # type: ignore[operator]
        return value.quantize(_QUANTUM, rounding=ROUND_HALF_UP, context=CONTEXT)
    return value


def to_decimal(value: object) -> Decimal | None:
    """A number from the database or the user (float from SQLite, text from SQL functions)."""
    if value is None:
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, bool):
        return Decimal(int(value))
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, str):
        try:
            out = Decimal(value.strip())
        except InvalidOperation:
            return None
        return out if out.is_finite() else None
    return None


# Every number the engine holds has at most 30 decimal places, so a sum or difference has
# at most 30 too and only its size needs checking; a product may have more.


def add(a: Number | None, b: Number | None) -> Decimal | None:
    if a is None or b is None:
        return None
    return bounded(CONTEXT.add(a, b))


def sub(a: Number | None, b: Number | None) -> Decimal | None:
    if a is None or b is None:
        return None
    return bounded(CONTEXT.subtract(a, b))


def mul(a: Number | None, b: Number | None) -> Decimal | None:
    if a is None or b is None:
        return None
    return checked(CONTEXT.multiply(a, b))


def mul_long(a: Number | None, b: Number | None) -> Decimal | None:
    """``mul`` for operands whose decimal places may add up to more than 30: the product is
    always rounded to 30 places (same value as ``mul``, without inspecting the digits)."""
    if a is None or b is None:
        return None
    product = CONTEXT.multiply(a, b)
    if product.adjusted() >= MAX_DIGITS and product:
        raise NumberTooLarge("the result is too large (more than 38 digits)")
    return product.quantize(_QUANTUM, rounding=ROUND_HALF_UP, context=CONTEXT)


def mul_short(a: Number | None, b: Number | None) -> Decimal | None:
    """``mul`` for operands known to have at most 30 decimal places between them."""
    if a is None or b is None:
        return None
    return bounded(CONTEXT.multiply(a, b))


_SHIFT = 10**MAX_SCALE


def div(a: Number | None, b: Number | None) -> Decimal | None:
    """``a / b`` rounded once, half away from zero, at 30 decimal places — computed on
    integers, so it is exact whatever the digits (PostgreSQL does the same sum)."""
    if a is None or b is None or b == 0:
        return None
    na, da = a.as_integer_ratio()
    nb, db = b.as_integer_ratio()
    num, den = abs(na * db) * _SHIFT, abs(da * nb)
    units = (2 * num + den) // (2 * den)
    if (na < 0) != (nb < 0):
        units = -units
    return bounded(Decimal(units).scaleb(-MAX_SCALE, context=CONTEXT))


def neg(a: Number | None) -> Decimal | None:
    return None if a is None else CONTEXT.minus(a)


_MODES = {
    "half_up": ROUND_HALF_UP,  # half away from zero, as Excel's ROUND
    "down": ROUND_DOWN,  # toward zero (ROUNDDOWN, TRUNC)
    "up": ROUND_UP,  # away from zero (ROUNDUP)
    "floor": ROUND_FLOOR,
    "ceiling": ROUND_CEILING,
}


def round_to(value: Number | None, digits: Number | None, mode: str = "half_up") -> Decimal | None:
    """``value`` rounded to ``digits`` decimal places; negative digits round to tens,
    hundreds, …; the result has ``max(digits, 0)`` decimal places."""
    if value is None or digits is None:
        return None
    places = int(digits)
    if places > MAX_SCALE:
        places = MAX_SCALE
    if places < -MAX_DIGITS:
        return Decimal(0)
    rounding = _MODES[mode]
    dec = value if isinstance(value, Decimal) else Decimal(value)
    if places >= 0:
        quantum = _QUANTA[places] if places < len(_QUANTA) else Decimal(1).scaleb(-places)
        return bounded(dec.quantize(quantum, rounding=rounding, context=CONTEXT))
    step = Decimal(1).scaleb(-places)
    units = (dec / step).quantize(Decimal(1), rounding=rounding, context=CONTEXT)
    return checked((units * step).quantize(Decimal(1), context=CONTEXT))


def text_of(value: Number) -> str:
    """A number as text: no exponent, no trailing zeros (``1250``, ``0.5``, ``-3.25``)."""
    dec = value if isinstance(value, Decimal) else Decimal(value)
    if dec == 0:
        return "0"
    return format(dec.normalize(CONTEXT), "f")
