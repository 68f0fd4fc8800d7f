"""The formula parser (runtime/formula/parser.py) and its SQL condition compiler (sql.py)."""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import pytest

from runtime.formula.parser import (
    MAX_DEPTH,
    MAX_LENGTH,
    Binary,
    Call,
    FormulaSyntaxError,
    Literal,
    Me,
    Name,
    Node,
    Unary,
    parse,
)
from runtime.formula.sql import condition_sql


def sexpr(node: Node) -> str:
    """A compact rendering of a tree: ``(+ 1 (* 2 3))``."""
    if isinstance(node, Literal):
        if isinstance(node.value, bool):
            return "TRUE" if node.value else "FALSE"
        return repr(node.value) if isinstance(node.value, str) else str(node.value)
    if isinstance(node, Name):
        return ".".join(node.path)
    if isinstance(node, Me):
        return "@me"
    if isinstance(node, Call):
        return f"{node.name}({', '.join(sexpr(a) for a in node.args)})"
    if isinstance(node, Unary):
        return f"({node.op} {sexpr(node.operand)})"
    assert isinstance(node, Binary)
    return f"({node.op} {sexpr(node.left)} {sexpr(node.right)})"


# --- trees --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("1 * 2 + 3", "(+ (* 1 2) 3)"),
        ("(1 + 2) * 3", "(* (+ 1 2) 3)"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("8 / 4 / 2", "(/ (/ 8 4) 2)"),
        ("a = 1 + 2", "(= a (+ 1 2))"),
        ("a + 1 >= b * 2", "(>= (+ a 1) (* b 2))"),
        ("a < b = TRUE", "(= (< a b) TRUE)"),
        ("a & b = c", "(= (& a b) c)"),
        ("c = a & b", "(= c (& a b))"),
        ("1 + 2 & 3", "(& (+ 1 2) 3)"),
        ("x & 1 + 2", "(& x (+ 1 2))"),
        ('first & " " & last', "(& (& first ' ') last)"),
        ("a <> b", "(<> a b)"),
        ("a <= b", "(<= a b)"),
        ("-a * b", "(* (- a) b)"),
        ("2 * -3", "(* 2 (- 3))"),
        ("- -1", "(- (- 1))"),
        ("+a", "(+ a)"),
        ("((a))", "a"),
    ],
)
def test_precedence_and_associativity(text: str, tree: str) -> None:
    assert sexpr(parse(text)) == tree


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ("today()", "TODAY()"),
        ("Sum(lines.amount, eligible = true)", "SUM(lines.amount, (= eligible TRUE))"),
        ('if(a > 1, "big", "small")', "IF((> a 1), 'big', 'small')"),
        ("and(not(x), or(y, z))", "AND(NOT(x), OR(y, z))"),
        ("true()", "TRUE()"),  # a call, not the literal, when followed by '('
        ("owner = @me", "(= owner @me)"),
        ("manager.department.name", "manager.department.name"),
    ],
)
def test_calls_names_and_me(text: str, tree: str) -> None:
    assert sexpr(parse(text)) == tree


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("TRUE", True),
        ("false", False),
        ("True", True),
        ("0.1", Decimal("0.1")),
        ("42", Decimal(42)),
        (".5", Decimal("0.5")),
        ("1.5e3", Decimal("1500")),
        ('"text"', "text"),
        ('""', ""),
        ('"a""b"', 'a"b'),
        ('""""', '"'),
        ('"O\'Brien"', "O'Brien"),
        ('"two\nlines"', "two\nlines"),
    ],
)
def test_literals(text: str, value: object) -> None:
    node = parse(text)

    assert isinstance(node, Literal)
    assert node.value == value
    assert type(node.value) is type(value)


def test_numbers_are_exact_decimals() -> None:
    node = parse("0.1 + 0.2")

    assert isinstance(node, Binary)
    assert isinstance(node.left, Literal)
    assert isinstance(node.right, Literal)
    assert node.left.value + node.right.value == Decimal("0.3")  # type: ignore[operator]


def test_dotted_path_and_positions() -> None:
    node = parse("status = manager.team.lead")

    assert node == Binary("=", Name(("status",), 0), Name(("manager", "team", "lead"), 9), 7)


def test_function_name_keeps_its_position() -> None:
    assert parse("  count(x)") == Call("COUNT", (Name(("x",), 8),), 2)


@pytest.mark.parametrize("text", ["=a + 1", "= a + 1", "  =a + 1"])
def test_leading_equals_sign_is_allowed_and_positions_are_kept(text: str) -> None:
    node = parse(text)

    assert sexpr(node) == "(+ a 1)"
    assert isinstance(node, Binary)
    assert node.pos == text.index("+")
    assert node.left == Name(("a",), text.index("a"))


def test_only_one_leading_equals_sign_is_skipped() -> None:
    with pytest.raises(FormulaSyntaxError) as caught:
        parse("==1")
    assert caught.value.position == 1


