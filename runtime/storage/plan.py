"""The checked change plan of an install: what the data says about each change.

``analyze`` reads the database inside the install transaction and records, per change,
rows a drop would lose, records whose values cannot become the new type, and duplicates
that block a new unique constraint; it also derives each kept table's constraint, index
and system-column differences by comparing the tables built from the old and new
definitions. ``runtime.storage.sync`` applies the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.metadata.diff import (
    ALTER_FIELD,
    DROP_FIELD,
    DROP_OBJECT,
    Change,
    plan_changes,
)
from runtime.metadata.fieldtypes import CoerceError, coerce_value
from runtime.metadata.model import AppDef, ObjectDef
from runtime.metadata.workflows import STATE_COLUMN
from runtime.storage.naming import table_name
from runtime.storage.tables import build_table

MAX_LISTED_IDS = 20


@dataclass
class TableDiff:
    """Constraint and index differences of one kept table, by name."""

    drop_constraints: list[tuple[str, str]] = field(default_factory=list)  # (name, type)
    add_constraints: list[sa.Constraint] = field(default_factory=list)
    drop_indexes: list[str] = field(default_factory=list)
    add_indexes: list[sa.Index] = field(default_factory=list)
    drop_columns: list[str] = field(default_factory=list)  # system columns (deleted_at)
    add_columns: list[sa.Column[Any]] = field(default_factory=list)

    def notes(self) -> list[str]:
        out = [f"drop constraint {n}" for n, _ in self.drop_constraints]
        out += [f"add constraint {c.name}" for c in self.add_constraints]
        out += [f"drop index {n}" for n in self.drop_indexes]
        out += [f"add index {i.name}" for i in self.add_indexes]
        out += [f"drop column {n}" for n in self.drop_columns]
        out += [f"add column {c.name}" for c in self.add_columns]
        return out


@dataclass
class SchemaPlan:
    app: str
    from_version: str | None
    to_version: str
    changes: list[Change]
    tables: dict[str, TableDiff]
    conditions: dict[str, dict[str, str]]
    old_conditions: dict[str, dict[str, str]]
    duplicates: list[str] = field(default_factory=list)
    in_flight: list[dict[str, Any]] = field(default_factory=list)  # running approvals

    @property
    def problems(self) -> list[Change]:
        return [c for c in self.changes if c.problem]

    @property
    def data_losses(self) -> list[Change]:
        return [c for c in self.changes if c.loses_data]

    def lines(self) -> list[str]:
        head = (
            f"Install {self.app} {self.to_version}"
            if self.from_version is None
            else f"Upgrade {self.app} {self.from_version} → {self.to_version}"
        )
        out = [head]
        for change in self.changes:
            out.append(f"  {change.describe()}")
            if change.problem:
                shown = ", ".join(map(str, change.blocking_ids))
                more = change.blocking_count - len(change.blocking_ids)
                out.append(
                    f"    REFUSED: {change.problem}; record ids: {shown}"
                    + (f" and {more} more" if more > 0 else "")
                )
        for obj, diff in sorted(self.tables.items()):
            out += [f"  {obj}: {note}" for note in diff.notes()]
        out += [f"  REFUSED: {d}" for d in self.duplicates]
        out += [
            f"  {r['count']} approval(s) running on {r['object']} in {r['state']} keep the "
            f"route of version {r['version']}"
            for r in self.in_flight
        ]
        if len(out) == 1:
            out.append("  no schema changes")
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "app": self.app,
            "from_version": self.from_version,
            "to_version": self.to_version,
            "changes": [c.as_dict() for c in self.changes],
            "ddl": {k: v.notes() for k, v in sorted(self.tables.items()) if v.notes()},
            "refused": self.duplicates,
            "in_flight": self.in_flight,
        }


def object_table(app: AppDef, obj: ObjectDef, conditions: dict[str, dict[str, str]]) -> sa.Table:
    return build_table(sa.MetaData(), app, obj, conditions.get(obj.name))


def _constraints(table: sa.Table) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for c in table.constraints:
        if isinstance(c, sa.UniqueConstraint):
            out[str(c.name)] = ("unique", tuple(col.name for col in c.columns))
        elif isinstance(c, sa.ForeignKeyConstraint):
            out[str(c.name)] = (
                "foreignkey",
                tuple(c.column_keys),
                c.elements[0].target_fullname,
                c.ondelete,
            )
    return out


def _indexes(table: sa.Table) -> dict[str, tuple[Any, ...]]:
    out: dict[str, tuple[Any, ...]] = {}
    for i in table.indexes:
        where = i.dialect_options["sqlite"]["where"]
        out[str(i.name)] = (tuple(c.name for c in i.columns), i.unique, str(where))
    return out


def _table_diff(cur: sa.Table, want: sa.Table) -> TableDiff:
    diff = TableDiff()
    have, need = _constraints(cur), _constraints(want)
    by_name = {str(c.name): c for c in want.constraints}
    for name, spec in have.items():
        if need.get(name) != spec:
            diff.drop_constraints.append((name, spec[0]))
    for name, spec in need.items():
        if have.get(name) != spec:
            diff.add_constraints.append(by_name[name])
    have_ix, need_ix = _indexes(cur), _indexes(want)
    diff.drop_indexes = [n for n, s in have_ix.items() if need_ix.get(n) != s]
    diff.add_indexes = [i for i in want.indexes if have_ix.get(str(i.name)) != need_ix[str(i.name)]]
    system = {"deleted_at", STATE_COLUMN}
    # a workflow's state column goes as a dropped field (counted, archived, with consent)
    diff.drop_columns = [c.name for c in cur.c if c.name == "deleted_at" and c.name not in want.c]
    diff.add_columns = [fresh_column(c) for c in want.c if c.name in system and c.name not in cur.c]
    return diff


def fresh_column(column: sa.Column[Any]) -> sa.Column[Any]:
    """A detached copy of a nullable column (its keys are added as named constraints)."""
    return sa.Column(column.name, column.type, nullable=True)


def _count(conn: Connection, table: str, column: str | None = None) -> int:
    t = sa.table(table, sa.column("id"))
    query = sa.select(sa.func.count()).select_from(t)
    if column:
        query = query.where(sa.column(column).is_not(None))
    return int(conn.execute(query).scalar_one())


def _typed_scan(conn: Connection, old_table: sa.Table, column: str) -> list[tuple[Any, Any]]:
    """Existing values read with the column's current type (so decimals come back exact)."""
    col = old_table.c[column]
    query = sa.select(old_table.c.id, col).where(col.is_not(None)).order_by(old_table.c.id)
    return [(row[0], row[1]) for row in conn.execute(query)]


