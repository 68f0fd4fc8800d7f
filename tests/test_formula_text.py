"""The text functions: behaviour, edge cases, limits, and agreement between Python and the
database (``fx.both``) for every function that has a SQL translation."""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from runtime.formula.analysis import sql_problem
from runtime.formula.display import display
from runtime.formula.errors import FormulaError
from runtime.formula.library import REGISTRY
from tests.formulas import Fx

TEXT_FUNCTIONS = sorted(name for name, f in REGISTRY.items() if f.category == "text")
WITH_SQL = [name for name in TEXT_FUNCTIONS if REGISTRY[name].sql is not None]


def run(fx: Fx, text: str, **values: Any) -> Any:
    """Both in Python and in the database when the formula can run there."""
    if sql_problem(fx.check(text)) is None:
        return fx.both(text, **values)
    return fx.py(text, **values)


def failure(fx: Fx, text: str, **values: Any) -> FormulaError:
    with pytest.raises(FormulaError) as caught:
        fx.py(text, **values)
    return caught.value


def quick(fx: Fx, text: str, **values: Any) -> FormulaError:
    """The evaluation error of ``text``, which must come fast (in well under a second
    alone; the bound leaves room for a loaded test machine)."""
    started = time.perf_counter()
    error = failure(fx, text, **values)
    assert time.perf_counter() - started < 2, f"{text} took too long to be refused"
    return error


# -- registry ---------------------------------------------------------------------------


def test_the_text_category_is_complete() -> None:
    wanted = {
        "LEFT", "RIGHT", "MID", "TRIM", "SUBSTITUTE", "REPLACE", "FIND", "SEARCH", "TEXT",
        "VALUE", "REPT", "EXACT", "PROPER", "ENDS_WITH", "REGEX_MATCH", "REGEX_EXTRACT",
        "REGEX_REPLACE", "CHAR", "CODE", "UNICHAR", "UNICODE", "CLEAN", "TEXTJOIN",
        "NUMBERVALUE", "FIXED", "CONCATENATE", "TEXTBEFORE", "TEXTAFTER",
    }  # fmt: skip
    assert wanted <= set(TEXT_FUNCTIONS)
    for name in TEXT_FUNCTIONS:
        f = REGISTRY[name]
        assert f.summary and "\n" not in f.summary, name
        assert f.example.startswith(f"{name}(") or name in f.example, name


@pytest.mark.parametrize("name", TEXT_FUNCTIONS)
def test_examples_give_their_documented_result(fx: Fx, name: str) -> None:
    f = REGISTRY[name]
    got = fx.both(f.example) if f.sql is not None else fx.py(f.example)
    assert display(got) == f.result, f.example


@pytest.mark.parametrize(
    "name", ["REGEX_MATCH", "REGEX_EXTRACT", "REGEX_REPLACE", "PROPER", "TEXTJOIN"]
)
def test_functions_without_sql_are_refused_in_filters(fx: Fx, name: str) -> None:
    args = {"TEXTJOIN": '"-", TRUE, s', "PROPER": "s"}.get(name, 's, "a"')
    if name == "REGEX_REPLACE":
        args += ', "b"'
    problem = sql_problem(fx.check(f"{name}({args})"))
    assert problem is not None and "cannot run inside the database" in problem[0]


# -- cutting ----------------------------------------------------------------------------


def test_left_right_mid(fx: Fx) -> None:
    assert fx.both('LEFT("Tenon", 2)') == "Te"
    assert fx.both('LEFT("Tenon")') == "T"
    assert fx.both('LEFT("Tenon", 0)') == ""
    assert fx.both('LEFT("Tenon", 99)') == "Tenon"
    assert fx.both('LEFT("Tenon", 2.9)') == "Te"  # truncated
    assert fx.both('LEFT("Tenon", -1)') is None
    assert fx.both("LEFT(s, 2)") is None
    assert fx.both('LEFT("Tenon", i)') is None  # a blank count gives blank
    assert fx.both('RIGHT("Tenon", 3)') == "non"
    assert fx.both('RIGHT("Tenon")') == "n"
    assert fx.both('RIGHT("Tenon", 0)') == ""
    assert fx.both('RIGHT("Tenon", 10)') == "Tenon"
    assert fx.both('RIGHT("Tenon", -2)') is None
    assert fx.both('MID("Tenon", 2, 3)') == "eno"
    assert fx.both('MID("Tenon", 4, 10)') == "on"  # beyond the end: what there is
    assert fx.both('MID("Tenon", 6, 1)') == ""
    assert fx.both('MID("Tenon", 100, 1)') == ""
    assert fx.both('MID("Tenon", 0, 1)') is None
    assert fx.both('MID("Tenon", 1, -1)') is None
    assert fx.both('MID("Tenon", 2, 0)') == ""
    assert fx.both("MID(s, i, n)", s="深圳研发中心", i=3, n=Decimal("2.7")) == "研发"
    assert fx.both("LEFT(s, n)", s="abc", n=Decimal("99999999999999")) == "abc"
    assert fx.both("RIGHT(s, 100000000000000000000.5)", s="abc") == "abc"


