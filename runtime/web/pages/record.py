"""A record's page: its fields laid out as its form, the workflow panel (state, who must
act and by when, the approval trail, the actions the user may take), related lists and
the history with field changes (masked where the user may not read them).

    GET  /apps/{app}/{object}/{id}                       the page (JSON twin: the record,
                                                         actions, approvals, history)
    POST /apps/{app}/{object}/{id}/actions/{action}      take a workflow action with the
                                                         form's comment; back to ``_next``
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqlalchemy.engine import Connection
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from runtime.errors import Forbidden, NotFound, TenonError
from runtime.metadata.model import AppDef, ObjectDef, qualify
from runtime.security.actor import Actor
from runtime.services import inbox
from runtime.services.analysis import Analysis
from runtime.services.current import Current
from runtime.services.permits import Permits
from runtime.services.reading import Reader
from runtime.storage.engine import read_connection, write_transaction
from runtime.web import auth, i18n
from runtime.web.pages import shell
from runtime.web.pages.fields import display, field_label, object_label, rich, state_label
from runtime.web.pages.layout import form_of, label_field
from runtime.web.pages.lists import cell
from runtime.web.pages.render import fragment, is_htmx, page
from runtime.web.routes_auth import safe_next

DECISIONS = ("approve", "reject", "return")
RELATED_ROWS = 20


def _actions(
    conn: Connection,
    read: Reader,
    actor: Actor,
    obj: ObjectDef,
    record: dict[str, Any],
    mine: list[str],
) -> list[dict[str, str]]:
    """The actions the user may take on the record now: decisions of their pending
    approval tasks, and the transitions from its state the permission rules allow."""
    flow = obj.workflow
    if flow is None:
        return []
    names = [a for a in DECISIONS if a in mine]
    verbs = flow.approval_verbs
    permits = Permits(read)
    for transition in flow.transitions:
        action = transition.action
        if record.get("state") not in transition.sources or action in names or action in verbs:
            continue
        if transition.roles and not any(actor.has_role(r) for r in transition.roles):
            continue
        try:
            permits.check(conn, actor, obj.qualified, action, int(record["id"]))
        except (Forbidden, NotFound):
            continue
        names.append(action)
    return [{"name": n, "label": i18n.gettext(i18n.humanize(n))} for n in dict.fromkeys(names)]


def _related(
    conn: Connection, read: Reader, actor: Actor, obj: ObjectDef, record_id: int
) -> list[dict[str, Any]]:
    """Lists of the records that point to this one through a field with a related name."""
    out = []
    guard = read.guard(conn, actor)
    for app in read.apps.values():
        for other in app.objects:
            for fdef in other.fields:
                if fdef.type != "reference" or not fdef.spec.get("related_name"):
                    continue
                if qualify(other.app, fdef.target or "") != obj.qualified:
                    continue
                if not guard.access(other.qualified, "read").allowed:
                    continue
                try:
                    found = read.list_records(
                        conn,
                        actor,
                        other.qualified,
                        filter=f"{fdef.name}.id = {record_id}",
                        limit=RELATED_ROWS,
                        count=True,
                    )
                except TenonError:
                    continue
                columns = [c for c in _columns(other) if c != fdef.name][:5]
                out.append(
                    {
                        "title": i18n.label(
                            fdef.spec.get("related_label"), object_label(other, plural=True)
                        ),
                        "columns": [field_label(other, c) for c in columns],
                        "rows": [
                            {
                                "href": f"/apps/{other.app}/{other.name}/{r['id']}",
                                "cells": [cell(read, other, c, r) for c in columns],
                            }
                            for r in found.data
                        ],
                        "total": found.total,
                        "more": f"/apps/{other.app}/{other.name}?"
                        + urlencode({"filter": f"{fdef.name}.id = {record_id}"}),
                    }
                )
    return out


def _columns(obj: ObjectDef) -> list[str]:
    first = label_field(obj)
    rest = [
        f.name
        for f in obj.fields
        if f.name != first and f.type not in ("long_text", "rich_text", "json")
    ]
    return ([first] if first else []) + rest + (["state"] if obj.workflow else [])


def _history(
    read: Reader, conn: Connection, actor: Actor, obj: ObjectDef, record_id: int
) -> list[dict[str, Any]]:
    entries = Analysis(read).history(conn, actor, obj.qualified, record_id)
    for entry in entries:
        entry["rows"] = [
            {
                "label": field_label(obj, name),
                "masked": "masked" in change,
                "before": "" if "masked" in change else display(obj, name, change.get("before")),
                "after": "" if "masked" in change else display(obj, name, change.get("after")),
            }
            for name, change in entry["changes"].items()
        ]
    return list(reversed(entries))


def _sections(
    read: Reader, app: AppDef, obj: ObjectDef, record: dict[str, Any]
) -> list[dict[str, Any]]:
    out = []
    for section in form_of(app, obj):
        items = []
        for item in section.fields:
            if item.name not in record:
                continue  # a field the user may not read is absent
            fdef = obj.by_name.get(item.name)
            if fdef is not None and fdef.type == "rich_text":
                shown: Any = rich(record[item.name])
                items.append({"label": field_label(obj, item.name), "text": shown})
                continue
            items.append(
                {
                    "label": i18n.label(item.label, field_label(obj, item.name)),
                    **cell(read, obj, item.name, record),
                }
            )
        if items:
            out.append({"title": i18n.label(section.title), "items": items})
    return out


def context_of(
    request: Request,
    conn: Connection,
    actor: Actor,
    read: Reader,
    app: AppDef,
    obj: ObjectDef,
    record_id: int,
) -> dict[str, Any]:
    readable = read.access(read.guard(conn, actor), obj.qualified, "read").fields
    expand = [f.name for f in obj.fields if f.type == "reference" and f.name in readable]
    record = read.get_record(conn, actor, obj.qualified, record_id, expand=expand)
    now = request.app.state.clock.now()
    trail = (
        inbox.trail(conn, read, actor, obj.qualified, record_id, now)
        if obj.workflow
        else {"approvals": [], "todos": []}
    )
    mine = [
        a
        for run in trail["approvals"]
        for step in run["steps"]
        for task in step["tasks"]
        if task["assignee"] == actor.username and task["status"] == "pending"
        for a in task["actions"]
    ]
    named = label_field(obj)
    return {
        **shell.chrome(request, shell.app_nav(conn, read, actor, app)),
        "object": {
            "name": obj.name,
            "title": object_label(obj),
            "plural": object_label(obj, plural=True),
            "href": f"/apps/{app.name}/{obj.name}",
        },
        "record": record,
        "title": str(record.get(named) or "") if named else "",
        "state": state_label(obj, record.get("state")),
        "sections": _sections(read, app, obj, record),
        "actions": _actions(conn, read, actor, obj, record, mine),
        "approvals": trail["approvals"],
        "todos": trail["todos"],
        "related": _related(conn, read, actor, obj, record_id),
        "history": _history(read, conn, actor, obj, record_id),
        "editable": shell.allowed(conn, read, actor, obj.qualified, "update"),
        "edit_href": f"/apps/{app.name}/{obj.name}/{record_id}/edit",
        "act_href": f"/apps/{app.name}/{obj.name}/{record_id}/actions/",
        "saved": request.query_params.get("saved") == "1",
    }


def record_page(request: Request, error: TenonError | None = None) -> Response:
    actor = auth.require_actor(request)
    read = shell.reader(request)
    app = shell.app_of(read, request.path_params["app"])
    obj = shell.object_of(read, app, request.path_params["object"])
    with read_connection(request.app.state.engine) as conn:
        context = context_of(request, conn, actor, read, app, obj, int(request.path_params["id"]))
    context["problem"] = error
    twin = {
        "record": context["record"],
        "actions": [a["name"] for a in context["actions"]],
        "approvals": context["approvals"],
        "history": [{k: v for k, v in h.items() if k != "rows"} for h in context["history"]],
    }
    return page(request, "record.html", context, twin, status=error.status if error else 200)


def _act(request: Request, action: str, data: dict[str, Any]) -> None:
    auth.resolve_here(request)
    actor = auth.require_actor(request)
    current: Current = request.app.state.current
    view = current.view()
    app = shell.app_of(view.reader, request.path_params["app"])
    obj = shell.object_of(view.reader, app, request.path_params["object"])
    with write_transaction(request.app.state.engine) as conn:
        view.transitions.act(
            conn, actor, obj.qualified, int(request.path_params["id"]), action, data
        )


@auth.resolves_itself
async def act(request: Request) -> Response:
    async with request.form() as form:
        comment = str(form.get("comment") or "").strip()
        version = str(form.get("_version") or "")
        target = safe_next(form.get("_next")) if form.get("_next") else None
    data: dict[str, Any] = {"comment": comment or None}
    if version.isdigit():
        data["version"] = int(version)
    action = request.path_params["action"]
    try:
        await run_in_threadpool(_act, request, action, data)
    except TenonError as error:
        if error.status >= 500:
            raise
        if is_htmx(request):  # the inbox: the task's row says what went wrong
            return fragment(request, "_task_done.html", {"error": error, "action": action})
        if error.status == 404 or target:
            raise
        return await run_in_threadpool(record_page, request, error)
    if is_htmx(request):
        return fragment(request, "_task_done.html", {"error": None, "action": action})
    app, name, record_id = (request.path_params[k] for k in ("app", "object", "id"))
    return RedirectResponse(target or f"/apps/{app}/{name}/{record_id}", status_code=303)


routes = [
    Route("/apps/{app}/{object}/{id:int}", record_page, methods=["GET"]),
    Route("/apps/{app}/{object}/{id:int}/actions/{action}", act, methods=["POST"]),
]
