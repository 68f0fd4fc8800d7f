"""Numeric kernels for SQLite: a decimal subtree of a formula as one SQL function call.

SQLite has no decimal type, so each decimal operation inside SQL is a call into Python
(``tenon_mul`` …). For bulk work that is one call per operation per row; a kernel turns a
whole arithmetic subtree — ``ROUND(base * months / 12 * multiplier, 2)`` — into one call
that receives the columns it reads and runs the subtree as nested Python closures over
the same operator and function implementations the evaluator uses. The result is the
same value; only the number of trips between SQLite and Python changes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from runtime.formula import ir, operators
from runtime.formula.bridge import from_sqlite, to_sqlite
from runtime.formula.types import NUMBER
from runtime.storage import sqlite_functions

Fn = Callable[[tuple[Any, ...]], Any]
_ARITH = frozenset({"+", "-", "*", "/"})


def fusable(expr: ir.Expr) -> bool:
    """Can ``expr`` (a number) run as one kernel: only constants, the record's own columns,
    arithmetic and eager functions without clock, lists or other records."""
    if isinstance(expr, ir.Const):
        return expr.value is None or isinstance(expr.value, int | Decimal)
    if isinstance(expr, ir.Local):
        return expr.type.kind == "number"
    if isinstance(expr, ir.Inline):
        return expr.type.kind == "number" and fusable(expr.body)
    if isinstance(expr, ir.Negate):
        return fusable(expr.operand)
    if isinstance(expr, ir.Binary):
        return (
            expr.op in _ARITH
            and expr.type.kind == "number"
            and (fusable(expr.left) and fusable(expr.right))
        )
    if isinstance(expr, ir.Call):
        fn = expr.function
        return (
            fn.impl is not None
            and fn.sql is not None  # only what may run in SQL on every database
            and fn.lazy is None
            and not fn.volatile
            and expr.type.kind == "number"
            and all(a.type.kind in ("number", "blank") and fusable(a) for a in expr.args)
        )
    return False


def worth_it(expr: ir.Expr) -> bool:
    """A kernel pays off when it replaces at least one decimal SQL function call."""
    return any(
        (isinstance(e, ir.Binary) and (e.op == "/" or e.type.scale > 0)) or isinstance(e, ir.Call)
        for e in expr.walk()
    )


def columns(expr: ir.Expr) -> list[str]:
    names: list[str] = []
    for node in expr.walk():
        if isinstance(node, ir.Local) and node.name not in names:
            names.append(node.name)
    return names


def _build(expr: ir.Expr, slots: dict[str, int]) -> Fn:
    if isinstance(expr, ir.Const):
        value = expr.value
        return lambda row: value
    if isinstance(expr, ir.Local):
        index = slots[expr.name]
        return lambda row: row[index]
    if isinstance(expr, ir.Inline):
        return _build(expr.body, slots)
    if isinstance(expr, ir.Negate):
        inner = _build(expr.operand, slots)
        return lambda row: operators.negate(inner(row))
    if isinstance(expr, ir.Binary):
        op = operators.for_binary(expr.op, expr.left.type, expr.right.type)
        left, right = _build(expr.left, slots), _build(expr.right, slots)
        return lambda row: op(left(row), right(row))
    assert isinstance(expr, ir.Call) and expr.function.impl is not None
    impl = expr.function.impl
    args = [_build(a, slots) for a in expr.args]
    return lambda row: impl(*[a(row) for a in args])


def _number(value: Any) -> Any:
    """A SQLite value of a number column (REAL, INTEGER, or decimal text) as a number."""
    kind = type(value)
    if kind is int or value is None:
        return value
    if kind is float:
        return Decimal(repr(value))
    return from_sqlite(value, NUMBER)


def _signature(expr: ir.Expr) -> str:
    if isinstance(expr, ir.Const):
        return repr(expr.value)
    if isinstance(expr, ir.Local):
        return f"${expr.name}:{expr.type.scale}"
    if isinstance(expr, ir.Inline):
        return _signature(expr.body)
    if isinstance(expr, ir.Negate):
        return f"(- {_signature(expr.operand)})"
    if isinstance(expr, ir.Binary):
        return f"({expr.op} {_signature(expr.left)} {_signature(expr.right)})"
    assert isinstance(expr, ir.Call)
    return f"({expr.function.name} {' '.join(_signature(a) for a in expr.args)})"


def register(expr: ir.Expr) -> tuple[str, list[str]]:
    """Register the kernel of ``expr`` (once per distinct subtree); its key and columns."""
    names = columns(expr)
    key = "kernel:" + hashlib.sha256(_signature(expr).encode()).hexdigest()[:24]
    slots = {name: i for i, name in enumerate(names)}
    body = _build(expr, slots)

    def run(*raw: Any) -> Any:
        return to_sqlite(body(tuple(map(_number, raw))))

    sqlite_functions.provide(key, run)
    return key, names