def test_trim_collapses_inner_spaces_only(fx: Fx) -> None:
    assert fx.both('TRIM("  Shenzhen    R&D  ")') == "Shenzhen R&D"
    assert fx.both('TRIM("   ")') == ""
    assert fx.both("TRIM(s)", s=" 深圳  研发 ") == "深圳 研发"
    # only U+0020 counts, as in Excel
    assert fx.both("TRIM(s)", s="\ta  \u3000b\u00a0 ") == "\ta \u3000b\u00a0"
    assert fx.both("TRIM(s)") is None


def test_substitute(fx: Fx) -> None:
    assert fx.both('SUBSTITUTE("a-b-c", "-", "/")') == "a/b/c"
    assert fx.both('SUBSTITUTE("a-b-c", "-", "/", 2)') == "a-b/c"
    assert fx.both('SUBSTITUTE("a-b-c", "-", "/", 3)') == "a-b-c"  # no third: unchanged
    assert fx.both('SUBSTITUTE("a-b-c", "-", "/", 0)') is None
    assert fx.both('SUBSTITUTE("a-b-c", "-", "/", -1)') is None
    assert fx.both('SUBSTITUTE("aaaa", "aa", "b")') == "bb"  # not overlapping
    assert fx.both('SUBSTITUTE("aaaa", "aa", "b", 2)') == "aab"
    assert fx.both('SUBSTITUTE("Hello", "l", "L", 2)') == "HelLo"
    assert fx.both('SUBSTITUTE("abc", "B", "x")') == "abc"  # case-sensitive
    assert fx.both('SUBSTITUTE("abc", "", "x")') == "abc"
    assert fx.both('SUBSTITUTE("abc", BLANK(), "x", 1)') == "abc"
    assert fx.both('SUBSTITUTE("a-b", "-", BLANK())') == "ab"
    assert fx.both('SUBSTITUTE("a-b", "-", "+", i)') is None  # a blank instance gives blank
    assert fx.both('SUBSTITUTE(s, "研发", "R&D")', s="深圳研发中心研发") == "深圳R&D中心R&D"
    assert fx.both('SUBSTITUTE(s, "研发", "R&D", 2)', s="深圳研发中心研发") == "深圳研发中心R&D"
    assert fx.both("SUBSTITUTE(s, s2, s2 & s2, i)", s="xyxy", s2="y", i=2) == "xyxyy"


def test_replace(fx: Fx) -> None:
    assert fx.both('REPLACE("abcdef", 2, 3, "XY")') == "aXYef"
    assert fx.both('REPLACE("abc", 1, 0, "X")') == "Xabc"
    assert fx.both('REPLACE("abc", 4, 2, "X")') == "abcX"
    assert fx.both('REPLACE("abc", 10, 2, "X")') == "abcX"  # Excel appends too
    assert fx.both('REPLACE("abc", 2, 99, "X")') == "aX"
    assert fx.both('REPLACE("abc", 2, 1, BLANK())') == "ac"
    assert fx.both('REPLACE("abc", 0, 1, "X")') is None
    assert fx.both('REPLACE("abc", 1, -1, "X")') is None
    assert fx.both('REPLACE(s, 3, 2, "R&D")', s="深圳研发中心") == "深圳R&D中心"


# -- searching --------------------------------------------------------------------------


def test_find(fx: Fx) -> None:
    assert fx.both('FIND("n", "Tenon")') == 3
    assert fx.both('FIND("n", "Tenon", 4)') == 5
    assert fx.both('FIND("N", "Tenon")') is None  # case-sensitive; not found is blank
    assert fx.both('FIND("x", "Tenon")') is None
    assert fx.both('FIND("n", "Tenon", 0)') is None
    assert fx.both('FIND("n", "Tenon", 6)') is None
    assert fx.both('FIND("", "Tenon")') == 1
    assert fx.both('FIND("", "Tenon", 3)') == 3
    assert fx.both('FIND("", "Tenon", 6)') == 6
    assert fx.both('FIND("", "Tenon", 7)') is None
    assert fx.both('FIND(BLANK(), "Tenon")') is None
    assert fx.both('FIND("研发", s)', s="深圳研发中心") == 3
    assert fx.both("FIND(s2, s, i)", s="a.b.c", s2=".", i=3) == 4


