"""The date functions: Excel's edge cases, blanks and impossible dates, and agreement of
the Python implementation with the database (SQLite runs the Python code; PostgreSQL has
its own translation, checked here over whole years and across year boundaries)."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest

from runtime import decimals
from runtime.formula.errors import FormulaError
from runtime.formula.library import REGISTRY, EvalError
from runtime.formula.library.dates_workdays import networkdays, workday
from tests.formulas import Fx

D = date.fromisoformat
DT = datetime.fromisoformat


def days_from(start: date, count: int) -> list[date]:
    return [start + timedelta(days=k) for k in range(count)]


# -- DATE, DATEVALUE, DATETIMEVALUE ---------------------------------------------------------


def test_date_rolls_over_and_cuts_fractions(fx: Fx) -> None:
    assert fx.both("DATE(2024, 2, 30)") == D("2024-03-01")
    assert fx.both("DATE(2025, 13, 1)") == D("2026-01-01")
    assert fx.both("DATE(2025, 0, 1)") == D("2024-12-01")
    assert fx.both("DATE(2025, -1, 1)") == D("2024-11-01")
    assert fx.both("DATE(2025, 3, 0)") == D("2025-02-28")
    assert fx.both("DATE(2025, 1, -30)") == D("2024-12-01")
    assert fx.both("DATE(2025, 1, 366)") == D("2026-01-01")
    # fractions are cut off, in the database too (a cast to integer would round 2.5 up)
    assert fx.both("DATE(2025, n, 1)", n=Decimal("2.5")) == D("2025-02-01")
    assert fx.both("DATE(2025, 1, n)", n=Decimal("9.9")) == D("2025-01-09")
    assert fx.both("DATE(i, 2, 29)", i=2024) == D("2024-02-29")
    assert fx.both("DATE(i, 2, 29)", i=2023) == D("2023-03-01")


@pytest.mark.parametrize(
    "text",
    [
        "DATE(0, 12, 1)",
        "DATE(10000, 1, 1)",
        "DATE(9999, 12, 32)",
        "DATE(9999, 13, 1)",
        "DATE(1, 1, 0)",
        "DATE(1, 0, 1)",
        "DATE(-5, 1, 1)",
        "DATE(2025, 1, 123456789012345678901234567890.5)",
        "DATE(2025, 123456789012345678901234567890.5, 1)",
        "DATE(123456789012345678901234567890.5, 1, 1)",
        "DATE(BLANK(), 1, 1)",
        "DATE(2025, BLANK(), 1)",
    ],
)
def test_date_outside_the_years_1_to_9999_is_blank(fx: Fx, text: str) -> None:
    assert fx.both(text) is None


def test_date_limits_with_fields(fx: Fx) -> None:
    assert fx.both("DATE(i, 12, 31)", i=9999) == D("9999-12-31")
    assert fx.both("DATE(i, 12, 32)", i=9999) is None
    assert fx.both("DATE(1, 1, i)", i=1) == D("0001-01-01")
    assert fx.both("DATE(1, 1, i)", i=0) is None
    assert fx.both("DATE(2025, 1, n)", n=Decimal("99999999999999")) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-10", D("2025-03-10")),
        ("2024-02-29", D("2024-02-29")),
        ("2025-03-10 09:30", D("2025-03-10")),
        ("2025-03-10T09:30:15", D("2025-03-10")),
        ("0001-01-01", D("0001-01-01")),
        ("9999-12-31 23:59:59", D("9999-12-31")),
        ("2023-02-29", None),
        ("2025-13-01", None),
        ("2025-00-10", None),
        ("2025-04-31", None),
        ("0000-01-01", None),
        ("2025-03-10 24:00", None),
        ("2025-03-10 23:60", None),
        ("2025-03-10 23:59:60", None),
        ("2025-3-10", None),
        ("20250310", None),
        (" 2025-03-10", None),
        ("2025-03-10\n", None),
        ("2025-03-10 09:30:15.5", None),
        ("10/03/2025", None),
        ("", None),
        ("abc", None),
        ("٢٠٢٥-٠٣-١٠", None),
    ],
)
def test_datevalue_reads_iso_text_only(fx: Fx, text: str, expected: date | None) -> None:
    assert fx.both("DATEVALUE(s)", s=text) == expected
    moment = fx.both("DATETIMEVALUE(s)", s=text)
    assert (moment.date() if moment else None) == expected


def test_datetimevalue(fx: Fx) -> None:
    assert fx.both('DATETIMEVALUE("2025-03-10 09:30")') == DT("2025-03-10 09:30:00")
    assert fx.both('DATETIMEVALUE("2025-03-10T09:30:15")') == DT("2025-03-10 09:30:15")
    assert fx.both('DATETIMEVALUE("2025-03-10")') == DT("2025-03-10 00:00:00")
    assert fx.both("DATEVALUE(s)") is None
    assert fx.both("DATETIMEVALUE(BLANK())") is None
    assert fx.both('DATEVALUE("2025-03-10") = "2025-03-10"') is True
    assert fx.both('DATEVALUE("2025-03-10") + 1') == D("2025-03-11")


# -- parts of a date -----------------------------------------------------------------------


def test_parts_of_a_date(fx: Fx) -> None:
    moment = DT("2025-08-15 21:07:09.750000")
    assert fx.both("YEAR(dt) & MONTH(dt) & DAY(dt)", dt=moment) == "2025815"
    assert fx.both("QUARTER(dt)", dt=moment) == 3
    assert fx.both("HOUR(dt)", dt=moment) == 21
    assert fx.both("MINUTE(dt)", dt=moment) == 7
    assert fx.both("SECOND(dt)", dt=moment) == 9
    assert fx.both("HOUR(d) + MINUTE(d) + SECOND(d)", d=D("2025-08-15")) == 0
    assert fx.both("HOUR(dt)") is None
    assert fx.both("QUARTER(d)") is None
    for month in range(1, 13):
        assert fx.both("QUARTER(d)", d=date(2025, month, 28)) == (month + 2) // 3


def test_isleapyear(fx: Fx) -> None:
    for year, leap in [(1900, False), (2000, True), (2023, False), (2024, True), (2100, False)]:
        assert fx.both("ISLEAPYEAR(d)", d=date(year, 3, 1)) is leap
    assert fx.both("ISLEAPYEAR(d)") is None
    assert fx.both('IF(ISLEAPYEAR("2024-01-01"), 1, 0)') == 1


def test_days(fx: Fx) -> None:
    assert fx.both('DAYS("2025-03-10", "2025-01-01")') == 68
    assert fx.both('DAYS("2025-01-01", "2025-03-10")') == -68
    assert fx.both("DAYS(d2, d)", d=D("2024-02-28"), d2=D("2024-03-01")) == 2
    assert fx.both("DAYS(dt, d)", dt=DT("2025-03-10 23:59:00"), d=D("2025-03-09")) == 1
    assert fx.both("DAYS(d2, d)", d=D("2025-01-01")) is None


# -- weeks ---------------------------------------------------------------------------------

# Excel's WEEKDAY for every type, by Python weekday (Monday 0 … Sunday 6)
WEEKDAY_TABLE = {
    1: [2, 3, 4, 5, 6, 7, 1],
    2: [1, 2, 3, 4, 5, 6, 7],
    3: [0, 1, 2, 3, 4, 5, 6],
    11: [1, 2, 3, 4, 5, 6, 7],
    12: [7, 1, 2, 3, 4, 5, 6],
    13: [6, 7, 1, 2, 3, 4, 5],
    14: [5, 6, 7, 1, 2, 3, 4],
    15: [4, 5, 6, 7, 1, 2, 3],
    16: [3, 4, 5, 6, 7, 1, 2],
    17: [2, 3, 4, 5, 6, 7, 1],
}


def test_weekday_documented_examples(fx: Fx) -> None:
    assert fx.both('WEEKDAY("2008-02-14")') == 5
    assert fx.both('WEEKDAY("2008-02-14", 2)') == 4
    assert fx.both('WEEKDAY("2008-02-14", 3)') == 3
    assert fx.both('WEEKDAY("2025-03-08", 1)') == 7  # a Saturday
    assert fx.both('WEEKDAY("2025-03-09", 1)') == 1  # a Sunday
    assert fx.both('WEEKDAY("2025-03-09", 2)') == 7
    assert fx.both('WEEKDAY("2025-03-09", 2.9)') == 7  # the type is cut to 2


def test_weekday_every_day_of_2024_every_type(fx: Fx) -> None:
    types = list(WEEKDAY_TABLE)  # 10 types: over 366 days each meets every weekday
    for k, day in enumerate(days_from(D("2024-01-01"), 366)):
        kind = types[k % len(types)]
        got = fx.both("WEEKDAY(d, i)", d=day, i=kind)
        assert got == WEEKDAY_TABLE[kind][day.weekday()], (day, kind)
    for day in days_from(D("2024-12-25"), 14):
        assert fx.both("WEEKDAY(d)", d=day) == WEEKDAY_TABLE[1][day.weekday()]


@pytest.mark.parametrize("kind", [0, 4, 10, 18, 21, -1])
def test_weekday_other_types_are_blank(fx: Fx, kind: int) -> None:
    assert fx.both("WEEKDAY(d, i)", d=D("2025-03-10"), i=kind) is None
    assert fx.both(f"WEEKDAY(d, {kind})", d=D("2025-03-10")) is None
    assert fx.both("WEEKDAY(d, i)", d=D("2025-03-10")) is None


def weeknum_reference(day: date, kind: int) -> int:
    """Excel's WEEKNUM from its definition, counted day by day from 1 January."""
    if kind == 21:
        return day.isocalendar().week
    starts = {1: 6, 2: 0, 11: 0, 12: 1, 13: 2, 14: 3, 15: 4, 16: 5, 17: 6}  # Python weekday
    week, current = 1, date(day.year, 1, 1)
    while current < day:
        current += timedelta(days=1)
        if current.weekday() == starts[kind]:
            week += 1
    return week


