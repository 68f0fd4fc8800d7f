"""The widgets that are HTML rather than SVG: the number card and the table.

``number`` answers ``{"value": v}`` (or ``{"suppressed": true}``): a card with the
formatted figure and the widget's title, the figure linked to ``link({})`` when a
``link`` callback is given.

``table`` answers ``{"columns": [...], "rows": [{"id"?, "cells": {column: value}}]}``.
A list of records links each row's first cell to ``link({"id": id})``; a grouped table
(some columns are measures) links it to ``link({column: key, …})`` over its plain
columns. Reference and select cells (``{"key", "label"}``) show their label, measures
and numbers are formatted, and a suppressed row's missing measures show "—". The header
shows the widget's ``column_labels`` (column → text) when it carries them, else the
column formulas.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from markupsafe import Markup

from runtime.metadata.dashboards import is_measure
from runtime.web.charts.common import SUPPRESSED, Chart, esc, fmt, notice, number, tag


def number_card(chart: Chart) -> Markup:
    data = chart.data
    if data.get("suppressed"):
        text, cls = SUPPRESSED, "number-value suppressed"
        figure = tag("span", {"class": cls, "title": chart.text("suppressed")}, text)
        figure += tag("span", {"class": "number-note"}, esc(chart.text("suppressed")))
    else:
        value = data.get("value")
        found = number(value)
        text = fmt(found) if found is not None else chart.shown(value)
        if not text:
            figure = tag(
                "span", {"class": "number-value blank", "title": chart.text("blank")}, SUPPRESSED
            )
        else:
            figure = tag("span", {"class": "number-value"}, esc(text))
            href = chart.href_for({})
            if href:
                figure = tag("a", {"href": href, "class": "number-link"}, figure)
    label = tag("span", {"class": "number-label"}, esc(chart.title))
    return Markup(tag("div", {"class": "widget-number"}, figure + label))  # noqa: S704


def _plain(chart: Chart, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return chart.text("yes") if value else chart.text("no")
    if isinstance(value, list | tuple):
        return ", ".join(_plain(chart, v) for v in value)
    return str(value)


def _cell(chart: Chart, column: str, value: Any) -> tuple[str, str | None, Any]:
    """A cell's text, its class and the key it filters by."""
    if isinstance(value, Mapping) and "key" in value:  # a reference or a select
        key = value.get("key")
        if key is None:
            return chart.text("blank"), "blank", None
        if chart.label_of is not None:
            return str(chart.label_of(column, key)), None, key
        label = value.get("label")
        return (str(label) if label not in (None, "") else str(key)), None, key
    found = number(value)
    # a number, a measure, or a decimal text (money): a code such as "0042" stays as it is
    if found is not None and (is_measure(column) or not isinstance(value, str) or "." in value):
        return fmt(found), "num", value
    return _plain(chart, value), None, value


def table(chart: Chart) -> Markup:
    data = chart.data
    columns = [str(c) for c in data.get("columns") or []]
    rows = [r for r in data.get("rows") or [] if isinstance(r, Mapping)]
    if not rows or not columns:
        return notice("empty", chart.text("no_data"))
    named = chart.widget.get("column_labels")
    names = named if isinstance(named, Mapping) else {}
    plain = [c for c in columns if not is_measure(c)]
    grouped = len(plain) < len(columns)
    head = "".join(
        tag("th", {"scope": "col", "class": "num" if is_measure(c) else None}, esc(names.get(c, c)))
        for c in columns
    )
    body = [_row(chart, row, columns, plain, grouped) for row in rows]
    markup = tag(
        "table",
        {"class": "widget-table", "aria-label": chart.title},
        tag("thead", {}, tag("tr", {}, head)) + tag("tbody", {}, "".join(body)),
    )
    return Markup(markup)  # noqa: S704 - built escaped


def _row(
    chart: Chart, row: Mapping[str, Any], columns: list[str], plain: list[str], grouped: bool
) -> str:
    cells = row.get("cells")
    cells = cells if isinstance(cells, Mapping) else {}
    hidden = bool(row.get("suppressed"))
    shown: list[tuple[dict[str, Any], str]] = []
    keys: dict[str, Any] = {}
    for column in columns:
        if hidden and column not in cells:
            tip = chart.text("suppressed")
            shown.append(({"class": "num suppressed", "title": tip}, SUPPRESSED))
            continue
        text, cls, key = _cell(chart, column, cells.get(column))
        keys[column] = key
        shown.append(({"class": cls}, esc(text)))
    href = None
    if grouped and not hidden:
        href = chart.href_for({c: keys.get(c) for c in plain})
    elif not grouped and row.get("id") is not None:
        href = chart.href_for({"id": row["id"]})
    if href:
        attrs, inner = shown[0]
        shown[0] = (attrs, tag("a", {"href": href}, inner))
    tds = "".join(tag("td", attrs, inner) for attrs, inner in shown)
    return tag("tr", {"class": "suppressed" if hidden else None}, tds)
