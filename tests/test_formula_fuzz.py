"""Fuzzing the formula engine: 10,000 generated formulas (tests/formula_gen.py), valid and
invalid, are checked and evaluated in Python; a sample of those that check is compiled to
SQL and run on SQLite and PostgreSQL. Every outcome must be a value or a ``FormulaError``
with a position inside the formula — never another exception, which would be a 500.

Database failures already pinned by an ``xfail(strict=True)`` test below (``KNOWN``) are
tolerated in the sample, so the fuzz test keeps guarding against new ones; when a pinned
bug is fixed its xfail test starts passing (strict: the run fails) and its entry goes.
"""

from __future__ import annotations

import random
import re
import time
from collections import Counter
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any

import pytest

from runtime.formula.engine import Compiled
from runtime.formula.errors import FormulaError
from runtime.formula.library import REGISTRY
from tests.formula_gen import ENGINE, VALUES, corpus, env, python_record
from tests.formulas import NOW, OBJECT, TODAY, Fx, xfail_on

SEED = 20250310
COUNT = 10_000
SQL_SAMPLE = 300


@cache
def formulas() -> tuple[str, ...]:
    return tuple(corpus(SEED, COUNT))


@cache
def checked() -> tuple[str, ...]:
    """The formulas of the corpus that pass the checker."""
    out = []
    for text in formulas():
        try:
            ENGINE.check(text, OBJECT)
        except FormulaError:
            continue
        out.append(text)
    return tuple(out)


def test_corpus_is_deterministic_and_varied() -> None:
    texts = formulas()
    assert texts == tuple(corpus(SEED, COUNT))
    assert len(set(texts)) > COUNT * 0.6
    assert 0.15 * COUNT < len(checked()) < 0.8 * COUNT
    used = {name for name in REGISTRY if any(f"{name}(" in t.upper() for t in texts)}
    assert len(used) > 0.9 * len(REGISTRY)


def test_fuzzed_formulas_give_a_value_or_a_formula_error() -> None:
    record, environment = python_record(), env()
    outcomes: Counter[str] = Counter()
    escaped: list[str] = []
    slowest = (0.0, "")
    start = time.perf_counter()
    for text in formulas():
        began = time.perf_counter()
        try:
            tree = ENGINE.check(text, OBJECT)
            Compiled(tree).evaluate(record, environment)
            outcomes["value"] += 1
        except FormulaError as exc:
            outcomes[exc.code] += 1
            if not exc.message or not 0 <= exc.position <= len(text):
                escaped.append(f"{text!r}: bad error {exc.code} at {exc.position}")
        except Exception as exc:
            escaped.append(f"{text!r}: {type(exc).__name__}: {exc}")
        slowest = max(slowest, (time.perf_counter() - began, text))
    elapsed = time.perf_counter() - start

    assert not escaped, f"{len(escaped)} formulas escaped:\n" + "\n".join(escaped[:25])
    assert slowest[0] < 3.0, f"slowest formula took {slowest[0]:.2f}s: {slowest[1]!r}"
    assert elapsed < 30, f"{COUNT} formulas took {elapsed:.1f}s"
    assert outcomes["value"] > 0.1 * COUNT, outcomes
    assert outcomes["FORMULA_SYNTAX"] > 0.05 * COUNT, outcomes
    assert outcomes["FORMULA_CONTEXT"] > 0, outcomes  # children/parent without lookups


def test_fuzzed_formulas_give_the_same_answer_twice() -> None:
    """Evaluation has no hidden state: a reused evaluator agrees with a fresh one."""
    record, environment = python_record(), env()
    for text in checked()[:2000]:
        tree = ENGINE.check(text, OBJECT)
        compiled = Compiled(tree)
        reuse = compiled.evaluator(environment)
        results = []
        for fresh in (True, False):
            try:
                value = compiled.evaluate(record, environment) if fresh else reuse(record)
                results.append(("value", value))
            except FormulaError as exc:
                results.append(("error", exc.code, exc.position))
        assert results[0] == results[1], text


# --- the SQL sample ---------------------------------------------------------------------


@dataclass(frozen=True)
class Known:
    """A database failure pinned by ``test_pinned_sql_bug`` (tolerated in the sample)."""

    name: str
    dialects: tuple[str, ...]  # where the failure occurs
    error: str  # regular expression over "ExceptionType: message"
    example: str
    values: tuple[tuple[str, Any], ...]
    reason: str
    example_fails_on: tuple[str, ...] | None = None  # default: dialects


