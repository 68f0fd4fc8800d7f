"""Bulk actions from a list: the ticked records take one workflow action together.

    POST /apps/{app}/{object}/bulk      ``action``, ``id`` (repeated), ``comment``;
                                        ``?view=…&q=…`` (the list to come back to)

It is ``Transitions.act_many``, the JSON API's bulk action: one transaction, all records
or none, each under the same permission, condition and required-field rules as one at a
time. A refusal comes back on the list, naming the record and the reason; nothing was
changed.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from runtime.errors import TenonError
from runtime.services.current import Current
from runtime.storage.engine import write_transaction
from runtime.web import auth, i18n
from runtime.web.pages.lists import bulk_actions, grid_page, listing

MAX_TICKED = 500


@auth.resolves_itself
async def bulk(request: Request) -> Response:
    async with request.form() as form:
        action = str(form.get("action") or "")
        raw = [str(v) for v in form.getlist("id")]
        comment = str(form.get("comment") or "").strip() or None
    ids = list(dict.fromkeys(int(v) for v in raw if v.isdigit() and len(v) < 19))
    return await run_in_threadpool(_bulk, request, action, ids, comment)


def _bulk(request: Request, action: str, ids: list[int], comment: str | None) -> Response:
    auth.resolve_here(request)
    view = listing(request)
    offered = {a["name"] for a in bulk_actions(view.obj, view.actor)}
    try:
        if action not in offered:
            raise TenonError(i18n.gettext("Choose an action."), code="BAD_REQUEST")
        if not ids:
            raise TenonError(i18n.gettext("Tick the records first."), code="BAD_REQUEST")
        if len(ids) > MAX_TICKED:
            raise TenonError(f"tick at most {MAX_TICKED} records at once", code="BAD_REQUEST")
        current: Current = request.app.state.current
        flows = current.view().transitions
        data: dict[str, Any] = {"comment": comment}
        with write_transaction(request.app.state.engine) as conn:
            flows.act_many(conn, view.actor, view.obj.qualified, ids, action, data)
    except TenonError as error:
        if error.status >= 500 or error.status == 401:
            raise
        return grid_page(view, refusal=error)
    keep = [(k, v) for k, v in request.query_params.multi_items() if k != "done"]
    query = urlencode([*keep, ("done", str(len(ids)))])
    return RedirectResponse(f"/apps/{view.app.name}/{view.obj.name}?{query}", status_code=303)


routes = [Route("/apps/{app}/{object}/bulk", bulk, methods=["POST"])]
