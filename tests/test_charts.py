"""Dashboard widgets drawn as SVG and HTML (runtime.web.charts): the geometry of bars,
stacks, slices and the 9-box grid, escaping, suppression, links, number formatting, and
the empty and error notices. The markup is parsed with ElementTree, so each test also
checks that it is well-formed."""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from decimal import Decimal
from typing import Any

import pytest

from runtime.web.charts import render_widget
from runtime.web.charts.axes import PLOT_HEIGHT, TOP
from runtime.web.charts.common import fmt
from runtime.web.charts.pie import CENTRE, RADIUS
from tests.staff_api import Api
from tests.test_dashboards import BAND, DASHBOARDS, api, board

__all__ = ["api"]  # the fixture of tests/test_dashboards.py: the staff app with dashboards

NS = "{http://www.w3.org/2000/svg}"
EVIL = ["<script>alert(1)</script>", '" onmouseover="x', "a & b ' c"]


def parse(markup: Any) -> ET.Element:
    return ET.fromstring(str(markup))


def svg_of(widget: dict[str, Any], **kw: Any) -> ET.Element:
    root = parse(render_widget(widget, **kw))
    assert root.tag == f"{NS}svg", root.tag
    assert root.get("role") == "img" and root.get("width") == "100%"
    assert re.fullmatch(r"0 0 [\d.]+ [\d.]+", root.get("viewBox") or "")
    return root


def having(root: ET.Element, tag: str, cls: str) -> list[ET.Element]:
    return [e for e in root.iter(f"{NS}{tag}") if cls in (e.get("class") or "").split()]


def texts(root: ET.Element) -> list[str]:
    return ["".join(e.itertext()) for e in root.iter()]


def bars(groups: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "bar", "title": "By department", "data": {"groups": groups}, **extra}


def two_keys(kind: str, rows: list[Any], columns: list[Any], cells: list[Any], **extra: Any):
    data = {
        "rows": [{"key": k, "label": f"r{k}"} for k in rows],
        "columns": [{"key": k, "label": f"c{k}"} for k in columns],
        "cells": [{"row": r, "column": c, **v} for r, c, v in cells],
    }
    return {"type": kind, "title": "Grid", "data": data, **extra}


# -- bars -------------------------------------------------------------------------------


def test_bar_heights_are_proportional_and_the_largest_fills_the_plot() -> None:
    values = [3, "135000.00", Decimal("60000.5"), 0]
    groups = [{"key": i, "label": f"D{i}", "value": v} for i, v in enumerate(values)]
    root = svg_of(bars(groups))
    rects = having(root, "rect", "bar")
    heights = [float(r.get("height") or "nan") for r in rects]
    assert len(heights) == 4
    assert heights[1] == pytest.approx(PLOT_HEIGHT)
    assert float(rects[1].get("y") or "nan") == pytest.approx(TOP)
    for h, v in zip(heights, [3, 135000, 60000.5, 0], strict=True):
        assert h == pytest.approx(PLOT_HEIGHT * v / 135000, abs=0.01)
    # the bars share one baseline, in the answer's order from left to right
    bottoms = {round(float(r.get("y") or 0) + h, 2) for r, h in zip(rects, heights, strict=True)}
    assert bottoms == {TOP + PLOT_HEIGHT}
    xs = [float(r.get("x") or "nan") for r in rects]
    assert xs == sorted(xs)
    shown = texts(root)
    assert "135,000.00" in shown and "60,000.5" in shown
    ticks = ["".join(t.itertext()) for t in having(root, "text", "tick")]
    assert ticks == ["0", "50,000", "100,000"]


def test_negative_bars_hang_below_the_zero_line() -> None:
    groups = [{"key": "a", "label": "A", "value": "-5.00"}, {"key": "b", "label": "B", "value": 15}]
    root = svg_of(bars(groups))
    low, high = having(root, "rect", "bar")
    zero = float(having(root, "line", "axis")[0].get("y1") or "nan")
    assert float(low.get("y") or "nan") == pytest.approx(zero)  # starts at zero, goes down
    assert float(low.get("height") or 0) * 3 == pytest.approx(float(high.get("height") or 0))
    assert float(low.get("height") or 0) + float(high.get("height") or 0) == pytest.approx(200)


