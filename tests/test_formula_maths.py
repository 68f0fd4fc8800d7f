"""The number functions: Excel's edge cases, blanks, limits, and the same answer in Python,
on SQLite and on PostgreSQL for every function that runs inside the database."""

from __future__ import annotations

import math
import time
from decimal import ROUND_HALF_UP, Context, Decimal
from fractions import Fraction
from typing import Any

import pytest

from runtime.formula import ir
from runtime.formula.analysis import sql_problem
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled
from runtime.formula.library import REGISTRY
from runtime.formula.library.maths_powers import PI
from tests.formulas import Fx

D = Decimal
WIDE = Context(prec=200, rounding=ROUND_HALF_UP)
SQUARE = Fraction("0.123456789012345678") ** 2
KIDS = [
    {"n": D("1.5"), "m": D("2"), "sel": "A", "s": "x"},
    {"n": D("2.25"), "m": D("1"), "sel": "B", "s": "y"},
    {"n": None, "m": None, "sel": "A", "s": ""},
    {"n": D("-4"), "m": D("3"), "sel": "C", "s": "z"},
]
PYTHON_ONLY = ["POWER", "SQRT", "EXP", "LN", "LOG", "LOG10", "MEDIAN", "RANK"]
IN_DATABASE = [
    "CEILING",
    "FLOOR",
    "MROUND",
    "TRUNC",
    "INT",
    "EVEN",
    "ODD",
    "MOD",
    "QUOTIENT",
    "SIGN",
    "ISEVEN",
    "ISODD",
    "GCD",
    "LCM",
    "PRODUCT",
    "PI",
    "COUNTA",
    "COUNTBLANK",
]


def _cases(fx: Fx, cases: list[tuple[str, Any]], **values: Any) -> None:
    for text, expected in cases:
        got = fx.both(text, **values)
        assert got == expected and (got is None) == (expected is None), (text, got, expected)


def _py_cases(fx: Fx, cases: list[tuple[str, Any]], **values: Any) -> None:
    for text, expected in cases:
        got = fx.py(text, **values)
        assert got == expected and (got is None) == (expected is None), (text, got, expected)


def _limit(fx: Fx, text: str) -> float:
    """Checking or evaluating ``text`` (literals only) is refused as a limit; returns the
    seconds taken. Literals over 38 digits are already refused when checked."""
    start = time.perf_counter()
    with pytest.raises(FormulaError) as caught:
        Compiled(fx.check(text)).evaluate({}, fx.env())
    elapsed = time.perf_counter() - start
    assert caught.value.code == "FORMULA_LIMIT", (text, caught.value)
    return elapsed


# -- rounding to multiples ----------------------------------------------------------------


def test_ceiling_follows_excel(fx: Fx) -> None:
    _cases(
        fx,
        [
            ("CEILING(2.5)", 3),
            ("CEILING(-2.5)", -2),
            ("CEILING(2.5, 2)", 4),
            ("CEILING(-2.5, 2)", -2),
            ("CEILING(-2.5, -2)", -4),
            ("CEILING(2.5, -2)", None),
            ("CEILING(1.5, 0.1)", D("1.5")),
            ("CEILING(0.234, 0.01)", D("0.24")),
            ("CEILING(4.01, 2)", 6),
            ("CEILING(4, 2)", 4),
            ("CEILING(5, 0)", 0),
            ("CEILING(0, -3)", 0),
            ("CEILING(-0.0001, 1)", 0),
            ("CEILING(123456, -1000)", None),
            ("CEILING(-123456, -1000)", -124000),
            ("CEILING(BLANK(), 2)", None),
            ("CEILING(2, BLANK())", None),
        ],
    )
    assert fx.both("CEILING(n, m)", n=D("7.3"), m=D("0.25")) == D("7.5")
    assert fx.both("CEILING(i, 5)", i=-12) == -10
    assert fx.both("CEILING(money, 0.05)", money=D("19.01")) == D("19.05")
    assert fx.both("CEILING(n)") is None


