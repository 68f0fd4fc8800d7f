"""Tasks: the caller's inbox, and the approval trail of a record.

    GET /api/v1/tasks                  the caller's tasks (?status=pending|waiting|closed|all,
                                       ?kind=approval,todo,cc, ?limit=, ?cursor=)
    GET /api/v1/approvals              the approvals the caller submitted ("my requests"),
                                       newest first, with whom each waits for
    GET /api/v1/apps/{app}/objects/{object}/records/{id}/approvals
                                       the record's approvals, steps, decisions and to-dos

Decisions are workflow actions: ``POST …/records/{id}/actions/{approve|reject|…}``.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.services import inbox
from runtime.storage.engine import read_connection
from runtime.web import auth, body
from runtime.web.routes_records import BASE, qualified_object, reader, record_id_of

KINDS = ("approval", "todo", "cc")


def list_tasks(request: Request) -> Response:
    actor = auth.require_actor(request)
    status = request.query_params.get("status", "pending")
    if status not in inbox.STATUSES:
        raise body.invalid("status", f"status must be one of {', '.join(inbox.STATUSES)}")
    kinds = [k for k in request.query_params.get("kind", "").split(",") if k]
    if any(k not in KINDS for k in kinds):
        raise body.invalid("kind", f"kind must be among {', '.join(KINDS)}")
    limit = body.query_int(request, "limit", default=50, minimum=1, maximum=500)
    cursor = request.query_params.get("cursor")
    if cursor is not None and (not cursor.isdigit() or len(cursor) > 18):
        raise body.invalid("cursor", "cursor must be the next_cursor of a previous page")
    read = reader(request)
    now = request.app.state.clock.now()
    with read_connection(request.app.state.engine) as conn:
        after = int(cursor) if cursor else None
        found = inbox.inbox(conn, read, actor, status, kinds, after, limit, now)
    return JSONResponse(found)


def my_requests(request: Request) -> Response:
    """The approvals the caller submitted, newest first (``?status=running|all``)."""
    actor = auth.require_actor(request)
    status = request.query_params.get("status", "all")
    if status not in ("running", "all"):
        raise body.invalid("status", "status must be running or all")
    limit = body.query_int(request, "limit", default=50, minimum=1, maximum=500)
    cursor = request.query_params.get("cursor")
    if cursor is not None and (not cursor.isdigit() or len(cursor) > 18):
        raise body.invalid("cursor", "cursor must be the next_cursor of a previous page")
    with read_connection(request.app.state.engine) as conn:
        before = int(cursor) if cursor else None
        found = inbox.submitted(conn, actor, status == "running", before, limit)
    return JSONResponse(found)


def approvals(request: Request) -> Response:
    actor = auth.require_actor(request)
    read = reader(request)
    qualified = qualified_object(request, read)
    now = request.app.state.clock.now()
    with read_connection(request.app.state.engine) as conn:
        found = inbox.trail(conn, read, actor, qualified, record_id_of(request), now)
    return JSONResponse(found)


routes = [
    Route("/api/v1/tasks", list_tasks, methods=["GET"]),
    Route("/api/v1/approvals", my_requests, methods=["GET"]),
    Route(f"{BASE}/records/{{id}}/approvals", approvals, methods=["GET"]),
]
