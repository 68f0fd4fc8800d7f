"""Turn a change plan into DDL, after checking it against the data.

``analyze`` reads the database (inside the install transaction) and records, per change,
what the data says: rows a drop would lose, records whose values cannot become the new
type, duplicates that block a new unique constraint. ``apply`` then runs Alembic
operations — ``batch_alter_table`` rebuilds tables on SQLite and issues plain ALTERs on
PostgreSQL — and converts values in Python, so both databases end with identical data.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy.engine import Connection

from runtime.metadata.diff import (
    ADD_FIELD,
    ALTER_FIELD,
    CREATE_OBJECT,
    DROP_FIELD,
    DROP_OBJECT,
    RENAME_FIELD,
    Change,
    plan_changes,
)
from runtime.metadata.fieldtypes import CoerceError, coerce_value
from runtime.metadata.model import AppDef, ObjectDef
from runtime.storage.naming import ident, table_name
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
        }


def _md_table(app: AppDef, obj: ObjectDef, conditions: dict[str, dict[str, str]]) -> sa.Table:
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
    system = {"deleted_at"}
    diff.drop_columns = [c.name for c in cur.c if c.name in system and c.name not in want.c]
    diff.add_columns = [_fresh(c) for c in want.c if c.name in system and c.name not in cur.c]
    return diff


def _fresh(column: sa.Column[Any]) -> sa.Column[Any]:
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
            _check_alter(conn, change, _md_table(old, obj, old_conditions))
    for obj in new.objects:
        if obj.name not in old.by_name:
            continue
        cur = _md_table(old, old.object(obj.name), old_conditions)
        want = _md_table(new, obj, conditions)
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


def _archive(conn: Connection, archive_table: str, source: str, select_sql: str) -> None:
    """Keep a restorable copy of data about to be dropped (names are generated, not user text)."""
    conn.exec_driver_sql(f'CREATE TABLE "{archive_table}" AS {select_sql} FROM "{source}"')


def archive_name(app: str, obj: str, field_name: str | None, version: str) -> str:
    safe = "".join(ch if ch.isalnum() else "_" for ch in version)
    return ident(f"zarchive_{app}", obj, field_name or "all", safe)


def apply(
    conn: Connection, plan: SchemaPlan, old: AppDef | None, new: AppDef
) -> list[dict[str, Any]]:
    """Run the plan's DDL and conversions in ``conn``'s transaction; returns the archives made."""
    ops = Operations(MigrationContext.configure(conn))
    sqlite = conn.dialect.name == "sqlite"
    archives: list[dict[str, Any]] = []
    created = [
        build_table(sa.MetaData(), new, new.object(c.object), plan.conditions.get(c.object))
        for c in plan.changes
        if c.kind == CREATE_OBJECT
    ]
    for table in created:
        fks = (
            None
            if sqlite
            else [
                c
                for c in table.foreign_key_constraints
                if c.elements[0].column.table.name == "tenon_users"
            ]
        )
        conn.execute(sa.schema.CreateTable(table, include_foreign_key_constraints=fks))
        for index in table.indexes:
            conn.execute(sa.schema.CreateIndex(index))
    if not sqlite:
        for table in created:
            for fk in table.foreign_key_constraints:
                if fk.elements[0].column.table.name != "tenon_users":
                    conn.execute(sa.schema.AddConstraint(fk))
    if old is not None:
        for obj in new.objects:
            if obj.name in old.by_name:
                archives += _alter_table(conn, ops, plan, old, new, obj.name)
        for change in plan.changes:
            if change.kind == DROP_OBJECT:
                source = table_name(old.name, change.object)
                if change.rows_affected:
                    name = archive_name(old.name, change.object, None, plan.to_version)
                    _archive(conn, name, source, "SELECT *")
                    archives.append(
                        {
                            "object": change.object,
                            "field": None,
                            "table_name": name,
                            "row_count": change.rows_affected,
                        }
                    )
                ops.drop_table(source)
    return archives


def _alter_table(
    conn: Connection, ops: Operations, plan: SchemaPlan, old: AppDef, new: AppDef, name: str
) -> list[dict[str, Any]]:
    changes = [c for c in plan.changes if c.object == name]
    diff = plan.tables.get(name, TableDiff())
    if not changes and not diff.notes():
        return []
    old_obj, new_obj = old.object(name), new.object(name)
    cur = _md_table(old, old_obj, plan.old_conditions)
    tname = cur.name
    archives = []
    for change in changes:
        if change.kind == DROP_FIELD and change.rows_affected:
            archive = archive_name(old.name, name, change.field, plan.to_version)
            _archive(conn, archive, tname, f'SELECT id AS record_id, "{change.field}" AS value')
            archives.append(
                {
                    "object": name,
                    "field": change.field,
                    "table_name": archive,
                    "row_count": change.rows_affected,
                }
            )
    for index_name in diff.drop_indexes:
        ops.drop_index(index_name, table_name=tname)
    keep = {str(i.name) for i in cur.indexes} - set(diff.drop_indexes)
    for index in list(cur.indexes):
        if str(index.name) not in keep:
            cur.indexes.discard(index)
    column_ops = [
        c for c in changes if c.kind in (ADD_FIELD, DROP_FIELD, RENAME_FIELD, ALTER_FIELD)
    ]
    if (
        column_ops
        or diff.drop_constraints
        or diff.add_constraints
        or diff.add_columns
        or diff.drop_columns
    ):
        with ops.batch_alter_table(tname, copy_from=cur, recreate="auto") as batch:
            for cname, ctype in diff.drop_constraints:
                batch.drop_constraint(cname, type_=ctype)
            renamed = {
                c.field: c.old.name for c in changes if c.kind == RENAME_FIELD and c.old is not None
            }
            retyped = {c.field for c in changes if c.kind == ALTER_FIELD and _needs_retype(c)}
            want = _md_table(new, new_obj, plan.conditions)
            for change in changes:
                fname = str(change.field)
                if change.kind == RENAME_FIELD and fname not in retyped:
                    batch.alter_column(renamed[fname], new_column_name=fname)
                elif change.kind == DROP_FIELD:
                    batch.drop_column(fname)
                elif change.kind == ADD_FIELD:
                    batch.add_column(_fresh(want.c[fname]))
                elif change.kind == ALTER_FIELD and fname in retyped:
                    source = renamed.get(fname, fname)
                    batch.alter_column(
                        source,
                        new_column_name=fname if source != fname else None,
                        type_=want.c[fname].type,
                        existing_type=cur.c[source].type,
                        postgresql_using="NULL",
                    )
            for column in diff.add_columns:
                batch.add_column(column)
            for cname in diff.drop_columns:
                batch.drop_column(cname)
            for constraint in diff.add_constraints:
                if isinstance(constraint, sa.UniqueConstraint):
                    batch.create_unique_constraint(
                        str(constraint.name), [c.name for c in constraint.columns]
                    )
                elif isinstance(constraint, sa.ForeignKeyConstraint):
                    target = constraint.elements[0].column.table.name
                    batch.create_foreign_key(
                        str(constraint.name),
                        target,
                        list(constraint.column_keys),
                        ["id"],
                        ondelete=constraint.ondelete,
                    )
    want = _md_table(new, new_obj, plan.conditions)
    for change in changes:
        if change.kind == ALTER_FIELD and change.converted:
            _write_converted(conn, want, str(change.field), change.converted)
    for index in diff.add_indexes:
        conn.execute(sa.schema.CreateIndex(index))
    return archives


def _needs_retype(change: Change) -> bool:
    old, new = change.old, change.new
    assert old is not None and new is not None
    if old.storage != new.storage:
        return True
    return old.storage == "decimal" and old.decimal_shape != new.decimal_shape


def _write_converted(
    conn: Connection, table: sa.Table, column: str, values: list[tuple[Any, Any]]
) -> None:
    stmt = (
        sa.update(table)
        .where(table.c.id == sa.bindparam("_id"))
        .values({column: sa.bindparam("_value", type_=table.c[column].type)})
    )
    batch_size = 1000
    for start in range(0, len(values), batch_size):
        chunk = values[start : start + batch_size]
        conn.execute(stmt, [{"_id": rid, "_value": value} for rid, value in chunk])
