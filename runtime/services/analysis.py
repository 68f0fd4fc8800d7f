"""Reads that are not lists of records: aggregates, formula previews and history.

Built on ``runtime.services.reading``: the same secured select, so a group counts only
rows the caller may read, a sum adds only values the caller may read, a preview sees
the record as the caller does, and history masks what the caller may not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.decimals import MAX_SCALE
from runtime.errors import NotFound, TenonError
from runtime.formula.errors import FormulaError
from runtime.security.actor import Actor
from runtime.security.guard import Guard
from runtime.services.reading import Reader, formula_error, readable_column
from runtime.services.values import to_json
from runtime.storage import audit

AGGREGATES = ("count", "sum", "avg", "min", "max")


class Analysis:
    """Aggregates, previews and history: the reads that are not lists of records."""

    def __init__(self, reader: Reader) -> None:
        self.reader = reader

    def aggregate(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        *,
        group_by: Sequence[str] = (),
        measures: Sequence[tuple[str, str | None]] = (("count", None),),
        filter: str | None = None,
    ) -> list[dict[str, Any]]:
        """Grouped counts and sums over the rows the actor may read, of the values the
        actor may read (a hidden value counts as blank)."""
        reader = self.reader
        guard = reader.guard(conn, actor)
        access = reader.access(guard, qualified, "read")
        sel = reader.select(guard, access)
        where = reader.base_where(guard, sel)
        if filter:
            tree = reader.formula(guard, filter, qualified, "filter", expect="boolean")
            where.append(guard.compiler.condition(tree, sel.masked))
        groups: list[Any] = []
        for name in group_by:
            groups.append(readable_column(sel, name, "group_by").label(name))
        columns: list[Any] = list(groups)
        scales: dict[str, int] = {}  # sums of money read back at the field's scale
        for func, field in measures:
            if func not in AGGREGATES:
                raise TenonError(
                    f"unknown aggregate {func!r}; use one of {', '.join(AGGREGATES)}",
                    code="INVALID_AGGREGATE",
                )
            label = func if field is None else f"{func}_{field}"
            if field is None:
                if func != "count":
                    raise TenonError(f"{func} needs a field", code="INVALID_AGGREGATE")
                columns.append(sa.func.count().label(label))
                continue
            value = readable_column(sel, field, "measure")
            if func != "count" and sel.kinds[field] not in ("integer", "decimal"):
                raise TenonError(
                    f"{func} needs a number field; {field!r} is not one", code="INVALID_AGGREGATE"
                )
            columns.append(_measure(guard, func, value, sel.kinds[field]).label(label))
            if sel.kinds[field] == "decimal" and func in ("sum", "min", "max"):
                scales[label] = sel.obj.by_name[field].decimal_shape[1]
        query = sa.select(*columns).select_from(sel.table).where(*where)
        if groups:
            query = query.group_by(*groups).order_by(*groups)
        return [
            {k: to_json(_number(v, scales.get(k))) for k, v in row.items()}
            for row in conn.execute(query).mappings()
        ]

    def preview(
        self, conn: Connection, actor: Actor, qualified: str, record_id: int, formula: str
    ) -> Any:
        """A formula evaluated for one record as the actor sees it."""
        reader = self.reader
        guard = reader.guard(conn, actor)
        access = reader.access(guard, qualified, "read")
        sel = reader.select(guard, access)
        tree = reader.formula(guard, formula, qualified, "formula")
        where = [*reader.base_where(guard, sel), sel.table.c.id == record_id]
        try:
            value = guard.compiler.value(tree, sel.masked)
        except FormulaError as error:
            raise formula_error(error, formula, "formula") from None
        query = sa.select(value.label("v")).select_from(sel.table).where(*where)
        row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"{qualified} record {record_id} was not found")
        return to_json(guard.compiler.python_value(row[0], tree.type))

    def history(
        self, conn: Connection, actor: Actor, qualified: str, record_id: int
    ) -> list[dict[str, Any]]:
        """The audit entries of a record the actor can see; values of fields the actor
        may not read are replaced by ``{"masked": true}``."""
        reader = self.reader
        guard = reader.guard(conn, actor)
        access = reader.access(guard, qualified, "read")
        sel = reader.select(guard, access)
        where = [*reader.base_where(guard, sel), sel.table.c.id == record_id]
        flags: list[Any] = [v.label(k) for k, v in sel.flags.items()] or [sel.table.c.id]
        row = conn.execute(sa.select(*flags).where(*where)).mappings().first()
        if row is None:
            raise NotFound(f"{qualified} record {record_id} was not found")
        present = sel.present(row)
        out = []
        for entry in audit.entries(conn, qualified, record_id):
            changes = {}
            for name, (before, after) in entry["changes"].items():
                if name in present:
                    changes[name] = {"before": before, "after": after}
                else:
                    changes[name] = {"masked": True}
            out.append(
                {
                    "at": to_json(entry["at"]),
                    "actor": entry["actor_name"],
                    "on_behalf_of": entry["on_behalf_of"],
                    "operation": entry["operation"],
                    "comment": entry.get("comment"),
                    "changes": changes,
                }
            )
        return out


def _measure(guard: Guard, func: str, value: Any, kind: str) -> Any:
    """An aggregate, exact for decimals on SQLite too (its own sum of exact values)."""
    if func == "count":
        return sa.func.count(value)
    if guard.raw.sqlite and kind == "decimal":
        if func in ("min", "max"):
            return getattr(sa.func, f"tenon_{func}")(value)
        total = sa.func.tenon_sum(value)
        if func == "sum":
            return total
        return guard.raw.arith("/", total, sa.func.count(value), (MAX_SCALE, 0))
    if func == "sum":
        return sa.func.sum(value)
    if func == "avg":
        return sa.func.avg(value)
    return sa.func.min(value) if func == "min" else sa.func.max(value)


def _number(value: Any, scale: int | None = None) -> Any:
    """Aggregates of exact decimals as exact Decimals (SQLite's own sum gives text or
    int), at the field's scale for sums, minimums and maximums."""
    if isinstance(value, float):
        value = Decimal(repr(value))
    if scale is not None and value is not None and not isinstance(value, bool):
        value = Decimal(str(value)).quantize(Decimal(1).scaleb(-scale))
    return value
