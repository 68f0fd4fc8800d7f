"""Semantic checks of dashboards.

Structure (``check_dashboard_widgets``): each widget type takes its number of
``group_by`` formulas, a ``table`` takes ``columns``, measures are ``COUNT()``,
``SUM(x)`` …, a sort names what the widget can sort by, a ``view`` exists, and
``aggregate_only`` needs the dashboard to name its ``roles`` (else every signed-in user
would see aggregates over rows they cannot read) and refuses lists of records.
Formulas (``dashboard_formulas``): filters are conditions, groups, columns and measures
give single values, SUM and AVERAGE add numbers, MIN and MAX numbers or dates; all run
inside the database.
"""

from __future__ import annotations

from typing import Any

from runtime.metadata.dashboards import (
    CHART_SORTS,
    GROUPS,
    MEASURES,
    WidgetSpec,
    parse_measure,
    sort_key,
    widgets_of,
)
from runtime.metadata.semantic import Checker, _dicts
from runtime.suggest import suggest

_ORDERED = ("number", "date", "datetime", "blank", "any")


def check_dashboard_widgets(c: Checker) -> None:
    views = {str(v.get("name")) for _, v in _dicts(c.doc.get("views"))}
    for i, board in _dicts(c.doc.get("dashboards")):
        for widget in widgets_of(board):
            base = f"/dashboards/{i}/widgets/{widget.index}"
            _shape(c, base, widget)
            if widget.aggregate_only and not board.get("roles"):
                c.add(
                    f"/dashboards/{i}/roles",
                    "an aggregate_only widget sees every row of its object: the dashboard "
                    "must name the roles that may see it",
                    "MISSING",
                )
            if "min_group_size" in widget.raw and not widget.aggregate_only:
                c.add(
                    f"{base}/min_group_size",
                    "min_group_size applies to aggregate_only widgets only (others show "
                    "the caller's own rows)",
                    "INVALID",
                )
            view = widget.raw.get("view")
            if isinstance(view, str) and view not in views:
                c.add(
                    f"{base}/view",
                    f"names view {view!r}, which this app does not declare{suggest(view, views)}",
                    "UNRESOLVED",
                )


def _exposing(c: Checker, base: str, widget: WidgetSpec) -> None:
    """MIN and MAX answer one row's value, however large the group: not aggregate-only."""
    if not widget.aggregate_only:
        return
    texts = (
        [(f"{base}/columns/{k}", t) for k, t in enumerate(widget.columns)]
        if widget.type == "table"
        else [(f"{base}/measure", widget.measure_text)]
    )
    for path, text in texts:
        measure = parse_measure(text)
        if measure is not None and measure.func in ("MIN", "MAX"):
            message = (
                f"{measure.func} shows one row's value: an aggregate_only widget may "
                "count, sum or average"
            )
            c.add(path, message, "INVALID")


def _shape(c: Checker, base: str, widget: WidgetSpec) -> None:
    _exposing(c, base, widget)
    kind = widget.type
    wanted = GROUPS.get(kind)
    if wanted is None:
        return  # reported by the schema
    groups = len(widget.group_by)
    if kind != "table" and groups != wanted:
        c.add(
            f"{base}/group_by",
            f"a {kind} widget groups by {wanted} formula{'s' if wanted != 1 else ''}; "
            f"this one has {groups}",
            "INVALID",
        )
    if kind == "table":
        for key in ("group_by", "measure"):
            if key in widget.raw:
                c.add(
                    f"{base}/{key}",
                    f"a table has no {key}: list its columns (fields, or measures such as "
                    "SUM(amount) to group by the other columns)",
                    "INVALID",
                )
        if not widget.columns:
            c.add(base, "a table widget needs columns", "MISSING")
        if widget.aggregate_only and not widget.grouped_table:
            c.add(
                f"{base}/columns",
                "an aggregate_only table must aggregate (a column such as COUNT()): a list "
                "of records would show the rows themselves",
                "INVALID",
            )
    else:
        if "columns" in widget.raw:
            c.add(f"{base}/columns", "only a table widget has columns", "INVALID")
        measure = widget.raw.get("measure")
        if isinstance(measure, str) and parse_measure(measure) is None:
            c.add(
                f"{base}/measure",
                f"{measure!r} is not a measure: write COUNT() or one of "
                f"{', '.join(f'{m}(field)' for m in MEASURES)}",
                "INVALID",
            )
    if wanted != 1 and kind != "table":
        for key in ("sort", "limit"):
            if key in widget.raw:
                message = f"a {kind} widget has no {key} (bar, line, pie and table do)"
                c.add(f"{base}/{key}", message, "INVALID")
        return
    sort = widget.raw.get("sort")
    if isinstance(sort, str):
        if kind == "table":
            name, _ = sort_key(sort)
            if name not in widget.columns:
                c.add(
                    f"{base}/sort",
                    f"sorts by {name!r}, which is not one of the columns"
                    f"{suggest(name, set(widget.columns))}",
                    "UNRESOLVED",
                )
        elif sort.strip() not in CHART_SORTS:
            c.add(f"{base}/sort", f"a chart sorts by {', '.join(CHART_SORTS)}", "INVALID")


def dashboard_formulas(f: Any) -> None:
    """Type-check the formulas of every widget (``f`` is the definition's formula checker)."""
    for i, board in _dicts(f.c.doc.get("dashboards")):
        for widget in widgets_of(board):
            base = f"/dashboards/{i}/widgets/{widget.index}"
            obj = f.qualified(widget.raw.get("object"))
            f.check(f"{base}/filter", widget.raw.get("filter"), obj, sql=True)
            for k, text in enumerate(widget.group_by):
                _value(f, f"{base}/group_by/{k}", text, obj)
            if widget.type == "table":
                for k, text in enumerate(widget.columns):
                    if parse_measure(text) is not None:
                        _measure(f, f"{base}/columns/{k}", text, obj)
                    else:
                        _value(f, f"{base}/columns/{k}", text, obj)
            elif isinstance(widget.raw.get("measure"), str):
                _measure(f, f"{base}/measure", widget.measure_text, obj)


def _value(f: Any, path: str, text: str, obj: str | None) -> Any:
    tree = f.check(path, text, obj, condition=False, sql=True, syntax=True)
    if tree is not None and not tree.type.scalar:
        f.c.add(path, f"gives a {tree.type}; a group or column needs a single value", "TYPE")
        return None
    return tree


def _measure(f: Any, path: str, text: str, obj: str | None) -> None:
    measure = parse_measure(text)
    if measure is None or measure.arg is None:
        return
    tree = _value(f, path, measure.arg, obj)
    if tree is None:
        return
    kind = tree.type.kind
    if measure.numeric and kind not in ("number", "blank", "any"):
        f.c.add(path, f"{measure.func} adds up numbers; {measure.arg} is a {tree.type}", "TYPE")
    elif measure.func in ("MIN", "MAX") and kind not in _ORDERED:
        f.c.add(
            path, f"{measure.func} needs numbers or dates; {measure.arg} is a {tree.type}", "TYPE"
        )
