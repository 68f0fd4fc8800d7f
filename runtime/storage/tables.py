"""SQLAlchemy tables built from app definitions: one table per object.

System columns come first (id, version, created/updated at/by, deleted_at for soft
delete); then one typed column per stored field. References become foreign keys with an
index; ``unique`` fields and unique constraints become named constraints; conditional
unique constraints and declared indexes become (partial) indexes. Every name is derived
from the app, object and field names, so two builds of one definition are identical.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from runtime.metadata.model import SOFT_DELETE_COLUMN, AppDef, FieldDef, ObjectDef, qualify
from runtime.metadata.workflows import STATE_COLUMN
from runtime.storage.naming import ident, table_name
from runtime.storage.types import ID_TYPE, ExactDecimal

USERS_TABLE = "tenon_users"
ON_DELETE = {"restrict": "RESTRICT", "set_null": "SET NULL", "cascade": "CASCADE"}


def column_type(field: FieldDef) -> sa.types.TypeEngine[Any]:
    kind = field.storage
    if kind == "decimal":
        return ExactDecimal(*field.decimal_shape)
    simple: dict[str | None, sa.types.TypeEngine[Any]] = {
        "text": sa.Text(),
        "integer": sa.BigInteger(),
        "boolean": sa.Boolean(create_constraint=False),
        "date": sa.Date(),
        "datetime": sa.DateTime(),
        "json": sa.JSON(),
        "reference": ID_TYPE,
        "user": ID_TYPE,
    }
    return simple[kind]


def target_table(app: str, field: FieldDef) -> str:
    if field.storage == "user":
        return USERS_TABLE
    target_app, _, target_obj = qualify(app, field.target or "").partition(".")
    return table_name(target_app, target_obj)


def _stub(md: sa.MetaData, name: str) -> None:
    """Make a foreign-key target resolvable without building the whole target table."""
    if name not in md.tables:
        sa.Table(name, md, sa.Column("id", ID_TYPE, primary_key=True))


def build_table(
    md: sa.MetaData,
    app: AppDef | str,
    obj: ObjectDef,
    condition_sql: Mapping[str, str] | None = None,
) -> sa.Table:
    """The table of ``obj`` in ``md``. ``condition_sql`` maps a conditional unique
    constraint's name to its compiled SQL condition."""
    app_name = app if isinstance(app, str) else app.name
    tname = table_name(app_name, obj.name)
    columns: list[sa.Column[object]] = [
        sa.Column("id", ID_TYPE, primary_key=True, autoincrement=True),
        sa.Column("version", sa.Integer(), nullable=False, server_default=sa.text("1")),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("created_by", ID_TYPE, nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.Column("updated_by", ID_TYPE, nullable=True),
    ]
    if obj.soft_delete:
        columns.append(sa.Column(SOFT_DELETE_COLUMN, sa.DateTime(), nullable=True))
    if obj.workflow is not None:
        columns.append(sa.Column(STATE_COLUMN, sa.String(40), nullable=True))
    extras: list[sa.schema.SchemaItem] = [
        sa.PrimaryKeyConstraint("id", name=ident("pk", tname)),
    ]
    _stub(md, USERS_TABLE)
    for audit in ("created_by", "updated_by"):
        extras.append(
            sa.ForeignKeyConstraint([audit], [f"{USERS_TABLE}.id"], name=ident("fk", tname, audit))
        )
    indexes: list[tuple[str, tuple[str, ...], bool, str | None]] = []
    for field in obj.stored_fields:
        columns.append(sa.Column(field.name, column_type(field), nullable=True))
        if field.storage in ("reference", "user"):
            target = target_table(app_name, field)
            if target != tname:
                _stub(md, target)
            extras.append(
                sa.ForeignKeyConstraint(
                    [field.name],
                    [f"{target}.id"],
                    name=ident("fk", tname, field.name),
                    ondelete=ON_DELETE[field.on_delete]
                    if field.storage == "reference"
                    else "RESTRICT",
                )
            )
            if not field.unique:
                indexes.append((ident("ix", tname, field.name), (field.name,), False, None))
        if field.unique:
            extras.append(sa.UniqueConstraint(field.name, name=ident("uq", tname, field.name)))
    for constraint in obj.constraints:
        if constraint.where is None:
            extras.append(
                sa.UniqueConstraint(*constraint.fields, name=ident("uq", tname, constraint.name))
            )
        else:
            where: str | None = (condition_sql or {}).get(constraint.name)
            if where is not None:  # a table built for reading needs no index (DDL has it)
                indexes.append(
                    (ident("uqw", tname, constraint.name), constraint.fields, True, where)
                )
    for index in obj.indexes:
        indexes.append((ident("ix", tname, index.name), index.fields, False, None))
    if obj.workflow is not None:
        indexes.append((ident("ix", tname, STATE_COLUMN), (STATE_COLUMN,), False, None))
    table = sa.Table(tname, md, *columns, *extras)
    for name, cols, unique, where in indexes:
        condition = sa.text(where) if where is not None else None
        sa.Index(
            name,
            *(table.c[c] for c in cols),
            unique=unique,
            sqlite_where=condition,
            postgresql_where=condition,
        )
    return table