# --- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("(1 + 2", 6, "expected ')' but found the end of the formula"),
        ("f(1 2)", 4, "expected ')' but found '2'"),
        ("f(1,", 4, "expected a value but found the end of the formula"),
        ('a = "abc', 4, "text is missing its closing quote"),
        ('"a""', 3, "text is missing its closing quote"),  # "a" then a stray quote
        ("1 2", 2, "unexpected '2' after the end of the expression"),
        ("a = 1)", 5, "unexpected ')' after the end of the expression"),
        ('"x" "y"', 4, "unexpected '\"y\"' after the end of the expression"),
        ("a $ b", 2, "unexpected character '$'"),
        ("a = 'x'", 4, 'unexpected character "\'"'),
        ("@meh", 0, "unexpected character '@'"),
        ("a.", 2, "expected a field name after '.'"),
        ("a.(b)", 2, "expected a field name after '.'"),
        ("", 0, "expected a value but found the end of the formula"),
        ("=", 1, "expected a value but found the end of the formula"),
        ("1 +", 3, "expected a value but found the end of the formula"),
        ("a = * 2", 4, "expected a value but found '*'"),
        ("= (1", 4, "expected ')' but found the end of the formula"),
    ],
)
def test_syntax_errors_carry_their_position(text: str, position: int, message: str) -> None:
    with pytest.raises(FormulaSyntaxError) as caught:
        parse(text)

    error = caught.value
    assert (error.position, error.message) == (position, message)
    assert str(error) == f"{message} (at position {position + 1})"
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    "text",
    [
        "(" * 100 + "1" + ")" * 100,
        "(" * 1900 + "1" + ")" * 1900,
        "-" * 1000 + "1",
        "- (" * 500 + "1" + ")" * 500,
        "NOT(" * 100 + "x" + ")" * 100,
        "f(1, " * 200 + "1" + ")" * 200,
    ],
    ids=["parens", "many-parens", "minus", "minus-parens", "calls", "arguments"],
)
def test_deep_nesting_is_a_syntax_error_not_a_recursion_error(text: str) -> None:
    with pytest.raises(FormulaSyntaxError, match=f"nests deeper than {MAX_DEPTH} levels"):
        parse(text)


def test_nesting_just_under_the_limit_parses() -> None:
    depth = MAX_DEPTH - 1  # the whole formula is one level
    node = parse("(" * depth + "1" + ")" * depth)

    assert node == Literal(Decimal(1), depth)


def test_long_chains_are_not_nesting() -> None:
    text = " + ".join(["1"] * 900)

    node = parse(text)

    assert isinstance(node, Binary)
    assert len(text) <= MAX_LENGTH


def test_length_limit() -> None:
    at_limit = ("1+" * MAX_LENGTH)[: MAX_LENGTH - 1] + "1"
    assert len(at_limit) == MAX_LENGTH
    parse(at_limit)

    with pytest.raises(FormulaSyntaxError) as caught:
        parse(at_limit + " ")
    assert caught.value.position == 0
    assert caught.value.message == f"the formula is longer than {MAX_LENGTH} characters"


# --- SQL conditions -----------------------------------------------------------------------

COLUMNS = {
    "status": "text",
    "name": "text",
    "amount": "decimal",
    "active": "boolean",
    "owner": "reference",
}


@pytest.mark.parametrize(
    ("text", "sqlite", "postgresql"),
    [
        (
            'status = "open"',
            '("status" IS NOT NULL AND "status" = \'open\')',
            '("status" IS NOT NULL AND "status" = \'open\')',
        ),
        (
            "amount >= 1.50",
            '("amount" IS NOT NULL AND "amount" >= 1.50)',
            '("amount" IS NOT NULL AND "amount" >= 1.50)',
        ),
        ("1 = 1", "(1 = 1)", "(1 = 1)"),
        (
            "2 < amount",
            '("amount" IS NOT NULL AND 2 < "amount")',
            '("amount" IS NOT NULL AND 2 < "amount")',
        ),
        (
            "active",
            '("active" IS NOT NULL AND "active" = 1)',
            '("active" IS NOT NULL AND "active" = TRUE)',
        ),
        (
            "active = TRUE",
            '("active" IS NOT NULL AND "active" = 1)',
            '("active" IS NOT NULL AND "active" = TRUE)',
        ),
        (
            "active = false",
            '("active" IS NOT NULL AND "active" = 0)',
            '("active" IS NOT NULL AND "active" = FALSE)',
        ),
        (
            'status <> "closed"',
            '("status" IS NULL OR "status" <> \'closed\')',
            '("status" IS NULL OR "status" <> \'closed\')',
        ),
        (
            "status <> name",
            '("status" IS NULL OR "name" IS NULL OR "status" <> "name")',
            '("status" IS NULL OR "name" IS NULL OR "status" <> "name")',
        ),
        ("1 <> 2", "(1 <> 2)", "(1 <> 2)"),
        ("ISBLANK(owner)", '("owner" IS NULL)', '("owner" IS NULL)'),
        (
            "NOT(active)",
            '(NOT ("active" IS NOT NULL AND "active" = 1))',
            '(NOT ("active" IS NOT NULL AND "active" = TRUE))',
        ),
        (
            'AND(active, status = "open")',
            '(("active" IS NOT NULL AND "active" = 1) '
            'AND ("status" IS NOT NULL AND "status" = \'open\'))',
            '(("active" IS NOT NULL AND "active" = TRUE) '
            'AND ("status" IS NOT NULL AND "status" = \'open\'))',
        ),
        (
            "or(amount > 10, not(isblank(name)), active)",
            '(("amount" IS NOT NULL AND "amount" > 10) OR (NOT ("name" IS NULL)) '
            'OR ("active" IS NOT NULL AND "active" = 1))',
            '(("amount" IS NOT NULL AND "amount" > 10) OR (NOT ("name" IS NULL)) '
            'OR ("active" IS NOT NULL AND "active" = TRUE))',
        ),
        (
            "=active",
            '("active" IS NOT NULL AND "active" = 1)',
            '("active" IS NOT NULL AND "active" = TRUE)',
        ),
    ],
)
def test_condition_sql(text: str, sqlite: str, postgresql: str) -> None:
    assert condition_sql(text, COLUMNS, "sqlite") == sqlite
    assert condition_sql(text, COLUMNS, "postgresql") == postgresql


