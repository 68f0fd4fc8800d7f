"""Apply a checked change plan (``runtime.storage.plan``) as DDL.

Alembic operations do the work — ``batch_alter_table`` rebuilds tables on SQLite and
issues plain ALTERs on PostgreSQL — and values whose type changes are converted in
Python and written back, so both databases end with identical data. Everything runs in
the caller's transaction.
"""

from __future__ import annotations

import json
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
)
from runtime.metadata.model import AppDef
from runtime.storage.naming import ident, table_name
from runtime.storage.plan import SchemaPlan, TableDiff, fresh_column, object_table
from runtime.storage.tables import build_table
from runtime.storage.types import ID_TYPE


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
    cur = object_table(old, old_obj, plan.old_conditions)
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
            want = object_table(new, new_obj, plan.conditions)
            for change in changes:
                fname = str(change.field)
                if change.kind == RENAME_FIELD and fname not in retyped:
                    batch.alter_column(renamed[fname], new_column_name=fname)
                elif change.kind == DROP_FIELD:
                    batch.drop_column(fname)
                elif change.kind == ADD_FIELD:
                    batch.add_column(fresh_column(want.c[fname]))
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
    want = object_table(new, new_obj, plan.conditions)
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
    """Write checked values back: stage them in a temporary table, then one joined UPDATE
    (row-by-row UPDATEs were the whole cost of a large upgrade on PostgreSQL)."""
    if not values:
        return
    staging = sa.Table(
        "tenon_converted",
        sa.MetaData(),
        sa.Column("id", ID_TYPE, primary_key=True),
        sa.Column("value", table.c[column].type),
        prefixes=["TEMPORARY"],
    )
    staging.create(conn)
    if conn.dialect.name == "postgresql":
        _copy_rows(conn, staging, values)
    else:  # the driver's own executemany is fast on SQLite
        conn.execute(sa.insert(staging), [{"id": rid, "value": value} for rid, value in values])
    conn.execute(
        sa.update(table).values({column: staging.c.value}).where(table.c.id == staging.c.id)
    )
    staging.drop(conn)


def _copy_rows(conn: Connection, staging: sa.Table, values: list[tuple[Any, Any]]) -> None:
    """Stream rows with PostgreSQL's COPY, in the connection's own transaction."""
    is_json = isinstance(staging.c.value.type, sa.JSON)
    driver = conn.connection.driver_connection
    assert driver is not None
    with (
        driver.cursor() as cursor,
        cursor.copy(f"COPY {staging.name} (id, value) FROM STDIN") as copy,
    ):
        for rid, value in values:
            copy.write_row((rid, json.dumps(value) if is_json else value))
