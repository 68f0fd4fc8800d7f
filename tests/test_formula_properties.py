"""Properties of the formula engine, checked with Hypothesis.

(a) The parser: any text parses or raises ``FormulaSyntaxError`` with a position inside
    it; generated well-formed expressions parse back to the tree they were rendered from,
    with one node per part and every position on its token.
(b) The SQL compiler agrees with the evaluator: well-typed formulas over the scratch
    fields (tests/formulas.py), on random values — blanks, zero divisors, negative numbers,
    rounding boundaries — give the same value in Python and inside SQLite and PostgreSQL.

Runs are derandomized (the same examples every run, so CI is reproducible) and keep no
example database; raise ``max_examples`` locally to explore further.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from runtime.formula.errors import FormulaError
from runtime.formula.parser import (
    MAX_LENGTH,
    Binary,
    Call,
    FormulaSyntaxError,
    Literal,
    Me,
    Name,
    Node,
    Unary,
    children,
    parse,
)
from tests.formula_gen import ENGINE
from tests.formulas import OBJECT, Fx, xfail_on

# When a property fails, Hypothesis' pytest plugin imports libcst to write a patch file, and
# libcst's import emits a DeprecationWarning (mypy_extensions.TypedDict) that the project's
# warnings-as-errors turns into an INTERNALERROR hiding the falsifying example.
pytestmark = pytest.mark.filterwarnings(
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
)

FAST = settings(max_examples=300, deadline=None, derandomize=True, database=None)
SQL = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

# --- (a) the parser ---------------------------------------------------------------------

FORMULA_CHARS = st.sampled_from(list("()+-*/&=<>,.\"@ _\n\taAeE019$[]{}'`;:!#%^~|\\é中🙂"))
ANY_TEXT = st.text(alphabet=FORMULA_CHARS, max_size=300) | st.text(max_size=300)
TOKENS = st.sampled_from(
    [
        "(",
        ")",
        ",",
        " ",
        "+",
        "-",
        "*",
        "/",
        "&",
        "=",
        "<>",
        "<=",
        ">=",
        "<",
        ">",
        ".",
        "1",
        "2.5",
        ".5",
        "1e3",
        '"a"',
        '""',
        '"a""b"',
        "n",
        "s",
        "tags",
        "parent.n",
        "children",
        "@me",
        "TRUE",
        "NULL",
        "IF(",
        "SUM(",
        "ROUND(",
        "LEN(",
        "COALESCE(",
        "AND(",
        "NOT(",
        "=",
        '"',
    ]
)
TOKEN_SOUP = st.lists(TOKENS, max_size=60).map("".join)


def check_error(error: FormulaError, text: str) -> None:
    assert error.message
    assert 0 <= error.position <= len(text), (error.position, len(text))
    line, column = error.line_column(text)
    assert line >= 1 and column >= 1
    error.describe(text)


@FAST
@given(ANY_TEXT | TOKEN_SOUP)
def test_any_text_parses_or_gives_a_positioned_syntax_error(text: str) -> None:
    try:
        tree = parse(text)
    except FormulaSyntaxError as error:
        check_error(error, text)
        return
    for node in walk(tree):
        assert 0 <= node.pos < len(text)


@FAST
@given(ANY_TEXT | TOKEN_SOUP)
def test_any_text_checks_or_gives_a_positioned_formula_error(text: str) -> None:
    try:
        ENGINE.check(text, OBJECT)
    except FormulaError as error:
        check_error(error, text)


def walk(node: Node) -> list[Node]:
    out, stack = [], [node]
    while stack:
        current = stack.pop()
        out.append(current)
        stack.extend(children(current))
    return out


# An expression as (rendered text, expected shape); shapes compare without positions.
Expr = tuple[str, Any]

IDENT = st.from_regex(r"[a-z_][a-z0-9_]{0,6}", fullmatch=True).filter(
    lambda s: s.upper() not in ("TRUE", "FALSE")
)
FUNCTION = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,7}", fullmatch=True)
NUMBER_TEXT = st.sampled_from(["0", "1", "42", "2.5", "0.125", ".5", "1e3", "1.5E-2", "007"])
TEXT_VALUE = st.text(alphabet=st.sampled_from(list('ab "é中\n,()')), max_size=6)


def _literal_number(text: str) -> Expr:
    return text, ("num", Decimal(text))


def _literal_text(value: str) -> Expr:
    return '"' + value.replace('"', '""') + '"', ("text", value)


def _name(path: list[str]) -> Expr:
    return ".".join(path), ("name", tuple(path))


LEAVES: st.SearchStrategy[Expr] = st.one_of(
    NUMBER_TEXT.map(_literal_number),
    TEXT_VALUE.map(_literal_text),
    st.sampled_from(["TRUE", "FALSE", "true", "False"]).map(
        lambda t: (t, ("bool", t.upper() == "TRUE"))
    ),
    st.lists(IDENT, min_size=1, max_size=3).map(_name),
    st.just(("@me", ("me",))),
)
OPERATORS = st.sampled_from(["+", "-", "*", "/", "&", "=", "<>", "<", "<=", ">", ">="])


def _extend(inner: st.SearchStrategy[Expr]) -> st.SearchStrategy[Expr]:
    binary = st.tuples(inner, OPERATORS, inner).map(
        lambda t: (f"({t[0][0]} {t[1]} {t[2][0]})", ("bin", t[1], t[0][1], t[2][1]))
    )
    negate = inner.map(lambda e: (f"-{e[0]}", ("neg", e[1])))
    call = st.tuples(FUNCTION, st.lists(inner, max_size=3)).map(
        lambda t: (
            f"{t[0]}({', '.join(a[0] for a in t[1])})",
            ("call", t[0].upper(), tuple(a[1] for a in t[1])),
        )
    )
    return binary | negate | call


EXPRESSIONS = st.recursive(LEAVES, _extend, max_leaves=20)


def shape(node: Node) -> Any:
    if isinstance(node, Literal):
        if isinstance(node.value, bool):
            return ("bool", node.value)
        if isinstance(node.value, str):
            return ("text", node.value)
        return ("num", node.value)
    if isinstance(node, Name):
        return ("name", node.path)
    if isinstance(node, Me):
        return ("me",)
    if isinstance(node, Call):
        return ("call", node.name, tuple(shape(a) for a in node.args))
    if isinstance(node, Unary):
        return ("neg", shape(node.operand))
    assert isinstance(node, Binary)
    return ("bin", node.op, shape(node.left), shape(node.right))


def count(expected: Any) -> int:
    kind = expected[0]
    if kind == "call":
        return 1 + sum(count(a) for a in expected[2])
    if kind == "neg":
        return 1 + count(expected[1])
    if kind == "bin":
        return 1 + count(expected[2]) + count(expected[3])
    return 1


def assert_positions(node: Node, text: str) -> None:
    """Every node's position is the start of its own token."""
    at = text[node.pos :]
    if isinstance(node, Literal) and isinstance(node.value, str):
        assert at.startswith('"')
    elif isinstance(node, Literal) and isinstance(node.value, bool):
        assert at[:5].upper().startswith("TRUE" if node.value else "FALSE")
    elif isinstance(node, Literal):
        assert at[0].isdigit() or at[0] == "."
    elif isinstance(node, Name):
        assert at.startswith(".".join(node.path))
    elif isinstance(node, Me):
        assert at.startswith("@me")
    elif isinstance(node, Call):
        assert at[: len(node.name)].upper() == node.name and at[len(node.name)] == "("
    elif isinstance(node, Unary):
        assert at.startswith(node.op)
    else:
        assert isinstance(node, Binary)
        assert at.startswith(node.op)


