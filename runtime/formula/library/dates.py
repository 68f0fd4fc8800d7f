"""Dates: TODAY and NOW from the injected clock, DATE, parts of a date, EDATE, EOMONTH,
DATEDIF and the rest. ``date + n`` and ``date - n`` shift by whole days; ``date - date``
is a number of days (operators, not functions)."""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from runtime.formula.library.base import fn, pg

_MIN_YEAR, _MAX_YEAR = 1, 9999


def day_of(value: Any) -> date | None:
    if value is None:
        return None
    return value.date() if isinstance(value, datetime) else value


def shift_months(start: date, months: int) -> date | None:
    """``start`` moved by whole months; a day missing in the target month becomes its last."""
    index = start.year * 12 + (start.month - 1) + months
    year, month = divmod(index, 12)
    if not _MIN_YEAR <= year <= _MAX_YEAR:
        return None
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(start.day, last))


@fn(
    "TODAY",
    "date",
    "",
    "date",
    "Today's date (from Tenon's clock, in UTC).",
    "TODAY() = TODAY()",
    "TRUE",
    volatile=True,
    sql=lambda c, a, call: c.literal(c.env.today),
)
def _today() -> date:
    raise AssertionError("TODAY is read from the evaluation environment")


@fn(
    "NOW",
    "date",
    "",
    "datetime",
    "The current date and time (from Tenon's clock, UTC).",
    "NOW() >= TODAY()",
    "TRUE",
    volatile=True,
    sql=lambda c, a, call: c.literal(c.env.now),
)
def _now() -> datetime:
    raise AssertionError("NOW is read from the evaluation environment")


@fn(
    "DATE",
    "date",
    "year: number, month: number, day: number",
    "date",
    "The date with this year, month and day; months and days past the end roll over "
    "(DATE(2025, 13, 1) is 2026-01-01).",
    "DATE(2024, 2, 30)",
    "2024-03-01",
    sql=pg(
        lambda c, a, call: sa.cast(
            sa.func.make_date(sa.cast(a[0], sa.Integer()), 1, 1)
            + sa.func.make_interval(0, sa.cast(a[1], sa.Integer()) - 1)
            + sa.func.make_interval(0, 0, 0, sa.cast(a[2], sa.Integer()) - 1),
            sa.Date(),
        )
    ),
)
def _date(year: Any, month: Any, day: Any) -> date | None:
    if year is None or month is None or day is None:
        return None
    first = (
        shift_months(date(1, 1, 1), (int(year) - 1) * 12 + int(month) - 1)
        if 1 <= int(year) <= 9999
        else None
    )
    if first is None:
        return None
    try:
        return first + timedelta(days=int(day) - 1)
    except OverflowError:
        return None


def _part(name: str, attr: str, example: str, result: str) -> None:
    def impl(value: Any) -> Any:
        day = day_of(value)
        return None if day is None else getattr(day, attr)

    fn(
        name,
        "date",
        "date: date",
        "integer",
        f"The {attr} of a date.",
        example,
        result,
        sql=pg(lambda c, a, call: sa.cast(sa.func.extract(attr, a[0]), sa.Integer())),
    )(impl)


_part("YEAR", "year", 'YEAR("2025-03-10")', "2025")
_part("MONTH", "month", 'MONTH("2025-03-10")', "3")
_part("DAY", "day", 'DAY("2025-03-10")', "10")


@fn(
    "EDATE",
    "date",
    "start: date, months: number",
    "date",
    "The same day `months` later (earlier when negative); the last day of the month when "
    "that day does not exist.",
    'EDATE("2025-01-31", 1)',
    "2025-02-28",
    sql=pg(
        lambda c, a, call: sa.cast(
            sa.cast(a[0], sa.Date())
            + sa.func.make_interval(0, sa.cast(sa.func.trunc(a[1]), sa.Integer())),
            sa.Date(),
        )
    ),
)
def _edate(start: Any, months: Any) -> date | None:
    day = day_of(start)
    if day is None or months is None:
        return None
    return shift_months(day, int(months))


@fn(
    "EOMONTH",
    "date",
    "start: date, months: number",
    "date",
    "The last day of the month `months` after `start`.",
    'EOMONTH("2024-01-15", 1)',
    "2024-02-29",
    sql=pg(
        lambda c, a, call: sa.cast(
            sa.func.date_trunc("month", sa.cast(a[0], sa.Date()))
            + sa.func.make_interval(0, sa.cast(sa.func.trunc(a[1]), sa.Integer()) + 1)
            - sa.text("interval '1 day'"),
            sa.Date(),
        )
    ),
)
def _eomonth(start: Any, months: Any) -> date | None:
    day = day_of(start)
    if day is None or months is None:
        return None
    moved = shift_months(day.replace(day=1), int(months))
    if moved is None:
        return None
    return moved.replace(day=calendar.monthrange(moved.year, moved.month)[1])


def months_between(start: date, end: date) -> int:
    months = (end.year - start.year) * 12 + end.month - start.month
    return months - 1 if end.day < start.day else months


@fn(
    "DATEDIF",
    "date",
    "start: date, end: date, unit: text",
    "integer",
    'Whole years ("Y"), months ("M") or days ("D") from start to end; "MD", "YM" and "YD" '
    "ignore the larger units. Blank when end is before start.",
    'DATEDIF("2024-01-31", "2025-03-01", "M")',
    "13",
    sql=pg(lambda c, a, call: _datedif_pg(a)),
)
def _datedif(start: Any, end: Any, unit: Any) -> int | None:
    s, e = day_of(start), day_of(end)
    if s is None or e is None or unit is None or e < s:
        return None
    unit = str(unit).upper()
    months = months_between(s, e)
    if unit == "Y":
        return months // 12
    if unit == "M":
        return months
    if unit == "D":
        return (e - s).days
    if unit == "YM":
        return months % 12
    if unit == "MD":
        anchor = shift_months(s, months)
        return None if anchor is None else (e - anchor).days
    if unit == "YD":
        anchor = shift_months(s, (months // 12) * 12)
        return None if anchor is None else (e - anchor).days
    return None


def _datedif_pg(a: list[Any]) -> Any:
    s, e, unit = sa.cast(a[0], sa.Date()), sa.cast(a[1], sa.Date()), sa.func.upper(a[2])
    months = (
        (sa.func.extract("year", e) - sa.func.extract("year", s)) * 12
        + sa.func.extract("month", e)
        - sa.func.extract("month", s)
        - sa.case((sa.func.extract("day", e) < sa.func.extract("day", s), 1), else_=0)
    )
    months = sa.cast(months, sa.Integer())
    years_anchor = sa.cast(
        s + sa.func.make_interval(sa.cast(sa.func.div(months, 12), sa.Integer())), sa.Date()
    )
    month_anchor = sa.cast(s + sa.func.make_interval(0, months), sa.Date())
    return sa.case(
        (e < s, None),
        (unit == "Y", sa.func.div(months, 12)),
        (unit == "M", months),
        (unit == "D", e - s),
        (unit == "YM", sa.func.mod(months, 12)),
        (unit == "MD", e - month_anchor),
        (unit == "YD", e - years_anchor),
        else_=None,
    )