def test_stacked_segments_sum_to_their_bar() -> None:
    cells = [
        (1, "S", {"value": 3}),
        (1, "A", {"value": "5.50"}),
        (1, "B", {"value": 9}),
        (2, "B", {"value": 4}),
        (2, "A", {"value": 2}),
    ]
    root = svg_of(two_keys("stacked_bar", [1, 2], ["S", "A", "B"], cells))
    stacks = having(root, "g", "stack")
    assert len(stacks) == 2
    totals = []
    for stack in stacks:
        segments = having(stack, "rect", "segment")
        heights = [float(s.get("height") or "nan") for s in segments]
        totals.append(sum(heights))
        # stacked without gaps: each segment starts where the one below it ends
        tops = [float(s.get("y") or "nan") for s in segments]
        for k in range(1, len(segments)):
            assert tops[k] + heights[k] == pytest.approx(tops[k - 1], abs=0.02)
    assert totals[0] == pytest.approx(PLOT_HEIGHT, abs=0.02)  # 17.5, the tallest
    assert totals[1] == pytest.approx(float(PLOT_HEIGHT * 6 / 17.5), abs=0.02)
    first = having(stacks[0], "rect", "segment")
    assert [s.get("class") for s in first] == ["segment c0", "segment c1", "segment c2"]
    second = having(stacks[1], "rect", "segment")  # column order: A (c1) under B (c2)
    assert [s.get("class") for s in second] == ["segment c1", "segment c2"]
    totals_shown = ["".join(t.itertext()) for t in having(root, "text", "total")]
    assert totals_shown == ["17.50", "6"]
    legend = ["".join(t.itertext()) for t in having(root, "g", "legend-item")]
    assert legend == ["cScS", "cAcA", "cBcB"]  # the title, then the visible text


# -- pie --------------------------------------------------------------------------------


def _angle(x: float, y: float) -> float:
    return math.degrees(math.atan2(y - CENTRE, x - CENTRE)) % 360


def _sweep(d: str) -> float:
    numbers = [float(n) for n in re.findall(r"-?[\d.]+", d)]
    # M cx,cy L x0,y0 A r,r 0 large 1 x1,y1 Z
    x0, y0, large, x1, y1 = numbers[2], numbers[3], numbers[7], numbers[9], numbers[10]
    sweep = (_angle(x1, y1) - _angle(x0, y0)) % 360
    assert (sweep > 180) == (large == 1)
    return sweep


def test_pie_slices_sum_to_a_full_turn_in_proportion() -> None:
    values = [6, 2, "1.00", 0, None]
    groups = [{"key": i, "label": f"G{i}", "value": v} for i, v in enumerate(values)]
    root = svg_of({"type": "pie", "title": "Parents", "data": {"groups": groups}})
    paths = having(root, "path", "slice")
    sweeps = [_sweep(p.get("d") or "") for p in paths]
    assert len(sweeps) == 3  # zero and blank get no slice
    assert sum(sweeps) == pytest.approx(360, abs=0.05)
    assert sweeps == pytest.approx([240, 80, 40], abs=0.05)
    legend = texts(root)
    assert "G0: 6 (66.7%)" in legend and "G2: 1.00 (11.1%)" in legend
    assert "G3: 0 (0%)" in legend and "G4: (blank)" in legend


def test_a_single_slice_is_a_whole_circle() -> None:
    groups = [{"key": "a", "label": "All", "value": "272000.50"}, {"key": "b", "value": 0}]
    root = svg_of({"type": "pie", "data": {"groups": groups}})
    assert having(root, "path", "slice") == []
    (circle,) = having(root, "circle", "slice")
    assert float(circle.get("r") or 0) == RADIUS
    assert "All: 272,000.50 (100%)" in texts(root)


# -- matrix -----------------------------------------------------------------------------


NINE_BOX = {
    "type": "matrix",
    "title": "9-box",
    "group_by": ["final_potential", "performance_band"],
    "data": {
        "rows": [{"key": k, "label": f"P{k}"} for k in (1, 2, 3)],
        "columns": [{"key": k, "label": f"R{k}"} for k in (1, 2, 3)],
        "cells": [
            {"row": 3, "column": 3, "value": 1},
            {"row": 1, "column": 2, "value": 4},
            {"row": 3, "column": 1, "value": 2},
            {"row": 2, "column": 2, "value": 8},
        ],
    },
}