def test_floor_follows_excel(fx: Fx) -> None:
    _cases(
        fx,
        [
            ("FLOOR(3.7)", 3),
            ("FLOOR(-3.2)", -4),
            ("FLOOR(3.7, 2)", 2),
            ("FLOOR(-2.5, 2)", -4),
            ("FLOOR(-2.5, -2)", -2),
            ("FLOOR(2.5, -2)", None),
            ("FLOOR(1.58, 0.1)", D("1.5")),
            ("FLOOR(0.234, 0.01)", D("0.23")),
            ("FLOOR(5, 0)", None),
            ("FLOOR(0, 5)", 0),
            ("FLOOR(-123456, -1000)", -123000),
            ("FLOOR(BLANK())", None),
        ],
    )
    assert fx.both("FLOOR(n, m)", n=D("-7.3"), m=D("0.25")) == D("-7.5")
    assert fx.both("FLOOR(pct, 0.01)", pct=D("0.1299")) == D("0.12")


def test_mround(fx: Fx) -> None:
    _cases(
        fx,
        [
            ("MROUND(10, 3)", 9),
            ("MROUND(-10, -3)", -9),
            ("MROUND(1.3, 0.2)", D("1.4")),
            ("MROUND(6.05, 0.1)", D("6.1")),
            ("MROUND(-6.05, -0.1)", D("-6.1")),
            ("MROUND(7.5, 5)", 10),
            ("MROUND(-7.5, -5)", -10),
            ("MROUND(2.4999, 5)", 0),
            ("MROUND(5, -2)", None),
            ("MROUND(-5, 2)", None),
            ("MROUND(5, 0)", 0),
            ("MROUND(0, -5)", 0),
            ("MROUND(BLANK(), 5)", None),
        ],
    )
    assert fx.both("MROUND(money, 0.05)", money=D("10.12")) == D("10.10")
    assert fx.both("MROUND(money, 0.05)", money=D("10.13")) == D("10.15")


def test_round_trunc_and_int(fx: Fx) -> None:
    _cases(
        fx,
        [
            ("ROUND(2.5)", 3),
            ("ROUND(-2.5)", -3),
            ("ROUND(2.5, 0)", 3),
            ("ROUND(1.005, 2)", D("1.01")),
            ("ROUND(272015.34, -3)", 272000),
            ("ROUND(-272500, -3)", -273000),
            ("ROUND(499.99, -3)", 0),
            ("ROUND(5, -40)", 0),
            ("TRUNC(8.97)", 8),
            ("TRUNC(-8.97)", -8),
            ("TRUNC(-8.97, 1)", D("-8.9")),
            ("TRUNC(1234.567, -2)", 1200),
            ("TRUNC(-1234.567, -2)", -1200),
            ("TRUNC(BLANK(), 1)", None),
            ("INT(8.9)", 8),
            ("INT(-8.9)", -9),
            ("INT(-2.5)", -3),
            ("INT(-0.0001)", -1),
            ("INT(7)", 7),
            ("INT(BLANK())", None),
        ],
    )
    assert fx.both("ROUND(n, -3)", n=D("-1500.0000")) == -2000
    assert fx.both("ROUND(i, -1)", i=25) == 30
    assert fx.both("ROUND(i, -1)", i=-25) == -30
    assert fx.both("TRUNC(n, 2)", n=D("-3.4567")) == D("-3.45")
    assert fx.both("INT(n)", n=D("-3.0001")) == -4
    assert fx.both("INT(i)", i=-3) == -3
    assert fx.check("INT(n)").type.scale == 0
    assert fx.check("TRUNC(n, 2)").type.scale == 2


def test_even_and_odd_round_away_from_zero(fx: Fx) -> None:
    _cases(
        fx,
        [
            ("EVEN(1.5)", 2),
            ("EVEN(3)", 4),
            ("EVEN(2)", 2),
            ("EVEN(-1)", -2),
            ("EVEN(-0.1)", -2),
            ("EVEN(0)", 0),
            ("ODD(1.5)", 3),
            ("ODD(3)", 3),
            ("ODD(2)", 3),
            ("ODD(-1)", -1),
            ("ODD(-2)", -3),
            ("ODD(0)", 1),
            ("ODD(0.1)", 1),
            ("ODD(BLANK())", None),
            ("EVEN(BLANK())", None),
        ],
    )
    assert fx.both("EVEN(n)", n=D("-2.0001")) == -4
    big = "1234567890123456789012345678901.5"  # more digits than Python's default context
    assert fx.both(f"EVEN({big})") == 1234567890123456789012345678902
    assert fx.both(f"ODD(-{big})") == -1234567890123456789012345678903
    assert fx.both("ODD(i)", i=-4) == -5


