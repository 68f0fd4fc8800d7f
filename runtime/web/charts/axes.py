"""The value axis and the category slots of bar, stacked bar and line charts.

The value axis runs from ``min(0, smallest)`` to ``max(0, largest)`` exactly, so the
largest bar fills the plot's height; its ticks are round steps (1, 2 or 5 × 10ⁿ, whole
numbers when every value is whole) inside that range.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from runtime.web.charts.common import FONT_SIZE, clip, esc, fmt, num, tag, text_width, title

PLOT_HEIGHT = 200.0
TOP = 22.0  # room for the value labels above the highest bar
RIGHT = 16.0
LABEL_WIDTH = 130.0  # a category label is cut to about this width
TILT = 40  # degrees a crowded category label is turned
TICKS = 4  # about this many steps up the value axis


@dataclass(frozen=True)
class Scale:
    lo: Decimal
    hi: Decimal
    ticks: tuple[Decimal, ...]

    def fraction(self, value: Decimal) -> float:
        return float((value - self.lo) / (self.hi - self.lo))


def scale(values: Sequence[Decimal]) -> Scale:
    """The value axis of ``values`` (sums of stacks, for a stacked bar)."""
    lo = min([Decimal(0), *values])
    hi = max([Decimal(0), *values])
    if lo == hi:
        return Scale(lo, lo + 1, (lo,))
    whole = all(v == v.to_integral_value() for v in values)
    raw = (hi - lo) / TICKS
    base = Decimal(1).scaleb(raw.adjusted())
    step = next(base * m for m in (1, 2, 5, 10) if base * m >= raw)
    step = (max(step, Decimal(1)) if whole else step).normalize()
    first = math.ceil(lo / step)
    ticks = []
    k = first
    while step * k <= hi:
        ticks.append(step * k if k else Decimal(0))
        k += 1
    return Scale(lo, hi, tuple(ticks))


@dataclass(frozen=True)
class Frame:
    """Where the plot goes: ``left``…``left + plot_width`` by ``top``…``bottom``, one slot
    per category."""

    left: float
    plot_width: float
    count: int
    label_height: float
    tilted: bool
    scale: Scale

    @property
    def top(self) -> float:
        return TOP

    @property
    def bottom(self) -> float:
        return TOP + PLOT_HEIGHT

    @property
    def slot(self) -> float:
        return self.plot_width / self.count

    @property
    def width(self) -> float:
        return self.left + self.plot_width + RIGHT

    @property
    def gap(self) -> float:
        """Room under the plot for the value labels of negative bars."""
        return FONT_SIZE + 6.0 if self.scale.lo < 0 else 0.0

    @property
    def below(self) -> float:
        """The y under the category labels."""
        return self.bottom + self.gap + self.label_height

    def x(self, i: int) -> float:
        """The centre of slot ``i``."""
        return self.left + (i + 0.5) * self.slot

    def y(self, value: Decimal) -> float:
        return self.bottom - self.scale.fraction(value) * PLOT_HEIGHT


def frame(labels: Sequence[str], values: Scale) -> Frame:
    ticks = [fmt(t) for t in values.ticks]
    left = max(36.0, max((text_width(t) for t in ticks), default=0.0) + 14)
    count = max(1, len(labels))
    plot_width = min(900.0, max(400.0, count * 64.0))
    slot = plot_width / count
    widest = max((text_width(clip(s, LABEL_WIDTH)) for s in labels), default=0.0)
    tilted = widest > slot - 6
    if tilted:
        height = widest * math.sin(math.radians(TILT)) + FONT_SIZE + 14
        left = max(left, widest * math.cos(math.radians(TILT)) - slot / 2 + 8)
    else:
        height = FONT_SIZE + 14.0
    return Frame(left, plot_width, count, height, tilted, values)


def value_axis(f: Frame) -> str:
    """Grid lines and tick labels, and the zero line."""
    out = []
    right = f.left + f.plot_width
    for tick in f.scale.ticks:
        y = num(f.y(tick))
        grid = {"class": "grid", "x1": num(f.left), "x2": num(right), "y1": y, "y2": y}
        out.append(tag("line", {**grid, "stroke": "#e5e7eb"}))
        at = {"class": "tick", "x": num(f.left - 6), "y": y, "dy": "0.32em"}
        out.append(tag("text", {**at, "text-anchor": "end", "fill": "#6b7280"}, esc(fmt(tick))))
    zero = num(f.y(Decimal(0)))
    axis = {"class": "axis", "x1": num(f.left), "x2": num(right), "y1": zero, "y2": zero}
    out.append(tag("line", {**axis, "stroke": "#9ca3af"}))
    return tag("g", {"class": "axis-values"}, "".join(out))


def category_labels(f: Frame, labels: Sequence[str]) -> str:
    """The labels under the slots, turned when they do not fit; each cut one carries its
    whole text as its tooltip."""
    out = []
    y = f.bottom + f.gap + FONT_SIZE + 6
    for i, text in enumerate(labels):
        shown = clip(text, LABEL_WIDTH if f.tilted else f.slot - 6)
        x = f.x(i)
        attrs: dict[str, object] = {"class": "label", "x": num(x), "y": num(y)}
        if f.tilted:
            attrs["text-anchor"] = "end"
            attrs["transform"] = f"rotate(-{TILT} {num(x)} {num(y)})"
        else:
            attrs["text-anchor"] = "middle"
        out.append(tag("text", attrs, (title(text) if shown != text else "") + esc(shown)))
    return tag("g", {"class": "axis-labels"}, "".join(out))
