"""The queries of dashboard widgets: one grouped query per widget, inside the database.

Every formula of a widget (groups, measures, columns, filters) is compiled by the
caller's ``Guard`` (``scoped_source``): the rows are the ones the records list shows the
caller, hidden values are blank, and a formula naming a field the caller can never read
is refused (``FIELD_NOT_READABLE``), exactly as a records filter would be. An
``aggregate_only`` widget reads every row with the app's own compiler instead
(``whole_source``); the caller then sees only groups (``runtime.services.dashboards``
suppresses the small ones).

A formula reads the record's own computed fields as the row holds them — the stored
column, or (for a field that reads the clock) the value the records list shows, masked
by that field's rules — rather than repeating their formulas. Repeated, each copy of a
chain of formulas carried the caller's masks (a CASE over the read rules' scopes) at
every column it read: averaging a PIP's days remaining per department grew to a
megabyte of SQL that ran for hours on PostgreSQL.

The rows are first reduced to a subquery of per-row values (``k0``, ``k1``: group keys;
``m0``…: measured values), then grouped; the label of a reference key is read once per
group from the target, through the caller's view of it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.errors import TenonError
from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.sqlcompile import SqlCompiler
from runtime.formula.staging import localized
from runtime.formula.types import FType
from runtime.metadata.dashboards import Measure, parse_measure
from runtime.metadata.model import SOFT_DELETE_COLUMN
from runtime.security.guard import Guard, _ordered
from runtime.services.reading import Reader, formula_error
from runtime.services.values import to_json
from runtime.storage.tables import USERS_TABLE

MAX_GROUPS = 2000  # a widget with more groups answers TOO_MANY_GROUPS
_USERS = sa.table(USERS_TABLE, sa.column("id"), sa.column("username"))


def text_in(value: Any, lang: str) -> str | None:
    """An i18n text (a string or ``{"en": …, "zh": …}``) in ``lang``, else English."""
    if isinstance(value, dict):
        found = value.get(lang) or value.get("en") or next(iter(value.values()), None)
        return str(found) if found is not None else None
    return str(value) if value is not None else None


@dataclass
class Key:
    """A group key or a table column: its formula, its SQL and how a value is shown."""

    tree: ir.Expr
    sql: Any
    options: dict[str, str] | None = None  # a select: value -> label, in declared order
    target: str | None = None  # a reference: the target object
    label_field: str | None = None  # … and the field naming its records (readable)
    shown: FType | None = None  # the type of the selected value, when not the formula's

    @property
    def type(self) -> FType:
        return self.shown or self.tree.type

    def cell(self, key: Any, label: Any) -> Any:
        """A value as a widget shows it: ``{"key", "label"}`` for references and selects."""
        if self.target is not None:
            return {"key": key, "label": label}
        if self.options is not None:
            return {"key": key, "label": self.options.get(key, key)}
        return key

    def order(self, key: Any) -> tuple[Any, ...]:
        """Sort order: a select's options in declared order, blanks last."""
        if key is None:
            return (1, 0, "")
        if self.options is not None:
            names = list(self.options)
            return (0, names.index(key) if key in names else len(names), str(key))
        return (0, 0, key)


@dataclass
class MeasureSql:
    measure: Measure
    tree: ir.Expr | None  # None: COUNT() of rows
    sql: Any


@dataclass(frozen=True)
class Group:
    keys: tuple[Any, ...]
    labels: tuple[Any, ...]
    values: tuple[Any, ...]
    rows: int