# -- division -----------------------------------------------------------------------------


def test_mod_takes_the_sign_of_the_divisor(fx: Fx) -> None:
    _cases(
        fx,
        [
            ("MOD(3, 2)", 1),
            ("MOD(-3, 2)", 1),
            ("MOD(3, -2)", -1),
            ("MOD(-3, -2)", -1),
            ("MOD(5.5, 2)", D("1.5")),
            ("MOD(-5.5, 2)", D("0.5")),
            ("MOD(0.3, 0.1)", 0),
            ("MOD(6, 3)", 0),
            ("MOD(-6, 3)", 0),
            ("MOD(3, 0)", None),
            ("MOD(BLANK(), 2)", None),
            ("MOD(2, BLANK())", None),
        ],
    )
    assert fx.both("MOD(n, m)", n=D("-7.25"), m=D("2.5")) == D("0.25")
    assert fx.both("MOD(i, 7)", i=-1) == 6
    assert fx.both("MOD(i, 0)", i=5) is None
    assert fx.both("MOD(n, m)", n=D("7")) is None


def test_quotient_truncates_toward_zero(fx: Fx) -> None:
    _cases(
        fx,
        [
            ("QUOTIENT(7, 2)", 3),
            ("QUOTIENT(-7, 2)", -3),
            ("QUOTIENT(7, -2)", -3),
            ("QUOTIENT(-7, -2)", 3),
            ("QUOTIENT(7.9, 2)", 3),
            ("QUOTIENT(-1, 3)", 0),
            ("QUOTIENT(1, 0.3)", 3),
            ("QUOTIENT(5, 0)", None),
            ("QUOTIENT(BLANK(), 2)", None),
        ],
    )
    assert fx.both("QUOTIENT(n, m)", n=D("-10.5"), m=D("0.25")) == -42
    assert fx.check("QUOTIENT(n, m)").type.scale == 0


def test_sign_and_parity(fx: Fx) -> None:
    _cases(
        fx,
        [
            ("SIGN(-0.5)", -1),
            ("SIGN(0)", 0),
            ("SIGN(12)", 1),
            ("SIGN(BLANK())", None),
            ("ISEVEN(2)", True),
            ("ISEVEN(2.9)", True),
            ("ISEVEN(-2.5)", True),
            ("ISEVEN(3)", False),
            ("ISEVEN(0)", True),
            ("ISEVEN(BLANK())", False),
            ("ISODD(-3)", True),
            ("ISODD(-3.5)", True),
            ("ISODD(0.9)", False),
            ("ISODD(BLANK())", False),
        ],
    )
    assert fx.both("SIGN(n)", n=D("0.0001")) == 1
    assert fx.both('IF(ISODD(i), "odd", "even")', i=7) == "odd"
    assert fx.both('IF(ISODD(i), "odd", "even")') == "even"
    assert fx.both("ISEVEN(n) = FALSE", n=D("-1.5")) is True


def test_gcd_and_lcm(fx: Fx) -> None:
    _cases(
        fx,
        [
            ("GCD(24, 36)", 12),
            ("GCD(24, 36, 10)", 2),
            ("GCD(5.9, 10)", 5),
            ("GCD(7)", 7),
            ("GCD(0, 0)", 0),
            ("GCD(0, 9)", 9),
            ("GCD(-4, 2)", None),
            ("GCD(BLANK(), 4)", 4),
            ("GCD(BLANK())", None),
            ("LCM(4, 6)", 12),
            ("LCM(4, 6, 10)", 60),
            ("LCM(4.9, 6)", 12),
            ("LCM(0, 5)", 0),
            ("LCM(BLANK(), 6)", 6),
            ("LCM(-1, 2)", None),
            ("LCM(BLANK(), BLANK())", None),
        ],
    )
    assert fx.both("GCD(i, n)", i=84, n=D("36.5")) == 12
    assert fx.both("LCM(i, 10)", i=4) == 20
    assert fx.both("LCM(i, 10)") == 10
    primes = "LCM(1000000007, 1000000009, 998244353, 1000000021, 1000000033)"
    assert _limit(fx, primes) < 3.0  # hang guard, generous for loaded CI


# -- products, powers and logarithms ------------------------------------------------------


