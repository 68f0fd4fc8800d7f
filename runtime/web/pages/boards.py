"""A dashboard page: every widget the user may see, drawn as server-rendered SVG
(``runtime.web.charts``), each bar, slice and cell a link to the list it counts.

    GET /apps/{app}/dashboards/{name}     ?filter= (a condition narrowing every widget)

The JSON twin is the dashboard API's answer. Widgets respect row scopes exactly as the
API does: the page draws what ``Dashboards.compute`` returned for the user.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runtime.metadata.dashboards import widgets_of
from runtime.metadata.model import AppDef, ObjectDef
from runtime.services.dashboards import Dashboards
from runtime.storage.engine import read_connection
from runtime.storage.limits import read_snapshot
from runtime.web import auth, i18n
from runtime.web.charts import render_widget
from runtime.web.pages import shell
from runtime.web.pages.lists import all_of, quoted
from runtime.web.pages.render import page


def literal(value: Any) -> str:
    """``value`` as a formula literal."""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, date):
        return f'DATEVALUE("{value.isoformat()}")'
    return quoted(str(value))


def condition(filters: Mapping[str, Any]) -> str:
    parts = [
        f"ISBLANK({name})" if value is None else f"{name} = {literal(value)}"
        for name, value in filters.items()
    ]
    return parts[0] if len(parts) == 1 else "AND(" + ", ".join(parts) + ")"


def board_page(request: Request) -> Response:
    actor = auth.require_actor(request)
    read = shell.reader(request)
    app = shell.app_of(read, request.path_params["app"])
    limit = request.app.state.settings.dashboard_widget_timeout_ms
    service = Dashboards(read, widget_timeout_ms=limit)
    user_filter = request.query_params.get("filter") or None
    with read_snapshot(request.app.state.engine) as conn:
        board = service.compute(
            conn,
            actor,
            app.name,
            request.path_params["name"],
            filter=user_filter,
            lang=i18n.current(),
        )
    with read_connection(request.app.state.engine) as conn:
        nav = shell.app_nav(conn, read, actor, app)
    specs = {w.index: w.raw for w in widgets_of(_definition(app, board["name"]))}
    drawn = []
    for widget in board["widgets"]:
        spec = specs.get(widget["index"], {})
        groups = spec.get("group_by")
        # the answer leaves out what the chart links by (group_by) and shows (measure)
        widget = {**spec, **widget}
        if isinstance(groups, str):
            widget["group_by"] = [groups]
        qualified = str(widget.get("object") or "")
        owner, _, name = qualified.partition(".")
        target = read.apps.get(owner)
        obj = target.by_name.get(name) if target is not None else None
        drawn.append(
            {
                "title": widget.get("title") or i18n.humanize(str(widget.get("name") or "")),
                "type": widget.get("type"),
                "svg": render_widget(
                    widget,
                    link=linker(obj, [spec.get("filter"), user_filter]),
                    texts=texts(),
                ),
            }
        )
    context = {
        **shell.chrome(request, nav),
        "board": board,
        "widgets": drawn,
        "filter": user_filter or "",
    }
    return page(request, "dashboard.html", context, board)


def _definition(app: AppDef, name: str) -> Mapping[str, Any]:
    return next(d for d in app.raw.get("dashboards") or [] if d.get("name") == name)


def linker(obj: ObjectDef | None, narrowed: list[str | None], view: str | None = None) -> Any:
    """Links to the list (its grid ``view``, when named) of the rows a bar, slice or cell
    counts: the widget's and the page's filters and the group's values (groups by a
    formula are not linked)."""
    if obj is None:
        return None

    def link(filters: Mapping[str, Any]) -> str | None:
        if not filters or any(f not in obj.by_name and f not in ("state", "id") for f in filters):
            return None
        if set(filters) == {"id"}:
            return f"/apps/{obj.app}/{obj.name}/{filters['id']}"
        # a reference's value is the id of the record it points to
        by = {
            f"{f}.id" if f in obj.by_name and obj.by_name[f].type == "reference" else f: v
            for f, v in filters.items()
        }
        full = all_of([*narrowed, condition(by)])
        query = {**({"view": view} if view else {}), "filter": full}
        return f"/apps/{obj.app}/{obj.name}?" + urlencode(query)

    return link


def texts() -> dict[str, str]:
    words = ("No data", "suppressed", "(blank)", "Yes", "No")
    keys = ("no_data", "suppressed", "blank", "yes", "no")
    return {k: i18n.gettext(w) for k, w in zip(keys, words, strict=True)}


routes = [Route("/apps/{app}/dashboards/{name}", board_page, methods=["GET"])]