@dataclass
class Source:
    """The rows a widget reads and how its formulas become SQL there."""

    reader: Reader
    qualified: str
    table: Any  # the object's table (FROM)
    row: Any  # the record as the compiler sees it (masked columns, or the table)
    compiler: SqlCompiler
    where: list[Any]
    check: Callable[[str, str, str | None], ir.Expr]  # (text, where, expect) -> tree
    readable: Callable[[str, str], bool]  # (object, field) -> may the caller read it
    lang: str = "en"
    columns: frozenset[str] = frozenset()  # computed fields the row holds as columns

    def _checked(self, text: str, where: str, expect: str | None) -> ir.Expr:
        """The formula, reading the record's own computed fields from ``row`` instead of
        repeating their formulas (``columns``)."""
        return localized(self.check(text, where, expect), self.columns)

    def narrow(self, text: str, where: str) -> None:
        tree = self._checked(text, where, "boolean")
        try:
            self.where.append(self.compiler.condition(tree, self.row))
        except FormulaError as error:
            raise formula_error(error, text, where) from None

    def key(self, text: str, where: str) -> Key:
        tree = self._checked(text, where, None)
        if not tree.type.scalar:
            message = f"{where} gives a {tree.type}, not a single value"
            raise TenonError(message, code="INVALID_FORMULA")
        try:
            sql = self.compiler.value(tree, self.row)
        except FormulaError as error:
            raise formula_error(error, text, where) from None
        key = Key(tree, sql)
        kind = tree.type
        if kind.kind == "user":  # shown by username, as the records API does
            key.sql = sa.select(_USERS.c.username).where(_USERS.c.id == sql).scalar_subquery()
            key.shown = FType("text")
        elif kind.kind == "record" and kind.target:
            key.target = kind.target
            target = self.reader.policy.object(kind.target)
            name = target.spec.get("label_field") if target is not None else None
            if isinstance(name, str) and self.readable(kind.target, name):
                key.label_field = name
        elif kind.options is not None:
            key.options = self._options(tree)
        return key

    def _options(self, tree: ir.Expr) -> dict[str, str]:
        obj, name = None, None
        if isinstance(tree, ir.Local):
            obj, name = self.reader.policy.object(self.qualified), tree.name
        elif isinstance(tree, ir.Ref):
            obj, name = self.reader.policy.object(tree.target), tree.name
        fdef = obj.by_name.get(name) if obj is not None and name else None
        out: dict[str, str] = {}
        for option in (fdef.spec.get("options") or []) if fdef is not None else []:
            if isinstance(option, dict):
                value = str(option.get("value"))
                out[value] = text_in(option.get("label"), self.lang) or value
            else:
                out[str(option)] = str(option)
        for value in tree.type.options or ():
            out.setdefault(value, value)
        return out

    def measure(self, text: str, where: str) -> MeasureSql:
        measure = parse_measure(text)
        if measure is None:
            raise TenonError(f"{where} is not a measure", code="INVALID_MEASURE")
        if measure.arg is None:
            return MeasureSql(measure, None, None)
        key = self.key(measure.arg, where)
        return MeasureSql(measure, key.tree, key.sql)

    def label(self, key: Key, column: Any) -> Any:
        """The label of the record a reference key names (NULL when not readable)."""
        if key.target is None or key.label_field is None:
            return sa.null()
        other = self.compiler.alias(key.target)
        if key.label_field not in other.c:
            return sa.null()
        return sa.select(other.c[key.label_field]).where(other.c.id == column).scalar_subquery()

    # -- queries ------------------------------------------------------------------------

    def groups(
        self, conn: Connection, keys: Sequence[Key], measures: Sequence[MeasureSql]
    ) -> list[Group]:
        """One ``Group`` per distinct combination of ``keys`` (one in all without keys)."""
        inner_cols = [k.sql.label(f"k{i}") for i, k in enumerate(keys)]
        inner_cols += [m.sql.label(f"m{j}") for j, m in enumerate(measures) if m.tree is not None]
        inner_cols.append(sa.literal(1).label("one"))
        inner = sa.select(*inner_cols).select_from(self.table).where(*self.where).subquery("w")
        grouped = [inner.c[f"k{i}"] for i in range(len(keys))]
        columns: list[Any] = list(grouped)
        columns += [self.label(k, inner.c[f"k{i}"]).label(f"l{i}") for i, k in enumerate(keys)]
        for j, m in enumerate(measures):
            columns += self._aggregates(m, inner.c[f"m{j}"] if m.tree is not None else None, j)
        columns.append(sa.func.count().label("n"))
        query = sa.select(*columns).select_from(inner)
        if grouped:
            query = query.group_by(*grouped)
        rows = list(conn.execute(query.limit(MAX_GROUPS + 1)).mappings())
        if len(rows) > MAX_GROUPS:
            raise TenonError(
                f"the widget has more than {MAX_GROUPS} groups; narrow it with a filter",
                code="TOO_MANY_GROUPS",
            )
        py = self.compiler.python_value
        return [
            Group(
                tuple(to_json(py(r[f"k{i}"], k.type)) for i, k in enumerate(keys)),
                tuple(to_json(r[f"l{i}"]) for i in range(len(keys))),
                tuple(self._value(m, r, j) for j, m in enumerate(measures)),
                int(r["n"]),
            )
            for r in rows
        ]

    def _aggregates(self, m: MeasureSql, value: Any, j: int) -> list[Any]:
        if m.tree is None:  # COUNT(): the rows
            return [sa.func.count().label(f"a{j}")]
        func = m.measure.func
        if func == "COUNT":
            blank = self.compiler.is_blank(value, m.tree.type)
            return [sa.func.count(sa.case((sa.not_(blank), 1))).label(f"a{j}")]
        exact = self.compiler.sqlite and m.tree.type.kind == "number"
        if func in ("MIN", "MAX"):
            name = func.lower()
            return [getattr(sa.func, f"tenon_{name}" if exact else name)(value).label(f"a{j}")]
        total = sa.func.tenon_sum(value) if exact else sa.func.sum(value)
        return [total.label(f"a{j}"), sa.func.count(value).label(f"c{j}")]

    def _value(self, m: MeasureSql, row: Any, j: int) -> Any:
        raw = row[f"a{j}"]
        if m.tree is None or m.measure.func == "COUNT":
            return int(raw or 0)
        ftype = m.tree.type
        value = self.compiler.python_value(raw, ftype)
        scale = ftype.scale if ftype.kind == "number" else 0
        func = m.measure.func
        if func == "SUM":
            return exact(value if value is not None else 0, scale)
        if func == "AVERAGE":
            count = int(row[f"c{j}"] or 0)
            if value is None or not count:
                return None
            average = Decimal(value) / count
            return to_json(average.quantize(Decimal(1).scaleb(-(scale + 2))))
        if ftype.kind == "number" and value is not None:
            return exact(value, scale)
        return to_json(value)

    def records(
        self, conn: Connection, keys: Sequence[Key], order: tuple[int, bool] | None, limit: int
    ) -> list[dict[str, Any]]:
        """Records (their ids and ``keys``' cells), in ``order`` (column, descending)."""
        inner_cols = [self.table.c.id.label("id")]
        inner_cols += [k.sql.label(f"k{i}") for i, k in enumerate(keys)]
        terms: list[Any] = []
        if order is not None:
            terms.append(_ordered(keys[order[0]].sql, order[1]))
        inner = (
            sa.select(*inner_cols)
            .select_from(self.table)
            .where(*self.where)
            .order_by(*terms, self.table.c.id)
            .limit(limit)
            .subquery("w")
        )
        columns = [inner.c.id, *[inner.c[f"k{i}"] for i in range(len(keys))]]
        columns += [self.label(k, inner.c[f"k{i}"]).label(f"l{i}") for i, k in enumerate(keys)]
        outer: list[Any] = []
        if order is not None:
            outer.append(_ordered(inner.c[f"k{order[0]}"], order[1]))
        query = sa.select(*columns).order_by(*outer, inner.c.id)
        py = self.compiler.python_value
        out = []
        for r in conn.execute(query).mappings():
            cells = {}
            for i, k in enumerate(keys):
                cells[i] = k.cell(to_json(py(r[f"k{i}"], k.type)), to_json(r[f"l{i}"]))
            out.append({"id": int(r["id"]), "cells": cells})
        return out


