"""The matrix (heat map, e.g. the 9-box): a rows × columns grid of cells from a two-key
answer (``{"rows", "columns", "cells"}``), each with its value and a shade by value.

The first key (rows) runs up the grid like a value axis: the answer's first row is at the
bottom and its last at the top, so a 9-box over (potential, performance), both in
ascending order, has high potential at the top and low performance at the left. The
blank row is at the bottom, the blank column at the right. A combination the answer does
not list has no records: it shows 0 for a COUNT or SUM measure (the widget's ``measure``
when it carries one, else COUNT()), nothing for the others. A suppressed cell shows "—".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from markupsafe import Markup

from runtime.metadata.dashboards import DEFAULT_MEASURE, parse_measure
from runtime.web.charts.bars import axes_of, cells_of
from runtime.web.charts.common import (
    FONT_SIZE,
    HEAT,
    INK_ON_DARK,
    SUPPRESSED,
    Chart,
    Point,
    clip,
    esc,
    fmt,
    mark,
    notice,
    num,
    point,
    summary,
    svg,
    tag,
    text_width,
    title,
)

LEVELS = len(HEAT) - 1  # h1 … h5 for values above zero, h0 for the others
CELL_HEIGHT = 48.0
ROW_LABEL = 160.0  # a row label is cut to about this width
TOP = 8.0


def _level(value: Decimal | None, most: Decimal) -> int:
    if value is None or value <= 0 or most <= 0:
        return 0
    return max(1, min(LEVELS, math.ceil(value / most * LEVELS)))


def _absent(chart: Chart) -> Decimal | None:
    """The value of a combination without records."""
    measure = parse_measure(str(chart.widget.get("measure") or DEFAULT_MEASURE))
    return Decimal(0) if measure is not None and measure.func in ("COUNT", "SUM") else None


def _ordered(entries: list[tuple[Any, str]], upward: bool) -> list[tuple[Any, str]]:
    present = [e for e in entries if e[0] is not None]
    blank = [e for e in entries if e[0] is None]
    return [*reversed(present), *blank] if upward else [*present, *blank]


@dataclass(frozen=True)
class _Box:
    """One cell of the grid as drawn."""

    kind: str
    value: Decimal | None
    text: str
    tooltip: str
    href: str | None


def _box(chart: Chart, name: str, p: Point | None, absent: Decimal | None) -> _Box:
    if p is None:
        text = fmt(absent) if absent is not None else ""
        return _Box("cell empty", absent, text, f"{name}: {text or chart.text('blank')}", None)
    if p.suppressed:
        return _Box("cell suppressed", None, SUPPRESSED, p.tooltip(chart), None)
    return _Box("cell", p.value, p.shown(chart), p.tooltip(chart), chart.href(p.keys))


def _draw(box: _Box, x: float, y: float, width: float, level: int) -> str:
    at = {"x": num(x + 1), "y": num(y + 1), "width": num(width - 2)}
    at |= {"height": num(CELL_HEIGHT - 2), "rx": "3"}
    body = tag("rect", {"class": f"{box.kind} h{level}", **at, "fill": HEAT[level]})
    ink = INK_ON_DARK if level >= LEVELS - 1 else None
    centre: dict[str, str | None] = {
        "class": "cell-value",
        "x": num(x + width / 2),
        "y": num(y + CELL_HEIGHT / 2),
    }
    centre |= {"dy": "0.32em", "text-anchor": "middle", "fill": ink}
    body += tag("text", centre, esc(box.text))
    return mark("mark", box.tooltip, body, box.href)


def matrix(chart: Chart) -> Markup:
    rows, columns = axes_of(chart)
    cells = cells_of(chart)
    if not cells or not rows or not columns:
        return notice("empty", chart.text("no_data"))
    rows, columns = _ordered(rows, upward=True), _ordered(columns, upward=False)
    points = {
        (r, c): point(chart, f"{rl} × {cl}", (r, c), cells[(r, c)])
        for r, rl in rows
        for c, cl in columns
        if (r, c) in cells
    }
    most = max((p.value for p in points.values() if p.value is not None), default=Decimal(0))
    absent = _absent(chart)
    left = min(ROW_LABEL, max(text_width(label) for _, label in rows)) + 14
    cell_width = min(160.0, max(96.0, max(text_width(label) for _, label in columns) + 16))
    out, items = [], []
    for i, (row, row_label) in enumerate(rows):
        y = TOP + i * CELL_HEIGHT
        shown = clip(row_label, ROW_LABEL)
        at = {"class": "label", "x": num(left - 8), "y": num(y + CELL_HEIGHT / 2), "dy": "0.32em"}
        tip = title(row_label) if shown != row_label else ""
        out.append(tag("text", {**at, "text-anchor": "end"}, tip + esc(shown)))
        for j, (column, column_label) in enumerate(columns):
            p = points.get((row, column))
            box = _box(chart, f"{row_label} × {column_label}", p, absent)
            if p is not None and not p.suppressed:
                items.append(f"{row_label} × {column_label} {box.text}")
            x = left + j * cell_width
            out.append(_draw(box, x, y, cell_width, _level(box.value, most)))
    bottom = TOP + len(rows) * CELL_HEIGHT
    for j, (_, column_label) in enumerate(columns):
        shown = clip(column_label, cell_width - 6)
        at = {"class": "label", "x": num(left + (j + 0.5) * cell_width), "y": num(bottom + 16)}
        tip = title(column_label) if shown != column_label else ""
        out.append(tag("text", {**at, "text-anchor": "middle"}, tip + esc(shown)))
    width = left + len(columns) * cell_width + 8
    height = bottom + 16 + FONT_SIZE
    return svg("matrix", width, height, summary(chart, items), "".join(out))
