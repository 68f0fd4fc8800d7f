"""Dates, continued: working days (WORKDAY, NETWORKDAYS and their _INTL forms with a
weekend code).

Working days are counted by whole weeks plus a remainder looked up in small tables, never
day by day; holidays are a sorted list searched by bisection. A result more than 100
years (36,525 days) from the start, or a span longer than that, gives blank.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any, NamedTuple

import sqlalchemy as sa

from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.library.base import EvalError, fn, pg
from runtime.formula.library.dates import (
    MAX_ORDINAL,
    day_of,
    pg_day,
    pg_from_ordinal,
    pg_int,
    pg_ordinal,
    pg_whole,
)
from runtime.formula.library.dates_common import _ordered

SPAN = 36_525  # days: 100 years
MAX_HOLIDAYS = 10_000


# Excel's weekend codes: the weekdays (Monday 0 … Sunday 6) that are not working days.
_WEEKENDS: dict[int, tuple[int, ...]] = {
    1: (5, 6),
    2: (6, 0),
    3: (0, 1),
    4: (1, 2),
    5: (2, 3),
    6: (3, 4),
    7: (4, 5),
} | {10 + k: ((k + 5) % 7,) for k in range(1, 8)}


class Week(NamedTuple):
    """A working week (``works[w]`` for weekday ``w``, Monday 0) and its lookup tables."""

    works: tuple[bool, ...]
    per_week: int
    counts: tuple[tuple[int, ...], ...]  # [w][r]: working days among r days from weekday w
    forward: tuple[tuple[int, ...], ...]  # [w][r-1]: days from weekday w to its r-th next one
    backward: tuple[tuple[int, ...], ...]  # [w][r-1]: days back to its r-th previous one

    def table(self, name: str) -> str:
        """A table as 49 digits for SQL: ``counts[w][r]`` at position ``7w + r + 1``,
        ``forward[w][r - 1]`` / ``backward[w][r - 1]`` at position ``7w + r``."""
        if name == "count":
            return "".join(str(n) for row in self.counts for n in row)
        rows = self.forward if name == "forward" else self.backward
        return "".join(str(row[i]) if i < len(row) else "0" for row in rows for i in range(7))


@lru_cache(maxsize=256)
def _week(works: tuple[bool, ...]) -> Week:
    return Week(
        works,
        sum(works),
        tuple(tuple(sum(works[(w + i) % 7] for i in range(r)) for r in range(7)) for w in range(7)),
        tuple(tuple(i for i in range(1, 8) if works[(w + i) % 7]) for w in range(7)),
        tuple(tuple(i for i in range(1, 8) if works[(w - i) % 7]) for w in range(7)),
    )


def week_of(weekend: Any) -> Week | None:
    """The week for an Excel weekend code (1–7, 11–17) or a 7-character mask such as
    "0000011" (Monday first, 1 = not a working day); None for anything else."""
    if isinstance(weekend, str):
        if len(weekend) != 7 or set(weekend) - {"0", "1"} or "0" not in weekend:
            return None
        return _week(tuple(ch == "0" for ch in weekend))
    if isinstance(weekend, bool) or not isinstance(weekend, int | Decimal):
        return None
    if weekend != int(weekend) or int(weekend) not in _WEEKENDS:
        return None
    off = _WEEKENDS[int(weekend)]
    return _week(tuple(w not in off for w in range(7)))


_OMITTED: Any = object()


def _holidays(values: Any, week: Week) -> list[int]:
    """Sorted day numbers of the distinct holidays that fall on working days."""
    if values is None:
        return []
    if len(values) > MAX_HOLIDAYS:
        raise EvalError(f"at most {MAX_HOLIDAYS:,} holidays can be given")
    days = {_ordinal(d) for d in (day_of(v) for v in values) if d is not None}
    return sorted(o for o in days if week.works[o % 7])


def _ordinal(day: date) -> int:
    return day.toordinal() - 1  # 0001-01-01 is 0, a Monday


def _shift(start: int, n: int, week: Week) -> int:
    """The ``n``-th working day after (before, when negative) day ``start``, holidays aside."""
    q, r = divmod(abs(n) - 1, week.per_week)
    if n > 0:
        return start + 7 * q + week.forward[start % 7][r]
    return start - 7 * q - week.backward[start % 7][r]


def workday(start: Any, days: Any, weekend: Any, holidays: Any) -> date | None:
    day = day_of(start)
    week = week_of(weekend)
    if day is None or days is None or week is None:
        return None
    off = _holidays(holidays, week)
    n = int(days)
    if n == 0 or abs(n) > SPAN:
        return day if n == 0 else None
    origin = current = _ordinal(day)
    left = abs(n)
    while True:  # each round skips the holidays met in the last one: at most len(off) rounds
        target = _shift(current, left if n > 0 else -left, week)
        if n > 0:
            left = bisect_right(off, target) - bisect_right(off, current)
        else:
            left = bisect_left(off, current) - bisect_left(off, target)
        current = target
        if left == 0:
            break
    if abs(current - origin) > SPAN or not 0 <= current <= MAX_ORDINAL:
        return None
    return date.fromordinal(current + 1)


def networkdays(start: Any, end: Any, weekend: Any, holidays: Any) -> int | None:
    s, e = day_of(start), day_of(end)
    week = week_of(weekend)
    if s is None or e is None or week is None:
        return None
    off = _holidays(holidays, week)
    a, b = _ordinal(s), _ordinal(e)
    lo, hi = min(a, b), max(a, b)
    if hi - lo > SPAN:
        return None
    q, r = divmod(hi - lo + 1, 7)
    count = q * week.per_week + week.counts[lo % 7][r]
    count -= bisect_right(off, hi) - bisect_left(off, lo)
    return count if a <= b else -count


class _PgWeek:
    """The weekend argument in PostgreSQL: a known week, or a CASE over Excel's codes."""

    def __init__(self, call: ir.Call, a: list[Any], index: int | None) -> None:
        self.code: Any = None
        self.options: list[tuple[int | None, Week]] = []
        expr = call.args[index] if index is not None and index < len(a) else None
        if expr is None or isinstance(expr, ir.Const):
            week = week_of(1 if expr is None else expr.value)
            self.options = [] if week is None else [(None, week)]
        elif expr.type.kind == "number":
            self.code = sa.cast(a[index or 0], sa.Numeric())
            self.options = [(code, _week_of_code(code)) for code in _WEEKENDS]
        elif expr.type.kind == "text":
            raise FormulaError(
                f"{call.function.name}() needs its weekend as a number or written in the "
                "formula to run inside the database",
                expr.pos,
                "FORMULA_SQL",
            )

    def pick(self, value: Any) -> Any:
        if len(self.options) == 1 and self.options[0][0] is None:
            return sa.literal(value(self.options[0][1]))
        whens = [(self.code == code, sa.literal(value(week))) for code, week in self.options]
        return sa.case(*whens, else_=sa.null())

    def lookup(self, table: str, index: Any) -> Any:
        return pg_int(sa.func.substr(self.pick(lambda w: w.table(table)), pg_int(index), 1))