def exact(value: Any, scale: int) -> Any:
    """A sum, minimum or maximum: an integer, or an exact decimal string at ``scale``."""
    if isinstance(value, int) and not scale:
        return value
    number = Decimal(str(value))
    if not scale and number == number.to_integral_value():
        return int(number)
    return to_json(number.quantize(Decimal(1).scaleb(-scale)))


def scoped_source(reader: Reader, guard: Guard, qualified: str, lang: str) -> Source:
    """The rows and values of ``qualified`` the caller may read (403 when none)."""
    access = reader.access(guard, qualified, "read")
    sel = reader.select(guard, access)

    def check(text: str, where: str, expect: str | None) -> ir.Expr:
        return reader.formula(guard, text, qualified, where, expect=expect)

    def readable(obj: str, field: str) -> bool:
        return field in guard.access(obj).fields

    where = reader.base_where(guard, sel)
    return Source(
        reader,
        qualified,
        sel.table,
        sel.masked,
        guard.compiler,
        where,
        check,
        readable,
        lang,
        sel.held,
    )


def whole_source(reader: Reader, guard: Guard, qualified: str, lang: str) -> Source:
    """Every row of ``qualified`` (an aggregate_only widget), with the app's own compiler."""
    table = reader.table(qualified)
    where: list[Any] = []
    if SOFT_DELETE_COLUMN in table.c:
        where.append(table.c[SOFT_DELETE_COLUMN].is_(None))

    def check(text: str, at: str, expect: str | None) -> ir.Expr:
        try:
            return reader.policy.engine.check(text, qualified, expect=expect)
        except FormulaError as error:
            raise formula_error(error, text, at) from None

    def readable(obj: str, field: str) -> bool:
        return True

    obj = reader.object(qualified)
    held = frozenset(f.name for f in obj.fields if f.computed and f.stored)
    return Source(reader, qualified, table, table, guard.raw, where, check, readable, lang, held)