WEEKNUM_TYPES = [1, 2, 11, 12, 13, 14, 15, 16, 17, 21]


def test_weeknum_documented_examples(fx: Fx) -> None:
    assert fx.both('WEEKNUM("2012-03-09")') == 10
    assert fx.both('WEEKNUM("2012-03-09", 2)') == 11
    assert fx.both('WEEKNUM("2025-03-10")') == 11
    assert fx.both('WEEKNUM("2024-12-31")') == 53
    assert fx.both('WEEKNUM("2024-12-31", 21)') == 1
    assert fx.both('WEEKNUM("2022-01-01", 1)') == 1  # a Saturday: week 1 has one day
    assert fx.both('WEEKNUM("2022-01-02", 1)') == 2
    assert fx.both('WEEKNUM("2022-01-02", 2)') == 1
    assert fx.both('WEEKNUM("2022-01-03", 2)') == 2
    assert fx.both('ISOWEEKNUM("2012-03-09")') == 10


def test_weeknum_every_day_of_2024(fx: Fx) -> None:
    for k, day in enumerate(days_from(D("2024-01-01"), 366)):
        kind = WEEKNUM_TYPES[k % len(WEEKNUM_TYPES)]
        assert fx.both("WEEKNUM(d, i)", d=day, i=kind) == weeknum_reference(day, kind), (day, kind)
    for day in days_from(D("2024-01-01"), 366)[::5]:
        assert fx.both("WEEKNUM(d)", d=day) == weeknum_reference(day, 1)


def test_weeknum_and_isoweeknum_across_year_boundaries(fx: Fx) -> None:
    k = 0
    for year in range(2019, 2029):
        for day in days_from(date(year, 12, 24), 14):
            kind = WEEKNUM_TYPES[k % len(WEEKNUM_TYPES)]
            k += 1
            assert fx.both("WEEKNUM(d, i)", d=day, i=kind) == weeknum_reference(day, kind)
            assert fx.both("ISOWEEKNUM(d)", d=day) == day.isocalendar().week
    assert fx.both('ISOWEEKNUM("2021-01-03")') == 53
    assert fx.both('ISOWEEKNUM("2026-12-31")') == 53


def test_weeknum_python_matches_reference_over_many_years() -> None:
    weeknum = REGISTRY["WEEKNUM"].impl
    assert weeknum is not None
    for year in (1900, 2000, 2023, 2024, 2027, 2100):
        for day in days_from(date(year, 1, 1), 366 if year % 4 == 0 else 365)[::3]:
            for kind in WEEKNUM_TYPES:
                assert weeknum(day, kind) == weeknum_reference(day, kind), (day, kind)