def test_product(fx: Fx) -> None:
    _cases(
        fx,
        [
            ("PRODUCT(2, 3.5, 4)", 28),
            ("PRODUCT(5)", 5),
            ("PRODUCT(2, BLANK(), -3)", -6),
            ("PRODUCT(BLANK())", None),
            ("PRODUCT(0.000000000000001, 0.000000000000001, 0.1)", 0),
            ("PRODUCT(0.000000000000003, 0.000000000000005, 0.1)", D("2E-30")),
            ("PRODUCT(0.123456789012345678, 0.123456789012345678)", _exact(SQUARE)),
        ],
    )
    values = {"n": D("1.2345"), "m": D("-0.0101"), "money": D("19.99"), "i": 3}
    assert fx.both("PRODUCT(n, m, money, i) = n * m * money * i", **values) is True
    assert fx.both("PRODUCT(n, m, money, i)", **values) == D("-0.7477329465")
    assert fx.both("PRODUCT(n, m)", n=D("2.5")) == D("2.5")
    assert fx.both("PRODUCT(n, m)") is None
    assert fx.check("PRODUCT(n, i)").type.scale == 4


def _rounded(value: Decimal) -> Decimal:
    return value.quantize(D(1).scaleb(-30), rounding=ROUND_HALF_UP, context=WIDE)


def _exact(value: Fraction) -> Decimal:
    """``value`` rounded half away from zero to 30 places (the reference for exact results)."""
    return _rounded(WIDE.divide(D(value.numerator), D(value.denominator)))


def test_power(fx: Fx) -> None:
    _py_cases(
        fx,
        [
            ("POWER(2, 10)", 1024),
            ("POWER(1.5, 2)", D("2.25")),
            ("POWER(2, -2)", D("0.25")),
            ("POWER(-2, 3)", -8),
            ("POWER(-2, -3)", D("-0.125")),
            ("POWER(-8, 1 / 3)", None),
            ("POWER(4, 0.5)", 2),
            ("POWER(0, 0)", 1),
            ("POWER(0, 3)", 0),
            ("POWER(0, -1)", None),
            ("POWER(5, 0)", 1),
            ("POWER(3, -1)", D("0.333333333333333333333333333333")),
            ("POWER(-3, -1)", D("-0.333333333333333333333333333333")),
            ("POWER(2, -100)", D("1E-30")),
            ("POWER(2, -101)", 0),
            ("POWER(0.5, 200)", 0),
            ("POWER(10, 37)", 10**37),
            ("POWER(-1, 1000000000000000000000000000001)", -1),
            ("POWER(1, 1000000000000000000000000000000)", 1),
            ("POWER(BLANK(), 2)", None),
            ("POWER(2, BLANK())", None),
        ],
    )
    assert fx.py("POWER(2, 0.5) = SQRT(2)") is True
    assert fx.py("POWER(1.05, 30)") == _exact(Fraction(105, 100) ** 30)
    assert fx.py("POWER(0.999, -7)") == _exact(Fraction(999, 1000) ** -7)
    assert fx.py("POWER(-1.1, 41)") == _exact(Fraction(-11, 10) ** 41)
    assert fx.py("POWER(n, i)", n=D("-1.0001"), i=3) == D("-1.000300030001")
    compound = fx.py("POWER(1.0001, 100000)")  # beyond exact digits: CONTEXT precision
    assert abs(compound - WIDE.power(D("1.0001"), 100000)) < D("1E-29")
    assert fx.py("POWER(1.0001, 100000)") == compound
    assert fx.py("POWER(2.5, 1.5)") == _rounded(WIDE.power(D("2.5"), D("1.5")))
    power = REGISTRY["POWER"].impl
    assert power is not None
    assert power(D("1E+5"), -6) == D("1E-30")
    assert power(D("1E+1"), -31) == 0
    assert power(D("2E+3"), 3) == 8 * 10**9
    assert fx.check("POWER(i, 2)").type.scale == 0
    assert fx.check("POWER(n, 3)").type.scale == 12
    assert fx.check("POWER(n, i)").type.scale == 30
    assert fx.check("POWER(i, -1)").type.scale == 30
    assert str(fx.py("POWER(2, 10)")) == "1024"
    assert str(fx.py("POWER(n, 2)", n=D("1.5000"))) == "2.25"


