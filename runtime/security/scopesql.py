"""Row scopes as SQL the database can answer from its indexes.

A scope such as ``employee.manager.user = @me`` compiled naively becomes a correlated
subquery evaluated for every row: listing 25 of 100,000 employees as a manager would
read them all. Here a comparison between a reference path and a value that does not
depend on the row becomes nested semi-joins instead::

    employee IN (SELECT id FROM employee WHERE manager IN
                 (SELECT id FROM employee WHERE user = :me))

which walks the foreign-key indexes from the user outwards. ``AND``/``OR`` are rewritten
through; anything else is compiled by the ordinary compiler with exactly the formula
language's semantics. The rewrite keeps those semantics: a comparison with a blank is
FALSE in both forms, and a rewritten test is only ever combined by AND/OR, where the SQL
NULL of ``x IN (…)`` and FALSE select the same rows.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.formula import ir
from runtime.formula.sqlcompile import SQL, SqlCompiler, columns_read
from runtime.formula.types import BOOLEAN

_REWRITABLE = frozenset({"STARTS_WITH"})
_TOP = "\U0010ffff"  # the last code point: every text starting with p sorts below p || _TOP


def _row_free(expr: ir.Expr) -> bool:
    """Does ``expr`` give the same value for every row (constants, @me, the clock)?"""
    for node in expr.walk():
        if isinstance(node, ir.Local | ir.Inline | ir.Related | ir.Aggregate):
            return False
        if isinstance(node, ir.Ref) and not _rooted_in_me(node):
            return False
    return True


def _rooted_in_me(expr: ir.Expr) -> bool:
    while isinstance(expr, ir.Ref):
        expr = expr.base
    return isinstance(expr, ir.MeRecord | ir.Me)


def _chain(expr: ir.Expr) -> bool:
    """A path of stored references from the row: ``manager.user``, ``department.hrbp.user``."""
    if not isinstance(expr, ir.Ref):
        return False
    base = expr.base
    while isinstance(base, ir.Ref):
        if base.body is not None:
            return False
        base = base.base
    return isinstance(base, ir.Local)


def condition(compiler: SqlCompiler, expr: ir.Expr, row: Any) -> SQL:
    """``expr`` (a checked condition) about the records of ``row``, index-friendly."""
    if isinstance(expr, ir.Call) and expr.function.name in ("AND", "OR") and expr.args:
        parts = [condition(compiler, a, row) for a in expr.args]
        return sa.and_(*parts) if expr.function.name == "AND" else sa.or_(*parts)
    rewritten = _semi_join(compiler, expr, row)
    if rewritten is not None:
        return rewritten
    exact = compiler.condition(expr, row)
    prefix = _prefix_range(compiler, expr, row)
    return exact if prefix is None else sa.and_(prefix, exact)


def _prefix_range(compiler: SqlCompiler, expr: ir.Expr, row: Any) -> SQL | None:
    """``STARTS_WITH(path, p)`` also as the range ``p <= path < p || U+10FFFF``, which an
    index on ``path`` answers (text orders by code point: SQLite's BINARY collation, and
    the C.UTF-8 collation Tenon's PostgreSQL databases use)."""
    if not (
        isinstance(expr, ir.Call)
        and expr.function.name == "STARTS_WITH"
        and isinstance(expr.args[0], ir.Local)
        and expr.args[0].type.kind == "text"
        and _row_free(expr.args[1])
        and expr.args[1].type.kind == "text"
    ):
        return None
    column: SQL = row.c[expr.args[0].name]
    low = compiler.compile(expr.args[1], row)
    return sa.and_(column >= low, column < low.concat(_TOP))


def _semi_join(compiler: SqlCompiler, expr: ir.Expr, row: Any) -> SQL | None:
    if isinstance(expr, ir.Binary) and expr.op == "=":
        for path, value in ((expr.left, expr.right), (expr.right, expr.left)):
            if _chain(path) and _row_free(value):
                assert isinstance(path, ir.Ref)
                return _through(compiler, path, row, lambda leaf, p=path: _replace(expr, p, leaf))
        return None
    if (
        isinstance(expr, ir.Call)
        and expr.function.name in _REWRITABLE
        and expr.args
        and _chain(expr.args[0])
        and all(_row_free(a) for a in expr.args[1:])
    ):
        path = expr.args[0]
        assert isinstance(path, ir.Ref)
        return _through(compiler, path, row, lambda leaf: _replace(expr, path, leaf))
    return None


def _replace(expr: ir.Expr, old: ir.Expr, new: ir.Expr) -> ir.Expr:
    if isinstance(expr, ir.Binary):
        left = new if expr.left is old else expr.left
        right = new if expr.right is old else expr.right
        return ir.Binary(BOOLEAN, expr.pos, expr.op, left, right)
    assert isinstance(expr, ir.Call)
    args = tuple(new if a is old else a for a in expr.args)
    return ir.Call(expr.type, expr.pos, expr.function, args)


def _through(compiler: SqlCompiler, path: ir.Ref, row: Any, test: Any) -> SQL:
    """``test(leaf)`` holds for the record at the end of ``path`` (from ``row``)."""
    leaf: ir.Expr
    if path.body is not None:
        leaf = ir.Inline(path.type, path.pos, path.name, path.body)
    else:
        leaf = ir.Local(path.type, path.pos, path.name)
    tree = test(leaf)
    target = compiler.alias(path.target, columns_read(tree))
    return _link(compiler, path.base, row, target, condition(compiler, tree, target))


def _link(compiler: SqlCompiler, base: ir.Expr, row: Any, target: Any, test: SQL) -> SQL:
    """``base`` (a reference of the row, or a path to one) points at a ``target`` record
    for which ``test`` holds."""
    clauses = [test]
    if "deleted_at" in target.c:
        clauses.append(target.c.deleted_at.is_(None))
    ids = sa.select(target.c.id).where(*clauses)
    if isinstance(base, ir.Local):
        column: SQL = row.c[base.name]
        return column.in_(ids)
    assert isinstance(base, ir.Ref) and base.body is None
    holder = compiler.alias(base.target, (base.name,))
    return _link(compiler, base.base, row, holder, holder.c[base.name].in_(ids))