def test_search_ignores_case_of_a_to_z(fx: Fx) -> None:
    assert fx.both('SEARCH("NON", "Tenon")') == 3
    assert fx.both('SEARCH("n", "TENON", 4)') == 5
    assert fx.both('SEARCH("x", "Tenon")') is None
    assert fx.both('SEARCH("研发", "深圳研发中心")') == 3
    assert fx.both('SEARCH("r&d", "深圳R&D")') == 3
    assert fx.both('SEARCH("?", "a?b")') == 2  # no wildcards
    assert fx.both('SEARCH("*", "a*b")') == 2
    # letters beyond A-Z keep their case (documented), the same in every database
    assert fx.both('SEARCH("é", "École")') is None
    assert fx.both('SEARCH("É", "École")') == 1


def test_exact_and_ends_with(fx: Fx) -> None:
    assert fx.both('EXACT("HR", "HR")') is True
    assert fx.both('EXACT("HR", "hr")') is False
    assert fx.both('EXACT("HR", "HR ")') is False
    assert fx.both('EXACT(BLANK(), "")') is True
    assert fx.both("EXACT(s, s2)") is True
    assert fx.both("EXACT(s, s2)", s="深圳") is False
    assert fx.both("EXACT(s, s2)", s="深圳", s2="深圳") is True
    assert fx.both('ENDS_WITH("report.PDF", ".pdf")') is False
    assert fx.both('ENDS_WITH("report.pdf", "")') is True
    assert fx.both('ENDS_WITH("pdf", "x.pdf")') is False
    assert fx.both('ENDS_WITH(s, "中心")', s="深圳研发中心") is True
    assert fx.both('ENDS_WITH(s, "x")') is False
    assert fx.both('ENDS_WITH("x", s)') is False


# -- building text ----------------------------------------------------------------------


def test_rept(fx: Fx) -> None:
    assert fx.both('REPT("ab", 3)') == "ababab"
    assert fx.both('REPT("ab", 0)') == ""
    assert fx.both('REPT("ab", 2.9)') == "abab"
    assert fx.both('REPT("ab", -1)') is None
    started = time.perf_counter()
    assert fx.both('REPT("", 100000000000000000000.5)') == ""
    assert fx.both("REPT(s, n)", s="", n=Decimal("99999999999999")) == ""
    assert time.perf_counter() - started < 2
    assert fx.both('REPT("深", 3)') == "深深深"
    assert fx.both('REPT("x", 100000)') == "x" * 100_000


@pytest.mark.parametrize(
    "text", ['REPT("ab", 50001)', 'REPT("ab", 1000000000000000)', "REPT(s, i)"]
)
def test_rept_beyond_the_limit_is_refused_fast(fx: Fx, text: str) -> None:
    error = quick(fx, text, s="x" * 1000, i=10**12)
    assert error.code == "FORMULA_LIMIT"
    assert "100,000 characters" in error.message


def test_growing_text_past_the_limit(fx: Fx) -> None:
    big = "a" * 50_001
    assert quick(fx, 'SUBSTITUTE(s, "a", "bb")', s=big).code == "FORMULA_LIMIT"
    assert quick(fx, 'SUBSTITUTE(s, "a", s)', s=big).code == "FORMULA_LIMIT"
    assert quick(fx, "REPLACE(s, 1, 0, s)", s=big).code == "FORMULA_LIMIT"
    assert fx.py('SUBSTITUTE(s, "a", "bb", 7)', s=big) == "a" * 6 + "bb" + "a" * 49_994
    # inside the database a tripped limit gives blank, on SQLite and PostgreSQL alike
    for text in ('SUBSTITUTE(s, "a", "bb")', "REPT(s, 3)", "REPLACE(s, 1, 0, s)"):
        assert fx.sql(text, s=big) is None
    assert fx.both('SUBSTITUTE(s, "a", "b")', s=big) == "b" * 50_001


def test_concatenate(fx: Fx) -> None:
    assert fx.both('CONCATENATE("P", 4, "-", TRUE, BLANK())') == "P4-TRUE"
    assert fx.both("CONCATENATE(s, n)", s="深圳", n=Decimal("1.50")) == "深圳1.5"


