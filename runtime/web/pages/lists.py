"""An object's list: a grid view of the records the user may read.

    GET /apps/{app}/{object}    ?view= &q= (search) &filter= (a condition) &sort=field,-field
                                &cursor= (the next page) &cols=a,b (the column chooser)

The view's filter, the user's filter and the search are one condition handed to the
record service, so the rows and fields are exactly those the JSON API gives the user
(row scopes in SQL, hidden fields absent). Pages follow keyset cursors. The JSON twin is
the API's list answer plus the columns shown.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from starlette.requests import Request
from starlette.responses import Response

from runtime.errors import TenonError
from runtime.metadata.model import AppDef, ObjectDef, qualify
from runtime.security.actor import Actor
from runtime.services.reading import Reader
from runtime.storage.engine import read_connection
from runtime.web import auth, i18n
from runtime.web.pages import shell
from runtime.web.pages.fields import display, field_label, object_label
from runtime.web.pages.layout import Grid, label_field, views_of
from runtime.web.pages.render import page

MAX_SEARCH = 100


def quoted(text: str) -> str:
    """``text`` as a formula string literal."""
    return '"' + text.replace('"', '""') + '"'


def search_condition(obj: ObjectDef, read: Reader, fields: Sequence[str], text: str) -> str | None:
    """Any of the search fields contains ``text`` (either case); a reference is searched
    by the name of the record it points to."""
    words = text.strip()[:MAX_SEARCH]
    if not words:
        return None
    parts = []
    for name in fields:
        fdef = obj.by_name.get(name)
        if fdef is None:
            continue
        path = name
        if fdef.type == "reference" and fdef.target:
            target = read.object(qualify(obj.app, fdef.target))
            named = label_field(target)
            if not named:
                continue
            path = f"{name}.{named}"
        parts.append(f"NOT(ISBLANK(SEARCH({quoted(words)}, {path})))")
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else "OR(" + ", ".join(parts) + ")"


def all_of(conditions: Sequence[str | None]) -> str | None:
    found = [c for c in conditions if c]
    if not found:
        return None
    return found[0] if len(found) == 1 else "AND(" + ", ".join(f"({c})" for c in found) + ")"


def reference_label(read: Reader, obj: ObjectDef, name: str, value: Any) -> str:
    """The name of the record a reference points to, from its expanded record."""
    return str(renderer(read, obj, name)({name: value})["text"])


Cell = Callable[[dict[str, Any]], dict[str, Any]]


def renderer(read: Reader, obj: ObjectDef, name: str) -> Cell:
    """How column ``name`` shows a record's value (worked out once per page)."""
    fdef = obj.by_name.get(name)
    if fdef is not None and fdef.type == "reference" and fdef.target:
        target = read.object(qualify(obj.app, fdef.target))
        named = label_field(target)
        base = f"/apps/{target.app}/{target.name}/"

        def reference(record: dict[str, Any]) -> dict[str, Any]:
            value = record.get(name)
            if not isinstance(value, dict):
                text = "" if value is None else f"#{value}"
                return {"name": name, "text": text, "href": None, "absent": name not in record}
            found = value.get(named) if named else None
            text = str(found) if found not in (None, "") else f"#{value.get('id')}"
            href = base + str(value.get("id")) if len(value) > 1 else None  # readable target
            return {"name": name, "text": text, "href": href, "absent": False}

        return reference

    def plain(record: dict[str, Any]) -> dict[str, Any]:
        value = record.get(name)
        return {"name": name, "text": display(obj, name, value), "absent": name not in record}

    return plain


def cell(read: Reader, obj: ObjectDef, name: str, record: dict[str, Any]) -> dict[str, Any]:
    return renderer(read, obj, name)(record)


def chosen_columns(request: Request, grid: Grid, readable: set[str]) -> list[str]:
    raw = request.query_params.getlist("col") or request.query_params.get("cols", "").split(",")
    names = [c for c in raw if c] or list(grid.columns)
    return [c for c in names if c in readable or c in ("id", "state", "created_at", "updated_at")]


@dataclass
class Listing:
    """What every view of an object's list starts from: who asks, which view, and the
    conditions narrowing it (the view's filter, the user's filter, the search)."""

    request: Request
    actor: Actor
    read: Reader
    app: AppDef
    obj: ObjectDef
    views: list[Grid]
    grid: Grid
    user_filter: str | None
    search: str | None

    def condition(self, *more: str | None) -> str | None:
        return all_of([self.grid.filter, self.user_filter, self.search, *more])

    def header(self, conn: Connection) -> dict[str, Any]:
        """The page's chrome, title, view tabs, search and buttons."""
        read, actor, obj, app = self.read, self.actor, self.obj, self.app
        params = self.request.query_params
        return {
            **shell.chrome(self.request, shell.app_nav(conn, read, actor, app)),
            "object": {"name": obj.name, "title": object_label(obj, plural=True)},
            "views": [
                {
                    "name": v.name,
                    "title": i18n.label(v.title, i18n.humanize(v.name)),
                    "type": v.type,
                    "current": v is self.grid,
                }
                for v in self.views
            ],
            "q": params.get("q", ""),
            "filter": self.user_filter or "",
            "creatable": shell.allowed(conn, read, actor, obj.qualified, "create"),
            "importable": shell.allowed(conn, read, actor, obj.qualified, "import"),
            "import_href": f"/apps/{app.name}/{obj.name}/import",
            "new_href": f"/apps/{app.name}/{obj.name}/new",
            "export_href": f"/api/v1/apps/{app.name}/objects/{obj.name}/export",
            "columns": [],
            "choosable": [],
        }


