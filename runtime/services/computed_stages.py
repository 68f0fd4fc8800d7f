"""A record's stored formulas as one staged UPDATE (see ``runtime.formula.staging``).

Each stage is a materialized CTE over the previous one: the record's columns, with the
fields of that stage replaced by their exact (unrounded) values; later stages read those
as columns instead of computing the inlined formula again. The UPDATE writes the last
stage's values, rounded to each column's scale, to the records it selected. The
database computes every formula once per row, as a spreadsheet would."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from runtime.formula.sqlcompile import SqlCompiler
from runtime.formula.staging import inlined, localized, stages


def staged_update(
    compiler: SqlCompiler,
    table: sa.Table,
    targets: Sequence[Any],
    selected: bool,
    only_changed: bool,
    fit: Callable[[SqlCompiler, Any, Any], Any],
) -> Any | None:
    """The staged UPDATE of ``targets`` (stored formulas of ``table``'s object; the ids
    an expanding ``ids`` parameter when ``selected``), or None when no formula reads
    another one (a single UPDATE is as good)."""
    by_name = {t.fdef.name: t for t in targets}
    reads = {name: inlined(t.tree, by_name) - {name} for name, t in by_name.items()}
    order = stages(reads)
    if order is None or len(order) < 2:
        return None
    row: Any = table
    done: set[str] = set()
    for number, stage in enumerate(order, start=1):
        exact = [compiler.compile(localized(by_name[n].tree, done), row).label(n) for n in stage]
        kept = [row.c[c.name] for c in table.c if c.name not in stage]
        query = sa.select(*kept, *exact)
        if number == 1 and selected:
            query = query.where(table.c.id.in_(sa.bindparam("ids", expanding=True)))
        row = query.cte(f"stage{number}").prefix_with("MATERIALIZED")
        done |= set(stage)
    values = {
        name: fit(compiler, sa.type_coerce(row.c[name], sa.types.NullType()), target)
        for name, target in by_name.items()
    }
    stmt = sa.update(table).values(values).where(table.c.id == row.c.id)
    if only_changed:
        stmt = stmt.where(
            sa.or_(*[table.c[name].is_distinct_from(expr) for name, expr in values.items()])
        )
    return stmt