def test_huge_powers_are_refused_quickly(fx: Fx) -> None:
    for text in (
        "POWER(10, 38)",
        "POWER(2, 1000000)",
        "POWER(2, 1000000000000000000000000000000)",
        "POWER(0.5, -1000)",
        "POWER(9.99, 99999999999999999999999999999999999999)",
        "POWER(1.0001, 99999999999999.5)",
        "POWER(1e40, 0.5)",
        "EXP(88)",
        "EXP(1000000)",
        "MOD(1e40, 7)",
        "QUOTIENT(10000000000000000000000000000000000000, 0.001)",
    ):
        assert _limit(fx, text) < 3.0, text  # hang guard, generous for loaded CI
    with pytest.raises(FormulaError) as caught:
        fx.py("1 + POWER(2, 1000000)")
    assert caught.value.code == "FORMULA_LIMIT"
    assert caught.value.position == 4  # the POWER call


def test_sqrt_exp_ln_log(fx: Fx) -> None:
    _py_cases(
        fx,
        [
            ("SQRT(16)", 4),
            ("SQRT(2)", D("1.414213562373095048801688724210")),
            ("SQRT(0.0001)", D("0.01")),
            ("SQRT(0)", 0),
            ("SQRT(-1)", None),
            ("SQRT(BLANK())", None),
            ("EXP(0)", 1),
            ("EXP(1)", D("2.718281828459045235360287471353")),
            ("EXP(-1)", D("0.367879441171442321595523770161")),
            ("EXP(-100)", 0),
            ("EXP(BLANK())", None),
            ("LN(1)", 0),
            ("LN(10)", D("2.302585092994045684017991454684")),
            ("LN(0)", None),
            ("LN(-1)", None),
            ("LOG(100)", 2),
            ("LOG(0.001)", -3),
            ("LOG(8, 2)", 3),
            ("LOG(1024, 2)", 10),
            ("LOG(1, 2)", 0),
            ("LOG(8, 1)", None),
            ("LOG(8, 0)", None),
            ("LOG(8, -2)", None),
            ("LOG(-8, 2)", None),
            ("LOG(100, BLANK())", None),
            ("LOG10(1000)", 3),
            ("LOG10(0.1)", -1),
            ("LOG10(2)", D("0.301029995663981195213738894724")),
            ("LOG10(0)", None),
        ],
    )
    assert fx.py("EXP(87)") == _rounded(WIDE.exp(87))
    assert fx.py("EXP(-1.5)") == _rounded(WIDE.exp(D("-1.5")))
    assert fx.py("LN(n)", n=D("0.0001")) == _rounded(WIDE.ln(D("0.0001")))
    assert fx.py("LOG(7, 3)") == _rounded(WIDE.divide(WIDE.ln(7), WIDE.ln(3)))
    assert fx.py("SQRT(i)", i=3) == _rounded(WIDE.sqrt(3))
    assert fx.py("SQRT(n)", n=D("2.25")) == D("1.5")
    assert fx.py("LN(EXP(2))") == 2
    assert fx.py("ROUND(LOG(n, m), 10)", n=D("81"), m=D("3")) == 4
    for text in ("SQRT(2)", "EXP(1)", "LN(10)", "LOG(7, 3)", "POWER(2.5, 1.5)"):
        assert fx.py(text) == fx.py(text)  # deterministic
        value = fx.py(text)
        assert -int(value.as_tuple().exponent) <= 30


def test_pi(fx: Fx) -> None:
    assert fx.both("PI()") == PI == D("3.141592653589793238462643383280")
    assert fx.both("ROUND(PI(), 4)") == D("3.1416")
    assert fx.both("PI() * 2") == D("6.283185307179586476925286766560")
    assert fx.both("PI() > n", n=D("3.1415")) is True


# -- statistics and counting --------------------------------------------------------------


def test_median(fx: Fx) -> None:
    _py_cases(
        fx,
        [
            ("MEDIAN(3, 1, 4, 2)", D("2.5")),
            ("MEDIAN(3, 1, 2)", 2),
            ("MEDIAN(5)", 5),
            ("MEDIAN(2, BLANK(), 4)", 3),
            ("MEDIAN(BLANK())", None),
            ("MEDIAN(LIST(1, 2, 3, 4), 10)", 3),
            ("MEDIAN(0.000000000000000000000000000001, 0)", D("1E-30")),
            ("MEDIAN(-1, -2)", D("-1.5")),
        ],
    )
    assert fx.py("MEDIAN(children.n)", children=KIDS) == D("1.5")
    assert fx.py("MEDIAN(children.m, n, m)", children=KIDS, n=D("7")) == D("2.5")
    assert fx.py("MEDIAN(children.n)") is None
    assert fx.check("MEDIAN(n, i)").type.scale == 5
    for bad in ('MEDIAN("a")', "MEDIAN(tags)", "MEDIAN(1, d)", "MEDIAN(children.s)"):
        assert fx.error(bad).code == "FORMULA_TYPE", bad
    assert fx.error("MEDIAN()").code == "FORMULA_ARGUMENTS"