def _grid(root: ET.Element) -> list[list[tuple[str, str]]]:
    """The cells top to bottom, left to right: (their text, their rect's class)."""
    found = []
    for g in having(root, "g", "mark"):
        rect = g.find(f"{NS}rect")
        text = g.find(f"{NS}text")
        assert rect is not None and text is not None
        x, y = float(rect.get("x") or "nan"), float(rect.get("y") or "nan")
        found.append((y, x, "".join(text.itertext()), rect.get("class") or ""))
    found.sort()
    ys = sorted({f[0] for f in found})
    return [[(t, c) for y, _, t, c in found if y == row] for row in ys]


def test_the_nine_box_puts_high_potential_on_top_and_high_performance_right() -> None:
    calls: list[dict[str, Any]] = []

    def link(filters: Any) -> str:
        calls.append(dict(filters))
        return f"/list?p={filters['final_potential']}&r={filters['performance_band']}"

    root = svg_of(NINE_BOX, link=link)
    grid = _grid(root)
    assert [[t for t, _ in row] for row in grid] == [
        ["2", "0", "1"],  # potential 3
        ["0", "8", "0"],  # potential 2
        ["0", "4", "0"],  # potential 1
    ]
    assert grid[1][1][1] == "cell h5"  # the largest count: the darkest shade
    assert grid[0][0][1] == "cell h2" and grid[0][2][1] == "cell h1"
    assert grid[0][1][1] == "cell empty h0"
    labels = ["".join(t.itertext()) for t in having(root, "text", "label")]
    assert labels == ["P3", "P2", "P1", "R1", "R2", "R3"]  # rows top down, then columns
    hrefs = sorted(a.get("href") or "" for a in root.iter(f"{NS}a"))
    assert hrefs == ["/list?p=1&r=2", "/list?p=2&r=2", "/list?p=3&r=1", "/list?p=3&r=3"]
    assert {"final_potential": 3, "performance_band": 1} in calls and len(calls) == 4
    tips = ["".join(t.itertext()) for t in root.iter(f"{NS}title")]
    assert "P3 × R1: 2" in tips


def test_an_average_matrix_leaves_combinations_without_records_blank() -> None:
    widget = {**NINE_BOX, "measure": "AVERAGE(score)"}
    grid = _grid(svg_of(widget))
    assert [t for t, _ in grid[1]] == ["", "8", ""]


# -- escaping, suppression, links --------------------------------------------------------


def _no_injection(root: ET.Element) -> None:
    for element in root.iter():
        assert element.tag.split("}")[-1] not in ("script", "foreignObject", "iframe")
        for name in element.attrib:
            assert not name.lower().startswith("on"), name
            assert name != "style"


@pytest.mark.parametrize("kind", ["bar", "line", "pie"])
def test_labels_and_titles_are_escaped_in_every_chart(kind: str) -> None:
    groups = [{"key": k, "label": k, "value": i + 1} for i, k in enumerate(EVIL)]
    widget = {"type": kind, "title": EVIL[1], "data": {"groups": groups}}
    markup = str(render_widget(widget))
    assert "<script" not in markup and '" onmouseover' not in markup
    root = svg_of(widget)
    _no_injection(root)
    shown = " ".join(texts(root))
    for label in EVIL:
        assert label in shown  # escaped in the markup, itself again once parsed
    assert root.get("aria-label", "").startswith(EVIL[1])


def test_matrix_stacked_table_number_and_error_escape_too() -> None:
    axes = two_keys("matrix", [EVIL[0]], [EVIL[1]], [(EVIL[0], EVIL[1], {"value": 1})])
    for widget in (axes, {**axes, "type": "stacked_bar"}):
        root = svg_of(widget)
        _no_injection(root)
        assert f"r{EVIL[0]}" in " ".join(texts(root))
    table = {
        "type": "table",
        "title": EVIL[1],
        "data": {"columns": [EVIL[0]], "rows": [{"id": 1, "cells": {EVIL[0]: EVIL[1]}}]},
    }
    number = {"type": "number", "title": EVIL[0], "data": {"value": 1}}
    error = {"type": "bar", "error": {"code": "X", "message": EVIL[0]}}
    for widget in (table, number, error):
        markup = str(render_widget(widget))
        assert "<script" not in markup and '" onmouseover' not in markup
        root = parse(markup)
        _no_injection(root)
        assert EVIL[0] in " ".join(texts(root)) or EVIL[0] in root.get("aria-label", "")


