"""The rows a ``for_each`` create keeps, chosen inside the database in one query.

The ``where`` of a ``for_each`` is a condition on the record being created, one candidate
per row of the iterated object. Compiled to SQL, the new record is a virtual row: its
iterated field is the iterated table's id, the other fields are the values the effect
gives (blank if it gives none), so ``employee.department.path`` becomes a correlated
lookup from each employee. One query replaces one formula evaluation (and its lookups)
per candidate; a condition the SQL compiler cannot express is left to the evaluator.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.sqlcompile import SqlCompiler
from runtime.metadata.model import SOFT_DELETE_COLUMN


class _Columns:
    def __init__(
        self, table: sa.Table, field: str, iterated: sa.Table, values: Mapping[str, Any]
    ) -> None:
        self._table, self._field, self._iterated, self._values = table, field, iterated, values

    def __getitem__(self, name: str) -> Any:
        if name == self._field:
            return self._iterated.c.id
        column = self._table.c[name]
        value = self._values.get(name) if name != "id" else None
        return sa.null() if value is None else sa.literal(value, type_=column.type)

    def __getattr__(self, name: str) -> Any:
        return self[name]


class _NewRecord:
    """Looks like a table to the compiler; its columns are the new record's values."""

    def __init__(self, c: _Columns) -> None:
        self.c = c


def matching(
    conn: Connection,
    compiler: SqlCompiler,
    where: ir.Expr,
    table: sa.Table,
    field: str,
    iterated: sa.Table,
    values: Mapping[str, Any],
    limit: int,
) -> list[int] | None:
    """Ids of the iterated rows for which ``where`` holds on the new record, in id order
    (at most ``limit``); None when the condition cannot run inside the database."""
    try:
        condition = compiler.condition(where, _NewRecord(_Columns(table, field, iterated, values)))
    except FormulaError:
        return None
    query = sa.select(iterated.c.id).where(condition).order_by(iterated.c.id).limit(limit)
    if SOFT_DELETE_COLUMN in iterated.c:
        query = query.where(iterated.c[SOFT_DELETE_COLUMN].is_(None))
    try:
        with conn.begin_nested():  # a refusal by the database leaves the evaluator to try
            return [int(i) for i in conn.execute(query).scalars()]
    except sa.exc.DBAPIError:
        return None
