"""Reading other records for the Python evaluator, through the SQL compiler.

When a formula evaluated for one record (a form being filled in, a workflow condition,
a preview) reaches another record — ``employee.department.name``, ``SUM(lines.amount)`` —
the evaluator asks ``SqlLookups`` which runs exactly that part as one query, with the
record's own values as parameters. The record need not be saved yet.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.sqlcompile import SqlCompiler
from runtime.formula.types import FType

MAX_RELATED = 10_000


class _Columns:
    def __init__(self, record: Mapping[str, Any], table: sa.Table) -> None:
        self._record = record
        self._table = table

    def __getitem__(self, name: str) -> Any:
        column = self._table.c[name]
        return sa.literal(self._record.get(name), column.type)

    def __getattr__(self, name: str) -> Any:
        return self[name]


class _RecordRow:
    """Looks like a table to the compiler; its columns are the record's values."""

    def __init__(self, record: Mapping[str, Any], table: sa.Table) -> None:
        self.c = _Columns(record, table)


class SqlLookups:
    def __init__(self, conn: Connection, compiler: SqlCompiler, table: sa.Table) -> None:
        self.conn = conn
        self.compiler = compiler
        self.table = table

    def fetch(self, expr: ir.Expr, record: Mapping[str, Any]) -> Any:
        row = _RecordRow(record, self.table)
        if isinstance(expr, ir.Related):
            query = self.compiler.related(expr, row).limit(MAX_RELATED + 1)
            values = list(self.conn.execute(query).scalars())
            if len(values) > MAX_RELATED:
                raise FormulaError(
                    f"more than {MAX_RELATED:,} related records; use SUM, COUNT, AVERAGE, MIN "
                    "or MAX, which run inside the database",
                    expr.pos,
                    "FORMULA_LIMIT",
                )
            item = expr.type.of or FType("any")
            return [self.compiler.python_value(v, item) for v in values]
        value = self.conn.execute(sa.select(self.compiler.value(expr, row))).scalar()
        return self.compiler.python_value(value, expr.type)
