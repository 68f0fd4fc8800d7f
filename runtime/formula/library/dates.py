"""Dates: TODAY and NOW from the injected clock, DATE, DATEVALUE, parts of a date, EDATE,
EOMONTH, DATEDIF and the rest; weeks, DATEADD, DATETIME_DIFF, YEARFRAC and DAYS360 are in
dates_calendar.py, working days in dates_workdays.py. ``date + n`` and ``date - n`` shift
by whole days; ``date - date`` is a number of days (operators, not functions).

Every function gives blank for a blank argument and for a date outside the years
1–9999. The PostgreSQL translations compute the same values with integer arithmetic on
day numbers (days since 0001-01-01, a Monday), guarded so that no input makes the
database raise an error.
"""

from __future__ import annotations

import calendar
import re
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from runtime.formula.library.base import fn, pg

_MIN_YEAR, _MAX_YEAR = 1, 9999
EPOCH = date(1, 1, 1)
MAX_ORDINAL = (date(9999, 12, 31) - EPOCH).days  # day numbers run from 0 to this
_LAST_MONTH = 9999 * 12 + 11  # the month index of 9999-12


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


# -- PostgreSQL helpers (shared with dates_calendar.py and dates_workdays.py) -----------


def pg_day(value: Any) -> Any:
    return sa.cast(value, sa.Date())


def pg_whole(value: Any) -> Any:
    """A number truncated toward zero (as Python's ``int``), still NUMERIC: compare it with
    a bound before casting it to INTEGER."""
    return sa.func.trunc(sa.cast(value, sa.Numeric()))


def pg_int(value: Any) -> Any:
    return sa.cast(value, sa.Integer())


def pg_bounded_int(value: Any, bound: int) -> Any:
    """``value`` as INTEGER, or NULL beyond ±``bound``. The guard is inside the expression
    because PostgreSQL folds a cast of constants while planning, before an outer CASE
    could skip it."""
    return pg_int(sa.case((sa.func.abs(value) <= bound, value), else_=sa.null()))


def pg_part(field: str, value: Any) -> Any:
    return pg_int(sa.extract(field, value))


def pg_ordinal(value: Any) -> Any:
    """The day number of a date (days since 0001-01-01; ``% 7`` is Monday = 0)."""
    return pg_int(pg_day(value) - sa.literal(EPOCH, sa.Date()))


def pg_from_ordinal(days: Any) -> Any:
    """The date with this day number; NULL outside the years 1–9999 (never an error)."""
    return sa.case(
        (days.between(0, MAX_ORDINAL), sa.literal(EPOCH, sa.Date()) + pg_int(days)),
        else_=sa.null(),
    )


def pg_month_index(moment: Any) -> Any:
    """Months since 0000-01 of a date or timestamp (year 1 starts at 12)."""
    return pg_part("year", moment) * 12 + pg_part("month", moment) - 1


def pg_add_months(moment: Any, months: Any, kind: Any = sa.Date) -> Any:
    """``moment + months`` (NUMERIC, whole) with the day clamped to the month's end; NULL
    when the month falls outside the years 1–9999 (checked before PostgreSQL computes)."""
    target = pg_month_index(moment) + months
    interval = sa.func.make_interval(0, pg_bounded_int(months, _LAST_MONTH))
    shifted = sa.cast(moment + interval, kind())
    return sa.case((target.between(12, _LAST_MONTH), shifted), else_=sa.null())


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


def _date_pg(a: list[Any]) -> Any:
    year, month, day = (pg_whole(x) for x in a)
    index = (year - 1) * 12 + month - 1  # months since 0001-01
    first = sa.func.make_date(
        pg_int(sa.func.div(index, 12) + 1), pg_int(sa.func.mod(index, 12) + 1), 1
    )
    valid = sa.and_(year.between(1, 9999), index.between(0, 9999 * 12 - 1))
    return sa.case((valid, pg_from_ordinal(pg_ordinal(first) + day - 1)), else_=sa.null())