def test_rank(fx: Fx) -> None:
    _py_cases(
        fx,
        [
            ("RANK(3, LIST(1, 3, 5))", 2),
            ("RANK(5, LIST(1, 3, 5))", 1),
            ("RANK(1, LIST(1, 3, 5))", 3),
            ("RANK(1, LIST(1, 3, 5), TRUE)", 1),
            ("RANK(5, LIST(1, 3, 5), TRUE)", 3),
            ("RANK(5, LIST(1, 3, 5), FALSE)", 1),
            ("RANK(1, LIST(1, 3, 5), 1)", 1),
            ("RANK(1, LIST(1, 3, 5), 0)", 3),
            ("RANK(3, LIST(3, 5, 3, 1))", 2),
            ("RANK(1, LIST(3, 5, 3, 1))", 4),
            ("RANK(3, LIST(3, 5, 3, 1), TRUE)", 2),
            ("RANK(3.0, LIST(1, 3, 5))", 2),
            ("RANK(4, LIST(1, 3, 5))", None),
            ("RANK(BLANK(), LIST(1, 3, 5))", None),
            ("RANK(2, LIST(BLANK(), 2, 1))", 1),
        ],
    )
    assert fx.py("RANK(n, children.n)", children=KIDS, n=D("1.5")) == 2
    assert fx.py("RANK(n, children.n, TRUE)", children=KIDS, n=D("1.5")) == 2
    assert fx.py("RANK(n, children.n, TRUE)", children=KIDS, n=D("-4")) == 1
    assert fx.py("RANK(n, children.n)", n=D("1")) is None
    for bad in ('RANK(1, LIST(1), "x")', "RANK(1, tags)", "RANK(1, 2)", 'RANK("a", LIST(1))'):
        assert fx.error(bad).code == "FORMULA_TYPE", bad


def test_counta_and_countblank(fx: Fx) -> None:
    _cases(
        fx,
        [
            ('COUNTA(1, "", BLANK(), "a")', 2),
            ('COUNTBLANK(1, "", BLANK(), "a")', 2),
            ("COUNTA(FALSE, 0)", 2),
            ("COUNTBLANK(FALSE, 0)", 0),
        ],
    )
    values = {"n": D("0"), "s": "", "b": False}
    assert fx.both("COUNTA(n, m, s, s2, b, d)", **values) == 2
    assert fx.both("COUNTBLANK(n, m, s, s2, b, d)", **values) == 4
    assert fx.both("COUNTA(s) + COUNTBLANK(s)", s="x") == 1
    assert fx.both("COUNTA(children)", children=KIDS) == 4
    assert fx.both('COUNTA(children, sel = "A")', children=KIDS) == 2
    assert fx.both("COUNTA(children.n, n > 0)", children=KIDS) == 2
    assert isinstance(fx.check("COUNTA(children)"), ir.Aggregate)
    assert fx.both("COUNTA(children.s)", children=KIDS) == 4  # as COUNT: "" is a value


