"""What a dashboard widget declares, read the same way by validation and by the runtime.

A widget counts or adds up the records of one object (``measure``: ``COUNT()``,
``COUNT(x)``, ``SUM(x)``, ``AVERAGE(x)``, ``MIN(x)``, ``MAX(x)``), grouped by 0, 1 or 2
formulas (``group_by``) according to its ``type``; a ``table`` lists ``columns`` instead,
grouped when one of them is a measure. ``aggregate_only`` (on the widget, or on the
dashboard for all its widgets) computes over every row of the object and suppresses the
groups smaller than ``min_group_size``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MEASURES = ("COUNT", "SUM", "AVERAGE", "MIN", "MAX")
DEFAULT_MEASURE = "COUNT()"
DEFAULT_MIN_GROUP = 5
# how many group_by formulas each widget type takes (a table takes none: its columns)
GROUPS = {
    "number": 0,
    "bar": 1,
    "line": 1,
    "pie": 1,
    "stacked_bar": 2,
    "matrix": 2,
    "table": 0,
}
CHART_SORTS = ("key", "-key", "value", "-value")
_MEASURE = re.compile(r"^\s*([A-Za-z]+)\s*\((.*)\)\s*$", re.DOTALL)


@dataclass(frozen=True)
class Measure:
    """``func`` (one of ``MEASURES``) of the formula ``arg`` (None: rows, for ``COUNT()``)."""

    func: str
    arg: str | None
    offset: int  # where ``arg`` starts in the measure text (for error positions)

    @property
    def numeric(self) -> bool:
        """SUM and AVERAGE need numbers; MIN and MAX take numbers or dates."""
        return self.func in ("SUM", "AVERAGE")


def parse_measure(text: str) -> Measure | None:
    """The measure ``text`` names, or None when it is not ``FUNC(…)`` of a known FUNC."""
    found = _MEASURE.match(text)
    if found is None or found.group(1).upper() not in MEASURES:
        return None
    func = found.group(1).upper()
    arg = found.group(2).strip() or None
    if arg is None and func != "COUNT":
        return None
    return Measure(func, arg, found.start(2) + (len(found.group(2)) - len(found.group(2).lstrip())))


def is_measure(text: str) -> bool:
    return parse_measure(text) is not None


def sort_key(text: str) -> tuple[str, bool]:
    """A sort (``-x`` descending) as the column or key it names and whether descending."""
    text = text.strip()
    return (text[1:].strip(), True) if text.startswith("-") else (text, False)


@dataclass(frozen=True)
class WidgetSpec:
    """One widget with the dashboard's defaults applied."""

    index: int
    raw: Mapping[str, Any]
    aggregate_only: bool
    min_group_size: int

    @property
    def type(self) -> str:
        return str(self.raw.get("type"))

    @property
    def name(self) -> str | None:
        value = self.raw.get("name")
        return str(value) if value else None

    @property
    def measure_text(self) -> str:
        return str(self.raw.get("measure") or DEFAULT_MEASURE)

    @property
    def group_by(self) -> list[str]:
        return [str(g) for g in self.raw.get("group_by") or []]

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.raw.get("columns") or []]

    @property
    def grouped_table(self) -> bool:
        return any(is_measure(c) for c in self.columns)


def widgets_of(board: Mapping[str, Any]) -> list[WidgetSpec]:
    board_only = bool(board.get("aggregate_only"))
    board_min = board.get("min_group_size")
    out = []
    for j, raw in enumerate(board.get("widgets") or []):
        if not isinstance(raw, Mapping):
            continue
        only = raw.get("aggregate_only", board_only)
        size = raw.get("min_group_size", board_min)
        out.append(
            WidgetSpec(
                j,
                raw,
                bool(only),
                int(size) if isinstance(size, int) else DEFAULT_MIN_GROUP,
            )
        )
    return out