@pytest.mark.parametrize(
    ("text", "literal"),
    [
        ('name = "O\'Brien"', "'O''Brien'"),
        ('name = "\'; DROP TABLE t; --"', "'''; DROP TABLE t; --'"),
        ('name = "say ""hi"""', "'say \"hi\"'"),
        ("name = \"''\"", "''''''"),
    ],
)
def test_string_literals_are_quoted_safely(text: str, literal: str) -> None:
    for dialect in ("sqlite", "postgresql"):
        assert (
            condition_sql(text, COLUMNS, dialect) == f'("name" IS NOT NULL AND "name" = {literal})'
        )


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("TODAY() > amount", 0, "only fields and literal values can be compared here"),
        ("amount + 1 > 2", 7, "only fields and literal values can be compared here"),
        ('name & "x" = "ax"', 5, "only fields and literal values can be compared here"),
        ("owner = @me", 8, "only fields and literal values can be compared here"),
        ("owner.name = 1", 0, "only this object's own fields can be used here"),
        ("ISBLANK(owner.name)", 8, "only this object's own fields can be used here"),
        ("missing = 1", 0, "unknown field 'missing'"),
        ("AND(active, missing)", 12, "unknown field 'missing'"),
        ("status", 0, "'status' is not a true/false field"),
        ("TODAY()", 0, "TODAY() cannot be used in a constraint condition"),
        ("IF(active, TRUE, FALSE)", 0, "IF() cannot be used in a constraint condition"),
        ("AND()", 0, "AND() cannot be used in a constraint condition"),
        ("NOT(active, active)", 0, "NOT() cannot be used in a constraint condition"),
        ("ISBLANK(1)", 0, "ISBLANK() cannot be used in a constraint condition"),
        ("NOT(1)", 4, "this is not a condition"),
        ("1", 0, "this is not a condition"),
        ('"yes"', 0, "this is not a condition"),
        ("amount * 2", 7, "this is not a condition"),
        ("status = (", 10, "expected a value but found the end of the formula"),
    ],
)
def test_unsupported_conditions_are_refused(text: str, position: int, message: str) -> None:
    for dialect in ("sqlite", "postgresql"):
        with pytest.raises(FormulaSyntaxError) as caught:
            condition_sql(text, COLUMNS, dialect)
        assert (caught.value.position, caught.value.message) == (position, message)


ROWS = [
    (1, "open", "Ann", 5, 1, 7),
    (2, "closed", "O'Brien", 20, 0, None),
    (3, None, None, None, None, None),
]


@pytest.mark.parametrize(
    ("text", "ids"),
    [
        ('status = "open"', [1]),
        ('status <> "open"', [2, 3]),  # a blank is "not equal" to any value
        ("active", [1]),
        ("NOT(active)", [2, 3]),  # blank is not TRUE, so NOT() includes it
        ('NOT(status = "open")', [2, 3]),  # agrees with <> on blanks
        ("amount > -1", [1, 2]),
        ("amount < 10", [1]),  # a blank is never less than anything
        ("ISBLANK(owner)", [2, 3]),
        ("AND(active, amount < 10)", [1]),
        ("OR(amount > 10, ISBLANK(status))", [2, 3]),
        ('name = "O\'Brien"', [2]),
    ],
)
def test_sqlite_condition_selects_the_right_rows(text: str, ids: list[int]) -> None:
    db = sqlite3.connect(":memory:")
    try:
        db.execute(
            "CREATE TABLE t (id INTEGER, status TEXT, name TEXT, amount NUMERIC, "
            "active BOOLEAN, owner INTEGER)"
        )
        db.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?)", ROWS)
        where = condition_sql(text, COLUMNS, "sqlite")
        found = [row[0] for row in db.execute(f"SELECT id FROM t WHERE {where} ORDER BY id")]
        db.execute(f"CREATE UNIQUE INDEX u ON t (name) WHERE {where}")  # valid DDL too
    finally:
        db.close()

    assert found == ids
