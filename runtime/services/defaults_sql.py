"""The formula and lookup defaults of many new records, computed by the database.

Creating 2,000 bonus lines, each defaulting a dozen fields from its employee
(``employee.hire_date``, ``employee.department`` …), evaluated formula by formula costs
one lookup query per field per row. Here the defaults a row needs become one SELECT,
built once and run per row with the row's sent values as parameters: each formula is
compiled to SQL against a virtual row whose columns are those parameters, a lookup
default becomes ``SELECT id … WHERE key = … ORDER BY id LIMIT 1``, and a default that
reads an earlier one reads that one's expression (field order, as in ``Defaults.fill``).

The SQL compiler has the evaluator's semantics. A formula the compiler cannot express,
or a query the database refuses, leaves the caller to evaluate record by record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.sqlcompile import SqlCompiler
from runtime.metadata.fieldtypes import CoerceError
from runtime.metadata.model import SOFT_DELETE_COLUMN, FieldDef


class _Params:
    """The virtual row's columns: a bound parameter per sent field, the expression of a
    default computed earlier in the same SELECT, blank for the record's id."""

    def __init__(self, table: sa.Table, cast: bool) -> None:
        self.table, self.cast = table, cast
        self.earlier: dict[str, Any] = {}
        self.used: set[str] = set()

    def __getitem__(self, name: str) -> Any:
        if name in self.earlier:
            return self.earlier[name]
        column = self.table.c[name]
        if name == "id":
            return sa.null()
        self.used.add(name)
        param = sa.bindparam(f"v_{name}", type_=column.type)
        return sa.cast(param, column.type) if self.cast else param

    def __getattr__(self, name: str) -> Any:
        return self[name]


class _Row:
    def __init__(self, c: _Params) -> None:
        self.c = c


Plan = tuple[Any, list[tuple[FieldDef, ir.Expr | None]], set[str]]


def plan(
    compiler: SqlCompiler,
    table: sa.Table,
    pending: Sequence[tuple[FieldDef, Mapping[str, Any]]],
    tree: Callable[[str], ir.Expr],
    target_table: Callable[[FieldDef], sa.Table],
) -> Plan | None:
    """The SELECT of the ``pending`` defaults (field, default spec) for one new record,
    each value labelled by its field; None when a formula cannot run in the database."""
    params = _Params(table, cast=not compiler.sqlite)
    row = _Row(params)
    columns = []
    kinds: list[tuple[FieldDef, ir.Expr | None]] = []
    try:
        for fdef, default in pending:
            if "lookup" in default:
                target = target_table(fdef)
                clauses = [
                    target.c[name] == compiler.compile(tree(text), row)
                    for name, text in default["lookup"].items()
                ]
                if SOFT_DELETE_COLUMN in target.c:
                    clauses.append(target.c[SOFT_DELETE_COLUMN].is_(None))
                query = sa.select(target.c.id).where(*clauses).order_by(target.c.id).limit(1)
                value: Any = query.scalar_subquery()
                kinds.append((fdef, None))
            else:
                expr = tree(str(default["formula"]))
                value = compiler.value(expr, row)
                kinds.append((fdef, expr))
            params.earlier[fdef.name] = value
            columns.append(value.label(f"d_{fdef.name}"))
    except FormulaError:
        return None
    return sa.select(*columns), kinds, params.used


def run(
    conn: Connection,
    compiler: SqlCompiler,
    prepared: Plan,
    rows: Sequence[dict[str, Any]],
) -> list[dict[str, Any]] | None:
    """``rows`` with the planned defaults filled in; None if the database refused."""
    query, kinds, used = prepared
    found: list[dict[str, Any]] = []
    try:
        with conn.begin_nested():
            for values in rows:
                params = {f"v_{name}": values.get(name) for name in used}
                found.append(dict(conn.execute(query, params).mappings().one()))
    except sa.exc.DBAPIError:
        return None
    out = []
    for values, got in zip(rows, found, strict=True):
        filled = dict(values)
        for fdef, expr in kinds:
            raw = got[f"d_{fdef.name}"]
            if expr is not None:
                raw = compiler.python_value(raw, expr.type)
            try:
                filled[fdef.name] = None if raw is None else fdef.coerce(raw)
            except CoerceError:
                filled[fdef.name] = None
        out.append(filled)
    return out