@FAST
@given(EXPRESSIONS)
def test_rendered_expressions_parse_back_to_their_tree(expr: Expr) -> None:
    text, expected = expr
    assume(len(text) <= MAX_LENGTH)
    tree = parse(text)
    assert shape(tree) == expected
    nodes = walk(tree)
    assert len(nodes) == count(expected)
    for node in nodes:
        assert_positions(node, text)


@FAST
@given(EXPRESSIONS, st.sampled_from(["", " ", "  ", "\n", "="]))
def test_leading_blanks_and_equals_sign_only_shift_positions(expr: Expr, prefix: str) -> None:
    text, expected = expr
    assume(len(prefix + text) <= MAX_LENGTH)
    plain, shifted = parse(text), parse(prefix + text)
    assert shape(shifted) == expected
    assert [n.pos + len(prefix) for n in walk(plain)] == [n.pos for n in walk(shifted)]


# --- (b) SQL agrees with Python ---------------------------------------------------------

NUMBER_FIELDS = ["n", "m", "i", "money", "pct"]
NUMBER_LITERALS = ["0", "1", "2", "3", "7", "10", "100", "0.5", "2.5", "0.125", "1.005", "0.0001"]
COMPARE = ["=", "<>", "<", "<=", ">", ">="]


def _num_extend(num: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    arith = st.tuples(num, st.sampled_from(["+", "-", "*", "/"]), num).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    )
    rounded = st.tuples(
        st.sampled_from(["ROUND", "ROUNDDOWN", "ROUNDUP"]), num, st.integers(-3, 6)
    ).map(lambda t: f"{t[0]}({t[1]}, {t[2]})")
    extreme = st.tuples(st.sampled_from(["MIN", "MAX"]), st.lists(num, min_size=1, max_size=3))
    extremes = extreme.map(lambda t: f"{t[0]}({', '.join(t[1])})")
    chosen = st.tuples(st.deferred(lambda: CONDITIONS), num, num).map(
        lambda t: f"IF({t[0]}, {t[1]}, {t[2]})"
    )
    coalesced = st.lists(num, min_size=2, max_size=3).map(lambda a: f"COALESCE({', '.join(a)})")
    negated = num.map(lambda a: f"-{a}")
    return st.one_of(arith, arith, arith, rounded, extremes, chosen, coalesced, negated)


