"""Dates, continued: weeks (WEEKDAY, WEEKNUM, ISOWEEKNUM), Feishu-style DATEADD and
DATETIME_DIFF, and the financial day counts YEARFRAC and DAYS360. Working days are in
dates_workdays.py."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from runtime import decimals
from runtime.formula.library.base import fn, pg
from runtime.formula.library.dates import (
    MAX_ORDINAL,
    day_of,
    pg_add_months,
    pg_bounded_int,
    pg_day,
    pg_from_ordinal,
    pg_int,
    pg_leap,
    pg_ordinal,
    pg_part,
    pg_whole,
    shift_months,
)
from runtime.formula.library.dates_common import _ordered
from runtime.formula.types import DATE, DATETIME

# Excel's WEEKDAY / WEEKNUM return types: the ISO weekday (Monday 1 … Sunday 7) that is
# day 1 of the week. WEEKDAY type 3 counts Monday as 0.
_WEEK_START = {1: 7, 2: 1, 11: 1, 12: 2, 13: 3, 14: 4, 15: 5, 16: 6, 17: 7}


def _week_start_pg(kind: Any) -> Any:
    whole = pg_whole(kind)
    return sa.case(*((whole == t, start) for t, start in _WEEK_START.items()), else_=sa.null())


@fn(
    "WEEKDAY",
    "date",
    "date: date, type?: number",
    "integer",
    "The day of the week: type 1 (default) Sunday 1 … Saturday 7; 2 Monday 1 … Sunday 7; "
    "3 Monday 0 … Sunday 6; 11–17 start at Monday … Sunday.",
    'WEEKDAY("2025-03-10", 2)',
    "1",
    sql=pg(lambda c, a, call: _weekday_pg(a)),
    notes="Another type gives blank (Excel: #NUM!).",
)
def _weekday(value: Any, kind: Any = 1) -> int | None:
    day = day_of(value)
    if day is None or kind is None:
        return None
    if int(kind) == 3:
        return day.weekday()
    start = _WEEK_START.get(int(kind))
    return None if start is None else (day.isoweekday() - start) % 7 + 1


def _weekday_pg(a: list[Any]) -> Any:
    kind = a[1] if len(a) > 1 else sa.literal(1)
    iso = pg_part("isodow", pg_day(a[0]))
    return sa.case(
        (pg_whole(kind) == 3, iso - 1),
        else_=pg_int(sa.func.mod(iso - _week_start_pg(kind) + 7, 7) + 1),
    )


@fn(
    "WEEKNUM",
    "date",
    "date: date, type?: number",
    "integer",
    "The week of the year: week 1 holds 1 January and weeks begin on Sunday (type 1, "
    "default), Monday (2 or 11), Tuesday (12) … Saturday (16), Sunday (17); 21 is ISOWEEKNUM.",
    'WEEKNUM("2025-03-10")',
    "11",
    sql=pg(lambda c, a, call: _weeknum_pg(a)),
    notes="Another type gives blank (Excel: #NUM!).",
)
def _weeknum(value: Any, kind: Any = 1) -> int | None:
    day = day_of(value)
    if day is None or kind is None:
        return None
    if int(kind) == 21:
        return day.isocalendar().week
    start = _WEEK_START.get(int(kind))
    if start is None:
        return None
    offset = (date(day.year, 1, 1).isoweekday() - start) % 7
    return (day.timetuple().tm_yday - 1 + offset) // 7 + 1


def _weeknum_pg(a: list[Any]) -> Any:
    kind = a[1] if len(a) > 1 else sa.literal(1)
    day = pg_day(a[0])
    jan1 = sa.func.make_date(pg_part("year", day), 1, 1)
    offset = sa.func.mod(pg_part("isodow", jan1) - _week_start_pg(kind) + 7, 7)
    week = sa.func.div(pg_part("doy", day) - 1 + offset, 7) + 1
    return pg_int(sa.case((pg_whole(kind) == 21, pg_part("week", day)), else_=week))


@fn(
    "ISOWEEKNUM",
    "date",
    "date: date",
    "integer",
    "The ISO 8601 week number: weeks begin on Monday and week 1 holds the year's first "
    "Thursday (so 2024-12-30 is in week 1).",
    'ISOWEEKNUM("2024-12-30")',
    "1",
    sql=pg(lambda c, a, call: pg_part("week", pg_day(a[0]))),
)
def _isoweeknum(value: Any) -> int | None:
    day = day_of(value)
    return None if day is None else day.isocalendar().week


_UNITS = {"day": ("day", 1), "week": ("day", 7), "month": ("month", 1)}
_UNITS |= {"quarter": ("month", 3), "year": ("month", 12)}


def _unit(unit: Any) -> tuple[str, int] | None:
    text = str(unit).lower()
    return _UNITS.get(text[:-1] if text.endswith("s") else text)


@fn(
    "DATEADD",
    "date",
    "date: datetime, count: number, unit: text",
    lambda types, call: DATETIME if types[0].kind == "datetime" else DATE,
    'The date moved by `count` units: "day", "week", "month", "quarter" or "year" (or '
    "plural); months keep the day, or take the month's last day when it does not exist.",
    'DATEADD("2025-01-31", 1, "quarter")',
    "2025-04-30",
    sql=pg(lambda c, a, call: _dateadd_pg(a, call.args[0].type.kind == "datetime")),
    notes="From Feishu Base / Airtable; not in Excel (use EDATE or date + days). `count` is cut "
    "to a whole number; a date and time keeps its time of day.",
)
def _dateadd(value: Any, count: Any, unit: Any) -> date | None:
    if value is None or count is None or unit is None:
        return None
    spec = _unit(unit)
    if spec is None:
        return None
    n = int(count) * spec[1]
    if spec[0] == "day":
        try:
            moved: date = value + timedelta(days=n)
        except OverflowError:
            return None
        return moved
    day = day_of(value)
    shifted = None if day is None else shift_months(day, n)
    if shifted is None or not isinstance(value, datetime):
        return shifted
    return datetime.combine(shifted, value.time())


def _dateadd_pg(a: list[Any], moment: bool) -> Any:
    lowered = sa.func.lower(a[2])
    count = pg_whole(a[1])

    def days(n: Any) -> Any:
        if not moment:
            return pg_from_ordinal(pg_ordinal(a[0]) + n)
        shifted = a[0] + sa.func.make_interval(0, 0, 0, pg_bounded_int(n, MAX_ORDINAL))
        target = pg_ordinal(a[0]) + n
        return sa.case((target.between(0, MAX_ORDINAL), shifted), else_=sa.null())

    def months(n: Any) -> Any:
        return pg_add_months(
            a[0] if moment else pg_day(a[0]), n, sa.DateTime if moment else sa.Date
        )

    cases = []
    for name, (kind, size) in _UNITS.items():
        shift = days if kind == "day" else months
        cases.append((lowered.in_([name, name + "s"]), shift(count * size)))
    return sa.case(*cases, else_=sa.null())


_CLOCK_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 604800}
_MONTH_UNITS = {"month": 1, "quarter": 3, "year": 12}


def _moment(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def _whole_months(lo: datetime, hi: datetime) -> int:
    """The most months ``n`` with ``lo`` moved by ``n`` months (day clamped) ≤ ``hi``."""
    months = (hi.year - lo.year) * 12 + hi.month - lo.month
    moved = shift_months(lo.date(), months)
    if moved is not None and datetime.combine(moved, lo.time()) > hi:
        months -= 1
    return months


@fn(
    "DATETIME_DIFF",
    "date",
    "date1: datetime, date2: datetime, unit: text",
    "integer",
    '`date1 - date2` in whole units (cut toward zero): "second", "minute", "hour", '
    '"day", "week", "month", "quarter" or "year" (or plural).',
    'DATETIME_DIFF("2025-03-10", "2024-12-31", "month")',
    "2",
    sql=pg(lambda c, a, call: _datetime_diff_pg(a)),
    notes="From Feishu Base / Airtable; not in Excel. A month is counted when the date "
    "moved by it (as EDATE, keeping the time) is not past `date1`: from 31 January, 28 "
    'February is one month (DATEDIF(…, "M") says 0).',
)
def _datetime_diff(first: Any, second: Any, unit: Any) -> int | None:
    if first is None or second is None or unit is None:
        return None
    name = str(unit).lower()
    name = name[:-1] if name.endswith("s") else name
    x, y = _moment(first), _moment(second)
    if name in _CLOCK_UNITS:
        micros = (x - y) // timedelta(microseconds=1)
        whole = abs(micros) // (_CLOCK_UNITS[name] * 1_000_000)
    elif name in _MONTH_UNITS:
        whole = _whole_months(min(x, y), max(x, y)) // _MONTH_UNITS[name]
    else:
        return None
    return whole if x >= y else -whole


def _datetime_diff_pg(a: list[Any]) -> Any:
    x, y = (sa.cast(v, sa.DateTime()) for v in a[:2])
    lowered = sa.func.lower(a[2])
    micros = sa.extract("epoch", x - y) * 1_000_000
    lo, hi = _ordered(x, y)
    months = (pg_part("year", hi) - pg_part("year", lo)) * 12 + pg_part("month", hi)
    months = months - pg_part("month", lo)
    past = lo + sa.func.make_interval(0, months) > hi
    months = months - sa.case((past, 1), else_=0)
    sign = sa.case((x >= y, 1), else_=-1)
    cases: list[tuple[Any, Any]] = [
        (lowered.in_([n, n + "s"]), sa.func.div(micros, size * 1_000_000))
        for n, size in _CLOCK_UNITS.items()
    ]
    cases += [
        (lowered.in_([n, n + "s"]), sa.func.div(months, size) * sign)
        for n, size in _MONTH_UNITS.items()
    ]
    return sa.cast(sa.case(*cases, else_=sa.null()), sa.BigInteger())


# -- YEARFRAC and DAYS360 ----------------------------------------------------------------


def _last_of_february(day: date) -> bool:
    return day.month == 2 and day.day == calendar.monthrange(day.year, 2)[1]


def _days_before_year(year: int) -> int:
    y = year - 1
    return y * 365 + y // 4 - y // 100 + y // 400


def _yearfrac_parts(s: date, e: date, basis: int) -> tuple[int, int] | None:
    """Numerator and denominator of YEARFRAC for ``s <= e`` (Excel's rules, per basis)."""
    d1, d2 = s.day, e.day
    months360 = (e.year - s.year) * 360 + (e.month - s.month) * 30
    if basis == 0:
        if d1 >= 30:
            d1, d2 = 30, 30 if d2 == 31 else d2
        elif _last_of_february(s):
            d1, d2 = 30, 30 if _last_of_february(e) else d2
        return months360 + d2 - d1, 360
    if basis == 4:
        return months360 + min(d2, 30) - min(d1, 30), 360
    days = (e - s).days
    if basis in (2, 3):
        return days, 360 if basis == 2 else 365
    if basis != 1:
        return None
    if s.year == e.year:
        return days, 366 if calendar.isleap(s.year) else 365
    if s.year + 1 == e.year and (s.month, s.day) >= (e.month, e.day):
        feb29 = (calendar.isleap(s.year) and s.month <= 2) or (
            calendar.isleap(e.year) and (e.month, e.day) >= (2, 29)
        )
        return days, 366 if feb29 else 365
    years = e.year - s.year + 1
    return days * years, _days_before_year(e.year + 1) - _days_before_year(s.year)


@fn(
    "YEARFRAC",
    "date",
    "start: date, end: date, basis?: number",
    "number",
    "The fraction of a year between two dates. Basis 0 (default) US 30/360, 1 actual/actual, "
    "2 actual/360, 3 actual/365, 4 European 30/360.",
    'YEARFRAC("2025-01-01", "2025-07-01")',
    "0.5",
    sql=pg(lambda c, a, call: _yearfrac_pg(c, a)),
    notes="Follows Excel's rules for every basis (basis 1 divides by 365 or 366 within a "
    "year, else by the average length of the years touched); the result is exact to 30 "
    "decimal places where Excel keeps 15 digits. Another basis gives blank.",
)
def _yearfrac(start: Any, end: Any, basis: Any = 0) -> Decimal | None:
    s, e = day_of(start), day_of(end)
    if s is None or e is None or basis is None:
        return None
    parts = _yearfrac_parts(min(s, e), max(s, e), int(basis))
    return None if parts is None else decimals.div(*parts)


def _last_of_february_pg(day: Any) -> Any:
    return sa.and_(pg_part("month", day) == 2, pg_part("day", day + 1) == 1)


def _days_before_year_pg(year: Any) -> Any:
    y = year - 1
    return y * 365 + sa.func.div(y, 4) - sa.func.div(y, 100) + sa.func.div(y, 400)


def _yearfrac_pg(c: Any, a: list[Any]) -> Any:
    x, y = pg_day(a[0]), pg_day(a[1])
    s, e = _ordered(x, y)
    y1, m1, d1 = (pg_part(f, s) for f in ("year", "month", "day"))
    y2, m2, d2 = (pg_part(f, e) for f in ("year", "month", "day"))
    basis = pg_whole(a[2]) if len(a) > 2 else sa.literal(0)
    days = e - s
    months360 = (y2 - y1) * 360 + (m2 - m1) * 30
    us1 = sa.case((d1 >= 30, 30), (_last_of_february_pg(s), 30), else_=d1)
    us2 = sa.case(
        (sa.and_(d1 >= 30, d2 == 31), 30),
        (sa.and_(d1 < 30, _last_of_february_pg(s), _last_of_february_pg(e)), 30),
        else_=d2,
    )
    within = sa.and_(y1 + 1 == y2, sa.or_(m1 > m2, sa.and_(m1 == m2, d1 >= d2)))
    feb29 = sa.or_(
        sa.and_(pg_leap(y1), m1 <= 2),
        sa.and_(pg_leap(y2), sa.or_(m2 > 2, sa.and_(m2 == 2, d2 == 29))),
    )
    actual = sa.case(
        (y1 == y2, sa.case((pg_leap(y1), 366), else_=365)),
        (within, sa.case((feb29, 366), else_=365)),
        else_=_days_before_year_pg(y2 + 1) - _days_before_year_pg(y1),
    )
    top = sa.case(
        (basis == 0, months360 + us2 - us1),
        (
            basis == 1,
            sa.cast(days, sa.BigInteger()) * sa.case((y1 == y2, 1), (within, 1), else_=y2 - y1 + 1),
        ),
        (basis.in_([2, 3]), days),
        (basis == 4, months360 + sa.func.least(d2, 30) - sa.func.least(d1, 30)),
        else_=None,
    )
    bottom = sa.case(
        (basis.in_([0, 2, 4]), 360), (basis == 3, 365), (basis == 1, actual), else_=None
    )
    return c.arith("/", top, bottom, (0, 0))


@fn(
    "DAYS360",
    "date",
    "start: date, end: date, european?: boolean",
    "integer",
    "Days from `start` to `end` counting 30-day months (US method, or European when the "
    "third argument is TRUE), as in accounting.",
    'DAYS360("2025-01-31", "2025-03-31")',
    "60",
    sql=pg(lambda c, a, call: _days360_pg(a)),
    notes="As Excel, including its US rule for February: the last day of February as "
    "`start` counts as the 30th, as `end` it does not.",
)
def _days360(start: Any, end: Any, european: Any = False) -> int | None:
    s, e = day_of(start), day_of(end)
    if s is None or e is None or european is None:
        return None
    d1, d2 = s.day, e.day
    if european:
        d1, d2 = min(d1, 30), min(d2, 30)
    else:
        if d1 == 31 or _last_of_february(s):
            d1 = 30
        if d1 == 30 and d2 == 31:
            d2 = 30
    return (e.year - s.year) * 360 + (e.month - s.month) * 30 + d2 - d1


def _days360_pg(a: list[Any]) -> Any:
    s, e = pg_day(a[0]), pg_day(a[1])
    european = a[2] if len(a) > 2 else sa.false()
    d1, d2 = pg_part("day", s), pg_part("day", e)
    us1 = sa.case((sa.or_(d1 == 31, _last_of_february_pg(s)), 30), else_=d1)
    us2 = sa.case((sa.and_(us1 == 30, d2 == 31), 30), else_=d2)
    eu1, eu2 = sa.func.least(d1, 30), sa.func.least(d2, 30)
    start = sa.case((european.is_(None), None), (european, eu1), else_=us1)
    finish = sa.case((european, eu2), else_=us2)
    years = pg_part("year", e) - pg_part("year", s)
    months = pg_part("month", e) - pg_part("month", s)
    return years * 360 + months * 30 + finish - start