def test_conditional_aggregates_over_related_records(fx: Fx) -> None:
    cases = [
        ('COUNTIF(children, sel = "A")', 2),
        ("COUNTIF(children, n > 2)", 1),
        ('COUNTIF(children.n, sel = "A")', 1),
        ("COUNTIF(children, ISBLANK(n))", 1),
        ('COUNTIF(children, sel = "D")', 0),
        ('SUMIF(children.n, sel = "A")', D("1.5")),
        ("SUMIF(children.n, m >= 2)", D("-2.5")),
        ("SUMIF(children.n, n > 100)", 0),
        ('AVERAGEIF(children.n, sel <> "B")', D("-1.25")),
        ('AVERAGEIF(children.m, sel = "A")', 2),
        ('AVERAGEIF(children.n, sel = "D")', None),
        ('COUNTIF(children, sel = "A") >= 2', True),
    ]
    for text, expected in cases:
        assert fx.both(text, children=KIDS) == expected, text
        assert sql_problem(fx.check(text)) is None, text
    assert fx.both('COUNTIF(children, sel = "A")') == 0
    assert fx.both("SUMIF(children.n, n > 0)") == 0
    assert fx.both("AVERAGEIF(children.n, n > 0)") is None
    for text in ('COUNTIF(children, sel = "A")', "SUMIF(children.n, n > 0)"):
        assert isinstance(fx.check(text), ir.Aggregate)
    assert fx.check("SUMIF(children.n, n > 0)").type.scale == 4
    assert fx.check("AVERAGEIF(children.n, n > 0)").type.scale == 30


def test_conditional_aggregates_over_other_lists(fx: Fx) -> None:
    _py_cases(
        fx,
        [
            ("COUNTIF(LIST(1, 2, 2, 3), 2)", 2),
            ("COUNTIF(LIST(1, 2, 2, 3), 2.0)", 2),
            ("COUNTIF(LIST(1, 2, 2, 3), 9)", 0),
            ("COUNTIF(LIST(1, BLANK()), BLANK())", 0),
            ('COUNTIF(LIST("a", "b", "a"), "a")', 2),
            ("SUMIF(LIST(1.5, 2, 1.5), 1.5)", 3),
            ("SUMIF(LIST(1, 2), 5)", 0),
            ("AVERAGEIF(LIST(1, 2, 2), 2)", 2),
            ("AVERAGEIF(LIST(1, 2), 5)", None),
        ],
    )
    assert fx.py('COUNTIF(tags, "x")', tags=["x", "z"]) == 1
    assert fx.py('COUNTIF(tags, "x")') == 0
    assert fx.check("SUMIF(LIST(1.5, 2), 2)").type.scale == 1


def test_conditional_aggregates_are_checked(fx: Fx) -> None:
    for text, code in (
        ("COUNTIF(n, 1)", "FORMULA_TYPE"),
        ('SUMIF(tags, "x")', "FORMULA_TYPE"),
        ('SUMIF(children.s, sel = "A")', "FORMULA_TYPE"),
        ("COUNTIF(children, n)", "FORMULA_TYPE"),
        ('COUNTIF(children, nn = "A")', "FORMULA_NAME"),
        ("SUMIF(children, n > 0)", "FORMULA_ARGUMENTS"),
        ("COUNTIF(children)", "FORMULA_ARGUMENTS"),
        ("AVERAGEIF(children.n, n > 0, 1)", "FORMULA_ARGUMENTS"),
    ):
        assert fx.error(text).code == code, text


# -- Python only, or in the database ------------------------------------------------------


@pytest.mark.parametrize("name", PYTHON_ONLY)
def test_python_only_functions_say_so(fx: Fx, name: str) -> None:
    fn = REGISTRY[name]
    assert fn.sql is None
    problem = sql_problem(fx.check(fn.example))  # what validation of filters and scopes uses
    assert problem is not None and problem[0].startswith(f"{name}()")
    if fx.dialect == "postgresql":
        with pytest.raises(FormulaError) as caught:
            fx.sql(fn.example)
        assert caught.value.code == "FORMULA_SQL"


@pytest.mark.parametrize("name", IN_DATABASE)
def test_functions_with_sql_run_in_the_database(fx: Fx, name: str) -> None:
    fn = REGISTRY[name]
    assert fn.sql is not None
    assert sql_problem(fx.check(fn.example)) is None
    assert fx.both(fn.example) == fx.py(fn.example)


NS = [
    "-7.5",
    "-2.5",
    "-2",
    "-0.0001",
    "0",
    "0.0001",
    "1.25",
    "2.5",
    "3",
    "7.9999",
    "-9999999999.9999",
    "123456789.0007",
]
MS = ["-3", "-2", "-0.5", "0", "0.3", "2", "2.5", "0.0007"]
SWEEP = (
    "CEILING(n, m) & '|' & FLOOR(n, m) & '|' & MOD(n, m) & '|' & MROUND(n, m) & '|' & "
    "QUOTIENT(n, m) & '|' & GCD(n, m) & '|' & LCM(n, m) & '|' & PRODUCT(n, m, n) & '|' & "
    "INT(n) & '|' & EVEN(n) & '|' & ODD(n) & '|' & SIGN(m) & '|' & ISEVEN(n) & '|' & "
    "ISODD(n) & '|' & TRUNC(n, 1) & '|' & CEILING(n) & '|' & FLOOR(n)"
).replace("'", '"')


