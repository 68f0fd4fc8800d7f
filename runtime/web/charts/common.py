"""What every dashboard chart shares: the widget being drawn with the caller's callbacks,
number formatting, escaping, and the SVG and HTML pieces.

Every text that reaches the markup goes through ``esc`` (markupsafe's escaping, after
dropping the control characters XML refuses); coordinates are numbers this package
computes. Colours are the classes ``c0``…``c7`` (series) and ``h0``…``h5`` (heat), each
with a ``fill`` attribute from the fixed palettes below, which a stylesheet's class rules
override.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup, escape

from runtime.metadata.dashboards import GROUPS

Link = Callable[[Mapping[str, Any]], str | None]
Labels = Callable[[str, Any], str]

SVG_NS = "http://www.w3.org/2000/svg"
PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#9c755f")
HEAT = ("#f3f5f8", "#d6e6f4", "#abcfe8", "#74acd6", "#3e87c0", "#1c5e9c")  # h0 … h5
INK_ON_DARK = "#ffffff"  # the text of the two darkest heat levels
MUTED = "#e5e7eb"  # a pie with nothing to draw
FONT = "system-ui, -apple-system, 'Segoe UI', sans-serif"
FONT_SIZE = 12
SUPPRESSED = "—"

TEXTS: Mapping[str, str] = {
    "no_data": "No data",
    "suppressed": "suppressed",
    "blank": "(blank)",
    "yes": "Yes",
    "no": "No",
    "unsupported": "This kind of widget cannot be shown",
    "error": "This widget could not be computed",
}

_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TWO_PLACES = Decimal("0.01")
SUMMARY_ITEMS = 24  # groups named in a chart's aria-label, then "…"


def esc(value: Any) -> str:
    """``value`` as text, escaped for an element's content or a double-quoted attribute."""
    return str(escape(_CONTROL.sub("", str(value))))


def num(x: float) -> str:
    """A coordinate: at most two decimals, no trailing zeros."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def tag(name: str, attrs: Mapping[str, Any], body: str | None = None) -> str:
    """One element; attributes whose value is None are left out, the others escaped."""
    shown = "".join(f' {k}="{esc(v)}"' for k, v in attrs.items() if v is not None)
    return f"<{name}{shown}/>" if body is None else f"<{name}{shown}>{body}</{name}>"


def title(text: str) -> str:
    return tag("title", {}, esc(text))


def mark(cls: str, tooltip: str, body: str, href: str | None) -> str:
    """A group with its tooltip, inside a link when there is one."""
    inner = tag("g", {"class": cls}, title(tooltip) + body)
    return tag("a", {"href": href}, inner) if href else inner


def safe_href(url: str | None) -> str | None:
    """The callback's URL when it is relative or http(s); anything else is no link."""
    if not url:
        return None
    try:
        scheme = urlsplit(url).scheme
    except ValueError:
        return None
    return url if scheme in ("", "http", "https") else None


# -- numbers ------------------------------------------------------------------------------


def number(value: Any) -> Decimal | None:
    """A measured value as an exact Decimal (ints, Decimals, floats and decimal strings);
    None for blanks and for values that are not numbers (dates, text, booleans)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        return value if value.is_finite() else None
    if isinstance(value, float):
        found = Decimal(repr(value))
        return found if found.is_finite() else None
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:  # pragma: no cover - the pattern admits only numbers
            return None
    return None


def fmt(value: Decimal) -> str:
    """Thousands separators; the value's own decimal places, at most two (half up)."""
    if value.as_tuple().exponent < -2:  # type: ignore[operator]
        value = value.quantize(_TWO_PLACES, rounding=ROUND_HALF_UP)
    if value == 0:
        value = abs(value)
    return format(value, ",f")


def percent(part: Decimal, whole: Decimal) -> str:
    share = (part * 100 / whole).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    if share == share.to_integral_value():
        share = share.quantize(Decimal(1))
    return f"{share}%"


# -- text size ----------------------------------------------------------------------------