def test_textjoin(fx: Fx) -> None:
    assert fx.py('TEXTJOIN(", ", TRUE, "a", "", BLANK(), "b")') == "a, b"
    assert fx.py('TEXTJOIN(", ", FALSE, "a", "", BLANK(), "b")') == "a, , , b"
    assert fx.py('TEXTJOIN("-", TRUE, tags, 1.50, d)', tags=["x", "z"], d=date(2025, 3, 10)) == (
        "x-z-1.5-2025-03-10"
    )
    assert fx.py('TEXTJOIN(BLANK(), b, "a", "b")') == "ab"  # blank flag counts as FALSE
    assert fx.py('TEXTJOIN("、", TRUE, SPLIT(s, " "))', s="深圳 研发  中心") == "深圳、研发、中心"
    assert fx.py('TEXTJOIN("-", TRUE, "", BLANK())') == ""
    assert quick(fx, 'TEXTJOIN("-", TRUE, s, s, s)', s="x" * 40_000).code == "FORMULA_LIMIT"


def test_textbefore_and_textafter(fx: Fx) -> None:
    assert fx.py('TEXTBEFORE("a.b.c", ".")') == "a"
    assert fx.py('TEXTBEFORE("a.b.c", ".", 2)') == "a.b"
    assert fx.py('TEXTBEFORE("a.b.c", ".", -1)') == "a.b"
    assert fx.py('TEXTBEFORE("a.b.c", ".", 3)') is None
    assert fx.py('TEXTBEFORE("a.b.c", ".", 0)') is None
    assert fx.py('TEXTBEFORE("a.b.c", "/")') is None
    assert fx.py('TEXTAFTER("a.b.c", ".")') == "b.c"
    assert fx.py('TEXTAFTER("a.b.c", ".", -1)') == "c"
    assert fx.py('TEXTAFTER("a.b.c", ".", -3)') is None
    assert fx.py('TEXTAFTER("aaa", "aa", -1)') == ""  # from the end: the last "aa"
    assert fx.py('TEXTBEFORE("aaa", "aa", -1)') == "a"
    assert fx.py('TEXTBEFORE("abc", "")') == ""
    assert fx.py('TEXTAFTER("abc", "")') == "abc"
    assert fx.py('TEXTAFTER("深圳·研发·中心", "·", 2)') == "中心"
    assert fx.py('TEXTAFTER("abc", "b", 1000000000000)') is None


# -- characters -------------------------------------------------------------------------


def test_char_and_code(fx: Fx) -> None:
    assert fx.both("CHAR(65)") == "A"
    assert fx.both("CHAR(10)") == "\n"
    assert fx.both("CHAR(233)") == "é"
    assert fx.both("CHAR(65.9)") == "A"
    for bad in ("0", "256", "-1", "0.5"):
        assert fx.both(f"CHAR({bad})") is None
    assert fx.both("UNICHAR(28145)") == "深"
    assert fx.both("UNICHAR(128512)") == "😀"
    for bad in ("0", "55296", "57343", "1114112", "-5"):
        assert fx.both(f"UNICHAR({bad})") is None
    assert fx.both("UNICHAR(i)", i=1114111) == chr(0x10FFFF)
    assert fx.both('CODE("Abc")') == 65
    assert fx.both('CODE("深圳")') == 28145
    assert fx.both('UNICODE("😀")') == 128512
    assert fx.both('CODE("")') is None
    assert fx.both("UNICODE(s)") is None
    assert fx.both("UNICODE(UNICHAR(i))", i=40657) == 40657


def test_clean_and_proper(fx: Fx) -> None:
    assert fx.both("CLEAN(s)", s="a\tb\r\nc\x1fd\x7fe\u200b") == "abcd\x7fe\u200b"
    assert fx.both("CLEAN(s)", s="深圳\n研发") == "深圳研发"
    assert fx.py('PROPER("zhang SAN-feng")') == "Zhang San-Feng"
    assert fx.py("PROPER(\"it's 2nd o'neil\")") == "It'S 2Nd O'Neil"  # as Excel
    assert fx.py('PROPER("深圳tech研发")') == "深圳Tech研发"
    assert fx.py('PROPER("ÉCOLE ßTRASSE")') == "École ßtrasse"
    assert fx.py("PROPER(s)") is None


