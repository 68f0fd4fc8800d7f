"""The views an app declares besides grids: a board, a calendar and a matrix.

    GET  /apps/{app}/{object}               ?view= picks the view (grid, board, calendar,
                                            matrix); &q= &filter= narrow every kind
    POST /apps/{app}/{object}/{id}/move     a board card moved to another lane (``to``,
                                            ``_version``; ``?view=`` names the board)

* **Board**: a lane per option of a select field, or per state of the workflow, each with
  its cards and count. Moving a card is an ordinary write: a select lane is an update of
  the field, a state lane is the workflow action that leads there. The same validation,
  permission and transition rules apply as on the form and the record page; a refusal
  says why on the board and the card stays where it was.
* **Calendar**: a month of records by a date field (spanning to ``end_field`` when the
  view names one), Monday first, today marked.
* **Matrix**: counts of records by two fields (the 9-box), each cell linking to the list
  of the people in it, computed like a dashboard widget: row scopes in SQL.

Every view reads as the user through the record service, with the view's filter, the
user's filter and the search applied, so it never shows a row or field the JSON API
would not.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any
from urllib.parse import urlencode

from babel.dates import format_date, get_day_names
from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from runtime.errors import Forbidden, NotFound, TenonError
from runtime.metadata.model import ObjectDef
from runtime.security.actor import Actor
from runtime.services.current import Current
from runtime.services.dashboards import Dashboards
from runtime.services.permits import Permits
from runtime.services.reading import Reader
from runtime.storage.engine import read_connection, write_transaction
from runtime.storage.limits import read_snapshot
from runtime.web import auth, i18n
from runtime.web.charts import render_widget
from runtime.web.pages.boards import linker, texts
from runtime.web.pages.fields import field_label, options, state_label
from runtime.web.pages.layout import label_field
from runtime.web.pages.lists import Listing, grid_page, listing, quoted, refused, renderer
from runtime.web.pages.render import is_htmx, page

CARD_FIELDS = 4
CALENDAR_RECORDS = 500


def object_page(request: Request) -> Response:
    view = listing(request)
    kind = view.grid.type
    if kind == "board":
        return board_page(view)
    if kind == "calendar":
        return calendar_page(view)
    if kind == "matrix":
        return matrix_page(view)
    return grid_page(view)


# -- board ------------------------------------------------------------------------------


def lanes(obj: ObjectDef, field: str) -> list[tuple[str | None, str]]:
    """The board's lanes: the workflow's states, or the field's options and a lane for
    records without a value (unless the field is required)."""
    if field == "state":
        flow = obj.workflow
        states = list(flow.states) if flow is not None else []
        return [(name, state_label(obj, name)) for name in states]
    fdef = obj.by_name[field]
    found: list[tuple[str | None, str]] = [(v, t) for v, t in options(fdef)]
    if not fdef.required:
        found.append((None, i18n.gettext("(blank)")))
    return found


def _moves(read: Reader, actor: Actor, obj: ObjectDef, field: str) -> Any:
    """Which lanes a card may be offered to (the server decides again on the move)."""
    if field != "state":
        return lambda record, all_lanes: [v for v in all_lanes if v != record.get(field)]
    flow = obj.workflow
    assert flow is not None

    def targets(record: dict[str, Any], all_lanes: list[Any]) -> list[Any]:
        found = [
            t.target
            for t in flow.transitions
            if record.get("state") in t.sources
            and t.action not in flow.approval_verbs
            and (not t.roles or any(actor.has_role(r) for r in t.roles))
        ]
        return [v for v in all_lanes if v in found and v != record.get("state")]

    return targets


def board_page(view: Listing, problem: TenonError | None = None) -> Response:
    read, actor, obj, grid = view.read, view.actor, view.obj, view.grid
    request = view.request
    field = str((grid.spec or {}).get("field"))
    named = label_field(obj)
    with read_connection(request.app.state.engine) as conn:
        context = view.header(conn)
        guard = read.guard(conn, actor)
        readable = set(read.access(guard, obj.qualified, "read").fields)
        if field != "state" and field not in readable:
            raise Forbidden(f"this board is by {field_label(obj, field)}, which you may not read")
        shown = [c for c in grid.columns if c in readable and c not in (field, named)]
        shown = shown[:CARD_FIELDS]
        writable = field == "state" or field in set(guard.access(obj.qualified, "update").fields)
        names = sorted({*shown, *([named] if named in readable else []), field})
        refs = [c for c in shown if obj.by_name[c].type == "reference"]
        columns: list[dict[str, Any]] = []
        twin_lanes: list[dict[str, Any]] = []
        all_lanes = lanes(obj, field)
        may_move = _moves(read, actor, obj, field)
        shows = [renderer(read, obj, c) for c in shown]
        try:
            for value, title in all_lanes:
                where = f"ISBLANK({field})" if value is None else f"{field} = {quoted(value)}"
                found = read.list_records(
                    conn,
                    actor,
                    obj.qualified,
                    filter=view.condition(where),
                    sort=",".join(grid.sort) or None,
                    limit=grid.page_size,
                    fields=names,
                    expand=refs,
                    count=True,
                )
                cards = [
                    _card(view, record, named, shows, may_move, all_lanes, writable)
                    for record in found.data
                ]
                columns.append(
                    {"value": value, "title": title, "cards": cards, "total": found.total}
                )
                twin_lanes.append({"value": value, "total": found.total, "data": found.data})
        except TenonError as error:
            problem, columns, twin_lanes = refused(error), [], []
    context.update(
        {
            "lanes": columns,
            "fields": [field_label(obj, c) for c in shown],
            "problem": problem,
            "field_label": field_label(obj, field),
        }
    )
    twin = {"view": grid.name, "type": "board", "field": field, "lanes": twin_lanes}
    if problem:
        twin["error"] = problem.body()["error"]
    return page(request, "board.html", context, twin, status=problem.status if problem else 200)


def _card(
    view: Listing,
    record: dict[str, Any],
    named: str | None,
    shows: list[Any],
    may_move: Any,
    all_lanes: list[tuple[str | None, str]],
    writable: bool,
) -> dict[str, Any]:
    base = f"/apps/{view.app.name}/{view.obj.name}/{record['id']}"
    titles = dict(all_lanes)
    title = record.get(named) if named else None
    return {
        "id": record["id"],
        "href": base,
        "title": str(title) if title not in (None, "") else f"#{record['id']}",
        "version": record.get("version"),
        "cells": [show(record) for show in shows],
        "moves": [
            {"value": v, "title": titles[v]} for v in may_move(record, list(titles)) if writable
        ],
        "move_href": f"{base}/move?" + urlencode(list(view.request.query_params.multi_items())),
    }


def _move(request: Request, view: Listing, to: str | None, version: str) -> None:
    obj, actor = view.obj, view.actor
    field = str((view.grid.spec or {}).get("field"))
    record_id = int(request.path_params["id"])
    current: Current = request.app.state.current
    services = current.view()
    with write_transaction(request.app.state.engine) as conn:
        if field != "state":
            services.records.update(conn, actor, obj.qualified, record_id, {field: to}, version)
            return
        record = view.read.get_record(conn, actor, obj.qualified, record_id)
        action = _action_to(conn, view.read, actor, obj, record, to)
        data: dict[str, Any] = {"version": int(version)} if version.isdigit() else {}
        services.transitions.act(conn, actor, obj.qualified, record_id, action, data)


def _action_to(
    conn: Connection, read: Reader, actor: Actor, obj: ObjectDef, record: dict[str, Any], to: Any
) -> str:
    """The workflow action the user may take that moves ``record`` to state ``to``."""
    flow = obj.workflow
    assert flow is not None
    permits = Permits(read)
    for t in flow.transitions:
        if t.target != to or record.get("state") not in t.sources:
            continue
        if t.action in flow.approval_verbs:
            continue
        if t.roles and not any(actor.has_role(r) for r in t.roles):
            continue
        try:
            permits.check(conn, actor, obj.qualified, t.action, int(record["id"]))
        except (Forbidden, NotFound):
            continue
        return t.action
    here, there = state_label(obj, record.get("state")), state_label(obj, str(to))
    raise TenonError(
        f"no action you may take moves this record from {here} to {there}",
        code="INVALID_TRANSITION",
        status=409,
    )


@auth.resolves_itself
async def move(request: Request) -> Response:
    async with request.form() as form:
        raw = str(form.get("to") or "")
        version = str(form.get("_version") or "")
    return await run_in_threadpool(_moved, request, raw, version)


def _moved(request: Request, raw: str, version: str) -> Response:
    auth.resolve_here(request)
    view = listing(request)
    if view.grid.type != "board":
        raise TenonError("moving a card needs ?view= naming a board view", code="BAD_REQUEST")
    field = str((view.grid.spec or {})["field"])
    if raw and raw not in {v for v, _ in lanes(view.obj, field)}:
        raise TenonError(f"{raw!r} is not a lane of this board", code="BAD_REQUEST")
    try:
        _move(request, view, raw or None, version)
    except TenonError as error:
        if error.status >= 500 or error.status == 404:
            raise
        answer = board_page(view, error)
        if is_htmx(request):  # htmx swaps only 2xx answers: the refusal is the new board
            answer.status_code = 200
        return answer
    if is_htmx(request):
        return board_page(view)
    query = urlencode(list(request.query_params.multi_items()))
    path = f"/apps/{view.app.name}/{view.obj.name}"
    return RedirectResponse(f"{path}?{query}", status_code=303)


# -- calendar ---------------------------------------------------------------------------


def _month(request: Request) -> date:
    raw = request.query_params.get("month", "")
    try:
        year, month = (int(p) for p in raw.split("-"))
        return date(year, month, 1)
    except ValueError:
        today: date = request.app.state.clock.now().date()
        return today.replace(day=1)


def _bound(kind: str, day: date) -> str:
    if kind == "datetime":
        return f'DATETIMEVALUE("{day.isoformat()}")'
    return f'DATEVALUE("{day.isoformat()}")'


def calendar_page(view: Listing) -> Response:
    read, actor, obj, grid, request = view.read, view.actor, view.obj, view.grid, view.request
    spec = grid.spec or {}
    field, end = str(spec["field"]), spec.get("end_field")
    kind = obj.by_name[field].returns or obj.by_name[field].type
    first = _month(request)
    after = (first + timedelta(days=32)).replace(day=1)
    start = first - timedelta(days=first.weekday())
    stop = after + timedelta(days=(7 - after.weekday()) % 7)
    named = label_field(obj)
    ends = f"COALESCE({end}, {field})" if end else field
    where = f"AND({field} < {_bound(kind, stop)}, {ends} >= {_bound(kind, start)})"
    with read_connection(request.app.state.engine) as conn:
        context = view.header(conn)
        try:
            found = read.list_records(
                conn,
                actor,
                obj.qualified,
                filter=view.condition(where),
                sort=field,
                limit=CALENDAR_RECORDS,
                fields=sorted({field, *([end] if end else []), *([named] if named else [])}),
            )
            records, problem = found.data, None
        except TenonError as error:
            records, problem = [], refused(error)
    days: dict[date, list[dict[str, Any]]] = {}
    for record in records:
        begin = _day(record.get(field))
        if begin is None:
            continue
        last = _day(record.get(end)) if end else None
        label = record.get(named) if named else None
        entry = {
            "href": f"/apps/{view.app.name}/{obj.name}/{record['id']}",
            "title": str(label) if label not in (None, "") else f"#{record['id']}",
        }
        day = max(begin, start)
        while day <= min(last or begin, stop - timedelta(days=1)):
            days.setdefault(day, []).append(entry)
            day += timedelta(days=1)
    today = request.app.state.clock.now().date()
    weeks = []
    day = start
    while day < stop:
        weeks.append(
            [
                {
                    "date": (day + timedelta(days=i)).isoformat(),
                    "number": (day + timedelta(days=i)).day,
                    "outside": (day + timedelta(days=i)).month != first.month,
                    "today": day + timedelta(days=i) == today,
                    "entries": days.get(day + timedelta(days=i), []),
                }
                for i in range(7)
            ]
        )
        day += timedelta(days=7)
    locale = i18n.BABEL_LOCALES[i18n.current()]
    names = get_day_names("abbreviated", locale=locale)
    context.update(
        {
            "month_title": format_date(first, "LLLL y", locale=locale),
            "weekdays": [names[i] for i in range(7)],
            "weeks": weeks,
            "previous": _month_link(request, first - timedelta(days=1)),
            "next": _month_link(request, after),
            "problem": problem,
            "truncated": len(records) >= CALENDAR_RECORDS,
        }
    )
    twin = {
        "view": grid.name,
        "type": "calendar",
        "month": first.isoformat()[:7],
        "days": {d.isoformat(): [e["href"] for e in v] for d, v in sorted(days.items())},
        "data": records,
    }
    return page(request, "calendar.html", context, twin, status=problem.status if problem else 200)


def _day(value: Any) -> date | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None


def _month_link(request: Request, day: date) -> str:
    keep = [(k, v) for k, v in request.query_params.multi_items() if k != "month"]
    return "?" + urlencode([*keep, ("month", f"{day.year:04d}-{day.month:02d}")])


# -- matrix -----------------------------------------------------------------------------


def matrix_page(view: Listing) -> Response:
    read, actor, obj, grid, request = view.read, view.actor, view.obj, view.grid, view.request
    spec = grid.spec or {}
    rows, cols = str(spec["rows"]), str(spec["cols"])
    narrowed = view.condition()
    widget = {
        "name": grid.name,
        "type": "matrix",
        "object": obj.name,
        "group_by": [rows, cols],
        **({"filter": narrowed} if narrowed else {}),
    }
    limit = request.app.state.settings.dashboard_widget_timeout_ms
    with read_snapshot(request.app.state.engine) as conn:  # a time limit needs its own
        context = view.header(conn)
        answer = Dashboards(read, widget_timeout_ms=limit).widget(
            conn, actor, obj.app, widget, lang=i18n.current()
        )
    problem = answer.get("error")
    grids = [v for v in view.views if v.type == "grid"]
    link = linker(obj, [narrowed], grids[0].name if grids else None)
    context.update(
        {
            "svg": render_widget({**widget, **answer}, link=link, texts=texts()),
            "axes": f"{field_label(obj, rows)} × {field_label(obj, cols)}",
            "problem_text": problem.get("message") if problem else None,
        }
    )
    twin = {"view": grid.name, "type": "matrix", "rows": rows, "cols": cols, **answer}
    status = 400 if problem and problem.get("code") != "WIDGET_TIMEOUT" else 200
    return page(request, "matrix.html", context, twin, status=status if problem else 200)


routes = [
    Route("/apps/{app}/{object}", object_page, methods=["GET"]),
    Route("/apps/{app}/{object}/{id:int}/move", move, methods=["POST"]),
]