def test_control_characters_are_dropped_so_the_svg_still_parses() -> None:
    groups = [{"key": 1, "label": "bad\x00\x1b[0m", "value": 1}]
    root = svg_of(bars(groups))
    assert "bad[0m" in " ".join(texts(root))


def test_suppressed_groups_never_show_a_value() -> None:
    # a value next to "suppressed" never comes from the API; here it proves it is ignored
    hidden = {"suppressed": True, "value": 987654}
    one = [{"key": 1, "label": "Eng", "value": 3}, {"key": 2, "label": "Hr", **hidden}]
    cells = [(1, 1, {"value": 3}), (1, 2, hidden), (2, 1, hidden)]
    widgets = [
        bars(one, group_by=["department"]),
        {"type": "line", "group_by": ["department"], "data": {"groups": one}},
        {"type": "pie", "group_by": ["department"], "data": {"groups": one}},
        two_keys("matrix", [1, 2], [1, 2], cells, group_by=["a", "b"]),
        two_keys("stacked_bar", [1, 2], [1, 2], cells, group_by=["a", "b"]),
        {"type": "number", "data": hidden},
        {
            "type": "table",
            "data": {
                "columns": ["department", "COUNT()"],
                "rows": [{"cells": {"department": {"key": 2, "label": "Hr"}}, **hidden}],
            },
        },
    ]
    linked: list[Any] = []
    for widget in widgets:
        markup = str(render_widget(widget, link=lambda f: linked.append(f) or "/x"))
        parse(markup)
        assert "987" not in markup, widget["type"]
        assert "—" in markup, widget["type"]
    # only the shown groups are linked; the suppressed number links nowhere
    assert all(f in ({"department": 1}, {"a": 1, "b": 1}) for f in linked), linked
    assert {"department": 1} in linked and {"a": 1, "b": 1} in linked


def test_links_come_from_the_callback_with_the_groups_filters() -> None:
    seen: list[dict[str, Any]] = []

    def link(filters: Any) -> str | None:
        seen.append(dict(filters))
        return None if filters["department"] is None else f"/d/{filters['department']}?a=1&b=2"

    groups = [{"key": 7, "label": "R&D", "value": 3}, {"key": None, "label": None, "value": 1}]
    root = svg_of(bars(groups, group_by=["department"]), link=link)
    assert seen == [{"department": 7}, {"department": None}]
    (anchor,) = root.iter(f"{NS}a")
    assert anchor.get("href") == "/d/7?a=1&b=2"
    assert having(anchor, "rect", "bar")  # the bar is inside its link
    title = anchor.find(f"{NS}g/{NS}title")
    assert title is not None and title.text == "R&D: 3"
    assert "(blank)" in texts(root)
    # without the widget's group_by there are no field names: no links
    seen.clear()
    plain = svg_of(bars(groups), link=link)
    assert seen == [] and list(plain.iter(f"{NS}a")) == []


def test_only_relative_and_http_links_are_kept() -> None:
    groups = [{"key": k, "label": str(k), "value": 1} for k in range(4)]
    urls = ["javascript:alert(1)", " JavaScript:alert(1)", "https://x.test/a", "/records"]
    root = svg_of(bars(groups, group_by=["k"]), link=lambda f: urls[f["k"]])
    assert [a.get("href") for a in root.iter(f"{NS}a")] == ["https://x.test/a", "/records"]


def test_the_labels_callback_names_group_keys() -> None:
    calls = []

    def labels(field: str, key: Any) -> str:
        calls.append((field, key))
        return {"S": "Outstanding"}.get(key, f"#{key}")

    groups = [{"key": "S", "label": "S", "value": 1}, {"key": "B", "label": "B", "value": 2}]
    root = svg_of(bars(groups, group_by=["final_rating"]), labels=labels)
    assert calls == [("final_rating", "S"), ("final_rating", "B")]
    labels_shown = ["".join(t.itertext()) for t in having(root, "text", "label")]
    assert labels_shown == ["Outstanding", "#B"]
    default = svg_of(bars([{"key": 7, "label": "Eng", "value": 1}, {"key": 8, "value": 1}]))
    assert ["".join(t.itertext()) for t in having(default, "text", "label")] == ["Eng", "8"]