# -- numbers and text -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("1,234.5", Decimal("1234.5")),
        (" 12 ", 12),
        ("\t-3.25\n", Decimal("-3.25")),
        ("+7", 7),
        (".5", Decimal("0.5")),
        ("5.", 5),
        ("15%", Decimal("0.15")),
        ("-1.5E2", -150),
        ("1e-3", Decimal("0.001")),
        ("1,234,567", 1234567),
        ("0.1234567890123456789012345678905", Decimal("0.123456789012345678901234567891")),
        ("1" * 37, int("1" * 37)),
        ("abc", None),
        ("", None),
        ("1,23", None),
        ("12a", None),
        ("1 000", None),
        ("$12", None),
        ("１２", None),  # full-width digits
        ("1" * 38, int("1" * 38)),
        ("1" * 39, None),  # too large for Tenon
        ("1e99", None),
        (".", None),
        ("-", None),
        ("%", None),
    ],
)
def test_value(fx: Fx, text: str, value: Any) -> None:
    assert fx.both("VALUE(s)", s=text) == value


def test_numbervalue(fx: Fx) -> None:
    assert fx.py('NUMBERVALUE("2.500,27", ",", ".")') == Decimal("2500.27")
    assert fx.py('NUMBERVALUE("1 234.5")') == Decimal("1234.5")
    assert fx.py('NUMBERVALUE("3.5%")') == Decimal("0.035")
    assert fx.py('NUMBERVALUE("3.5%%")') == Decimal("0.00035")
    assert fx.py('NUMBERVALUE("1,2,3")') == 123  # group separators anywhere before the point
    assert fx.py('NUMBERVALUE("1.2.3")') is None
    assert fx.py('NUMBERVALUE("1.5", ".", ".")') is None
    assert fx.py('NUMBERVALUE("1.2,5")') is None  # group separator after the decimal point
    assert fx.py('NUMBERVALUE("")') is None
    assert fx.py('NUMBERVALUE("abc")') is None


@pytest.mark.parametrize(
    ("value", "code", "shown"),
    [
        ("1234.567", "0", "1235"),
        ("1234.567", "0.00", "1234.57"),
        ("1234.567", "#,##0", "1,235"),
        ("1234.567", "#,##0.00", "1,234.57"),
        ("-1234.567", "#,##0.00", "-1,234.57"),
        ("1234567.891", "#,##0.0", "1,234,567.9"),
        ("0.256", "0%", "26%"),
        ("0.2567", "0.0%", "25.7%"),
        ("-0.0005", "0.0%", "-0.1%"),
        ("2.5", "0", "3"),  # half away from zero
        ("-2.5", "0", "-3"),
        ("1.005", "0.00", "1.01"),
        ("-1.005", "0.00", "-1.01"),
        ("-0.004", "0.00", "0.00"),  # rounds to zero: no minus sign
        ("-0.4", "0", "0"),
        ("0", "0.000", "0.000"),
        ("0.5", "#,##0", "1"),
        ("999.995", "#,##0.00", "1,000.00"),
        ("12", "0.000000", "12.000000"),
    ],
)
def test_text_numbers(fx: Fx, value: str, code: str, shown: str) -> None:
    assert fx.both(f'TEXT({value}, "{code}")') == shown
    assert fx.both("TEXT(n, s2)", n=Decimal(value), s2=code) == shown
    assert fx.both("TEXT(s, s2)", s=value, s2=code) == shown  # a number in text


@pytest.mark.parametrize(
    ("code", "shown"),
    [
        ("YYYY-MM-DD", "2025-03-09"),
        ("yyyy-mm-dd", "2025-03-09"),
        ("YYYY/MM/DD", "2025/03/09"),
        ("YYYY年MM月DD日", "2025年03月09日"),
        ("YYYY年MM月", "2025年03月"),
        ("YYYY-MM", "2025-03"),
        ("YYYYMMDD", "20250309"),
        ("MM/DD/YYYY", "03/09/2025"),
        ("DD.MM.YYYY", "09.03.2025"),
        ("HH:mm", "07:05"),
        ("HH:mm:ss", "07:05:04"),
        ("YYYY-MM-DD HH:mm", "2025-03-09 07:05"),
        ("YYYY-MM-DD HH:mm:ss", "2025-03-09 07:05:04"),
    ],
)
def test_text_dates(fx: Fx, code: str, shown: str) -> None:
    moment = datetime(2025, 3, 9, 7, 5, 4, 900_000)
    assert fx.both(f'TEXT(dt, "{code}")', dt=moment) == shown
    assert fx.both("TEXT(dt, s2)", dt=moment, s2=code) == shown
    midnight = shown.replace("07:05:04", "00:00:00").replace("07:05", "00:00")
    assert fx.both("TEXT(d, s2)", d=date(2025, 3, 9), s2=code) == midnight


