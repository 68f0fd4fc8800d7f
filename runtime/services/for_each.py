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
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.sqlcompile import SqlCompiler
from runtime.metadata.model import SOFT_DELETE_COLUMN
from runtime.security.actor import Actor
from runtime.services import series
from runtime.services.effect_rows import failed as _failed
from runtime.services.formula_env import record_env

if TYPE_CHECKING:
    from runtime.services.effects import Effects

MAX_ROWS = 20_000  # records one effect may create (``for_each``) or write (``each``)


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


def new_rows(
    effects: Effects,
    conn: Connection,
    actor: Actor,
    target: str,
    values: Mapping[str, Any],
    each: Mapping[str, Any],
    path: str,
) -> list[dict[str, Any]]:
    """The new records of a ``for_each`` create: ``values`` plus the id of each row of
    the iterated object that ``where`` keeps (in one query when it compiles to SQL)."""
    field = str(each["field"])
    source = effects.reader.object(target).by_name[field].target
    assert source is not None
    iterated = source if "." in source else f"{target.partition('.')[0]}.{source}"
    table = effects.reader.table(iterated)
    where = each.get("where")
    if where:  # in one query where the condition compiles to SQL
        ids = matching(
            conn,
            effects.records.computed.compiler(conn, actor.stored_id),
            effects.compile(target, str(where)).expr,
            effects.reader.table(target),
            field,
            table,
            values,
            MAX_ROWS + 1,
        )
        if ids is not None:
            if len(ids) > MAX_ROWS:
                raise _failed(path, f"more than {MAX_ROWS} records to create at once")
            return [{**values, field: i} for i in ids]
    query = sa.select(table.c.id).order_by(table.c.id).limit(MAX_ROWS + 1)
    if SOFT_DELETE_COLUMN in table.c:
        query = query.where(table.c[SOFT_DELETE_COLUMN].is_(None))
    ids = list(conn.execute(query).scalars())
    if len(ids) > MAX_ROWS:
        raise _failed(path, f"more than {MAX_ROWS} records to create at once")
    rows = [{**values, field: int(i)} for i in ids]
    env = record_env(conn, effects.reader.table, target, effects.records.clock, actor.stored_id)
    return series.keep(
        effects.compile,
        target,
        each.get("where"),
        rows,
        env,
        f"{path}/where",
        lambda row: f"{iterated} {row[field]}",
    )