DATES = st.one_of(
    st.sampled_from(["d", "d2"]),
    st.tuples(st.sampled_from(["d", "d2"]), st.sampled_from(["+", "-"]), st.integers(0, 400)).map(
        lambda t: f"({t[0]} {t[1]} {t[2]})"
    ),
)
SIMPLE_CONDITIONS = st.one_of(
    st.sampled_from(["b", "TRUE", "FALSE", 'CONTAINS(tags, "x")', 'CONTAINS(tags, "z")']),
    st.sampled_from(["n", "s", "d", "tags", "b", "i"]).map(lambda f: f"ISBLANK({f})"),
    st.tuples(st.sampled_from(NUMBER_FIELDS + NUMBER_LITERALS), st.sampled_from(COMPARE)).flatmap(
        lambda t: st.sampled_from(NUMBER_FIELDS + NUMBER_LITERALS).map(
            lambda right: f"{t[0]} {t[1]} {right}"
        )
    ),
    st.tuples(DATES, st.sampled_from(COMPARE), DATES).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
    st.tuples(st.sampled_from(["s", "s2", '"a"', '""']), st.sampled_from(COMPARE)).flatmap(
        lambda t: st.sampled_from(["s", "s2", '"a"', '"b"']).map(
            lambda right: f"{t[0]} {t[1]} {right}"
        )
    ),
    st.sampled_from(['d < "2024-03-01"', 'd2 >= "2000-01-01"', 'sel = "A"', 'sel <> "B"']),
)
CONDITIONS: st.SearchStrategy[str] = st.recursive(
    SIMPLE_CONDITIONS,
    lambda c: st.one_of(
        st.lists(c, min_size=1, max_size=3).map(lambda a: f"AND({', '.join(a)})"),
        st.lists(c, min_size=1, max_size=3).map(lambda a: f"OR({', '.join(a)})"),
        c.map(lambda a: f"NOT({a})"),
    ),
    max_leaves=4,
)
NUMBERS: st.SearchStrategy[str] = st.recursive(
    st.one_of(
        st.sampled_from(NUMBER_FIELDS),
        st.sampled_from(NUMBER_LITERALS),
        st.sampled_from(["(d2 - d)", "(d - d2)"]),
    ),
    _num_extend,
    max_leaves=6,
)
TEXTS = st.recursive(
    st.sampled_from(["s", "s2", '"a"', '""', '"x y"', "sel"]),
    lambda t: st.one_of(
        st.tuples(t, t).map(lambda p: f"{p[0]} & {p[1]}"),
        st.tuples(NUMBERS, t).map(lambda p: f"({p[0]}) & {p[1]}"),
        st.tuples(DATES | CONDITIONS, t).map(lambda p: f"({p[0]}) & {p[1]}"),
        st.tuples(CONDITIONS, t, t).map(lambda p: f"IF({p[0]}, {p[1]}, {p[2]})"),
        st.lists(t, min_size=2, max_size=3).map(lambda a: f"COALESCE({', '.join(a)})"),
    ),
    max_leaves=4,
)