@fn(
    "DATE",
    "date",
    "year: number, month: number, day: number",
    "date",
    "The date with this year, month and day; months and days past the end roll over "
    "(DATE(2025, 13, 1) is 2026-01-01).",
    "DATE(2024, 2, 30)",
    "2024-03-01",
    sql=pg(lambda c, a, call: _date_pg(a)),
    notes="Years are taken as written: Excel adds 1900 to a year below 1900 (DATE(25, 1, 1) "
    "is 1925 there), Tenon gives 0025-01-01; a date outside the years 1–9999 gives blank "
    "(Excel: #NUM!). Fractions are cut off, as in Excel.",
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


_ISO = r"([0-9]{4})-([0-9]{2})-([0-9]{2})(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2}))?)?"


def parse_iso(text: Any) -> datetime | None:
    """``YYYY-MM-DD``, optionally followed by ``HH:MM`` or ``HH:MM:SS`` after a space or
    ``T``; None for anything else (other formats, impossible dates)."""
    match = re.fullmatch(_ISO, str(text))
    if match is None:
        return None
    y, m, d, h, mi, sec = (int(g) if g else 0 for g in match.groups())
    try:
        return datetime(y, m, d, h, mi, sec)
    except ValueError:
        return None


def _iso_pg(text: Any, with_time: bool) -> Any:
    groups = sa.func.regexp_match(text, f"^{_ISO}$", type_=postgresql.ARRAY(sa.Text()))
    y, m, d = (pg_int(groups[i]) for i in (1, 2, 3))
    h, mi, s = (sa.func.coalesce(pg_int(groups[i]), 0) for i in (4, 5, 6))
    plausible = sa.and_(y >= 1, m.between(1, 12), d.between(1, 31), h <= 23, mi <= 59, s <= 59)
    day = sa.func.make_date(y, m, 1) + (d - 1)
    value = sa.func.make_timestamp(y, m, d, h, mi, s) if with_time else day
    exists = sa.case((sa.extract("day", day) == d, value), else_=sa.null())
    return sa.case((plausible, exists), else_=sa.null())


@fn(
    "DATEVALUE",
    "date",
    "text: text",
    "date",
    'The date written in the text as "YYYY-MM-DD" (a time after it is ignored); blank '
    "when the text is not such a date.",
    'DATEVALUE("2025-03-10")',
    "2025-03-10",
    sql=pg(lambda c, a, call: _iso_pg(a[0], False)),
    notes="Only ISO dates are read (Excel also reads dates in the computer's local format); "
    "text that is not a date gives blank, not an error.",
)
def _datevalue(text: Any) -> date | None:
    moment = None if text is None else parse_iso(text)
    return None if moment is None else moment.date()


@fn(
    "DATETIMEVALUE",
    "date",
    "text: text",
    "datetime",
    'The date and time written in the text as "YYYY-MM-DD HH:MM:SS" (or "YYYY-MM-DDTHH:MM", '
    "or a date alone, at midnight); blank otherwise.",
    'DATETIMEVALUE("2025-03-10 09:30")',
    "2025-03-10 09:30:00",
    sql=pg(lambda c, a, call: _iso_pg(a[0], True)),
    notes="Not in Excel (which adds DATEVALUE and TIMEVALUE); a time zone or fraction of a "
    "second is not accepted.",
)
def _datetimevalue(text: Any) -> datetime | None:
    return None if text is None else parse_iso(text)


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
        sql=pg(lambda c, a, call: pg_part(attr, pg_day(a[0]))),
    )(impl)


_part("YEAR", "year", 'YEAR("2025-03-10")', "2025")
_part("MONTH", "month", 'MONTH("2025-03-10")', "3")
_part("DAY", "day", 'DAY("2025-03-10")', "10")


@fn(
    "QUARTER",
    "date",
    "date: date",
    "integer",
    "The quarter of the year a date is in, 1 to 4.",
    'QUARTER("2025-08-15")',
    "3",
    sql=pg(lambda c, a, call: pg_part("quarter", pg_day(a[0]))),
    notes="Not in Excel (ROUNDUP(MONTH(date) / 3, 0) there).",
)
def _quarter(value: Any) -> int | None:
    day = day_of(value)
    return None if day is None else (day.month - 1) // 3 + 1


def _clock_part(name: str, attr: str, example: str, result: str) -> None:
    def impl(value: Any) -> int | None:
        if value is None:
            return None
        return int(getattr(value, attr)) if isinstance(value, datetime) else 0

    def sql(c: Any, a: list[Any], call: Any) -> Any:
        return pg_int(sa.func.floor(sa.extract(attr, sa.cast(a[0], sa.DateTime()))))

    fn(
        name,
        "date",
        "moment: datetime",
        "integer",
        f"The {attr} of a date and time (0 for a date without a time).",
        example,
        result,
        sql=pg(sql),
        notes="Fractions of a second are cut off.",
    )(impl)


