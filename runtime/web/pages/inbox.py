"""The inbox: the user's approvals and to-dos across apps, with deadlines, and one-click
decisions.

    GET  /inbox            ?status=pending|closed (JSON twin: the API's task list)
    POST /inbox/bulk       approve (or reject) the ticked approval tasks, one comment

A decision from the inbox is the record's workflow action (``…/actions/approve``),
posted by htmx and answered with the task's new line.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from runtime.errors import TenonError
from runtime.services import inbox
from runtime.services.current import Current
from runtime.storage.engine import read_connection, write_transaction
from runtime.web import auth, i18n
from runtime.web.pages import shell
from runtime.web.pages.fields import object_label
from runtime.web.pages.render import page

LIMIT = 100
BULK = ("approve", "reject")


def inbox_page(request: Request) -> Response:
    actor = auth.require_actor(request)
    status = request.query_params.get("status", "pending")
    if status not in ("pending", "closed"):
        status = "pending"
    read = shell.reader(request)
    now = request.app.state.clock.now()
    with read_connection(request.app.state.engine) as conn:
        found = inbox.inbox(conn, read, actor, status, [], None, LIMIT, now)
    tasks = []
    for task in found["data"]:
        app = read.apps.get(task["app"])
        obj = app.by_name.get(task["object"]) if app is not None else None
        tasks.append(
            {
                **task,
                "app_title": i18n.label(app.raw.get("title"), task["app"]) if app else task["app"],
                "object_title": object_label(obj) if obj is not None else task["object"],
                "href": f"/apps/{task['app']}/{task['object']}/{task['record_id']}",
                "act": f"/apps/{task['app']}/{task['object']}/{task['record_id']}/actions/",
                "decisions": [a for a in ("approve", "reject") if a in task["actions"]],
            }
        )
    context = {**shell.chrome(request), "tasks": tasks, "status": status, "problem": None}
    return page(request, "inbox.html", context, found)


def _decide(request: Request, action: str, ids: list[int], comment: str | None) -> int:
    """Take ``action`` on the records of the user's pending tasks ``ids``, all or none."""
    auth.resolve_here(request)
    actor = auth.require_actor(request)
    current: Current = request.app.state.current
    view = current.view()
    now = request.app.state.clock.now()
    with write_transaction(request.app.state.engine) as conn:
        mine = inbox.inbox(conn, view.reader, actor, "pending", ["approval"], None, 500, now)
        chosen = [t for t in mine["data"] if t["id"] in ids and action in t["actions"]]
        for task in chosen:
            qualified = f"{task['app']}.{task['object']}"
            view.transitions.act(
                conn, actor, qualified, task["record_id"], action, {"comment": comment}
            )
    return len(chosen)


@auth.resolves_itself
async def bulk(request: Request) -> Response:
    async with request.form() as form:
        action = str(form.get("action") or "")
        raw = [str(v) for v in form.getlist("task")]
        comment = str(form.get("comment") or "").strip() or None
    ids = [int(v) for v in raw if v.isdigit() and len(v) < 19]
    if action not in BULK:
        raise TenonError(i18n.gettext("Choose approve or reject."), code="BAD_REQUEST", status=400)
    if not ids:
        raise TenonError(
            i18n.gettext("Tick the approvals to decide first."), code="BAD_REQUEST", status=400
        )
    done = await run_in_threadpool(_decide, request, action, ids, comment)
    return RedirectResponse(f"/inbox?decided={done}", status_code=303)


routes = [
    Route("/inbox", inbox_page, methods=["GET"]),
    Route("/inbox/bulk", bulk, methods=["POST"]),
]