# -- numbers ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("272000.50", "272,000.50"),
        ("45000.0000", "45,000.00"),
        ("0.125", "0.13"),
        ("-1234567.5", "-1,234,567.5"),
        ("3.60", "3.60"),
        ("0.00", "0.00"),
        ("-0.001", "0.00"),
        ("1E+3", "1,000"),
    ],
)
def test_decimals_keep_their_places_up_to_two(value: str, shown: str) -> None:
    assert fmt(Decimal(value)) == shown


def test_number_cards() -> None:
    def card(data: Any, **kw: Any) -> tuple[str, ET.Element]:
        markup = str(render_widget({"type": "number", "title": "Budget", "data": data}, **kw))
        root = parse(markup)
        (value,) = [e for e in root.iter("span") if "number-value" in e.get("class", "")]
        return "".join(value.itertext()), root

    assert card({"value": 1234567})[0] == "1,234,567"
    assert card({"value": "1950000.00"})[0] == "1,950,000.00"
    assert card({"value": 0})[0] == "0"
    assert card({"value": "2024-05-01"})[0] == "2024-05-01"  # MAX of a date
    shown, root = card({"value": None})
    assert shown == "—" and root.find("./span[@class='number-value blank']") is not None
    shown, root = card({"suppressed": True})
    assert shown == "—" and "suppressed" in "".join(root.itertext())
    label = root.find("./span[@class='number-label']")
    assert label is not None and label.text == "Budget"
    _, linked = card({"value": 9}, link=lambda f: "/list" if f == {} else None)
    anchor = linked.find("a")
    assert anchor is not None and anchor.get("href") == "/list"


# -- tables -----------------------------------------------------------------------------


def test_tables_list_records_and_groups() -> None:
    records = {
        "type": "table",
        "title": "Roster",
        "column_labels": {"employee_no": "No."},
        "data": {
            "columns": ["employee_no", "department", "salary", "active"],
            "rows": [
                {
                    "id": 3,
                    "cells": {
                        "employee_no": "0042",
                        "department": {"key": 2, "label": "Eng"},
                        "salary": "45000.00",
                        "active": True,
                    },
                },
                {"id": 5, "cells": {"employee_no": "E4", "department": {"key": None}}},
            ],
        },
    }
    root = parse(render_widget(records, link=lambda f: f"/r/{f['id']}"))
    assert root.tag == "table" and root.get("aria-label") == "Roster"
    head = [th.text for th in root.iter("th")]
    assert head == ["No.", "department", "salary", "active"]
    rows = [["".join(td.itertext()) for td in tr.iter("td")] for tr in root.iter("tr")][1:]
    assert rows == [["0042", "Eng", "45,000.00", "Yes"], ["E4", "(blank)", "", ""]]
    assert [a.get("href") for a in root.iter("a")] == ["/r/3", "/r/5"]
    grouped = {
        "type": "table",
        "data": {
            "columns": ["department", "COUNT()", "AVERAGE(base_salary)"],
            "rows": [
                {
                    "cells": {
                        "department": {"key": 2, "label": "Eng"},
                        "COUNT()": 1200,
                        "AVERAGE(base_salary)": "45000.0000",
                    }
                },
                {"cells": {"department": {"key": 5, "label": "Hr"}}, "suppressed": True},
            ],
        },
    }
    seen: list[Any] = []
    root = parse(render_widget(grouped, link=lambda f: seen.append(f) or "/g"))
    rows = [["".join(td.itertext()) for td in tr.iter("td")] for tr in root.iter("tr")][1:]
    assert rows == [["Eng", "1,200", "45,000.00"], ["Hr", "—", "—"]]
    assert seen == [{"department": 2}]


# -- empty, error, unknown ----------------------------------------------------------------