def _week_of_code(code: int) -> Week:
    week = week_of(code)
    assert week is not None
    return week


def _no_holidays(call: ir.Call, index: int) -> None:
    if len(call.args) > index:
        expr = call.args[index]
        if expr.type.kind != "blank":
            raise FormulaError(
                f"{call.function.name}() with holidays cannot run inside the database",
                expr.pos,
                "FORMULA_SQL",
            )


def _workday_pg(a: list[Any], call: ir.Call, weekend: int | None, holidays: int) -> Any:
    _no_holidays(call, holidays)
    week = _PgWeek(call, a, weekend)
    if not week.options:
        return sa.null()
    origin, n = pg_ordinal(a[0]), pg_whole(a[1])
    per_week = week.pick(lambda w: w.per_week)
    q = sa.func.div(sa.func.abs(n) - 1, per_week)
    index = sa.func.mod(origin, 7) * 7 + sa.func.mod(sa.func.abs(n) - 1, per_week) + 1
    target = sa.case(
        (n > 0, origin + q * 7 + week.lookup("forward", index)),
        else_=origin - q * 7 - week.lookup("backward", index),
    )
    moved = sa.case((sa.func.abs(target - origin) <= SPAN, pg_from_ordinal(target)), else_=None)
    return sa.case(
        (per_week.is_(None), None),  # a weekend code that is not one of Excel's
        (sa.func.abs(n) > SPAN, None),
        (n == 0, pg_day(a[0])),
        else_=moved,
    )