def test_text_other_cases(fx: Fx) -> None:
    assert fx.both("TEXT(n)", n=Decimal("1.50")) == "1.5"
    assert fx.both('TEXT(n, "")', n=Decimal("1.50")) == "1.5"
    assert fx.both("TEXT(d)", d=date(2025, 3, 9)) == "2025-03-09"
    assert fx.both("TEXT(dt)", dt=datetime(2025, 3, 9, 7, 5, 4, 500)) == "2025-03-09 07:05:04"
    assert fx.both('TEXT(TRUE, "0.00")') == "TRUE"
    assert fx.both('TEXT("abc", "0.00")') == "abc"  # text that is not a number: unchanged
    assert fx.both('TEXT("深圳", "YYYY-MM-DD")') == "深圳"
    assert fx.both('TEXT(" 1,234.5 ", "#,##0.00")') == "1,234.50"
    assert fx.both('TEXT(n, "0.00")') is None
    assert fx.both("TEXT(n, s2)", n=Decimal(1), s2="0.##") is None  # unknown code from a field
    assert fx.both("TEXT(n, s2)", n=Decimal(1), s2="YYYY-MM-DD") is None
    assert fx.both("TEXT(d, s2)", d=date(2025, 3, 9), s2="0.00") is None
    assert fx.both("TEXT(d, s2)", d=date(2025, 3, 9), s2="HH:MM:ß") is None  # no Unicode case
    assert fx.both("TEXT(n, s2)", n=Decimal("1e13"), s2="0.0%") == "1000000000000000.0%"
    assert fx.both('TEXT(12345678901234567890123456789012345678.0, "#,##0.0")') == (
        "12,345,678,901,234,567,890,123,456,789,012,345,678.0"
    )


def test_text_refuses_a_literal_format_it_does_not_know(fx: Fx) -> None:
    assert fx.error('TEXT(parent, "0")').code == "FORMULA_TYPE"
    error = fx.error('TEXT(1, "0.##")')
    assert error.code == "FORMULA_ARGUMENTS" and "YYYY-MM-DD" in error.message
    assert fx.error('TEXT(d, "0.00")').code == "FORMULA_ARGUMENTS"
    assert fx.error('TEXT(n, "YYYY-MM-DD")').code == "FORMULA_ARGUMENTS"
    assert fx.check('TEXT(s, "YYYY-MM-DD")') is not None  # text may hold either


def test_fixed(fx: Fx) -> None:
    assert fx.both("FIXED(1234.567)") == "1,234.57"
    assert fx.both("FIXED(1234.567, 1)") == "1,234.6"
    assert fx.both("FIXED(1234.567, 1, TRUE)") == "1234.6"
    assert fx.both("FIXED(1234.567, 0)") == "1,235"
    assert fx.both("FIXED(1234.567, -2)") == "1,200"
    assert fx.both("FIXED(-1234.5, 0)") == "-1,235"
    assert fx.both("FIXED(-0.001, 2)") == "0.00"
    assert fx.both("FIXED(2.5, 0)") == "3"
    assert fx.both("FIXED(1, 40)") == "1." + "0" * 30
    assert fx.both("FIXED(123, -50)") == "0"
    assert fx.both("FIXED(n, i, b)", n=Decimal("-9876.54321"), i=3, b=True) == "-9876.543"
    assert fx.both("FIXED(n, i, b)", n=Decimal("-9876.54321"), i=3) == "-9,876.543"
    assert fx.both("FIXED(n)") is None
    assert fx.both("FIXED(1, i)") is None


# -- regular expressions ----------------------------------------------------------------


def test_regex_match_extract_replace(fx: Fx) -> None:
    assert fx.py('REGEX_MATCH("PIP-2025-0042", "^PIP-\\d{4}-\\d{4}$")') is True
    assert fx.py('REGEX_MATCH("PIP-2025-004", "^PIP-\\d{4}-\\d{4}$")') is False
    assert fx.py('REGEX_MATCH("abc", "B")') is False
    assert fx.py('REGEX_MATCH("abc", "(?i)B")') is True
    assert fx.py('REGEX_MATCH(s, "研发")', s="深圳研发中心") is True
    assert fx.py('REGEX_MATCH(s, "x")') is False
    assert fx.py('REGEX_MATCH("x", s)') is False
    assert fx.py('REGEX_EXTRACT("tel: 138-0013-8000", "\\d{3}-\\d{4}-\\d{4}")') == "138-0013-8000"
    assert fx.py('REGEX_EXTRACT("a1b22", "[a-z](\\d+)")') == "1"
    assert fx.py('REGEX_EXTRACT("abc", "\\d+")') is None
    assert fx.py('REGEX_EXTRACT("ab", "a(x)?")') is None  # the group did not take part
    assert fx.py('REGEX_EXTRACT(s, "[\\u4e00-\\u9fff]+")', s="Team 深圳研发 2") == "深圳研发"
    assert fx.py('REGEX_REPLACE("a1b22c333", "\\d+", "#")') == "a#b#c#"
    assert fx.py('REGEX_REPLACE("2025-03-10", "(\\d+)-(\\d+)-(\\d+)", "$3/$2/$1")') == (
        "10/03/2025"
    )
    assert fx.py('REGEX_REPLACE("ab", "(?P<x>a)", "[${x}$$\\1$9]")') == "[a$\\1]b"
    assert fx.py('REGEX_REPLACE("a b  c", " +", BLANK())') == "abc"
    assert fx.py('REGEX_REPLACE("abc", "x*", "-")') == "-a-b-c-"
    assert fx.py('REGEX_REPLACE(s, "\\s+", " ")', s="深圳\t研发\n中心") == "深圳 研发 中心"


