"""Dashboard widgets drawn on the server: SVG charts and small HTML cards, no JavaScript.

``render_widget`` takes one widget as ``GET /api/v1/apps/{app}/dashboards/{name}``
answers it (``type``, ``title``, ``data`` or ``error``; see docs/dashboards.md) and gives
markup to place in a template:

========================  ====================================================
type                      drawn as
========================  ====================================================
``number``                ``<div class="widget-number">``: figure and title
``bar``                   SVG bars with values and a value axis (``bars.py``)
``stacked_bar``           SVG stacked bars with totals and a legend
``line``                  SVG points joined by a polyline (``line.py``)
``pie``                   SVG slices and a legend with shares (``pie.py``)
``matrix``                SVG heat-map grid, e.g. the 9-box (``matrix.py``)
``table``                 ``<table class="widget-table">`` (``cards.py``)
========================  ====================================================

A widget with ``error`` is a notice with the error's message; one without groups, cells
or rows is a "No data" notice (``<p class="widget-notice widget-empty">``).

The answer does not carry the widget's ``group_by``: to link the bars, slices, points
and cells, pass the widget with its definition merged in (``{**definition, **answer}``),
whose ``group_by`` formulas name the fields of ``link``'s filters and ``labels``'
``field``. Without them the groups are drawn unlinked. ``measure`` (for the matrix's
empty cells) and ``column_labels`` (a table's header) are read the same way.

CSS classes a stylesheet may style. Every shape also has a default ``fill`` (or
``stroke``) attribute from a fixed palette, which a class rule overrides:

* root: ``chart`` and ``chart-<type>`` (``chart-bar``, ``chart-stacked_bar``, …);
* colours: ``c0``…``c7`` on ``rect.bar``, ``rect.segment``, ``path.slice``,
  ``circle.slice``, ``circle.point``, ``rect.swatch`` (fill) and ``polyline.line``
  (stroke); ``h0``…``h5`` on ``rect.cell``, from ``h0`` (zero, blank, suppressed) to
  ``h5`` (the largest values); ``circle.slice.empty`` is a pie whose groups are all
  suppressed;
* matrix cells: ``cell``, plus ``empty`` (no records) or ``suppressed``; their text
  ``cell-value`` (white by default on ``h4`` and ``h5``);
* texts: ``value`` (a bar's or point's value), ``total`` (a stack's), ``tick`` (value
  axis), ``label`` (categories, matrix rows and columns);
* lines: ``grid``, ``axis`` (the zero line);
* groups: ``mark`` (one bar, segment, slice, point or cell with its tooltip),
  ``suppressed``, ``stack``, ``stack-total``, ``bars``, ``points``, ``slices``,
  ``legend``, ``legend-item``, ``axis-values``, ``axis-labels``;
* HTML: ``widget-number``, ``number-value`` (``blank``, ``suppressed``),
  ``number-label``, ``number-note``, ``number-link``; ``widget-table`` with ``num`` on
  numeric cells and headers, ``blank`` and ``suppressed`` cells, ``tr.suppressed``;
  ``widget-notice`` with ``widget-empty``, ``widget-error`` or ``widget-unsupported``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from markupsafe import Markup

from runtime.web.charts.bars import bar, stacked_bar
from runtime.web.charts.cards import number_card, table
from runtime.web.charts.common import TEXTS, Chart, Labels, Link, notice
from runtime.web.charts.line import line
from runtime.web.charts.matrix import matrix
from runtime.web.charts.pie import pie

DRAW: Mapping[str, Callable[[Chart], Markup]] = {
    "number": number_card,
    "bar": bar,
    "stacked_bar": stacked_bar,
    "line": line,
    "pie": pie,
    "matrix": matrix,
    "table": table,
}


def render_widget(
    widget: Mapping[str, Any],
    *,
    link: Link | None = None,
    labels: Labels | None = None,
    texts: Mapping[str, str] | None = None,
) -> Markup:
    """One dashboard widget as markup.

    ``link(filters)`` gives the URL a group links to (``filters``: each group_by formula
    of the widget to the group's key, ``None`` for the blank group), or None for no link;
    URLs that are not relative or http(s) are dropped. ``labels(field, key)`` gives a
    group key's display label (default: the answer's ``label``, else the key).
    ``texts`` replaces the fixed wording (keys of ``TEXTS``: ``no_data``,
    ``suppressed``, ``blank``, ``yes``, ``no``, ``unsupported``, ``error``), e.g. in
    another language.
    """
    chart = Chart.of(widget, link, labels, texts)
    if widget.get("error") is not None:
        error = widget["error"]
        if isinstance(error, Mapping):
            message = error.get("message") or chart.text("error")
            code = error.get("code")
            return notice("error", str(message), str(code) if code else None)
        return notice("error", str(error) or chart.text("error"))
    draw = DRAW.get(str(widget.get("type")))
    if draw is None:
        return notice("unsupported", chart.text("unsupported"), str(widget.get("type")))
    if not chart.data:
        return notice("empty", chart.text("no_data"))
    return draw(chart)


__all__ = ["TEXTS", "Labels", "Link", "render_widget"]
