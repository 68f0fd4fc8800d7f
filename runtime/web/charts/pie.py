"""Pie charts: one slice per group with a positive value
(``{"groups": [{"key", "label", "value"}]}``), clockwise from twelve o'clock in the
answer's order, and a legend naming every group with its value and share of the total.

A single slice is a whole circle. Groups that are zero, negative, blank or suppressed get
no slice; the legend still lists them ("—" for a suppressed one). A pie whose groups are
all zero or blank is "No data".
"""

from __future__ import annotations

import math
from decimal import Decimal

from markupsafe import Markup

from runtime.web.charts.bars import group_points
from runtime.web.charts.common import (
    MUTED,
    PALETTE,
    Chart,
    Point,
    clip,
    esc,
    fmt,
    mark,
    notice,
    num,
    percent,
    summary,
    svg,
    tag,
    text_width,
    title,
)

RADIUS = 100.0
CENTRE = 110.0
LEGEND_X = 2 * CENTRE + 16
ROW = 20.0


def _at(degrees: float) -> tuple[float, float]:
    """The point of the circle at ``degrees`` clockwise from twelve o'clock."""
    angle = math.radians(degrees - 90)
    return CENTRE + RADIUS * math.cos(angle), CENTRE + RADIUS * math.sin(angle)


def _slice(colour: int, start: float, end: float) -> str:
    cls, fill = f"slice c{colour % 8}", PALETTE[colour % 8]
    if end - start >= 360 - 1e-9:
        whole = {"class": cls, "cx": num(CENTRE), "cy": num(CENTRE), "r": num(RADIUS)}
        return tag("circle", {**whole, "fill": fill})
    (x0, y0), (x1, y1) = _at(start), _at(end)
    large = 1 if end - start > 180 else 0
    path = (
        f"M{num(CENTRE)},{num(CENTRE)} L{num(x0)},{num(y0)} "
        f"A{num(RADIUS)},{num(RADIUS)} 0 {large} 1 {num(x1)},{num(y1)} Z"
    )
    return tag("path", {"class": cls, "d": path, "fill": fill, "stroke": "#ffffff"})


def _colours(count: int) -> list[int]:
    """Palette indexes for ``count`` slices; the last never repeats the first's colour."""
    out = [i % len(PALETTE) for i in range(count)]
    if count > 2 and out[-1] == out[0]:
        out[-1] = next(c for c in range(len(PALETTE)) if c not in (out[0], out[-2]))
    return out


def _entry(chart: Chart, p: Point, total: Decimal) -> str:
    if p.value is not None and p.value >= 0 and total > 0:
        return f"{p.label}: {fmt(p.value)} ({percent(p.value, total)})"
    return f"{p.label}: {p.shown(chart)}"


def pie(chart: Chart) -> Markup:
    points = group_points(chart)
    drawn = [p.value for p in points if p.value is not None and p.value > 0]
    if not drawn and not any(p.suppressed for p in points):
        return notice("empty", chart.text("no_data"))
    total = sum(drawn, Decimal(0))
    colours = iter(_colours(len(drawn)))
    slices: list[str] = []
    rows: list[tuple[int | None, str]] = []
    done = Decimal(0)
    for p in points:
        text = _entry(chart, p, total)
        colour = None
        if p.value is not None and p.value > 0:
            colour = next(colours)
            start = float(done / total) * 360
            done += p.value
            end = float(done / total) * 360
            slices.append(mark("mark", text, _slice(colour, start, end), chart.href(p.keys)))
        rows.append((colour, text))
    if not drawn:
        circle = {"class": "slice empty", "cx": num(CENTRE), "cy": num(CENTRE), "r": num(RADIUS)}
        slices.append(tag("circle", {**circle, "fill": MUTED}))
    legend_rows = []
    widest = 0.0
    for k, (colour, text) in enumerate(rows):
        y = 16 + k * ROW
        shown = clip(text, 300)
        widest = max(widest, text_width(shown))
        swatch = ""
        if colour is not None:
            at = {"x": num(LEGEND_X), "y": num(y - 10), "width": 12, "height": 12}
            swatch = tag("rect", {"class": f"swatch c{colour}", **at, "fill": PALETTE[colour]})
        words = tag("text", {"x": num(LEGEND_X + 18), "y": num(y)}, esc(shown))
        legend_rows.append(tag("g", {"class": "legend-item"}, title(text) + swatch + words))
    width = LEGEND_X + 18 + widest + 16
    height = max(2 * CENTRE, 16 + len(rows) * ROW)
    body = tag("g", {"class": "slices"}, "".join(slices))
    body += tag("g", {"class": "legend"}, "".join(legend_rows))
    return svg("pie", width, height, summary(chart, [t for _, t in rows]), body)