_clock_part("HOUR", "hour", 'HOUR(DATETIMEVALUE("2025-03-10 09:30:15"))', "9")
_clock_part("MINUTE", "minute", 'MINUTE(DATETIMEVALUE("2025-03-10 09:30:15"))', "30")
_clock_part("SECOND", "second", 'SECOND(DATETIMEVALUE("2025-03-10 09:30:15"))', "15")


@fn(
    "ISLEAPYEAR",
    "date",
    "date: date",
    "boolean",
    "TRUE when the date's year has a 29 February.",
    'ISLEAPYEAR("2024-05-01")',
    "TRUE",
    sql=pg(
        lambda c, a, call: pg_leap(sa.extract("year", pg_day(a[0]))),
    ),
    notes="Not in Excel.",
)
def _isleapyear(value: Any) -> bool | None:
    day = day_of(value)
    return None if day is None else calendar.isleap(day.year)


def pg_leap(year: Any) -> Any:
    return sa.and_(
        sa.func.mod(year, 4) == 0,
        sa.or_(sa.func.mod(year, 100) != 0, sa.func.mod(year, 400) == 0),
    )


@fn(
    "DAYS",
    "date",
    "end: date, start: date",
    "integer",
    "The number of days from `start` to `end` (negative when end is earlier).",
    'DAYS("2025-03-10", "2025-01-01")',
    "68",
    sql=pg(lambda c, a, call: pg_day(a[0]) - pg_day(a[1])),
    notes="Times of day are ignored (as Excel); `end - start` gives the same for dates.",
)
def _days(end: Any, start: Any) -> int | None:
    e, s = day_of(end), day_of(start)
    return None if e is None or s is None else (e - s).days


@fn(
    "EDATE",
    "date",
    "start: date, months: number",
    "date",
    "The same day `months` later (earlier when negative); the last day of the month when "
    "that day does not exist.",
    'EDATE("2025-01-31", 1)',
    "2025-02-28",
    sql=pg(lambda c, a, call: pg_add_months(pg_day(a[0]), pg_whole(a[1]))),
)
def _edate(start: Any, months: Any) -> date | None:
    day = day_of(start)
    if day is None or months is None:
        return None
    return shift_months(day, int(months))


def _eomonth_pg(a: list[Any]) -> Any:
    months = pg_whole(a[1])
    moment = sa.cast(a[0], sa.DateTime())
    first = sa.func.date_trunc("month", moment)
    end = sa.cast(
        first
        + sa.func.make_interval(0, pg_bounded_int(months, _LAST_MONTH) + 1)
        - sa.text("interval '1 day'"),
        sa.Date(),
    )
    target = pg_month_index(moment) + months
    return sa.case((target.between(12, _LAST_MONTH), end), else_=sa.null())


@fn(
    "EOMONTH",
    "date",
    "start: date, months: number",
    "date",
    "The last day of the month `months` after `start`.",
    'EOMONTH("2024-01-15", 1)',
    "2024-02-29",
    sql=pg(lambda c, a, call: _eomonth_pg(a)),
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
    notes='Excel gives #NUM! when end is before start or the unit is unknown. For "MD" '
    "Tenon counts from the same day of the month before `end`, or that month's last day "
    'when it has no such day, so the result is never negative (Excel\'s "MD" can be).',
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
    s, e, unit = pg_day(a[0]), pg_day(a[1]), sa.func.upper(a[2])
    months = pg_int(
        (pg_part("year", e) - pg_part("year", s)) * 12
        + pg_part("month", e)
        - pg_part("month", s)
        - sa.case((pg_part("day", e) < pg_part("day", s), 1), else_=0)
    )
    years_anchor = sa.cast(s + sa.func.make_interval(pg_int(sa.func.div(months, 12))), sa.Date())
    month_anchor = sa.cast(s + sa.func.make_interval(0, months), sa.Date())
    return pg_int(
        sa.case(
            (e < s, None),
            (unit == "Y", sa.func.div(months, 12)),
            (unit == "M", months),
            (unit == "D", e - s),
            (unit == "YM", sa.func.mod(months, 12)),
            (unit == "MD", e - month_anchor),
            (unit == "YD", e - years_anchor),
            else_=None,
        )
    )