def maybe(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``values``, or blank one time in eight."""
    return st.integers(0, 7).flatmap(lambda k: st.none() if k == 0 else values)


def decimals(whole: int, places: int) -> st.SearchStrategy[Decimal | None]:
    """Values that fit NUMERIC(whole + places, places) — and SQLite's doubles, which hold
    15 significant digits exactly (runtime/storage/types.py), so whole + places <= 15."""
    top = 10 ** (whole + places) - 1
    special = st.sampled_from(
        ["0", "1", "-1", "2.5", "-2.5", "0.5", "0.125", "-0.125", "1.005", "0.0001", "0.0005"]
    ).map(lambda t: Decimal(t).quantize(Decimal(1).scaleb(-places)))
    small = st.integers(-(10 ** (places + 3)), 10 ** (places + 3))
    full = st.integers(-top, top)
    scaled = (small | full).map(lambda k: Decimal(k).scaleb(-places))
    return maybe(special | scaled)


VALUES = st.fixed_dictionaries(
    {
        "n": decimals(10, 4),
        "m": decimals(10, 4),
        "money": decimals(12, 2),
        "pct": decimals(5, 4),
        "i": maybe(st.integers(-100, 100) | st.integers(-(10**12), 10**12)),
        "s": maybe(st.text(alphabet="ab xy", max_size=4)),
        "s2": maybe(st.text(alphabet="ab xy", max_size=4)),
        "d": maybe(st.dates(date(1950, 1, 1), date(2100, 12, 31))),
        "d2": maybe(st.dates(date(1950, 1, 1), date(2100, 12, 31))),
        "b": maybe(st.booleans()),
        "sel": maybe(st.sampled_from(["S", "A", "B", "C", "D"])),
        "tags": maybe(st.lists(st.sampled_from(["x", "y", "z"]), unique=True)),
    }
)


def agree(fx: Fx, text: str, values: dict[str, Any]) -> None:
    try:
        fx.py(text, **values)
    except FormulaError as error:
        # Over the 38-digit limit Python refuses but SQL does not (pinned below).
        assume(error.code != "FORMULA_LIMIT")
        raise
    fx.both(text, **values)


@SQL
@given(text=NUMBERS, values=VALUES)
def test_sql_agrees_with_python_on_numbers(fx: Fx, text: str, values: dict[str, Any]) -> None:
    # ROUND(…, 30) changes no value (every number has at most 30 places) but reads the
    # result back untyped: a bare IF/COALESCE/+/* is read back with an operand column's
    # type and scale, which loses digits (test_number_results_keep_their_digits).
    agree(fx, f"ROUND({text}, 30)", values)


@SQL
@given(text=CONDITIONS, values=VALUES)
def test_sql_agrees_with_python_on_conditions(fx: Fx, text: str, values: dict[str, Any]) -> None:
    agree(fx, text, values)


@SQL
@given(text=TEXTS | DATES, values=VALUES)
def test_sql_agrees_with_python_on_text_and_dates(
    fx: Fx, text: str, values: dict[str, Any]
) -> None:
    agree(fx, text, values)


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("ROUND(n, 0)", {"n": Decimal("2.5")}),
        ("ROUND(n, 0)", {"n": Decimal("-2.5")}),
        ("ROUND(n, 2)", {"n": Decimal("0.125")}),
        ("ROUND(n, 2)", {"n": Decimal("-0.125")}),
        ("ROUNDDOWN(n, 2)", {"n": Decimal("-0.1259")}),
        ("ROUND(money, -3)", {"money": Decimal("2500.00")}),
        ("ROUND(n / 3, 4)", {"n": Decimal("1.0000")}),
        ("n / m", {"n": Decimal("1"), "m": Decimal("0")}),
        ("i / 0", {"i": 7}),
        ("d2 - d", {"d": date(2024, 2, 29), "d2": date(2025, 3, 1)}),
        ("d + 1", {"d": date(2024, 2, 28)}),
        ("n & s", {"n": Decimal("-2.5000"), "s": "x"}),
        ("MIN(n, m, i)", {"n": None, "m": Decimal("0.1250"), "i": -3}),
    ],
)
def test_boundary_values_agree(fx: Fx, text: str, values: dict[str, Any]) -> None:
    fx.both(text, **values)


BOTH = ("sqlite", "postgresql")


@pytest.mark.parametrize(
    ("text", "values", "dialects"),
    [
        ("IF(b, money, n)", {"n": Decimal("0.1250")}, BOTH),
        ("COALESCE(money, n)", {"n": Decimal("0.1250")}, BOTH),
        ("SWITCH(1, 2, money, n)", {"n": Decimal("0.1250")}, BOTH),
        ("n + money", {"n": Decimal("1.2345"), "money": Decimal("2.50")}, ("postgresql",)),
        ("n - money", {"n": Decimal("1.2345"), "money": Decimal("2.50")}, ("postgresql",)),
        ("n * m", {"n": Decimal("1.2345"), "m": Decimal("1.0001")}, ("postgresql",)),
        ("money + n", {"n": Decimal("1.2345"), "money": Decimal("2.50")}, ()),
        ("MAX(money, n)", {"n": Decimal("0.1250")}, ()),
    ],
)
def test_number_results_keep_their_digits(
    request: pytest.FixtureRequest,
    fx: Fx,
    text: str,
    values: dict[str, Any],
    dialects: tuple[str, ...],
) -> None:
    fx.both(text, **values)  # a number read back keeps its digits, whatever the columns


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("i * i * i * i", {"i": 10**12}),
        ("n * n * n", {"n": Decimal("99999999999999.9999")}),
        ('LEN(REPT("a", 99999) & REPT("a", 2))', {}),
    ],
)
def test_sql_enforces_the_limits_python_enforces(
    request: pytest.FixtureRequest, fx: Fx, text: str, values: dict[str, Any]
) -> None:
    xfail_on(
        request,
        fx,
        BOTH,
        "SQL does not enforce the evaluator's limits: where Python raises FORMULA_LIMIT "
        "(38 whole digits, 100,000 characters) SQLite gives blank or a rounded double "
        "(i*i*i*i → 1E+48) and PostgreSQL the oversized value, a 100,001-character text, "
        "or an exception (decimal.InvalidOperation for n*n*n)",
    )
    with pytest.raises(FormulaError) as caught:
        fx.py(text, **values)
    assert caught.value.code == "FORMULA_LIMIT"
    with pytest.raises(FormulaError):
        fx.sql(text, **values)
