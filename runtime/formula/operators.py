"""The operators of the formula language on Python values (blank is ``None``).

Arithmetic follows ``runtime.decimals``; comparisons never give blank (a blank is never
equal, less or greater; ``<>`` is TRUE); ``&`` joins the text forms of both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from runtime import decimals
from runtime.formula.errors import EvalError
from runtime.formula.types import FType

MAX_TEXT = 100_000  # characters in any text a formula builds
_DAY_US = Decimal(86_400_000_000)


def text_of(value: Any) -> str:
    """How a value reads inside text (``&``, CONCAT, TEXT without a format)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | Decimal):
        return decimals.text_of(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(text_of(v) for v in value)
    return str(value)


def bounded(text: str) -> str:
    if len(text) > MAX_TEXT:
        raise EvalError(f"the text would be longer than {MAX_TEXT:,} characters")
    return text


def concat(a: Any, b: Any) -> str:
    left, right = text_of(a), text_of(b)
    if len(left) + len(right) > MAX_TEXT:
        raise EvalError(f"the text would be longer than {MAX_TEXT:,} characters")
    return left + right


def is_true(value: Any, _: Any = None) -> bool:
    return value is True


def negate(value: Any) -> Any:
    return decimals.neg(value)


def _moment(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def _align(a: Any, b: Any) -> tuple[Any, Any]:
    if (
        isinstance(a, date)
        and isinstance(b, date)
        and isinstance(a, datetime) != isinstance(b, datetime)
    ):
        return _moment(a), _moment(b)
    return a, b


def eq(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return False
    a, b = _align(a, b)
    return bool(a == b)


def ne(a: Any, b: Any) -> bool:
    return not eq(a, b)


def _ordered(test: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
    def compare(a: Any, b: Any) -> bool:
        if a is None or b is None:
            return False
        a, b = _align(a, b)
        return test(a, b)

    return compare


lt = _ordered(lambda a, b: a < b)
le = _ordered(lambda a, b: a <= b)
gt = _ordered(lambda a, b: a > b)
ge = _ordered(lambda a, b: a >= b)


def add_days(moment: Any, days: Any) -> Any:
    """``moment`` moved by ``days`` (whole days for a date); blank outside years 1–9999."""
    if moment is None or days is None:
        return None
    try:
        if isinstance(moment, datetime):
            return moment + timedelta(microseconds=int(Decimal(days) * _DAY_US))
        return moment + timedelta(days=int(days))
    except OverflowError:
        return None


def sub_days(moment: Any, days: Any) -> Any:
    return add_days(moment, None if days is None else -days)


def days_between(a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if isinstance(a, datetime) or isinstance(b, datetime):
        delta = _moment(a) - _moment(b)
        return decimals.div(Decimal(delta // timedelta(microseconds=1)), _DAY_US)
    return (a - b).days


_ARITH: dict[str, Callable[[Any, Any], Any]] = {
    "+": decimals.add,
    "-": decimals.sub,
    "*": decimals.mul,
    "/": decimals.div,
}
_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": eq,
    "<>": ne,
    "<": lt,
    "<=": le,
    ">": gt,
    ">=": ge,
}


def for_binary(op: str, left: FType, right: FType) -> Callable[[Any, Any], Any]:
    if op in _COMPARE:
        return _COMPARE[op]
    if op == "&":
        return concat
    dates = ("date", "datetime")
    if left.kind in dates and right.kind in dates:
        return days_between
    if left.kind in dates:
        return add_days if op == "+" else sub_days
    if op == "*":
        short = left.scale + right.scale <= decimals.MAX_SCALE
        return decimals.mul_short if short else decimals.mul_long
    return _ARITH[op]
