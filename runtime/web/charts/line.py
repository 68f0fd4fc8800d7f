"""Line charts: one point per group (``{"groups": [{"key", "label", "value"}]}``), in the
answer's order, joined by a polyline. A suppressed or blank group breaks the line; a
suppressed one shows "—" on the zero line."""

from __future__ import annotations

from decimal import Decimal

from markupsafe import Markup

from runtime.web.charts.axes import category_labels, frame, scale, value_axis
from runtime.web.charts.bars import group_points
from runtime.web.charts.common import (
    PALETTE,
    SUPPRESSED,
    Chart,
    esc,
    fmt,
    mark,
    notice,
    num,
    summary,
    svg,
    tag,
)

RADIUS = 4
VALUE_LABELS = 16  # points labelled with their value when there are at most this many


def line(chart: Chart) -> Markup:
    points = group_points(chart)
    if not points:
        return notice("empty", chart.text("no_data"))
    f = frame([p.label for p in points], scale([p.value for p in points if p.value is not None]))
    zero = f.y(Decimal(0))
    runs: list[list[str]] = [[]]
    dots = []
    for i, p in enumerate(points):
        x = f.x(i)
        if p.value is None:
            if runs[-1]:
                runs.append([])
            if p.suppressed:
                at = {"class": "value", "x": num(x), "y": num(zero - 5), "text-anchor": "middle"}
                dots.append(mark("suppressed", p.tooltip(chart), tag("text", at, SUPPRESSED), None))
            continue
        y = f.y(p.value)
        runs[-1].append(f"{num(x)},{num(y)}")
        circle = {"class": "point c0", "cx": num(x), "cy": num(y), "r": RADIUS}
        body = tag("circle", {**circle, "fill": PALETTE[0]})
        if len(points) <= VALUE_LABELS:
            at = {"class": "value", "x": num(x), "y": num(y - 8), "text-anchor": "middle"}
            body += tag("text", at, esc(fmt(p.value)))
        dots.append(mark("mark", p.tooltip(chart), body, chart.href(p.keys)))
    lines = "".join(
        tag(
            "polyline",
            {
                "class": "line c0",
                "points": " ".join(run),
                "fill": "none",
                "stroke": PALETTE[0],
                "stroke-width": 2,
            },
        )
        for run in runs
        if len(run) > 1
    )
    body = value_axis(f) + lines + tag("g", {"class": "points"}, "".join(dots))
    body += category_labels(f, [p.label for p in points])
    items = [f"{p.label} {p.shown(chart)}" for p in points]
    return svg("line", f.width, f.below + 8, summary(chart, items), body)