def listing(request: Request) -> Listing:
    actor = auth.require_actor(request)
    read = shell.reader(request)
    app = shell.app_of(read, request.path_params["app"])
    obj = shell.object_of(read, app, request.path_params["object"])
    views = views_of(app, obj)
    wanted = request.query_params.get("view")
    grid = next((v for v in views if v.name == wanted), views[0])
    named = label_field(obj)
    fields = grid.search or ((named,) if named else ())
    search = search_condition(obj, read, fields, request.query_params.get("q", ""))
    user_filter = request.query_params.get("filter") or None
    return Listing(request, actor, read, app, obj, views, grid, user_filter, search)


def refused(error: TenonError) -> TenonError:
    """``error`` when a bad filter or sort caused it (shown on the page), else raised."""
    if error.status >= 500 or error.status in (401, 403, 404):
        raise error
    return error


def bulk_actions(obj: ObjectDef, actor: Actor) -> list[dict[str, str]]:
    """The workflow actions a list offers for ticked records: those the user's roles may
    take (approvals are decided in the inbox; the rules decide again on each record)."""
    flow = obj.workflow
    if flow is None:
        return []
    names = [
        t.action
        for t in flow.transitions
        if t.action not in flow.approval_verbs
        and (not t.roles or any(actor.has_role(r) for r in t.roles))
    ]
    return [{"name": n, "label": i18n.gettext(i18n.humanize(n))} for n in dict.fromkeys(names)]


def grid_page(view: Listing, refusal: TenonError | None = None) -> Response:
    request, read, actor, obj, grid = view.request, view.read, view.actor, view.obj, view.grid
    params = request.query_params
    with read_connection(request.app.state.engine) as conn:
        context = view.header(conn)
        access = read.access(read.guard(conn, actor), obj.qualified, "read")
        readable = set(access.fields)
        columns = chosen_columns(request, grid, readable)
        named = label_field(obj)
        group = grid.group_by if grid.group_by in readable or grid.group_by == "state" else None
        group = None if params.get("sort") else group  # the user's sort breaks the groups
        wanted = {*columns, *([named] if named in readable else []), *([group] if group else [])}
        refs = [c for c in wanted if c in obj.by_name and obj.by_name[c].type == "reference"]
        # the state column is blank unless asked for; an object without a workflow has none
        skipped = {"id"} if obj.workflow is not None else {"id", "state"}
        sort = params.get("sort") or (",".join(grid.sort) if grid.sort else None)
        if group:
            sort = ",".join([group, *[s for s in (sort or "").split(",") if s]])
        try:
            found = read.list_records(
                conn,
                actor,
                obj.qualified,
                filter=view.condition(),
                sort=sort,
                limit=grid.page_size,
                cursor=params.get("cursor") or None,
                fields=sorted(wanted - skipped) or None,
                expand=sorted(refs),
                count=not params.get("cursor"),
            )
            problem = None
        except TenonError as error:
            found, problem = None, refused(error)
    shows = [renderer(read, obj, c) for c in columns]
    grouped = renderer(read, obj, group) if group else None
    rows = []
    last: Any = object()
    for record in found.data if found else []:
        heading = grouped(record)["text"] if grouped else None
        if grouped and heading != last:
            rows.append({"group": heading or i18n.gettext("(blank)")})
            last = heading
        rows.append(
            {
                "id": record["id"],
                "href": f"/apps/{view.app.name}/{obj.name}/{record['id']}",
                "cells": [show(record) for show in shows],
            }
        )
    base = [(k, v) for k, v in params.multi_items() if k != "cursor"]
    more = None
    if found and found.next_cursor:
        more = "?" + urlencode([*base, ("cursor", found.next_cursor)])
    context.update(
        {
            "columns": [
                {"name": c, "label": field_label(obj, c), "sort": _sort_link(params, c)}
                for c in columns
            ],
            "choosable": [
                {"name": n, "label": field_label(obj, n), "on": n in columns}
                for n in _choosable(obj, readable)
            ],
            "rows": rows,
            "total": found.total if found else None,
            "more": more,
            "problem": problem or refusal,
            "actions": bulk_actions(obj, actor) if rows else [],
            "bulk_href": f"/apps/{view.app.name}/{obj.name}/bulk?"
            + urlencode([(k, v) for k, v in base if k != "done"]),
            "done": params.get("done", ""),
        }
    )
    problem = problem or refusal
    twin = {
        "view": grid.name,
        "columns": columns,
        **(found.as_dict() if found else {"data": [], "next_cursor": None}),
        **({"error": problem.body()["error"]} if problem else {}),
    }
    return page(request, "list.html", context, twin, status=problem.status if problem else 200)


def _choosable(obj: ObjectDef, readable: set[str]) -> list[str]:
    names = [f.name for f in obj.fields if f.name in readable]
    return [*names, *(["state"] if obj.workflow is not None else [])]


def _sort_link(params: Any, column: str) -> str:
    current = params.get("sort", "")
    order = f"-{column}" if current == column else column
    keep = [(k, v) for k, v in params.multi_items() if k not in ("sort", "cursor")]
    return "?" + urlencode([*keep, ("sort", order)])
