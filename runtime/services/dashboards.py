"""Dashboards of an app, as the caller may see them, with every widget's data.

A dashboard is visible to the roles it names (none named: every signed-in user); an
unknown or invisible dashboard is "not found". Each widget is computed on its own
(``runtime.services.widgets``): a widget the caller cannot compute — its object or a
field it names is not readable for the caller, or the optional request ``filter`` does
not fit it — answers ``{"error": …}`` while the others answer ``data``.

Each widget's queries run under a time limit (``widget_timeout_ms``, the setting
``TENON_DASHBOARD_WIDGET_TIMEOUT_MS``; ``runtime.storage.limits``): a widget that takes
longer is stopped and answers ``WIDGET_TIMEOUT`` naming it, and the others still answer.
On PostgreSQL the connection must be in a transaction (``read_snapshot``).

``aggregate_only`` widgets read every row of their object but show only groups of at
least ``min_group_size`` rows; smaller groups are reported ``"suppressed": true``
without their value. The request filter never narrows them (a filter could otherwise
single out one person by difference).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.engine import Connection

from runtime.errors import NotFound, TenonError
from runtime.formula.errors import FormulaError
from runtime.formula.parser import parse
from runtime.metadata.dashboards import GROUPS, WidgetSpec, is_measure, sort_key, widgets_of
from runtime.metadata.model import AppDef, qualify
from runtime.security.actor import AUTHENTICATED, SYSTEM_ADMIN, Actor
from runtime.services.reading import Reader, formula_error
from runtime.services.widgets import (
    Group,
    Key,
    MeasureSql,
    Source,
    exact,
    scoped_source,
    text_in,
    whole_source,
)
from runtime.storage.limits import TimeLimitExceeded, time_limited_read

DEFAULT_ROWS = 50  # records a table lists without a limit


class Dashboards:
    def __init__(self, reader: Reader, widget_timeout_ms: int | None = None) -> None:
        self.reader = reader
        self.widget_timeout_ms = widget_timeout_ms  # None: no limit

    def _app(self, app: str) -> AppDef:
        found = self.reader.apps.get(app)
        if found is None:
            raise NotFound(f"there is no app {app!r}", code="NOT_FOUND")
        return found

    def _boards(self, app: str) -> list[Mapping[str, Any]]:
        return [b for b in self._app(app).raw.get("dashboards") or [] if isinstance(b, dict)]

    def visible(self, actor: Actor, app: str, board: Mapping[str, Any]) -> bool:
        roles = board.get("roles") or [AUTHENTICATED]
        return any(actor.has_role(_qualified_role(app, str(r))) for r in roles)

    def list(self, actor: Actor, app: str, lang: str = "en") -> list[dict[str, Any]]:
        """The dashboards the caller may see: names, titles and their widgets."""
        out = []
        for board in self._boards(app):
            if not self.visible(actor, app, board):
                continue
            widgets = [
                {"index": w.index, "name": w.name, "type": w.type, "title": _title(w, lang)}
                for w in widgets_of(board)
            ]
            out.append(
                {
                    "name": board["name"],
                    "title": text_in(board.get("title"), lang),
                    "widgets": widgets,
                }
            )
        return out

    def compute(
        self,
        conn: Connection,
        actor: Actor,
        app: str,
        name: str,
        *,
        filter: str | None = None,
        lang: str = "en",
    ) -> dict[str, Any]:
        """One dashboard with every widget's ``data`` (or ``error``)."""
        board = next((b for b in self._boards(app) if b.get("name") == name), None)
        if board is None or not self.visible(actor, app, board):
            raise NotFound(f"there is no dashboard {name!r} in {app}", code="NOT_FOUND")
        if filter:
            try:
                parse(filter)
            except FormulaError as error:
                raise formula_error(error, filter, "filter") from None
        guard = self.reader.guard(conn, actor)
        widgets = [self._widget(conn, guard, app, spec, filter, lang) for spec in widgets_of(board)]
        if filter and not any(w.get("filtered") or "error" in w for w in widgets):
            raise TenonError(
                "no widget of this dashboard can be narrowed by the filter: it names "
                "fields their objects do not have (aggregate_only widgets are never "
                "filtered)",
                code="FILTER_NOT_APPLICABLE",
            )
        return {
            "name": board["name"],
            "title": text_in(board.get("title"), lang),
            "widgets": widgets,
        }

    def widget(
        self,
        conn: Connection,
        actor: Actor,
        app: str,
        raw: Mapping[str, Any],
        *,
        filter: str | None = None,
        lang: str = "en",
    ) -> dict[str, Any]:
        """One widget that no dashboard declares (a matrix view's counts), computed as
        the actor exactly like a dashboard's: row scopes in SQL, hidden fields refused."""
        (spec,) = widgets_of({"widgets": [raw]})
        return self._widget(conn, self.reader.guard(conn, actor), app, spec, filter, lang)

    def _widget(
        self,
        conn: Connection,
        guard: Any,
        app: str,
        spec: WidgetSpec,
        filter: str | None,
        lang: str,
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": spec.index,
            "name": spec.name,
            "type": spec.type,
            "title": _title(spec, lang),
            "object": qualify(app, str(spec.raw.get("object"))),
            "aggregate_only": spec.aggregate_only,
        }
        if spec.aggregate_only:
            out["min_group_size"] = spec.min_group_size
        if spec.raw.get("view"):
            out["view"] = spec.raw["view"]
        try:
            with self._limited(conn):
                compute = _Compute(self.reader, guard, conn, app, spec, lang)
                out["data"] = compute.run(filter, out)
        except TenonError as error:
            out["error"] = error.body()["error"]
        except TimeLimitExceeded:
            out["error"] = self._timed_out(spec).body()["error"]
        return out

    def _limited(self, conn: Connection) -> AbstractContextManager[None]:
        if self.widget_timeout_ms is None:
            return nullcontext()
        return time_limited_read(conn, self.widget_timeout_ms)

    def _timed_out(self, spec: WidgetSpec) -> TenonError:
        return TenonError(
            f"the widget {spec.name!r} took longer than {self.widget_timeout_ms} ms and was "
            "stopped; narrow it with a filter, or raise TENON_DASHBOARD_WIDGET_TIMEOUT_MS",
            code="WIDGET_TIMEOUT",
            status=503,
        )