def _check_alter(conn: Connection, change: Change, old_table: sa.Table) -> None:
    assert change.old is not None and change.new is not None
    if change.new.computed:
        change.converted = []  # recomputed after the install, nothing to convert
        return
    values = _typed_scan(conn, old_table, change.old.name)
    change.rows_affected = len(values)
    if change.old.storage == "reference" and change.old.target != change.new.target:
        if values:
            change.problem = "links would point at records of another object; empty the field first"
            change.blocking_ids = [i for i, _ in values[:MAX_LISTED_IDS]]
            change.blocking_count = len(values)
        return
    bad: list[tuple[Any, str]] = []
    converted: list[tuple[Any, Any]] = []
    for rid, value in values:
        try:
            converted.append((rid, coerce_value(value, change.new.spec)))
        except CoerceError as exc:
            bad.append((rid, f"{value!r} {exc}"))
        except (TypeError, ValueError, ArithmeticError):
            bad.append((rid, f"{value!r} cannot be converted"))
    if bad:
        change.problem = (
            f"{len(bad)} record(s) hold values that cannot become {change.new.type}"
            f" (first: {bad[0][1]})"
        )
        change.blocking_ids = [i for i, _ in bad[:MAX_LISTED_IDS]]
        change.blocking_count = len(bad)
        return
    if change.new.unique:
        seen: dict[Any, Any] = {}
        dupes = []
        for rid, value in converted:
            key = repr(value)
            if key in seen:
                dupes.append(rid)
            seen.setdefault(key, rid)
        if dupes:
            change.problem = "converted values would repeat in a unique field"
            change.blocking_ids = dupes[:MAX_LISTED_IDS]
            change.blocking_count = len(dupes)
            return
    change.converted = converted