def _shown(value: Fraction | int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, Fraction):
        value = WIDE.divide(D(value.numerator), D(value.denominator))
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _oracle(x: Fraction, s: Fraction) -> list[Fraction | int | bool | None]:
    """Excel's definitions, computed with fractions (independent of the implementation)."""
    ceiling = None if x > 0 and s < 0 else 0 if s == 0 else math.ceil(x / s) * s
    floor = None if s == 0 or (x > 0 and s < 0) else math.floor(x / s) * s
    mod = None if s == 0 else x - s * math.floor(x / s)
    if s == 0 or x == 0:
        mround: Fraction | int | None = 0
    elif (x < 0) != (s < 0):
        mround = None
    else:
        units = abs(x) / abs(s)
        whole = math.floor(units) + (1 if units - math.floor(units) >= Fraction(1, 2) else 0)
        mround = whole * abs(s) * (1 if x > 0 else -1)
    quotient = None if s == 0 else math.trunc(x / s)
    wholes = None if x < 0 or s < 0 else (math.trunc(x), math.trunc(s))
    gcd = None if wholes is None else math.gcd(*wholes)
    lcm = None if wholes is None else math.lcm(*wholes)
    product = x * s * x  # at most 12 decimal places: exact
    up = math.ceil(abs(x))
    even = (up + up % 2) * (-1 if x < 0 else 1)
    odd = (up + 1 - up % 2) * (-1 if x < 0 else 1)
    sign = (s > 0) - (s < 0)
    truncated = Fraction(math.trunc(x * 10), 10)
    return [
        ceiling,
        floor,
        mod,
        mround,
        quotient,
        gcd,
        lcm,
        product,
        math.floor(x),
        even,
        odd,
        sign,
        math.trunc(x) % 2 == 0,
        math.trunc(x) % 2 == 1,
        truncated,
        math.ceil(x),
        math.floor(x),
    ]


def test_exact_functions_agree_everywhere_with_excels_definitions(fx: Fx) -> None:
    for n in NS:
        for m in MS:
            got = fx.both(SWEEP, n=D(n), m=D(m))
            want = "|".join(_shown(v) for v in _oracle(Fraction(n), Fraction(m)))
            assert got == want, f"n={n} m={m}"


def test_integer_fields_agree_everywhere(fx: Fx) -> None:
    text = (
        'MOD(i, 7) & "|" & QUOTIENT(i, -7) & "|" & CEILING(i, 4) & "|" & FLOOR(i, -4) & "|" '
        '& MROUND(i, 3) & "|" & GCD(i, 12) & "|" & LCM(i, 8) & "|" & EVEN(i) & "|" & ODD(i)'
        ' & "|" & PRODUCT(i, i, i) & "|" & INT(i) & "|" & SIGN(i) & "|" & ISODD(i)'
    )
    for i in (-25, -8, -1, 0, 1, 7, 12, 1234567890123):
        fx.both(text, i=i)
    assert fx.both("PRODUCT(i, i, i)", i=1234567890123) == 1234567890123**3


def test_functions_over_aggregates_agree(fx: Fx) -> None:
    """Arguments that SQLite cannot fuse into one Python call (aggregates) still agree."""
    cases = [
        ("CEILING(SUM(children.n), 2)", 0),
        ("FLOOR(SUM(children.n), 0.1)", D("-0.3")),
        ("MOD(COUNT(children), 3)", 1),
        ("QUOTIENT(SUM(children.m), 4)", 1),
        ("MROUND(AVERAGE(children.m), 0.5)", 2),
        ("PRODUCT(SUM(children.n), COUNT(children.n))", D("-0.75")),
        ("GCD(SUM(children.m), 4)", 2),
        ("ISODD(COUNT(children))", False),
        ('SIGN(SUMIF(children.n, sel = "C"))', -1),
        ('EVEN(COUNTIF(children, sel = "A")) + ODD(COUNTA(children))', 7),
    ]
    for text, expected in cases:
        assert fx.both(text, children=KIDS) == expected, text