def _qualified_role(app: str, role: str) -> str:
    if role in (AUTHENTICATED, SYSTEM_ADMIN) or "." in role:
        return role
    return f"{app}.{role}"


def _title(spec: WidgetSpec, lang: str) -> str | None:
    return text_in(spec.raw.get("title"), lang)


class _Compute:
    """The data of one widget."""

    def __init__(
        self,
        reader: Reader,
        guard: Any,
        conn: Connection,
        app: str,
        spec: WidgetSpec,
        lang: str,
    ) -> None:
        self.conn = conn
        self.spec = spec
        self.qualified = qualify(app, str(spec.raw.get("object")))
        self.reader = reader
        make = whole_source if spec.aggregate_only else scoped_source
        self.src: Source = make(reader, guard, self.qualified, lang)
        self.base = f"widgets/{spec.index}"

    def run(self, filter: str | None, out: dict[str, Any]) -> dict[str, Any]:
        spec, src = self.spec, self.src
        if spec.raw.get("filter"):
            src.narrow(str(spec.raw["filter"]), f"{self.base}/filter")
        if filter:
            out["filtered"] = self._narrow(filter)
        kind = spec.type
        if kind == "table":
            return self.table()
        keys = [src.key(g, f"{self.base}/group_by/{k}") for k, g in enumerate(spec.group_by)]
        if len(keys) != GROUPS.get(kind, -1):
            raise TenonError(f"a {kind} widget needs {GROUPS.get(kind)} group_by", code="INVALID")
        measure = src.measure(spec.measure_text, f"{self.base}/measure")
        groups = src.groups(self.conn, keys, [measure])
        if kind == "number":
            return self.cell(groups[0] if groups else _empty((), measure), 0)
        if len(keys) == 1:
            groups = _filled(groups, keys, measure)
            entries = [
                {"key": g.keys[0], "label": _label(keys[0], g, 0), **self.cell(g, 0)}
                for g in self._sorted(groups, keys)
            ]
            return {"groups": entries}
        return self.matrix(keys, groups)

    def _narrow(self, filter: str) -> bool:
        """Apply the request filter when the widget's object has the fields it names."""
        if self.spec.aggregate_only:
            return False
        try:
            self.reader.policy.engine.check(filter, self.qualified, expect="boolean")
        except FormulaError as error:
            if error.code == "FORMULA_NAME":
                return False
            raise formula_error(error, filter, "filter") from None
        self.src.narrow(filter, "filter")
        return True

    def cell(self, group: Group, j: int) -> dict[str, Any]:
        if self.spec.aggregate_only and group.rows < self.spec.min_group_size:
            return {"suppressed": True}
        return {"value": group.values[j]}

    def _sorted(self, groups: list[Group], keys: Sequence[Key]) -> list[Group]:
        name, desc = sort_key(str(self.spec.raw.get("sort") or "key"))
        if name == "value":
            groups = sorted(groups, key=lambda g: keys[0].order(g.keys[0]))
            groups = _by_value(groups, lambda g: None if self._hidden(g) else g.values[0], desc)
        else:
            groups = sorted(groups, key=lambda g: keys[0].order(g.keys[0]), reverse=desc)
        limit = self.spec.raw.get("limit")
        return groups[:limit] if isinstance(limit, int) else groups

    def matrix(self, keys: Sequence[Key], groups: list[Group]) -> dict[str, Any]:
        axes = []
        for i, key in enumerate(keys):
            found: dict[Any, Any] = {}
            for option in key.options or {}:
                found[option] = key.options[option] if key.options else option
            for g in groups:
                found.setdefault(g.keys[i], _label(key, g, i))
            ordered = sorted(found, key=key.order)
            axes.append([{"key": k, "label": found[k]} for k in ordered])
        cells = [
            {"row": g.keys[0], "column": g.keys[1], **self.cell(g, 0)}
            for g in sorted(groups, key=lambda g: _order(keys, g))
        ]
        return {"rows": axes[0], "columns": axes[1], "cells": cells}

    def table(self) -> dict[str, Any]:
        spec, src = self.spec, self.src
        columns = spec.columns
        where = [f"{self.base}/columns/{k}" for k in range(len(columns))]
        sort = spec.raw.get("sort")
        order = None
        if isinstance(sort, str):
            name, desc = sort_key(sort)
            if name in columns:
                order = (columns.index(name), desc)
        if not spec.grouped_table:
            keys = [src.key(c, where[k]) for k, c in enumerate(columns)]
            limit = spec.raw.get("limit")
            count = limit if isinstance(limit, int) else DEFAULT_ROWS
            rows = src.records(self.conn, keys, order, count)
            for row in rows:
                row["cells"] = {columns[i]: v for i, v in row["cells"].items()}
            return {"columns": columns, "rows": rows}
        plain = [k for k, c in enumerate(columns) if not is_measure(c)]
        measured = [k for k, c in enumerate(columns) if is_measure(c)]
        keys = [src.key(columns[k], where[k]) for k in plain]
        measures = [src.measure(columns[k], where[k]) for k in measured]
        groups = sorted(src.groups(self.conn, keys, measures), key=lambda g: _order(keys, g))
        if order is not None:
            column, desc = order
            if column in plain:
                i = plain.index(column)
                groups = sorted(groups, key=lambda g: keys[i].order(g.keys[i]), reverse=desc)
            else:
                j = measured.index(column)
                groups = _by_value(groups, lambda g: None if self._hidden(g) else g.values[j], desc)
        limit = spec.raw.get("limit")
        if isinstance(limit, int):
            groups = groups[:limit]
        rows = []
        for g in groups:
            cells = {columns[k]: keys[i].cell(g.keys[i], g.labels[i]) for i, k in enumerate(plain)}
            if self._hidden(g):
                rows.append({"cells": cells, "suppressed": True})
                continue
            cells.update({columns[k]: g.values[j] for j, k in enumerate(measured)})
            rows.append({"cells": cells})
        return {"columns": columns, "rows": rows}

    def _hidden(self, group: Group) -> bool:
        return self.spec.aggregate_only and group.rows < self.spec.min_group_size