def analyze(
    conn: Connection,
    old: AppDef | None,
    new: AppDef,
    conditions: dict[str, dict[str, str]],
    old_conditions: dict[str, dict[str, str]],
) -> SchemaPlan:
    """The plan to go from ``old`` to ``new``, checked against the data in ``conn``."""
    changes = plan_changes(old, new)
    plan = SchemaPlan(
        new.name,
        str(old.version) if old else None,
        str(new.version),
        changes,
        {},
        conditions,
        old_conditions,
    )
    if old is None:
        return plan
    for change in changes:
        if change.kind == DROP_OBJECT:
            change.rows_affected = _count(conn, table_name(old.name, change.object))
        elif change.kind == DROP_FIELD:
            change.rows_affected = _count(conn, table_name(old.name, change.object), change.field)
        elif change.kind == ALTER_FIELD:
            obj = old.object(change.object)
            _check_alter(conn, change, object_table(old, obj, old_conditions))
    for obj in new.objects:
        if obj.name not in old.by_name:
            continue
        cur = object_table(old, old.object(obj.name), old_conditions)
        want = object_table(new, obj, conditions)
        diff = _table_diff(cur, want)
        if diff.notes():
            plan.tables[obj.name] = diff
        plan.duplicates += _duplicate_checks(conn, cur, want, diff, old.object(obj.name), obj)
    return plan


def _old_column(old_obj: ObjectDef, new_obj: ObjectDef, name: str) -> str | None:
    """The current column holding new field ``name`` (following a rename), if any."""
    field_def = new_obj.by_name.get(name)
    if field_def is None:
        return name if name in ("id", "created_at", "updated_at") else None
    if name in old_obj.by_name and old_obj.by_name[name].stored:
        return name
    source = field_def.renamed_from
    if source and source in old_obj.by_name and old_obj.by_name[source].stored:
        return source
    return None


def _duplicate_checks(
    conn: Connection,
    cur: sa.Table,
    want: sa.Table,
    diff: TableDiff,
    old_obj: ObjectDef,
    new_obj: ObjectDef,
) -> list[str]:
    """New unique constraints that the existing rows already break."""
    problems = []
    groups: list[tuple[str, tuple[str, ...], str | None]] = [
        (str(c.name), tuple(col.name for col in c.columns), None)
        for c in diff.add_constraints
        if isinstance(c, sa.UniqueConstraint)
    ]
    groups += [
        (
            str(i.name),
            tuple(c.name for c in i.columns),
            str(i.dialect_options["sqlite"]["where"])
            if i.unique and i.dialect_options["sqlite"]["where"] is not None
            else None,
        )
        for i in diff.add_indexes
        if i.unique
    ]
    for name, columns, where in groups:
        old_cols = [_old_column(old_obj, new_obj, c) for c in columns]
        if any(c is None for c in old_cols):
            continue  # a new column is all NULL, which never repeats
        if where is not None and any(f.renamed_from in old_obj.by_name for f in new_obj.fields):
            continue  # the condition names new columns; the index build itself will check
        cols: list[sa.ColumnClause[Any]] = [sa.column(str(c)) for c in old_cols]
        t = sa.table(cur.name, sa.column("id"), *cols)
        query = sa.select(*cols, sa.func.min(t.c.id), sa.func.count()).select_from(t)
        query = query.where(*[c.is_not(None) for c in cols])
        if where is not None:
            query = query.where(sa.text(where))
        query = query.group_by(*cols).having(sa.func.count() > 1).limit(MAX_LISTED_IDS)
        rows = conn.execute(query).all()
        if rows:
            shown = "; ".join(
                f"{', '.join(map(repr, r[:-2]))} (e.g. id {r[-2]}, {r[-1]} rows)" for r in rows
            )
            problems.append(
                f"{new_obj.name}: constraint {name} cannot be added, values repeat: {shown}"
            )
    return problems