@pytest.mark.parametrize(
    "widget",
    [
        {"type": "bar", "data": {"groups": []}},
        {"type": "line", "data": {"groups": []}},
        {"type": "pie", "data": {"groups": [{"key": 1, "label": "A", "value": 0}]}},
        {"type": "matrix", "data": {"rows": [{"key": 1}], "columns": [{"key": 1}], "cells": []}},
        {"type": "stacked_bar", "data": {"rows": [], "columns": [], "cells": []}},
        {"type": "table", "data": {"columns": ["name"], "rows": []}},
        {"type": "bar"},
        {"type": "number"},
    ],
)
def test_a_widget_without_data_says_so(widget: dict[str, Any]) -> None:
    root = parse(render_widget(widget))
    assert root.tag == "p" and "widget-empty" in (root.get("class") or "")
    assert root.text == "No data"
    translated = parse(render_widget(widget, texts={"no_data": "无数据"}))
    assert translated.text == "无数据"


def test_an_error_widget_shows_its_message() -> None:
    widget = {
        "type": "number",
        "error": {"code": "FIELD_NOT_READABLE", "message": "the widgets/4/measure uses <data>"},
    }
    markup = str(render_widget(widget))
    assert "&lt;data&gt;" in markup
    root = parse(markup)
    assert "widget-error" in (root.get("class") or "")
    assert "".join(root.itertext()) == "the widgets/4/measure uses <data> FIELD_NOT_READABLE"
    unknown = parse(render_widget({"type": "gauge", "data": {"value": 1}}))
    assert "widget-unsupported" in (unknown.get("class") or "")


def test_a_line_breaks_at_blank_and_suppressed_points() -> None:
    values: list[Any] = [1, 2, None, 4, 5, {"suppressed": True}, 7]
    groups = [
        {"key": i, "label": f"M{i}", **(v if isinstance(v, dict) else {"value": v})}
        for i, v in enumerate(values)
    ]
    root = svg_of({"type": "line", "data": {"groups": groups}})
    lines = having(root, "polyline", "line")
    assert [len((p.get("points") or "").split()) for p in lines] == [2, 2]  # 7 alone: no line
    assert len(having(root, "circle", "point")) == 5
    ys = [float(c.get("cy") or "nan") for c in having(root, "circle", "point")]
    assert min(ys) == pytest.approx(TOP)  # the largest value at the top of the plot


# -- the dashboard API's own answers --------------------------------------------------------


def test_every_widget_the_dashboard_api_answers_renders(api: Api) -> None:
    """The staff dashboards of tests/test_dashboards.py as the API answers them, merged with
    their definitions (for group_by), each render and parse; links carry the real keys."""
    defined = {b["name"]: b["widgets"] for b in DASHBOARDS}
    seen: list[dict[str, Any]] = []

    def link(filters: Any) -> str:
        seen.append(dict(filters))
        return "/list"

    drawn = {}
    for user, name in (("cole", "people"), ("hera", "talent"), ("hera", "pay")):
        for widget in board(api, user, name).values():
            merged = {**defined[name][widget["index"]], **widget}
            drawn[(name, widget["name"])] = parse(render_widget(merged, link=link))
    salary = drawn[("people", "salary")]
    assert "135,000.00" in texts(salary) and len(having(salary, "rect", "bar")) == 5
    assert {"department": api.staff.departments["ENG"]} in seen
    nine_box = drawn[("talent", "nine_box")]
    assert len(having(nine_box, "rect", "cell")) == 9
    assert {"potential": "high", BAND: "high"} in seen
    pay = drawn[("pay", "by_department")]
    rows = [["".join(td.itertext()) for td in tr.iter("td")] for tr in pay.iter("tr")][1:]
    assert rows[0] == ["Eng", "3", "135,000.00", "45,000.00"]
    assert rows[-1] == ["Hr", "—", "—", "—"]
    assert pay.find(".//td[@class='num suppressed']") is not None
    total = drawn[("pay", "total")].find(".//span[@class='number-value']")
    assert total is not None and total.text == "397,000.00"
    errors = [k for k, e in drawn.items() if "widget-error" in (e.get("class") or "")]
    assert errors == [("people", "budget")]  # cole may not read department budgets
    assert "cannot read" in "".join(drawn[("people", "budget")].itertext())
