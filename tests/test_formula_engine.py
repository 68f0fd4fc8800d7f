"""The formula engine end to end: checking, evaluation and SQL agree."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from tests.formulas import Fx


def test_bench_formula_agrees(fx: Fx) -> None:
    text = "IF(ISBLANK(sel), 0, ROUND(money * i / 12 * n * pct, 2))"
    values = {
        "sel": "A",
        "money": Decimal("15000.00"),
        "i": 3,
        "n": Decimal("1.5"),
        "pct": Decimal("0.5041"),
    }
    assert fx.both(text, **values) == Decimal("2835.56")
    assert fx.both(text, money=Decimal("1")) == 0


def test_date_examples(fx: Fx) -> None:
    assert fx.both("EDATE(d, 3) - 1", d=date(2025, 3, 10)) == date(2025, 6, 9)
    assert fx.both("d2 - d + 1", d=date(2025, 1, 1), d2=date(2025, 12, 31)) == 365


def test_aggregates_and_paths_agree(fx: Fx) -> None:
    kids = [
        {"n": Decimal("1.5"), "sel": "A", "s": "x"},
        {"n": Decimal("2.25"), "sel": "B", "s": "y"},
        {"n": None, "sel": "A", "s": "z"},
    ]
    assert fx.both("SUM(children.n)", children=kids) == Decimal("3.75")
    assert fx.both('SUM(children.n, sel = "A")', children=kids) == Decimal("1.5")
    assert fx.both("COUNT(children)", children=kids) == 3
    assert fx.both('COUNT(children, sel = "A")', children=kids) == 2
    assert fx.both("COUNT(children.n)", children=kids) == 2
    assert fx.both("AVERAGE(children.n)", children=kids) == Decimal("1.875")
    assert fx.both("MAX(children.n)", children=kids) == Decimal("2.25")
    assert fx.both("MIN(children.s)", children=kids) == "x"
    assert fx.both("SUM(children.n)") == 0
    assert fx.both("AVERAGE(children.n)") is None
    assert fx.py('ARRAYJOIN(children.s, "|")', children=kids) == "x|y|z"


def test_lists_spread_into_repeating_parameters(fx: Fx) -> None:
    assert fx.py("SUM(LIST(1, 2.5))") == Decimal("3.5")
    assert fx.py("MAX(LIST(3, 1), 2)") == 3
    assert fx.py("COUNT(tags)", tags=["x", "y"]) == 2
    assert fx.py("FIRST(IF(b, tags, LIST()))", b=True, tags=["y"]) == "y"
    kids = [{"n": Decimal("1")}, {"n": Decimal("5")}]
    assert fx.py("SUM(FILTER(children.n, n > 1))", children=kids) == 5


def test_conditions_over_related_records_must_run_in_the_database(fx: Fx) -> None:
    error = fx.error('SUM(children.n, FIRST(tags) = "x")')
    assert error.code == "FORMULA_SQL"
    assert "related records" in error.message


def test_division_rounds_once_at_30_places(fx: Fx) -> None:
    # 1e-12 / 2000000000000000001 is just under half of 1e-30: rounds to 0, not up
    assert fx.both("0.000000000001 / 2000000000000000001") == 0
    assert fx.both("1 / 3") == Decimal("0." + "3" * 30)
    assert fx.both("-2 / 3") == Decimal("-0." + "6" * 29 + "7")
    assert fx.both("n / 0", n=Decimal("1")) is None
    assert fx.both("n / m", n=Decimal("-1.5"), m=Decimal("0.0007")) == Decimal(
        "-2142.857142857142857142857142857143"
    )


def test_huge_literals_and_extra_aggregate_arguments_are_refused(fx: Fx) -> None:
    assert fx.error("1e999999 + 1").code == "FORMULA_LIMIT"
    assert fx.error("100000000000000000000000000000000000000 * 1").code == "FORMULA_LIMIT"
    assert fx.error("SUM(children.n, n > 0, 7)").code == "FORMULA_ARGUMENTS"


def test_wide_literals_dates_at_the_edge_and_datetime_literals(fx: Fx) -> None:
    assert fx.both("ABS(-1e30)") == Decimal("1e30")
    assert fx.py("DATE(9999, 12, 31) + 1") is None
    assert fx.both('dt > "2025-03-10 09:00"', dt=datetime(2025, 3, 10, 9, 30)) is True
    assert fx.both('dt < "2025-03-10 09:00"', dt=datetime(2025, 3, 10, 9, 30)) is False


def test_datetimes_join_text_to_the_second(fx: Fx) -> None:
    moment = datetime(2025, 3, 10, 7, 5, 4, 500000)
    assert fx.both('"at " & dt', dt=moment) == "at 2025-03-10 07:05:04"


def test_out_of_range_arguments_give_blank_in_the_database_too(fx: Fx) -> None:
    assert fx.both("d + i", d=date(2024, 2, 29), i=10**12) is None
    assert fx.both("d - 3652059", d=date(2024, 2, 29)) is None
    assert fx.both("ROUND(n, i)", n=Decimal("1.5"), i=10**12) == Decimal("1.5")
    assert fx.both("ROUNDUP(n, -20)", n=Decimal("123.5")) == Decimal("1E+20")
    assert fx.both("ROUND(n, -40)", n=Decimal("123.5")) == 0
