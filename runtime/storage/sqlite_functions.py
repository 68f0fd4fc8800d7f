"""SQL functions Tenon adds to every SQLite connection.

SQLite has no decimal type (decimal columns hold doubles, exact to 15 significant
digits), so formulas compiled to SQL call these functions for decimal arithmetic. They
follow ``runtime.decimals`` exactly, and pass decimals between each other as text so
nothing is rounded to a double in between. Every function returns NULL for a NULL input
and never raises into SQLite (a guard that trips returns NULL after recording nothing).
"""

from __future__ import annotations

import re
import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from runtime import decimals
from runtime.decimals import NumberTooLarge, to_decimal

SqlValue = str | int | float | bytes | None
_LOCK = threading.Lock()


def _out(value: Decimal | None) -> str | int | None:
    if value is None:
        return None
    if value == value.to_integral_value() and abs(value) < 2**63:
        return int(value)
    return str(value)


def _binary(op: Callable[[Decimal, Decimal], Decimal | None]) -> Callable[..., SqlValue]:
    def call(a: Any, b: Any) -> SqlValue:
        x, y = to_decimal(a), to_decimal(b)
        if x is None or y is None:
            return None
        try:
            return _out(op(x, y))
        except (NumberTooLarge, ArithmeticError):
            return None

    return call


def tenon_round(value: Any, digits: Any, mode: Any = "half_up") -> SqlValue:
    x, n = to_decimal(value), to_decimal(digits)
    if x is None or n is None or mode not in ("half_up", "down", "up", "floor", "ceiling"):
        return None
    try:
        return _out(decimals.round_to(x, int(n), str(mode)))
    except (NumberTooLarge, ArithmeticError):
        return None


def tenon_num(value: Any) -> SqlValue:
    return _out(to_decimal(value))


def tenon_text(value: Any) -> str | None:
    x = to_decimal(value)
    return None if x is None else decimals.text_of(x)


def tenon_cmp(a: Any, b: Any) -> int | None:
    x, y = to_decimal(a), to_decimal(b)
    if x is None or y is None:
        return None
    return (x > y) - (x < y)


def _day(value: Any) -> date | None:
    if value is None:
        return None
    try:
        text = str(value)
        return datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
    except ValueError:
        return None


def _moment(value: Any) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


def tenon_days_between(a: Any, b: Any) -> SqlValue:
    """``a - b`` in days: whole days for two dates, a fraction when a time is involved."""
    if a is None or b is None:
        return None
    if len(str(a)) <= 10 and len(str(b)) <= 10:
        x, y = _day(a), _day(b)
        return None if x is None or y is None else (x - y).days
    m, n = _moment(a), _moment(b)
    if m is None or n is None:
        return None
    seconds = Decimal((m - n) // timedelta(microseconds=1)) / Decimal(86_400_000_000)
    return _out(decimals.checked(seconds))


def tenon_add_days(value: Any, days: Any) -> SqlValue:
    n = to_decimal(days)
    if value is None or n is None:
        return None
    try:
        if len(str(value)) <= 10:
            start = _day(value)
            return None if start is None else (start + timedelta(days=int(n))).isoformat()
        moment = _moment(value)
        if moment is None:
            return None
        shifted = moment + timedelta(microseconds=int(n * 86_400_000_000))
        return shifted.isoformat(sep=" ")
    except OverflowError:
        return None


class _Sum:
    def __init__(self) -> None:
        self.total: Decimal | None = None

    def step(self, value: Any) -> None:
        x = to_decimal(value)
        if x is not None:
            self.total = x if self.total is None else self.total + x

    def finalize(self) -> SqlValue:
        try:
            return _out(None if self.total is None else decimals.checked(self.total))
        except NumberTooLarge:
            return None


class _Extreme:
    largest = False

    def __init__(self) -> None:
        self.best: Decimal | None = None

    def step(self, value: Any) -> None:
        x = to_decimal(value)
        if x is None:
            return
        if self.best is None or (x > self.best if self.largest else x < self.best):
            self.best = x

    def finalize(self) -> SqlValue:
        return _out(self.best)


class _Min(_Extreme):
    largest = False


class _Max(_Extreme):
    largest = True


def tenon_regexp(pattern: Any, text: Any) -> int | None:
    """``text REGEXP pattern``; patterns are checked by the formula engine beforehand."""
    if pattern is None or text is None:
        return None
    try:
        return 1 if re.search(str(pattern), str(text)) else 0
    except re.error:
        return None


_CALLS: OrderedDict[str, Callable[..., Any]] = OrderedDict()
MAX_PROVIDED = 10_000  # distinct formulas come from users (filters): keep the recent ones


def provide(key: str, function: Callable[..., Any]) -> None:
    """Make ``function`` callable from SQL as ``tenon_call(key, args…)``.

    The formula engine provides its functions this way, so SQLite runs them with the
    very same Python code the evaluator uses. ``function`` takes and returns SQLite values.
    """
    with _LOCK:
        _CALLS[key] = function
        _CALLS.move_to_end(key)
        while len(_CALLS) > MAX_PROVIDED:
            _CALLS.popitem(last=False)


def tenon_call(key: Any, *args: Any) -> Any:
    function = _CALLS.get(str(key))
    if function is None:
        return None
    try:
        return function(*args)
    except Exception:  # SQLite must get a value: a tripped guard gives NULL
        return None


SCALARS: dict[str, tuple[int, Callable[..., Any]]] = {
    "tenon_call": (-1, tenon_call),
    "tenon_add": (2, _binary(decimals.add)),
    "tenon_sub": (2, _binary(decimals.sub)),
    "tenon_mul": (2, _binary(decimals.mul)),
    "tenon_div": (2, _binary(decimals.div)),
    "tenon_round": (3, tenon_round),
    "tenon_num": (1, tenon_num),
    "tenon_text": (1, tenon_text),
    "tenon_cmp": (2, tenon_cmp),
    "tenon_days_between": (2, tenon_days_between),
    "tenon_add_days": (2, tenon_add_days),
    "regexp": (2, tenon_regexp),
}
AGGREGATES: dict[str, tuple[int, type]] = {
    "tenon_sum": (1, _Sum),
    "tenon_min": (1, _Min),
    "tenon_max": (1, _Max),
}


def register(connection: sqlite3.Connection) -> None:
    for name, (nargs, function) in SCALARS.items():
        connection.create_function(name, nargs, function, deterministic=True)
    for name, (nargs, cls) in AGGREGATES.items():
        connection.create_aggregate(name, nargs, cls)