PG = ("postgresql",)
BOTH = ("sqlite", "postgresql")
KNOWN = [
    Known(
        "coalesce-one-argument",
        ("sqlite",),
        r"OperationalError: .*wrong number of arguments to function coalesce\(\)",
        "COALESCE(n)",
        (("n", Decimal(1)),),
        "COALESCE/IFBLANK with one argument compile to SQLite coalesce(x), which needs two "
        "or more arguments: OperationalError",
    ),
    Known(
        "ordered-comparison-with-blank",
        BOTH,
        r"ArgumentError: Only '=', '!='.*can be used with None",
        "n > NULL",
        (("n", Decimal(1)),),
        "comparing with the NULL/BLANK literal by <, <=, >, >= builds `x > NULL` in "
        "SQLAlchemy, which raises ArgumentError while compiling (Python gives FALSE)",
    ),
    Known(
        "untyped-blank",
        PG,
        r"ProgrammingError: .*(operator is not unique: - unknown"
        r"|function trunc\(unknown\) is not unique"
        r"|operator does not exist: (numeric [<>=]+ [\w ]+|[\w ]+ [<>=]+ numeric)"
        r"|(COALESCE|CASE) types (numeric and [\w ]+|[\w ]+ and numeric)"
        r"|cannot cast type numeric to \w+)",
        "-BLANK()",
        (),
        "arithmetic with BLANK is typed blank and compiles to an untyped NULL on PostgreSQL: "
        "-BLANK() 'operator is not unique: - unknown', d + BLANK 'trunc(unknown) is not "
        "unique', n - BLANK < dt passes the checker and fails 'numeric < timestamp', "
        "(NULL + BLANK) & \"x\" 'COALESCE types numeric and character varying', "
        "QUARTER(1 - NULL) 'cannot cast type numeric to date'",
    ),
    Known(
        "contains-on-non-text",
        PG,
        r"ProgrammingError: .*function strpos\((numeric|bigint|boolean|timestamp|date)",
        "CONTAINS(n, 1)",
        (("n", Decimal(1)),),
        "CONTAINS accepts any value as `within`, but its PostgreSQL translation calls "
        "strpos(within, …), which does not exist for numbers, booleans and dates",
    ),
    Known(
        "list-mixed-with-value",
        PG,
        r"ProgrammingError: .*((GREATEST|LEAST|COALESCE) types json and"
        r"|operator does not exist: \w+ = json|function \w+\(json)",
        'MAX(tags, "a")',
        (("tags", ["x", "z"]),),
        'a multiple choice mixed with single values passes the checker: MAX(tags, "a") '
        "(GREATEST(json, varchar)), COALESCE(tags, s) typed as text although it gives the "
        "list (COALESCE types json and text; CLEAN(COALESCE(tags, tags)) → translate(json)), "
        "SWITCH(parent, tags, …) (bigint = json)",
    ),
    Known(
        "switch-types-unchecked",
        BOTH,
        r"(ProgrammingError: .*(CASE types [\w ]+ and [\w ]+ cannot be matched"
        r"|operator does not exist: [\w ]+ = [\w ]+)"
        r"|JSONDecodeError|TypeError: fromisoformat)",
        "SWITCH(1, 2, 3, s)",
        (("s", "abc"),),
        "SWITCH checks neither its cases against the expression nor its default against the "
        "results (the odd last argument binds to the `case` parameter): SWITCH(1, 2, 3, s) is "
        "typed number but gives text; PostgreSQL: 'CASE types text and bigint', "
        "SWITCH(b, 1, 2, 3) 'boolean = bigint'; SQLite reads the text back as the wrong "
        'type: SWITCH(s, "S", tags, d) JSONDecodeError, SWITCH(dt, 1, d2, s) TypeError',
        PG,
    ),
    Known(
        "out-of-range-arguments",
        PG,
        r"DataError: .*(integer out of range|bigint out of range|date too small"
        r"|date out of range|interval out of range|timestamp out of range|division by zero)",
        "d - 999999",
        (("d", date(2024, 2, 29)),),
        "PostgreSQL translations cast numbers to integer and shift dates without range "
        "checks: d - 999999 raises DataError 'date too small', d + i and ROUND(n, i) with "
        "i = 10^12 (or ROUND(n, 1e30)) 'integer out of range', ROUNDUP(n, -20) 'division by "
        "zero'; Python and SQLite give blank or a FormulaError",
    ),
    Known(
        "nul-in-text",
        PG,
        r"DataError: .*cannot contain NUL",
        'LEN("a\x00b" & s)',
        (("s", "c"),),
        'a text literal may hold NUL ("a<NUL>b" parses and evaluates in Python) but '
        "PostgreSQL refuses it: DataError 'text fields cannot contain NUL (0x00) bytes'",
    ),
    Known(
        "result-read-as-column",
        BOTH,
        r"(InvalidOperation|ValueError: Invalid isoformat string)",
        "n * n * n",
        (("n", Decimal("123456789.1234")),),
        "the SQL expression keeps an operand column's type (ExactDecimal), which converts "
        "the result on the way out: PostgreSQL n * n * n for n = 123456789.1234 (36 digits) "
        "overflows the 28-digit quantize context, SQLite SWITCH(0.5, 2, pct, s) returning "
        "text fails Decimal(text) — both decimal.InvalidOperation (PostgreSQL refuses that "
        "SWITCH earlier: 'CASE types text and numeric'); SQLite IF(b, d, dt) giving the "
        "date-time is read as a date: ValueError 'Invalid isoformat string'",
        PG,
    ),
    Known(
        "sqlite-abs-of-huge-integer",
        ("sqlite",),
        r"DataError: .*string or blob too big",
        "ABS(9223372036854775808)",
        (),
        "on SQLite, ABS of a whole number of 2^63 or more (valid up to 38 digits) raises "
        "sqlite3.DataError 'string or blob too big' (ABS(-9223372036854775809) works)",
    ),
    Known(
        "deep-sql",
        BOTH,
        r"(RecursionError|OperationalError: .*parser stack overflow)",
        "IF(b, " * 20 + "n" + ", 0)" * 20,
        (("b", True), ("n", Decimal(1))),
        "formulas within the parser's limits compile to SQL too deep for the databases: "
        "20 nested IFs overflow SQLite's parser stack; n/1/…/1 (126 divisions) hits "
        "RecursionError in SQLAlchemy's compiler for PostgreSQL",
        ("sqlite",),
    ),
]


