"""The signed-in user's in-app notifications.

    GET  /api/v1/notifications          newest first (?unread=true, ?limit=), and "unread"
    POST /api/v1/notifications/read     {"ids": [...]} or {"all": true}

Only one's own: there is no way to read another user's notifications.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.storage import notifications
from runtime.web import auth, body


def list_notifications(request: Request) -> Response:
    actor = auth.require_actor(request)
    unread = request.query_params.get("unread", "false") == "true"
    limit = body.query_int(request, "limit", default=50, minimum=1, maximum=500)
    found = notifications.of_user(request.app.state.engine, actor.user_id, unread, limit)
    return JSONResponse(found)


async def mark_read(request: Request) -> Response:
    actor = auth.require_actor(request)
    data = await body.read_object(request, allowed=("ids", "all"))
    everything = body.boolean(data, "all") is True
    ids = None
    if not everything:
        raw = data.get("ids")
        if (
            not isinstance(raw, list)
            or not raw
            or not all(isinstance(i, int) and not isinstance(i, bool) for i in raw)
        ):
            raise body.invalid("ids", 'send {"ids": [notification ids]} or {"all": true}')
        ids = raw[:1000]
    engine, now = request.app.state.engine, request.app.state.clock.now()
    changed = await run_in_threadpool(notifications.mark_read, engine, actor.user_id, ids, now)
    return JSONResponse({"marked": changed})


routes = [
    Route("/api/v1/notifications", list_notifications, methods=["GET"]),
    Route("/api/v1/notifications/read", mark_read, methods=["POST"]),
]