@pytest.mark.parametrize("kind", [0, 3, 10, 18, 20, 22])
def test_weeknum_other_types_are_blank(fx: Fx, kind: int) -> None:
    assert fx.both("WEEKNUM(d, i)", d=D("2025-03-10"), i=kind) is None


# -- EDATE, EOMONTH, DATEADD ----------------------------------------------------------------


def test_edate(fx: Fx) -> None:
    assert fx.both('EDATE("2025-01-31", 1)') == D("2025-02-28")
    assert fx.both('EDATE("2024-01-31", 1)') == D("2024-02-29")
    assert fx.both('EDATE("2025-03-31", -1)') == D("2025-02-28")
    assert fx.both('EDATE("2024-02-29", 12)') == D("2025-02-28")
    assert fx.both('EDATE("2024-02-29", 48)') == D("2028-02-29")
    assert fx.both('EDATE("2025-01-15", 1.9)') == D("2025-02-15")
    assert fx.both('EDATE("2025-01-15", -1.9)') == D("2024-12-15")
    assert fx.both("EDATE(dt, 1)", dt=DT("2025-01-31 10:00")) == D("2025-02-28")
    assert fx.both('EDATE("9999-12-15", 1)') is None
    assert fx.both('EDATE("0001-01-15", -1)') is None
    assert fx.both('EDATE("2025-01-15", 123456789012345678901234567890.5)') is None
    assert fx.both("EDATE(d, i)", d=D("2025-01-15"), i=-9_000_000_000_000) is None
    assert fx.both("EDATE(d, i)", d=D("2025-01-15")) is None


@pytest.mark.parametrize(
    ("start", "months", "end"),
    [
        ("2025-03-10", 3, "2025-06-09"),  # the catalog's probation example
        ("2025-01-31", 1, "2025-02-27"),
        ("2024-11-30", 3, "2025-02-27"),
        ("2023-12-31", 2, "2024-02-28"),
        ("2024-12-31", 6, "2025-06-29"),
    ],
)
def test_probation_end_is_edate_minus_one(fx: Fx, start: str, months: int, end: str) -> None:
    assert fx.both("EDATE(d, i) - 1", d=D(start), i=months) == D(end)