# Bugs fixed since they were pinned: their examples now must give a value or a formula
# error, and their errors are no longer tolerated in the sample.
FIXED = frozenset(
    {
        "coalesce-one-argument",
        "ordered-comparison-with-blank",
        "untyped-blank",
        "list-mixed-with-value",
        "switch-types-unchecked",
        "result-read-as-column",
        "out-of-range-arguments",
        "contains-on-non-text",
        "nul-in-text",
        "sqlite-abs-of-huge-integer",
        "deep-sql",
    }
)


def known(dialect: str, exc: BaseException) -> Known | None:
    described = f"{type(exc).__name__}: {exc}"
    for bug in KNOWN:
        if bug.name in FIXED:
            continue
        if dialect in bug.dialects and re.search(bug.error, described, re.DOTALL):
            return bug
    return None


def outcome(fx: Fx, text: str, values: dict[str, Any]) -> str:
    """'value', 'FormulaError <code>', or the escaped exception as 'Type: message'."""
    try:
        fx.sql(text, **values)
    except FormulaError as exc:
        return f"FormulaError {exc.code}"
    except Exception as exc:
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}"
    return "value"


def test_fuzzed_sample_runs_in_the_database(fx: Fx) -> None:
    sample = random.Random(SEED).sample(checked(), min(SQL_SAMPLE, len(checked())))
    tolerated: Counter[str] = Counter()
    escaped: list[str] = []
    results: Counter[str] = Counter()
    for text in sample:
        try:
            fx.sql(text, **VALUES)
            results["value"] += 1
        except FormulaError as exc:
            results[exc.code] += 1
            if exc.code not in ("FORMULA_SQL", "FORMULA_CONTEXT", "FORMULA_LIMIT"):
                escaped.append(f"{text!r}: unexpected {exc.code}: {exc.message}")
        except Exception as exc:
            bug = known(fx.dialect, exc)
            if bug is not None:
                tolerated[bug.name] += 1
                continue
            escaped.append(f"{text!r}: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
    assert not escaped, (
        f"{len(escaped)} of {len(sample)} formulas failed in {fx.dialect} "
        f"(tolerated known bugs: {dict(tolerated)}):\n" + "\n".join(escaped[:25])
    )
    assert results["value"] > len(sample) // 2, results


EXTRA_PINNED = [
    ("deep-sql", "n" + "/1" * 126, (("n", Decimal(1)),), PG),
    ("untyped-blank", "d + BLANK", (("d", date(2024, 2, 29)),), PG),
    ("untyped-blank", "n - BLANK < dt", (("n", Decimal(1)), ("dt", NOW)), PG),
    ("untyped-blank", '(NULL + BLANK) & "x"', (), PG),
    ("list-mixed-with-value", "SWITCH(parent, tags, 1, 2)", (("tags", ["x"]),), PG),
    ("list-mixed-with-value", "LEN(COALESCE(tags, s))", (("tags", ["x"]), ("s", "ab")), PG),
    ("switch-types-unchecked", "SWITCH(b, 1, 2, 3)", (("b", True),), PG),
    ("switch-types-unchecked", 'SWITCH("a", d2, 12, -1)', (("d2", date(2024, 1, 1)),), PG),
    ("switch-types-unchecked", 'SWITCH(s, "S", tags, d)', (("s", "x"), ("d", TODAY)), BOTH),
    ("untyped-blank", "QUARTER(1 - NULL)", (), PG),
    ("untyped-blank", "IFBLANK(b, 0 / -n / BLANK)", (("n", Decimal(1)),), PG),
    ("coalesce-one-argument", 'IFBLANK(s, "")', (("s", "a"),), ()),  # two arguments: fine
    ("out-of-range-arguments", "d + i", (("d", date(2024, 2, 29)), ("i", 10**12)), PG),
    ("out-of-range-arguments", "ROUND(n, i)", (("n", Decimal("1.5")), ("i", 10**12)), PG),
    ("out-of-range-arguments", "ROUND(n, 1e30)", (("n", Decimal("1.5")),), PG),
    ("out-of-range-arguments", "ROUNDUP(n, -20)", (("n", Decimal("123.5")),), PG),
    (
        "result-read-as-column",
        "SWITCH(0.5, 2, pct, s)",
        (("pct", Decimal("0.125")), ("s", "abc")),
        BOTH,  # PostgreSQL refuses the CASE itself: switch-types-unchecked
    ),
    (
        "result-read-as-column",
        "IF(b, d, dt)",
        (("b", False), ("d", TODAY), ("dt", NOW)),
        ("sqlite",),
    ),
    ("result-read-as-column", "COALESCE(d2, created_at)", (), ("sqlite",)),
]
PINNED = [
    ("deep-sql", "n" + "/1" * 126, (("n", Decimal(1)),), ("postgresql",)),
    ("untyped-blank", "d + BLANK", (("d", date(2024, 2, 29)),), ("postgresql",)),
    ("list-mixed-with-value", "SWITCH(parent, tags, 1, 2)", (("tags", ["x"]),), ("postgresql",)),
    ("coalesce-one-argument", 'IFBLANK(s, "")', (("s", "a"),), ()),  # two arguments: fine
    ("out-of-range-arguments", "d + i", (("d", date(2024, 2, 29)), ("i", 10**12)), PG),
    ("out-of-range-arguments", "ROUND(n, i)", (("n", Decimal("1.5")), ("i", 10**12)), PG),
    ("out-of-range-arguments", "ROUND(n, 1e30)", (("n", Decimal("1.5")),), PG),
    ("out-of-range-arguments", "ROUNDUP(n, -20)", (("n", Decimal("123.5")),), PG),
]
PINNED = [
    pytest.param(
        bug.name,
        bug.example,
        bug.values,
        bug.dialects if bug.example_fails_on is None else bug.example_fails_on,
        id=bug.name,
    )
    for bug in KNOWN
] + [
    pytest.param(name, text, values, dialects, id=f"{name}-{i}")
    for i, (name, text, values, dialects) in enumerate(EXTRA_PINNED)
]


@pytest.mark.parametrize(("name", "text", "values", "dialects"), PINNED)
def test_pinned_sql_bug(
    request: pytest.FixtureRequest,
    fx: Fx,
    name: str,
    text: str,
    values: tuple[tuple[str, Any], ...],
    dialects: tuple[str, ...],
) -> None:
    bug = next(b for b in KNOWN if b.name == name)
    if name not in FIXED:
        xfail_on(request, fx, dialects, bug.reason)
    got = outcome(fx, text, dict(values))
    assert got == "value" or got.startswith("FormulaError"), got


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("9223372036854775808", {}),
        ("1e19", {}),
        ("99999999999999999999999999999999999999", {}),
        ("9223372036854775808 + n", {"n": Decimal(1)}),
        ('ABS(n) & "!"', {"n": Decimal("-2.5")}),
        ('SUM(n, 1) & "!"', {"n": Decimal("-2.5")}),
        ("LEN(ABS(n))", {"n": Decimal(1)}),
    ],
)
def test_fixed_sql_failures_stay_fixed(fx: Fx, text: str, values: dict[str, Any]) -> None:
    """Failures the fuzzer found that are fixed: whole numbers of 2^63 and more bound as
    BIGINT; ABS and SUM typed as blank (numeric mixed with text on PostgreSQL)."""
    got = outcome(fx, text, values)
    assert got == "value" or got.startswith("FormulaError"), got