def text_width(text: str, size: float = FONT_SIZE) -> float:
    """An estimate of the width ``text`` takes: wide (CJK) characters one em, others 0.6."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else size * 0.6 for c in text)


def clip(text: str, width: float, size: float = FONT_SIZE) -> str:
    """``text`` cut with "…" to fit about ``width``."""
    if text_width(text, size) <= width:
        return text
    out = ""
    for char in text:
        if text_width(out + char + "…", size) > width:
            break
        out += char
    return out + "…"


# -- the widget being drawn ---------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    """One widget (as the dashboard API answers it) and the caller's callbacks."""

    widget: Mapping[str, Any]
    data: Mapping[str, Any]
    fields: tuple[str, ...] | None  # the group_by formulas, when the widget carries them
    link_to: Link | None
    label_of: Labels | None
    texts: Mapping[str, str]

    @classmethod
    def of(
        cls,
        widget: Mapping[str, Any],
        link: Link | None,
        labels: Labels | None,
        texts: Mapping[str, str] | None,
    ) -> Chart:
        data = widget.get("data")
        group_by = widget.get("group_by")
        fields = None
        wanted = GROUPS.get(str(widget.get("type")))
        if (
            isinstance(group_by, Sequence)
            and not isinstance(group_by, str)
            and len(group_by) == wanted
            and all(isinstance(g, str) for g in group_by)
        ):
            fields = tuple(group_by)
        return cls(
            widget,
            data if isinstance(data, Mapping) else {},
            fields,
            link,
            labels,
            {**TEXTS, **(texts or {})},
        )

    @property
    def title(self) -> str:
        for key in ("title", "name", "type"):
            found = self.widget.get(key)
            if found:
                return str(found)
        return ""

    def text(self, name: str) -> str:
        return self.texts.get(name, TEXTS.get(name, name))

    def field(self, axis: int) -> str:
        return self.fields[axis] if self.fields else ""

    def label(self, axis: int, key: Any, given: Any = None) -> str:
        """A group key's display label: the ``labels`` callback's, else the answer's label,
        else the key itself; the blank key is the text ``blank``."""
        if key is None:
            return self.text("blank")
        if self.label_of is not None:
            return str(self.label_of(self.field(axis), key))
        if given is not None and given != "":
            return str(given)
        return str(key)

    def href(self, keys: Sequence[Any]) -> str | None:
        """The link of the group with ``keys`` (one per group_by); None without a ``link``
        callback or when the widget does not carry its group_by formulas."""
        if self.link_to is None or self.fields is None:
            return None
        return safe_href(self.link_to(dict(zip(self.fields, keys, strict=True))))

    def href_for(self, filters: Mapping[str, Any]) -> str | None:
        """The link for explicit ``filters`` (a number, a table row)."""
        if self.link_to is None:
            return None
        return safe_href(self.link_to(filters))

    def shown(self, value: Any) -> str:
        """Any value as text: numbers formatted, booleans yes/no, blanks empty."""
        found = number(value)
        if found is not None:
            return fmt(found)
        if value is None:
            return ""
        if isinstance(value, bool):
            return self.text("yes") if value else self.text("no")
        if isinstance(value, list | tuple):
            return ", ".join(self.shown(v) for v in value)
        return str(value)


@dataclass(frozen=True)
class Point:
    """One group's value as a chart sees it."""

    label: str
    keys: tuple[Any, ...]
    value: Decimal | None  # None: suppressed, blank or not a number
    suppressed: bool
    raw: Any

    def tooltip(self, chart: Chart) -> str:
        return f"{self.label}: {self.shown(chart)}"

    def shown(self, chart: Chart) -> str:
        if self.suppressed:
            return f"{SUPPRESSED} ({chart.text('suppressed')})"
        if self.value is not None:
            return fmt(self.value)
        return chart.shown(self.raw) or chart.text("blank")


def point(chart: Chart, label: str, keys: tuple[Any, ...], entry: Mapping[str, Any]) -> Point:
    if entry.get("suppressed"):
        return Point(label, keys, None, True, None)
    raw = entry.get("value")
    return Point(label, keys, number(raw), False, raw)


def summary(chart: Chart, items: Sequence[str]) -> str:
    """The chart's accessible name: its title and its groups."""
    named = list(items[:SUMMARY_ITEMS])
    if len(items) > SUMMARY_ITEMS:
        named.append("…")
    return f"{chart.title}: {'; '.join(named)}" if named else chart.title


def svg(kind: str, width: float, height: float, label: str, body: str) -> Markup:
    """The chart's root element: scales to its container's width."""
    attrs = {
        "xmlns": SVG_NS,
        "class": f"chart chart-{kind}",
        "viewBox": f"0 0 {num(width)} {num(height)}",
        "width": "100%",
        "role": "img",
        "aria-label": label,
        "font-family": FONT,
        "font-size": FONT_SIZE,
    }
    return Markup(tag("svg", attrs, title(label) + body))  # noqa: S704 - built escaped


def notice(kind: str, message: str, detail: str | None = None) -> Markup:
    """A small HTML notice instead of a chart (``empty``, ``error``)."""
    body = esc(message)
    if detail:
        body += " " + tag("code", {}, esc(detail))
    return Markup(tag("p", {"class": f"widget-notice widget-{kind}"}, body))  # noqa: S704


def legend(
    entries: Sequence[tuple[int, str]], x: float, y: float, width: float
) -> tuple[str, float]:
    """A wrapping row legend of (colour index, text) entries from (x, y) within ``width``;
    the markup and the height it takes."""
    if not entries:
        return "", 0.0
    out, cx, cy = [], x, y
    for colour, text in entries:
        shown = clip(text, 180)
        step = 18 + text_width(shown) + 14
        if cx > x and cx + step > x + width:
            cx, cy = x, cy + 18
        swatch = tag(
            "rect",
            {
                "class": f"swatch c{colour % 8}",
                "x": num(cx),
                "y": num(cy),
                "width": 12,
                "height": 12,
                "fill": PALETTE[colour % 8],
            },
        )
        words = tag("text", {"x": num(cx + 16), "y": num(cy + 10)}, esc(shown))
        out.append(tag("g", {"class": "legend-item"}, title(text) + swatch + words))
        cx += step
    return tag("g", {"class": "legend"}, "".join(out)), cy - y + 18