def test_eomonth(fx: Fx) -> None:
    assert fx.both('EOMONTH("2024-02-10", 0)') == D("2024-02-29")
    assert fx.both('EOMONTH("2023-02-10", 12)') == D("2024-02-29")
    assert fx.both('EOMONTH("2023-02-10", 0)') == D("2023-02-28")
    assert fx.both('EOMONTH("2024-03-31", -1)') == D("2024-02-29")
    assert fx.both('EOMONTH("2025-01-31", -13)') == D("2023-12-31")
    assert fx.both('EOMONTH("2025-01-15", 1.7)') == D("2025-02-28")
    assert fx.both('EOMONTH("2025-01-15", -1.7)') == D("2024-12-31")
    assert fx.both('EOMONTH("9999-12-15", 0)') == D("9999-12-31")
    assert fx.both('EOMONTH("9999-12-15", 1)') is None
    assert fx.both('EOMONTH("0001-01-15", -1)') is None
    assert fx.both('EOMONTH("2025-01-15", -123456789012345678901234567890.5)') is None
    for month in range(1, 25):
        day = date(2023 + (month - 1) // 12, (month - 1) % 12 + 1, 17)
        nxt = date(day.year + day.month // 12, day.month % 12 + 1, 1)
        assert fx.both("EOMONTH(d, 0)", d=day) == nxt - timedelta(days=1)
        assert fx.both("EOMONTH(dt, i)", dt=datetime(2023, 1, 31, 23, 59), i=month - 1) == (
            nxt - timedelta(days=1)
        )


def test_dateadd(fx: Fx) -> None:
    assert fx.both('DATEADD("2025-01-31", 1, "month")') == D("2025-02-28")
    assert fx.both('DATEADD("2025-01-31", 1, "quarter")') == D("2025-04-30")
    assert fx.both('DATEADD("2024-02-29", 1, "year")') == D("2025-02-28")
    assert fx.both('DATEADD("2024-02-29", -4, "Years")') == D("2020-02-29")
    assert fx.both('DATEADD("2025-03-10", -2, "weeks")') == D("2025-02-24")
    assert fx.both('DATEADD("2025-12-31", 1, "DAY")') == D("2026-01-01")
    assert fx.both('DATEADD("2025-03-10", 1.9, "day")') == D("2025-03-11")
    assert fx.both('DATEADD("2025-03-10", -1.9, "days")') == D("2025-03-09")
    assert fx.both('DATEADD("2025-03-10", 0, "months")') == D("2025-03-10")
    moment = DT("2025-01-31 10:15:30")
    assert fx.both('DATEADD(dt, 1, "month")', dt=moment) == DT("2025-02-28 10:15:30")
    assert fx.both('DATEADD(dt, -3, "days")', dt=moment) == DT("2025-01-28 10:15:30")
    assert fx.both('DATEADD(dt, 2, "weeks")', dt=moment) == DT("2025-02-14 10:15:30")
    assert fx.both("DATEADD(d, i, s)", d=D("2025-03-10"), i=2, s="quarters") == D("2025-09-10")
    assert fx.both("DATEADD(d, i, s)", d=D("2025-03-10"), i=2, s="fortnight") is None
    assert fx.both("DATEADD(d, i, s)", d=D("2025-03-10"), i=2) is None


@pytest.mark.parametrize(
    "text",
    [
        'DATEADD("9999-12-31", 1, "day")',
        'DATEADD("0001-01-01", -1, "day")',
        'DATEADD("9999-12-01", 1, "month")',
        'DATEADD("0001-01-31", -1, "quarter")',
        'DATEADD("2025-01-01", 8000, "years")',
        'DATEADD("2025-01-01", 123456789012345678901234567890.5, "week")',
        'DATEADD("2025-01-01", -123456789012345678901234567890.5, "month")',
        'DATEADD("2025-01-01", 1, "")',
        'DATEADD("2025-01-01", 1, "s")',
        'DATEADD("2025-01-01", 1, "dayss")',
        'DATEADD(BLANK(), 1, "day")',
    ],
)
def test_dateadd_blank_cases(fx: Fx, text: str) -> None:
    assert fx.both(text) is None


def test_dateadd_datetime_limits(fx: Fx) -> None:
    late = DT("9999-12-31 23:00:00")
    assert fx.both('DATEADD(dt, 1, "day")', dt=late) is None
    assert fx.both('DATEADD(dt, -1, "day")', dt=late) == DT("9999-12-30 23:00:00")
    assert fx.both('DATEADD(dt, 1, "year")', dt=late) is None
    assert fx.both('DATEADD(dt, 123456789012345678901234567890.5, "day")', dt=late) is None
    assert fx.both('DATEADD(dt, -1, "month")', dt=DT("0001-01-31 01:00")) is None


# -- differences ---------------------------------------------------------------------------


def test_datedif_units(fx: Fx) -> None:
    assert fx.both('DATEDIF("2001-01-01", "2003-01-01", "Y")') == 2
    assert fx.both('DATEDIF("2001-06-01", "2002-08-15", "D")') == 440
    assert fx.both('DATEDIF("2001-06-01", "2002-08-15", "YD")') == 75
    assert fx.both('DATEDIF("2001-06-01", "2002-08-15", "M")') == 14
    assert fx.both('DATEDIF("2001-06-01", "2002-08-15", "YM")') == 2
    assert fx.both('DATEDIF("2001-06-01", "2002-08-15", "MD")') == 14
    assert fx.both('DATEDIF("2024-01-31", "2025-03-01", "M")') == 13
    assert fx.both('DATEDIF("2024-01-31", "2024-02-29", "M")') == 0
    assert fx.both('DATEDIF("2024-02-29", "2025-02-28", "Y")') == 0
    assert fx.both('DATEDIF("2024-02-29", "2025-03-01", "Y")') == 1
    assert fx.both('DATEDIF("2024-01-31", "2024-03-01", "MD")') == 1
    assert fx.both('DATEDIF("2025-03-10", "2025-03-10", "D")') == 0
    assert fx.both('DATEDIF("2025-03-10", "2025-03-10", "md")') == 0
    assert fx.both('DATEDIF("2020-05-17", "2025-03-10", "y")') == 4


@pytest.mark.parametrize("unit", ["Y", "M", "D", "MD", "YM", "YD"])
def test_datedif_start_after_end_is_blank(fx: Fx, unit: str) -> None:
    assert fx.both(f'DATEDIF("2025-03-11", "2025-03-10", "{unit}")') is None
    assert fx.both("DATEDIF(d, d2, s)", d=D("2026-01-01"), d2=D("2025-01-01"), s=unit) is None
    assert fx.both("DATEDIF(d, d2, s)", d=D("2024-01-01"), s=unit) is None


def test_datedif_other_units_are_blank(fx: Fx) -> None:
    assert fx.both('DATEDIF("2024-01-01", "2025-01-01", "W")') is None
    assert fx.both("DATEDIF(d, d2, s)", d=D("2024-01-01"), d2=D("2025-01-01")) is None


def test_datedif_agrees_on_a_grid(fx: Fx) -> None:
    days = [D(x) for x in ("2023-01-31", "2024-02-29", "2024-03-01", "2024-12-31", "2025-02-28")]
    units = ["Y", "M", "D", "MD", "YM", "YD"]
    k = 0
    for start in days:
        for end in days:
            fx.both("DATEDIF(d, d2, s)", d=start, d2=end, s=units[k % len(units)])
            k += 1


def test_datetime_diff(fx: Fx) -> None:
    assert fx.both('DATETIME_DIFF("2025-03-10", "2025-03-01", "days")') == 9
    assert fx.both('DATETIME_DIFF("2025-03-01", "2025-03-10", "day")') == -9
    assert fx.both('DATETIME_DIFF("2025-03-10", "2025-03-01", "weeks")') == 1
    assert fx.both('DATETIME_DIFF("2025-03-01", "2025-03-10", "weeks")') == -1
    assert fx.both('DATETIME_DIFF("2025-02-28", "2025-01-31", "month")') == 1
    assert fx.both('DATETIME_DIFF("2025-02-27", "2025-01-31", "month")') == 0
    assert fx.both('DATETIME_DIFF("2025-01-31", "2025-02-28", "months")') == -1
    assert fx.both('DATETIME_DIFF("2025-02-28", "2024-02-29", "year")') == 1
    assert fx.both('DATETIME_DIFF("2025-02-27", "2024-02-29", "year")') == 0
    assert fx.both('DATETIME_DIFF("2025-12-31", "2025-01-01", "quarters")') == 3
    assert fx.both('DATETIME_DIFF("2025-01-01", "2025-12-31", "Quarter")') == -3
    moment = DT("2025-03-10 09:30:15")
    assert fx.both('DATETIME_DIFF(dt, d, "hours")', dt=moment, d=D("2025-03-10")) == 9
    assert fx.both('DATETIME_DIFF(dt, d, "minutes")', dt=moment, d=D("2025-03-10")) == 570
    assert fx.both('DATETIME_DIFF(dt, d, "seconds")', dt=moment, d=D("2025-03-10")) == 34215
    assert fx.both('DATETIME_DIFF(d, dt, "hours")', dt=moment, d=D("2025-03-10")) == -9
    assert fx.both('DATETIME_DIFF(d, dt, "days")', dt=moment, d=D("2025-03-10")) == 0
    late = DT("2025-04-10 08:00")
    nine = 'DATETIMEVALUE("2025-03-10 09:00")'
    assert fx.both(f'DATETIME_DIFF(dt, {nine}, "month")', dt=late) == 0
    assert fx.both('DATETIME_DIFF(dt, "2025-03-10", "month")', dt=late) == 1
    assert fx.both('DATETIME_DIFF("9999-12-31", "0001-01-01", "seconds")') == 315537811200
    assert fx.both('DATETIME_DIFF("9999-12-31", "0001-01-01", "years")') == 9998
    assert fx.both('DATETIME_DIFF("2025-03-10", "2025-03-01", "fortnight")') is None
    assert fx.both('DATETIME_DIFF(d, "2025-03-01", "days")') is None
    assert fx.both("DATETIME_DIFF(d, d2, s)", d=D("2025-03-10"), d2=D("2025-01-01")) is None


def test_datetime_diff_agrees_on_a_grid(fx: Fx) -> None:
    moments = [DT(x) for x in ("2024-01-31 12:00", "2024-02-29 00:00", "2025-02-28 13:30:00.5")]
    units = ["second", "minute", "hours", "day", "week", "month", "quarter", "year"]
    k = 0
    for moment in moments:
        for day in (D("2024-02-29"), D("2025-02-28"), D("2023-12-31")):
            for _ in range(3):
                unit = units[k % len(units)]
                fx.both("DATETIME_DIFF(dt, d, s)", dt=moment, d=day, s=unit)
                fx.both("DATETIME_DIFF(d, dt, s)", dt=moment, d=day, s=unit)
                k += 1


# -- working days --------------------------------------------------------------------------

WEEKENDS: dict[Any, set[int]] = {  # Python weekdays that are not working days
    1: {5, 6},
    2: {6, 0},
    3: {0, 1},
    4: {1, 2},
    5: {2, 3},
    6: {3, 4},
    7: {4, 5},
    11: {6},
    12: {0},
    13: {1},
    14: {2},
    15: {3},
    16: {4},
    17: {5},
    "0000000": set(),
    "0010001": {2, 6},
    "1111110": {0, 1, 2, 3, 4, 5},
    "0101010": {1, 3, 5},
}


def naive_workday(start: date, n: int, weekend: set[int], holidays: set[date]) -> date:
    day, left, step = start, abs(n), 1 if n > 0 else -1
    while left:
        day += timedelta(days=step)
        if day.weekday() not in weekend and day not in holidays:
            left -= 1
    return day


def naive_networkdays(start: date, end: date, weekend: set[int], holidays: set[date]) -> int:
    lo, hi = min(start, end), max(start, end)
    count = sum(
        1
        for day in days_from(lo, (hi - lo).days + 1)
        if day.weekday() not in weekend and day not in holidays
    )
    return count if start <= end else -count


def test_workday_documented_examples(fx: Fx) -> None:
    assert fx.both('WORKDAY("2008-10-01", 151)') == D("2009-04-30")
    holidays = [{"d": D(x)} for x in ("2008-11-26", "2008-12-04", "2009-01-21")]
    assert fx.py('WORKDAY("2008-10-01", 151, children.d)', children=holidays) == D("2009-05-05")
    assert fx.both('WORKDAY_INTL("2012-01-01", 90, 11)') == D("2012-04-14")
    assert fx.both('WORKDAY_INTL("2012-01-01", 30, 17)') == D("2012-02-05")
    assert fx.both('WORKDAY_INTL("2012-01-01", 30, 0)') is None


def test_workday_weekends_and_zero(fx: Fx) -> None:
    saturday = D("2025-03-08")
    assert fx.both("WORKDAY(d, 0)", d=saturday) == saturday  # Excel returns start itself
    assert fx.both("WORKDAY(d, 1)", d=saturday) == D("2025-03-10")
    assert fx.both("WORKDAY(d, -1)", d=saturday) == D("2025-03-07")
    assert fx.both("WORKDAY(d, 5)", d=saturday) == D("2025-03-14")
    assert fx.both("WORKDAY(d, 6)", d=saturday) == D("2025-03-17")
    assert fx.both("WORKDAY(d, -5)", d=D("2025-03-09")) == D("2025-03-03")
    assert fx.both('WORKDAY("2025-03-07", 1)') == D("2025-03-10")
    assert fx.both('WORKDAY("2025-03-10", -1)') == D("2025-03-07")
    assert fx.both('WORKDAY("2025-03-10", 1.9)') == D("2025-03-11")
    assert fx.both('WORKDAY("2025-03-10", -1.9)') == D("2025-03-07")
    assert fx.both('WORKDAY("2024-12-27", 2)') == D("2024-12-31")
    assert fx.both('WORKDAY("2024-12-31", 1)') == D("2025-01-01")
    assert fx.both("WORKDAY(dt, 1)", dt=DT("2025-03-07 18:00")) == D("2025-03-10")
    assert fx.both("WORKDAY(d, 1)") is None
    assert fx.both("WORKDAY(d, i)", d=saturday) is None


def test_workday_skips_holidays(fx: Fx) -> None:
    friday = D("2025-03-07")
    rows = [{"d": D("2025-03-10")}, {"d": D("2025-03-11")}]  # Monday and Tuesday off
    assert fx.py("WORKDAY(d, 1, children.d)", children=rows, d=friday) == D("2025-03-12")
    assert fx.py("WORKDAY(d, -1, children.d)", children=rows, d=D("2025-03-12")) == friday
    # a start on Saturday with the following Monday a holiday
    saturday = D("2025-03-08")
    monday = [{"d": D("2025-03-10")}]
    assert fx.py("WORKDAY(d, 1, children.d)", children=monday, d=saturday) == D("2025-03-11")
    assert fx.py("WORKDAY(d, 0, children.d)", children=monday, d=saturday) == saturday
    # holidays on weekends, twice, or blank change nothing
    noise = [{"d": D("2025-03-08")}, {"d": D("2025-03-09")}, {"d": None}, {"d": D("2025-03-09")}]
    assert fx.py("WORKDAY(d, 1, children.d)", children=noise, d=friday) == D("2025-03-10")
    assert fx.py("WORKDAY(d, 1, children.d)", d=friday) == D("2025-03-10")  # no children
    # a holiday reached only after skipping earlier ones
    chain = [{"d": D(x)} for x in ("2025-03-10", "2025-03-11", "2025-03-12", "2025-03-17")]
    assert fx.py("WORKDAY(d, 4, children.d)", children=chain, d=friday) == D("2025-03-19")
    assert fx.py("WORKDAY(d, -4, children.d)", children=chain, d=D("2025-03-19")) == friday
    assert fx.py("WORKDAY_INTL(d, 1, 7, children.d)", children=rows, d=friday) == D("2025-03-09")
    assert fx.py("WORKDAY(d, 1, BLANK())", d=friday) == D("2025-03-10")


def test_networkdays_documented_examples(fx: Fx) -> None:
    assert fx.both('NETWORKDAYS("2012-10-01", "2013-03-01")') == 110
    one = [{"d": D("2012-11-22")}]
    assert fx.py('NETWORKDAYS("2012-10-01", "2013-03-01", children.d)', children=one) == 109
    three = [{"d": D(x)} for x in ("2012-11-22", "2012-12-04", "2013-01-21")]
    assert fx.py('NETWORKDAYS("2012-10-01", "2013-03-01", children.d)', children=three) == 107
    assert fx.both('NETWORKDAYS_INTL("2006-01-01", "2006-01-31")') == 22
    assert fx.both('NETWORKDAYS_INTL("2006-02-28", "2006-01-31")') == -21
    two = [{"d": D("2006-01-02")}, {"d": D("2006-01-16")}]
    text = 'NETWORKDAYS_INTL("2006-01-01", "2006-02-01", 7, children.d)'
    assert fx.py(text, children=two) == 22
    text = 'NETWORKDAYS_INTL("2006-01-01", "2006-02-01", "0010001", children.d)'
    assert fx.py(text, children=two) == 20


def test_networkdays(fx: Fx) -> None:
    assert fx.both('NETWORKDAYS("2025-03-08", "2025-03-08")') == 0
    assert fx.both('NETWORKDAYS("2025-03-10", "2025-03-10")') == 1
    assert fx.both('NETWORKDAYS("2025-03-01", "2025-03-31")') == 21
    assert fx.both('NETWORKDAYS("2025-03-31", "2025-03-01")') == -21
    assert fx.both('NETWORKDAYS("2024-12-28", "2025-01-05")') == 5
    assert fx.both("NETWORKDAYS(dt, d)", dt=DT("2025-03-10 23:00"), d=D("2025-03-14")) == 5
    assert fx.both("NETWORKDAYS(d, d2)", d=D("2025-03-10")) is None
    weekend = [{"d": D("2025-03-08")}, {"d": D("2025-03-15")}, {"d": D("2025-03-12")}]
    twice = [*weekend, {"d": D("2025-03-12")}, {"d": None}]
    march = 'NETWORKDAYS("2025-03-01", "2025-03-31", children.d)'
    assert fx.py(march, children=twice) == 20  # only the Wednesday counts, once
    assert fx.py('NETWORKDAYS("2025-03-31", "2025-03-01", children.d)', children=twice) == -20
    assert fx.py('NETWORKDAYS("2025-03-13", "2025-03-31", children.d)', children=twice) == 13


def test_working_days_agree_with_the_database_across_a_year_end(fx: Fx) -> None:
    k = 0
    for start in days_from(D("2024-12-27"), 10):
        for n in range(-8, 9):
            assert fx.both("WORKDAY(d, i)", d=start, i=n) == naive_workday(start, n, {5, 6}, set())
        for end in days_from(D("2024-12-20"), 20)[::4]:
            expected = naive_networkdays(start, end, {5, 6}, set())
            assert fx.both("NETWORKDAYS(d, d2)", d=start, d2=end) == expected
            code = list(WEEKENDS)[k % 14]  # the numeric codes, through a field
            k += 1
            off = WEEKENDS[code]
            expected = naive_networkdays(start, end, off, set())
            assert fx.both("NETWORKDAYS_INTL(d, d2, i)", d=start, d2=end, i=code) == expected
            n = (k % 23) - 11
            expected_day = naive_workday(start, n, off, set())
            assert fx.both("WORKDAY_INTL(d, n, i)", d=start, n=n, i=code) == expected_day


@pytest.mark.parametrize("weekend", list(WEEKENDS))
def test_intl_weekends(fx: Fx, weekend: Any) -> None:
    code = f'"{weekend}"' if isinstance(weekend, str) else str(weekend)
    off = WEEKENDS[weekend]
    start = D("2025-03-05")
    for n in (-9, -1, 1, 2, 7, 30):
        expected = naive_workday(start, n, off, set())
        assert fx.both(f"WORKDAY_INTL(d, {n}, {code})", d=start) == expected
    for end in (D("2025-02-20"), D("2025-03-05"), D("2025-04-01")):
        expected_count = naive_networkdays(start, end, off, set())
        assert fx.both(f"NETWORKDAYS_INTL(d, d2, {code})", d=start, d2=end) == expected_count


@pytest.mark.parametrize(
    "weekend", ["0", "8", "10", "18", "1.5", "-1", '"1111111"', '"000001"', '"00000a1"', '""']
)
def test_intl_other_weekends_are_blank(fx: Fx, weekend: str) -> None:
    assert fx.both(f'WORKDAY_INTL("2025-03-05", 1, {weekend})') is None
    assert fx.both(f'NETWORKDAYS_INTL("2025-03-05", "2025-03-20", {weekend})') is None
    assert fx.both(f"NETWORKDAYS_INTL(d, d2, {weekend})", d=D("2025-03-05")) is None


def test_intl_weekend_from_fields(fx: Fx) -> None:
    assert fx.both("WORKDAY_INTL(d, 1, i)", d=D("2025-03-06"), i=7) == D("2025-03-09")
    assert fx.both("WORKDAY_INTL(d, 1, i)", d=D("2025-03-06")) is None
    assert fx.both("WORKDAY_INTL(d, 0, i)", d=D("2025-03-06"), i=-3) is None
    assert fx.both("WORKDAY_INTL(d, 0, i)", d=D("2025-03-08"), i=1) == D("2025-03-08")
    assert fx.both("WORKDAY_INTL(d, 1, n)", d=D("2025-03-06"), n=Decimal("7.0")) == D("2025-03-09")
    assert fx.both("WORKDAY_INTL(d, 1, n)", d=D("2025-03-06"), n=Decimal("7.5")) is None
    assert fx.both("WORKDAY_INTL(d, 1, BLANK())", d=D("2025-03-06")) is None
    assert fx.both("WORKDAY_INTL(d, 1, TRUE)", d=D("2025-03-06")) is None
    # a mask in a text field runs in Python (and SQLite), not in PostgreSQL's translation
    assert fx.py("WORKDAY_INTL(d, 1, s)", d=D("2025-03-06"), s="0000110") == D("2025-03-09")
    if fx.dialect == "sqlite":
        assert fx.both("WORKDAY_INTL(d, 1, s)", d=D("2025-03-06"), s="0000110") == D("2025-03-09")
    else:
        with pytest.raises(FormulaError) as caught:
            fx.sql("WORKDAY_INTL(d, 1, s)", d=D("2025-03-06"), s="0000110")
        assert caught.value.code == "FORMULA_SQL"


def test_holidays_keep_working_days_out_of_the_database(fx: Fx) -> None:
    for text in ("WORKDAY(d, 1, children.d)", "NETWORKDAYS_INTL(d, d2, 1, children.d)"):
        with pytest.raises(FormulaError) as caught:
            fx.sql(text, d=D("2025-03-06"), d2=D("2025-03-20"))
        assert caught.value.code == "FORMULA_SQL"
    assert fx.error("WORKDAY(d, 1, d2)").code == "FORMULA_TYPE"
    assert fx.error("NETWORKDAYS(d, d2, tags)").code == "FORMULA_TYPE"
    assert fx.both("WORKDAY(d, 1, BLANK())", d=D("2025-03-07")) == D("2025-03-10")


def test_working_days_limits(fx: Fx) -> None:
    start = D("2025-03-10")
    assert fx.both("WORKDAY(d, 26000)", d=start) == naive_workday(start, 26000, {5, 6}, set())
    assert fx.both("WORKDAY(d, -26000)", d=start) == naive_workday(start, -26000, {5, 6}, set())
    assert fx.both("WORKDAY(d, 26100)", d=start) is None  # 100 years and more away
    assert fx.both("WORKDAY(d, 36526)", d=start) is None
    assert fx.both("WORKDAY(d, 123456789012345678901234567890.5)", d=start) is None
    assert fx.both("WORKDAY(d, -9223372036854775807)", d=start) is None
    assert fx.both('WORKDAY_INTL(d, 36525, "0000000")', d=start) == D("2125-03-11")
    assert fx.both('WORKDAY_INTL(d, 5300, "1111110")', d=start) is None
    assert fx.both('WORKDAY("9999-12-30", 2)') is None
    assert fx.both('WORKDAY("0001-01-02", -2)') is None
    assert fx.both('NETWORKDAYS("1950-01-01", "2049-12-31")') == naive_networkdays(
        D("1950-01-01"), D("2049-12-31"), {5, 6}, set()
    )
    assert fx.both('NETWORKDAYS("1900-01-01", "2025-01-01")') is None
    assert fx.both('NETWORKDAYS("2025-01-01", "1900-01-01")') is None
    with pytest.raises(EvalError):
        workday(start, 1, 1, [start] * 10_001)
    with pytest.raises(EvalError):
        networkdays(start, start, 1, [None] * 10_001)
    many = [start + timedelta(days=k) for k in range(10_000)]  # 27 years off: bounded rounds
    assert workday(start, 1, 1, many) == naive_workday(start, 1, {5, 6}, set(many))


def test_working_days_match_a_day_by_day_count() -> None:
    rng = random.Random(20250310)
    codes = list(WEEKENDS)
    for _ in range(3000):
        start = D("2024-06-01") + timedelta(days=rng.randint(-400, 400))
        weekend = rng.choice(codes)
        off = WEEKENDS[weekend]
        holidays = [start + timedelta(days=rng.randint(-90, 90)) for _ in range(rng.randint(0, 15))]
        given: list[Any] = [*holidays, None, *holidays[:2]]
        n = rng.randint(-60, 60)
        expected = naive_workday(start, n, off, set(holidays))
        assert workday(start, n, weekend, given) == expected, (start, n, weekend)
        end = start + timedelta(days=rng.randint(-120, 120))
        expected_count = naive_networkdays(start, end, off, set(holidays))
        assert networkdays(start, end, weekend, given) == expected_count


# -- YEARFRAC and DAYS360 ------------------------------------------------------------------


def test_yearfrac_documented_examples(fx: Fx) -> None:
    def approx(text: str) -> Decimal:
        value = fx.both(text)
        assert isinstance(value, Decimal)
        return value.quantize(Decimal("0.00000001"))

    assert approx('YEARFRAC("2012-01-01", "2012-07-30")') == Decimal("0.58055556")
    assert approx('YEARFRAC("2012-01-01", "2012-07-30", 1)') == Decimal("0.57650273")
    assert approx('YEARFRAC("2012-01-01", "2012-07-30", 3)') == Decimal("0.57808219")
    assert approx('YEARFRAC("2012-07-30", "2012-01-01", 3)') == Decimal("0.57808219")
    assert approx('YEARFRAC("2023-01-01", "2025-01-01", 1)') == Decimal("2.00091241")


@pytest.mark.parametrize(
    ("start", "end", "basis", "top", "bottom"),
    [
        ("2025-01-01", "2025-07-01", 0, 180, 360),
        ("2024-01-31", "2024-03-31", 0, 60, 360),  # both on the 31st: 30 and 30
        ("2024-01-30", "2024-03-31", 0, 60, 360),
        ("2024-01-29", "2024-03-31", 0, 62, 360),  # end stays 31 when start < 30
        ("2024-02-29", "2024-03-31", 0, 31, 360),  # end of February counts as the 30th
        ("2024-02-29", "2025-02-28", 0, 360, 360),  # both ends of February
        ("2023-02-28", "2024-02-28", 0, 358, 360),  # 2024-02-28 is not February's end
        ("2024-02-28", "2024-02-29", 0, 1, 360),
        ("2024-01-31", "2024-03-31", 4, 60, 360),
        ("2024-02-29", "2024-03-31", 4, 31, 360),
        ("2024-01-01", "2024-12-31", 1, 365, 366),
        ("2023-03-01", "2024-02-29", 1, 365, 366),  # within a year, 29 Feb included
        ("2023-03-01", "2024-02-28", 1, 364, 365),
        ("2024-02-29", "2025-02-28", 1, 365, 366),
        ("2024-03-01", "2025-03-01", 1, 365, 365),
        ("2024-03-01", "2025-03-02", 1, 366 * 2, 731),  # over a year: average length
        ("2024-01-01", "2024-07-01", 2, 182, 360),
        ("2024-01-01", "2024-07-01", 3, 182, 365),
        ("2024-01-01", "2024-01-01", 1, 0, 1),
    ],
)
def test_yearfrac_rules(fx: Fx, start: str, end: str, basis: int, top: int, bottom: int) -> None:
    got = fx.both("YEARFRAC(d, d2, i)", d=D(start), d2=D(end), i=basis)
    assert got == decimals.div(top, bottom)  # rounded half up to 30 places
    assert fx.both("YEARFRAC(d, d2, i)", d=D(end), d2=D(start), i=basis) == got


def test_yearfrac_blanks(fx: Fx) -> None:
    for basis in ("5", "-1", "BLANK()"):
        assert fx.both(f'YEARFRAC("2024-01-01", "2024-07-01", {basis})') is None
    assert fx.both('YEARFRAC("2024-01-01", "2024-07-01", 1.9)') == fx.both(
        'YEARFRAC("2024-01-01", "2024-07-01", 1)'
    )
    assert fx.both("YEARFRAC(d, d2)", d=D("2024-01-01")) is None


def test_yearfrac_agrees_on_a_grid(fx: Fx) -> None:
    days = [
        D(x)
        for x in (
            "2023-02-28",
            "2023-12-31",
            "2024-01-30",
            "2024-02-29",
            "2024-03-31",
            "2027-06-15",
        )
    ]
    for start in days:
        for end in days:
            for basis in range(5):
                fx.both("YEARFRAC(d, d2, i)", d=start, d2=end, i=basis)


# Excel's own DAYS360 results (US method): start, end, days
EXCEL_DAYS360 = [
    ("2007-01-30", "2007-01-31", 0),
    ("2007-01-31", "2007-01-30", 0),
    ("2007-01-29", "2007-01-31", 2),
    ("2007-02-28", "2007-02-28", -2),
    ("2007-02-28", "2007-03-31", 30),
    ("2007-02-28", "2007-03-29", 29),
    ("2007-03-31", "2007-02-28", -32),
    ("2007-03-29", "2007-01-31", -58),
    ("2007-01-01", "2008-02-29", 418),
    ("2007-01-01", "2008-03-01", 420),
    ("2008-02-29", "2008-02-28", -2),
    ("2008-02-29", "2008-02-29", -1),
    ("2008-02-29", "2008-03-01", 1),
    ("2008-02-28", "2008-02-29", 1),
    ("2011-01-30", "2011-12-31", 330),
    ("2011-01-01", "2011-12-31", 360),
]


@pytest.mark.parametrize(("start", "end", "days"), EXCEL_DAYS360)
def test_days360_matches_excel(fx: Fx, start: str, end: str, days: int) -> None:
    assert fx.both("DAYS360(d, d2)", d=D(start), d2=D(end)) == days
    assert fx.both(f'DAYS360("{start}", "{end}", FALSE)') == days


def test_days360_european(fx: Fx) -> None:
    assert fx.both('DAYS360("2025-01-31", "2025-03-31", TRUE)') == 60
    assert fx.both('DAYS360("2024-02-29", "2024-03-31", TRUE)') == 31
    assert fx.both("DAYS360(d, d2, b)", d=D("2025-01-29"), d2=D("2025-03-31"), b=True) == 61
    assert fx.both("DAYS360(d, d2, b)", d=D("2025-01-29"), d2=D("2025-03-31"), b=False) == 62
    assert fx.both("DAYS360(d, d2, b)", d=D("2025-01-29"), d2=D("2025-03-31")) is None
    assert fx.both("DAYS360(d, d2)", d=D("2025-01-29")) is None


# -- robustness ----------------------------------------------------------------------------

# Huge numbers are written as decimals: an integer literal beyond 64 bits cannot be bound
# as an SQL parameter (an engine limitation, not these functions').
AWKWARD = [
    "123456789012345678901234567890.5",
    "-123456789012345678901234567890.5",
    "9223372036854775807",
    "0.5",
    "-2.5",
    "BLANK()",
    "0",
]


@pytest.mark.parametrize(
    "template",
    [
        "DATE({x}, {x}, {x})",
        "DATE(2025, 1, {x})",
        "DATE(i, 1, {x})",
        "EDATE(d, {x})",
        "EDATE(dt, {x})",
        "EOMONTH(d, {x})",
        "WEEKDAY(d, {x})",
        "WEEKNUM(d, {x})",
        'DATEADD(d, {x}, "month")',
        'DATEADD(dt, {x}, "day")',
        'DATEADD(dt, {x}, "years")',
        "WORKDAY(d, {x})",
        "WORKDAY_INTL(d, 3, {x})",
        "NETWORKDAYS_INTL(d, d2, {x})",
        "YEARFRAC(d, d2, {x})",
    ],
)
def test_awkward_numbers_never_raise(fx: Fx, template: str) -> None:
    records = [
        {"d": D("2024-02-29"), "d2": D("9999-12-31"), "dt": DT("0001-01-01 00:00"), "i": 1},
        {"d": D("0001-01-01"), "d2": D("0001-01-01"), "dt": DT("9999-12-31 23:59:59"), "i": 9999},
    ]
    for values in records:
        for x in AWKWARD:
            fx.both(template.format(x=x), **values)


def test_extremes_stay_inside_postgresql_ranges(fx: Fx) -> None:
    first, last = D("0001-01-01"), D("9999-12-31")
    early, late = DT("0001-01-01 00:00:00.000001"), DT("9999-12-31 23:59:59")
    assert fx.both("EDATE(dt, -i)", dt=early, i=120_000) is None
    assert fx.both("EDATE(d, -i)", d=first, i=120_000) is None
    assert fx.both("EOMONTH(d, -i)", d=first, i=120_000) is None
    assert fx.both("EOMONTH(d, i)", d=last, i=120_000) is None
    assert fx.both("EDATE(d, i)", d=first, i=119_987) == D("9999-12-01")
    assert fx.both("EOMONTH(d, i)", d=last, i=-119_987) == D("0001-01-31")
    assert fx.both('DATEADD(dt, -i, "days")', dt=early, i=3_000_000) is None
    assert fx.both('DATEADD(dt, i, "days")', dt=late, i=3_000_000) is None
    assert fx.both('DATEADD(dt, -i, "month")', dt=early, i=1) is None
    assert fx.both("YEARFRAC(d, d2, i)", d=first, d2=last, i=1) == fx.py(
        'YEARFRAC("0001-01-01", "9999-12-31", 1)'
    )
    assert fx.both("NETWORKDAYS(d, d2)", d=first, d2=first) == 1
    assert fx.both("WORKDAY(d, -1)", d=first) is None
    assert fx.both("WORKDAY(d, 1)", d=last) is None
    for text in ("YEAR(BLANK)", "MONTH(BLANK())", "DAY(NULL)", "QUARTER(BLANK)", "HOUR(BLANK)"):
        assert fx.both(text) is None