@pytest.mark.parametrize("name", ["REGEX_MATCH", "REGEX_EXTRACT", "REGEX_REPLACE"])
def test_an_unsafe_literal_pattern_is_refused_when_checked(fx: Fx, name: str) -> None:
    extra = ', "x"' if name == "REGEX_REPLACE" else ""
    error = fx.error(f'{name}(s, "^(a+)+$"{extra})')
    assert error.code == "FORMULA_LIMIT" and "exponential" in error.message
    assert fx.error(f'{name}(s, "(a"{extra})').code == "FORMULA_ARGUMENTS"
    assert fx.error(f'{name}(s, "(a)\\1"{extra})').code == "FORMULA_LIMIT"
    long = "a" * 201
    assert "200 characters" in fx.error(f'{name}(s, "{long}"{extra})').message


def test_an_unsafe_pattern_from_a_field_is_refused_fast(fx: Fx) -> None:
    evil = "a" * 40 + "!"
    error = quick(fx, "REGEX_MATCH(s, s2)", s=evil, s2="^(a+)+$")
    assert error.code == "FORMULA_LIMIT" and "exponential" in error.message
    assert quick(fx, "REGEX_EXTRACT(s, s2)", s=evil, s2="(a|aa)*b").code == "FORMULA_LIMIT"
    assert "not a valid" in quick(fx, "REGEX_REPLACE(s, s2, s)", s="a", s2="[").message


@pytest.mark.parametrize(
    ("pattern", "text"),
    [
        ("a?" * 30 + "a" * 30, "a" * 30),  # no nesting, but 2**30 ways to backtrack
        ("^" + "a{0,20}" * 9 + "b", "a" * 180),
        ("(a|a)" * 30 + "b", "a" * 30),
        (".*.*.*x", "a" * 5000),
        (".*x", "a" * 50_000),
    ],
)
def test_patterns_that_backtrack_too_long_are_refused_fast(fx: Fx, pattern: str, text: str) -> None:
    error = quick(fx, "REGEX_MATCH(s, s2)", s=text, s2=pattern)
    assert error.code == "FORMULA_LIMIT" and "too long" in error.message


def test_regex_on_ordinary_texts_is_allowed(fx: Fx) -> None:
    assert fx.py('REGEX_EXTRACT(s, "\\d+")', s="a" * 99_000 + "42") == "42"
    assert fx.py('REGEX_REPLACE(s, "[0-9]+", "#")', s="a1" * 50_000) == "a#" * 50_000
    assert fx.py("REGEX_MATCH(s, s2)", s="a" * 9000 + "x", s2=".*x") is True
    assert fx.py("REGEX_MATCH(s, s2)", s="a" * 100_000, s2="^.*x") is False
    assert fx.py("REGEX_MATCH(s, s2)", s="a" * 99_999 + "x", s2="x$") is True
    assert fx.py("REGEX_MATCH(s, s2)", s="ab" * 10, s2="a?" * 10 + "b") is True


def test_regex_limits_on_text(fx: Fx) -> None:
    error = quick(fx, 'REGEX_MATCH(s, "x")', s="a" * 100_001)
    assert error.code == "FORMULA_LIMIT" and "100,000" in error.message
    assert quick(fx, 'REGEX_REPLACE(s, "a", "bb")', s="a" * 60_000).code == "FORMULA_LIMIT"
    assert quick(fx, 'REGEX_REPLACE(s, "", s)', s="a" * 400).code == "FORMULA_LIMIT"


# -- the database agrees ----------------------------------------------------------------