def _order(keys: Sequence[Key], group: Group) -> tuple[Any, ...]:
    return tuple(key.order(group.keys[i]) for i, key in enumerate(keys))


def _label(key: Key, group: Group, i: int) -> Any:
    shown = key.cell(group.keys[i], group.labels[i])
    return shown["label"] if isinstance(shown, dict) else shown


def _empty(keys: tuple[Any, ...], measure: MeasureSql) -> Group:
    """The group of no rows: COUNT and SUM 0, the others blank."""
    func = measure.measure.func
    if measure.tree is None or func == "COUNT":
        value: Any = 0
    elif func == "SUM":
        value = exact(0, measure.tree.type.scale if measure.tree.type.kind == "number" else 0)
    else:
        value = None
    return Group(keys, tuple(None for _ in keys), (value,), 0)


def _filled(groups: list[Group], keys: Sequence[Key], measure: MeasureSql) -> list[Group]:
    """Every option of a select key, with or without rows (a chart shows them all)."""
    options = keys[0].options
    if options is None:
        return groups
    found = {g.keys[0] for g in groups}
    return groups + [_empty((o,), measure) for o in options if o not in found]


def _by_value(groups: list[Group], value: Any, desc: bool) -> list[Group]:
    """Sorted by a measure (blank and suppressed last either way; ties keep their order)."""
    present = [g for g in groups if value(g) is not None]
    absent = [g for g in groups if value(g) is None]
    return sorted(present, key=lambda g: _number(value(g)), reverse=desc) + absent


def _number(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return Decimal(value)
        except InvalidOperation:
            return value
    return value