def _networkdays_pg(a: list[Any], call: ir.Call, weekend: int | None, holidays: int) -> Any:
    _no_holidays(call, holidays)
    week = _PgWeek(call, a, weekend)
    if not week.options:
        return sa.null()
    first, last = pg_ordinal(a[0]), pg_ordinal(a[1])
    lo, hi = _ordered(first, last)
    length = hi - lo + 1
    index = sa.func.mod(lo, 7) * 7 + sa.func.mod(length, 7) + 1
    count = sa.func.div(length, 7) * week.pick(lambda w: w.per_week) + week.lookup("count", index)
    result = sa.case((hi - lo > SPAN, None), (first <= last, count), else_=-count)
    return sa.cast(result, sa.BigInteger())


_HOLIDAY_NOTE = (
    "Holidays are a list of dates (such as `holidays.day` of related records); a blank list "
    "or blank dates in it are ignored, more than 10,000 is an error, and only without "
    "holidays does it run inside the database. A result or span beyond 100 years gives blank."
)


@fn(
    "WORKDAY",
    "date",
    "start: date, days: number, holidays?: list:date",
    "date",
    "The working day `days` working days after `start` (before when negative), skipping "
    "Saturdays, Sundays and the holidays.",
    'WORKDAY("2025-03-07", 1)',
    "2025-03-10",
    sql=pg(lambda c, a, call: _workday_pg(a, call, None, 2)),
    notes="`days` is cut to a whole number; 0 gives `start` itself. " + _HOLIDAY_NOTE,
)
def _workday(start: Any, days: Any, holidays: Any = None) -> date | None:
    return workday(start, days, 1, holidays)


@fn(
    "WORKDAY_INTL",
    "date",
    "start: date, days: number, weekend?: any, holidays?: list:date",
    "date",
    "WORKDAY with other weekends: Excel's code (1 Sat–Sun, 2 Sun–Mon … 7 Fri–Sat, 11 Sunday "
    '… 17 Saturday only) or a mask such as "0000011" (Monday first, 1 = weekend).',
    'WORKDAY_INTL("2025-03-06", 1, 7)',
    "2025-03-09",
    sql=pg(lambda c, a, call: _workday_pg(a, call, 2, 3)),
    notes="Excel's WORKDAY.INTL. Another weekend value, or one with no working day, gives "
    "blank (Excel: #NUM! / #VALUE!). In a filter the weekend must be a number or written "
    "in the formula. " + _HOLIDAY_NOTE,
)
def _workday_intl(start: Any, days: Any, weekend: Any = 1, holidays: Any = None) -> date | None:
    return workday(start, days, weekend, holidays)


@fn(
    "NETWORKDAYS",
    "date",
    "start: date, end: date, holidays?: list:date",
    "integer",
    "The number of working days (Monday to Friday, not holidays) from `start` to `end`, "
    "both included; negative when `end` is earlier.",
    'NETWORKDAYS("2025-03-01", "2025-03-31")',
    "21",
    sql=pg(lambda c, a, call: _networkdays_pg(a, call, None, 2)),
    notes="A holiday on a weekend or given twice counts once. " + _HOLIDAY_NOTE,
)
def _networkdays(start: Any, end: Any, holidays: Any = None) -> int | None:
    return networkdays(start, end, 1, holidays)


@fn(
    "NETWORKDAYS_INTL",
    "date",
    "start: date, end: date, weekend?: any, holidays?: list:date",
    "integer",
    "NETWORKDAYS with other weekends, given as in WORKDAY_INTL.",
    'NETWORKDAYS_INTL("2025-03-01", "2025-03-31", 11)',
    "26",
    sql=pg(lambda c, a, call: _networkdays_pg(a, call, 2, 3)),
    notes="Excel's NETWORKDAYS.INTL; weekends as in WORKDAY_INTL. " + _HOLIDAY_NOTE,
)
def _networkdays_intl(start: Any, end: Any, weekend: Any = 1, holidays: Any = None) -> Any:
    return networkdays(start, end, weekend, holidays)
