"""The formula engine end to end: checking, evaluation and SQL agree."""

from __future__ import annotations

from datetime import date
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
