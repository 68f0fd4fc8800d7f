"""Compile a condition over one object's own columns to SQL text for DDL.

Partial unique indexes ("one open PIP per employee") need their condition as literal SQL
in CREATE INDEX, so literals are inlined — safely: strings are quoted with doubled single
quotes, numbers are rendered from Decimal, names are validated identifiers. Only
comparisons of fields with literals, ``AND``, ``OR``, ``NOT`` and ``ISBLANK`` are
accepted; anything else is refused with its position. As in a spreadsheet, a blank
field is "not equal" to any value and never equal, less or greater: every comparison is
TRUE or FALSE, never NULL, so ``NOT(status = "open")`` and ``status <> "open"`` agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from runtime.formula.parser import (
    COMPARISONS,
    Binary,
    Call,
    FormulaSyntaxError,
    Literal,
    Name,
    Node,
    Unary,
    parse,
)


def _literal(node: Literal, dialect: str) -> str:
    value = node.value
    if isinstance(value, bool):
        if dialect == "postgresql":
            return "TRUE" if value else "FALSE"
        return "1" if value else "0"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    if value is None:
        return "NULL"
    return str(value)


def _column(node: Name, columns: Mapping[str, str]) -> str:
    if len(node.path) != 1:
        raise FormulaSyntaxError("only this object's own fields can be used here", node.pos)
    name = node.path[0]
    if name not in columns:
        raise FormulaSyntaxError(f"unknown field {name!r}", node.pos)
    return f'"{name}"'


def _operand(node: Node, columns: Mapping[str, str], dialect: str) -> str:
    if isinstance(node, Name):
        return _column(node, columns)
    if isinstance(node, Literal):
        return _literal(node, dialect)
    if (
        isinstance(node, Unary)
        and isinstance(node.operand, Literal)
        and isinstance(node.operand.value, Decimal)
    ):
        return _literal(
            Literal(-node.operand.value if node.op == "-" else node.operand.value, node.pos),
            dialect,
        )
    raise FormulaSyntaxError("only fields and literal values can be compared here", node.pos)


def _compile(node: Node, columns: Mapping[str, str], dialect: str) -> str:
    if isinstance(node, Binary) and node.op in COMPARISONS:
        left = _operand(node.left, columns, dialect)
        right = _operand(node.right, columns, dialect)
        names = [s for s, n in ((left, node.left), (right, node.right)) if isinstance(n, Name)]
        if node.op == "<>":
            blank = " OR ".join(f"{s} IS NULL" for s in names)
            return f"({blank} OR {left} <> {right})" if blank else f"({left} <> {right})"
        present = " AND ".join(f"{s} IS NOT NULL" for s in names)
        comparison = f"{left} {node.op} {right}"
        return f"({present} AND {comparison})" if present else f"({comparison})"
    if isinstance(node, Call):
        if node.name in ("AND", "OR") and node.args:
            joined = f" {node.name} ".join(_compile(a, columns, dialect) for a in node.args)
            return f"({joined})"
        if node.name == "NOT" and len(node.args) == 1:
            return f"(NOT {_compile(node.args[0], columns, dialect)})"
        if node.name == "ISBLANK" and len(node.args) == 1 and isinstance(node.args[0], Name):
            return f"({_column(node.args[0], columns)} IS NULL)"
        raise FormulaSyntaxError(
            f"{node.name}() cannot be used in a constraint condition", node.pos
        )
    if isinstance(node, Name):
        column = _column(node, columns)
        if columns[node.path[0]] != "boolean":
            raise FormulaSyntaxError(f"{node.path[0]!r} is not a true/false field", node.pos)
        return f"({column} IS NOT NULL AND {column} = {_literal(Literal(True, node.pos), dialect)})"
    raise FormulaSyntaxError("this is not a condition", getattr(node, "pos", 0))


def condition_sql(text: str, columns: Mapping[str, str], dialect: str) -> str:
    """SQL for the condition ``text`` over ``columns`` (field name → storage kind)."""
    return _compile(parse(text), columns, dialect)