BLANK_SWEEP = [
    'LEFT("abc", 2)', 'RIGHT("abc", 2)', 'MID("abc", 2, 1)', 'TRIM(" a ")',
    'SUBSTITUTE("a-b", "-", "+")', 'SUBSTITUTE("a-b", "-", "+", 1)',
    'REPLACE("abc", 1, 1, "x")', 'FIND("b", "abc", 1)', 'SEARCH("B", "abc", 1)',
    'EXACT("a", "a")', 'ENDS_WITH("ab", "b")', 'REPT("a", 2)', "CHAR(65)", "UNICHAR(65)",
    'CODE("a")', 'UNICODE("a")', 'CLEAN("a")', 'CONCATENATE("a", "b")', 'VALUE("1")',
    'TEXT(1.5, "0.00")', 'TEXT("1.5", "0%")', "FIXED(1.5, 1, TRUE)", 'CONCAT("a", "b")',
    'CONTAINS("ab", "a")', 'LEN("a")', 'STARTS_WITH("ab", "a")',
]  # fmt: skip


def _with_blank(call: str) -> list[str]:
    """``call`` with each of its arguments in turn replaced by BLANK()."""
    name, _, rest = call.partition("(")
    args = [a.strip() for a in rest[:-1].split(", ")]
    return [
        f"{name}({', '.join('BLANK()' if j == i else a for j, a in enumerate(args))})"
        for i in range(len(args))
    ]


def test_blank_arguments_agree(fx: Fx) -> None:
    assert {c.partition("(")[0] for c in BLANK_SWEEP} == set(WITH_SQL)
    for call in BLANK_SWEEP:
        fx.both(call)
        for text in _with_blank(call):
            fx.both(text)


SAMPLES = [
    "",
    "abc",
    "  Shenzhen   R&D  ",
    "深圳研发中心 研发",
    "aAbBaA",
    "PIP-2025-0042",
    "a\tb\nc",
    "ÉCOLE école ß",
    " -1,234.50 ",
    "15%",
    "😀x😀",
]
FINDS = ["", "a", "A", "研发", " ", "aa", "-", "😀"]
COUNTS = [-1, 0, 1, 2, 5, 40]


def test_blank_prefix_suffix_or_find_is_never_found(fx: Fx) -> None:
    for name in ("STARTS_WITH", "ENDS_WITH", "CONTAINS"):
        assert fx.both(f'{name}("ab", BLANK())') is False
        assert fx.both(f'{name}("ab", s)') is False
        assert fx.both(f'{name}("ab", s)', s="") is True
    assert fx.both('CONTAINS("ab", n)') is False


@pytest.mark.parametrize("s", SAMPLES)
def test_python_and_the_database_agree_on_field_values(fx: Fx, s: str) -> None:
    for formula in ("TRIM(s)", "CLEAN(s)", "CODE(s)", "UNICODE(s)", "VALUE(s)", "LEN(s)"):
        fx.both(formula, s=s)
    for i in COUNTS:
        for formula in ("LEFT(s, i)", "RIGHT(s, i)", "MID(s, i, 3)", "REPT(s, i)"):
            fx.both(formula, s=s, i=i)
        fx.both("REPLACE(s, i, 2, s)", s=s, i=i)
    for s2 in FINDS:
        for formula in (
            "FIND(s2, s)",
            "SEARCH(s2, s)",
            'SUBSTITUTE(s, s2, "_")',
            "EXACT(s, s2)",
            "ENDS_WITH(s, s2)",
        ):
            fx.both(formula, s=s, s2=s2)
        for i in (-1, 1, 2, 3):
            fx.both("FIND(s2, s, i)", s=s, s2=s2, i=i)
            fx.both("SEARCH(s2, s, i)", s=s, s2=s2, i=i)
            fx.both('SUBSTITUTE(s, s2, "<>", i)', s=s, s2=s2, i=i)


@pytest.mark.parametrize(
    "n", ["0", "-0.0001", "0.5", "-2.5", "1234.5678", "-98765432.1", "99999999999.9999"]
)
def test_python_and_the_database_agree_on_numbers(fx: Fx, n: str) -> None:
    value = Decimal(n)
    for code in ("0", "0.0", "#,##0", "#,##0.000", "0%", "0.00%", "", "?"):
        fx.both("TEXT(n, s2)", n=value, s2=code)
    for i in (-3, -1, 0, 1, 2, 4, 35):
        fx.both("FIXED(n, i)", n=value, i=i)
        fx.both("FIXED(n, i, TRUE)", n=value, i=i)
    fx.both("VALUE(TEXT(n, s2))", n=value, s2="#,##0.0000")
    fx.both("CHAR(n)", n=value)
    fx.both("UNICHAR(n * 100)", n=value)
