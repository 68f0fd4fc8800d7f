"""Bar and stacked bar charts.

``bar`` draws one vertical bar per group (``{"groups": [{"key", "label", "value"}]}``)
with its value above it. ``stacked_bar`` draws one bar per row of a two-key answer
(``{"rows", "columns", "cells"}``), its cells stacked in column order (negative values
below the zero line), the shown total above, and a legend of the columns. A suppressed
group or cell shows "—" and never a value; it is not linked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from runtime.web.charts.axes import Frame, category_labels, frame, scale, value_axis
from runtime.web.charts.common import (
    PALETTE,
    SUPPRESSED,
    Chart,
    Point,
    esc,
    fmt,
    legend,
    mark,
    notice,
    num,
    point,
    summary,
    svg,
    tag,
    title,
)

BAR_WIDTH = 0.66  # of the slot, at most MAX_BAR
MAX_BAR = 56.0


def group_points(chart: Chart) -> list[Point]:
    """The groups of a one-key answer, in the answer's order."""
    groups = chart.data.get("groups")
    out = []
    for entry in groups if isinstance(groups, list) else []:
        if isinstance(entry, Mapping):
            key = entry.get("key")
            out.append(point(chart, chart.label(0, key, entry.get("label")), (key,), entry))
    return out


def _bar_width(f: Frame) -> float:
    return min(MAX_BAR, f.slot * BAR_WIDTH)


def _rect(cls: str, colour: int, x: float, y0: float, y1: float, width: float) -> str:
    attrs = {
        "class": f"{cls} c{colour % 8}",
        "x": num(x - width / 2),
        "y": num(min(y0, y1)),
        "width": num(width),
        "height": num(abs(y1 - y0)),
        "fill": PALETTE[colour % 8],
    }
    return tag("rect", attrs)


def _above(cls: str, x: float, y: float, text: str, below: bool = False) -> str:
    at = {"class": cls, "x": num(x), "y": num(y + 14 if below else y - 5)}
    return tag("text", {**at, "text-anchor": "middle"}, esc(text))


def _suppressed(x: float, y: float, tooltip: str) -> str:
    return mark("suppressed", tooltip, _above("value", x, y, SUPPRESSED), None)


def bar(chart: Chart) -> Markup:
    points = group_points(chart)
    if not points:
        return notice("empty", chart.text("no_data"))
    f = frame([p.label for p in points], scale([p.value for p in points if p.value is not None]))
    zero = f.y(Decimal(0))
    marks = []
    for i, p in enumerate(points):
        x = f.x(i)
        if p.suppressed:
            marks.append(_suppressed(x, zero, p.tooltip(chart)))
        elif p.value is not None:
            y = f.y(p.value)
            body = _rect("bar", 0, x, zero, y, _bar_width(f))
            body += _above("value", x, y, fmt(p.value), below=p.value < 0)
            marks.append(mark("mark", p.tooltip(chart), body, chart.href(p.keys)))
        elif p.raw is not None:  # a date or a text (MIN/MAX of dates): no bar
            marks.append(
                mark("mark", p.tooltip(chart), _above("value", x, zero, p.shown(chart)), None)
            )
    labels = [p.label for p in points]
    body = value_axis(f) + tag("g", {"class": "bars"}, "".join(marks)) + category_labels(f, labels)
    items = [f"{p.label} {p.shown(chart)}" for p in points]
    return svg("bar", f.width, f.below + 8, summary(chart, items), body)


# -- stacked bars -------------------------------------------------------------------------


def axes_of(chart: Chart) -> tuple[list[tuple[Any, str]], list[tuple[Any, str]]]:
    """The rows and columns of a two-key answer as (key, display label)."""
    out = []
    for axis, name in enumerate(("rows", "columns")):
        entries = chart.data.get(name)
        out.append(
            [
                (e.get("key"), chart.label(axis, e.get("key"), e.get("label")))
                for e in (entries if isinstance(entries, list) else [])
                if isinstance(e, Mapping)
            ]
        )
    return out[0], out[1]


def cells_of(chart: Chart) -> dict[tuple[Any, Any], Mapping[str, Any]]:
    cells = chart.data.get("cells")
    return {
        (c.get("row"), c.get("column")): c
        for c in (cells if isinstance(cells, list) else [])
        if isinstance(c, Mapping)
    }


def _stack(
    chart: Chart, row: tuple[Any, str], columns: Sequence[tuple[Any, str]], cells: Mapping[Any, Any]
) -> tuple[list[tuple[int, Decimal, Point]], int]:
    """The drawable cells of one row (column index, value, point), and how many of its
    cells are suppressed."""
    out, hidden = [], 0
    for j, (key, label) in enumerate(columns):
        cell = cells.get((row[0], key))
        if cell is None:
            continue
        p = point(chart, f"{row[1]} · {label}", (row[0], key), cell)
        if p.suppressed:
            hidden += 1
        elif p.value is not None:
            out.append((j, p.value, p))
    return out, hidden


def stacked_bar(chart: Chart) -> Markup:
    rows, columns = axes_of(chart)
    cells = cells_of(chart)
    if not cells or not rows:
        return notice("empty", chart.text("no_data"))
    stacks = [_stack(chart, row, columns, cells) for row in rows]
    ups = [sum((v for _, v, _ in s if v > 0), Decimal(0)) for s, _ in stacks]
    downs = [sum((v for _, v, _ in s if v < 0), Decimal(0)) for s, _ in stacks]
    f = frame([label for _, label in rows], scale([*ups, *downs]))
    width = _bar_width(f)
    groups, items = [], []
    for i, ((segments, hidden), row) in enumerate(zip(stacks, rows, strict=True)):
        x, up, down = f.x(i), Decimal(0), Decimal(0)
        body = []
        for j, value, p in segments:
            if value >= 0:
                start, up = up, up + value
                end = up
            else:
                start, down = down, down + value
                end = down
            rect = _rect("segment", j, x, f.y(start), f.y(end), width)
            body.append(mark("mark", p.tooltip(chart), rect, chart.href(p.keys)))
        total = fmt(up + down)
        shown = f"{total} +{SUPPRESSED}" if hidden else total
        note = f" ({hidden} {chart.text('suppressed')})" if hidden else ""
        top = _above("total", x, f.y(up), shown)
        body.append(tag("g", {"class": "stack-total"}, title(f"{row[1]}: {total}{note}") + top))
        groups.append(tag("g", {"class": "stack"}, "".join(body)))
        items.append(f"{row[1]} {shown}")
    chart_body = value_axis(f) + tag("g", {"class": "bars"}, "".join(groups))
    chart_body += category_labels(f, [label for _, label in rows])
    entries = [(j, label) for j, (_, label) in enumerate(columns)]
    key, height = legend(entries, f.left, f.below + 8, f.plot_width)
    label = summary(chart, items)
    return svg("stacked_bar", f.width, f.below + 8 + height + 6, label, chart_body + key)
