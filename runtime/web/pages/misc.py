"""Small pages: the language switch, the reference picker's search, notifications.

POST /language                        lang=en|zh, back to ``next`` (a cookie for a year)
GET  /apps/{app}/{object}/pick        ?field=&_q_{field}= — the records a reference
                                      field may point to, matching the typed text
GET  /notifications                   the user's notifications, newest first
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from runtime.errors import TenonError
from runtime.metadata.model import qualify
from runtime.storage import notifications
from runtime.storage.engine import read_connection
from runtime.web import auth, i18n
from runtime.web.pages import shell
from runtime.web.pages.layout import label_field
from runtime.web.pages.lists import search_condition
from runtime.web.pages.render import fragment, page
from runtime.web.routes_auth import safe_next

PICK_ROWS = 10
YEAR = 365 * 24 * 3600


async def language(request: Request) -> Response:
    async with request.form() as form:
        lang = str(form.get("lang") or "")
        target = safe_next(form.get("next"))
    response = RedirectResponse(target, status_code=303)
    if lang in i18n.LANGUAGES:
        response.set_cookie(
            i18n.COOKIE, lang, max_age=YEAR, path="/", secure=auth.is_https(request), samesite="lax"
        )
    return response


def pick(request: Request) -> Response:
    """Options for a reference field's type-ahead: records of its target the user may
    read, whose name contains the typed text."""
    actor = auth.require_actor(request)
    read = shell.reader(request)
    app = shell.app_of(read, request.path_params["app"])
    obj = shell.object_of(read, app, request.path_params["object"])
    name = request.query_params.get("field", "")
    fdef = obj.by_name.get(name)
    if fdef is None or fdef.type != "reference" or not fdef.target:
        raise TenonError(i18n.gettext("There is no such field."), code="NOT_FOUND", status=404)
    target = read.object(qualify(obj.app, fdef.target))
    named = label_field(target)
    text = request.query_params.get(f"_q_{name}", "")
    condition = search_condition(target, read, (named,), text) if named else None
    with read_connection(request.app.state.engine) as conn:
        found = read.list_records(
            conn,
            actor,
            target.qualified,
            filter=condition,
            limit=PICK_ROWS,
            fields=[named] if named else None,
            sort=named,
        )
    options = [
        {"id": r["id"], "label": str(r.get(named) or f"#{r['id']}") if named else f"#{r['id']}"}
        for r in found.data
    ]
    return fragment(request, "_pick.html", {"options": options})


def notifications_page(request: Request) -> Response:
    actor = auth.require_actor(request)
    found = notifications.of_user(request.app.state.engine, actor.user_id, False, 100)
    for item in found["data"]:
        if item.get("app") and item.get("record_id"):
            item["href"] = f"/apps/{item['app']}/{item['object']}/{item['record_id']}"
    return page(
        request, "notifications.html", {**shell.chrome(request), "items": found["data"]}, found
    )


routes = [
    Route("/language", language, methods=["POST"]),
    Route("/apps/{app}/{object}/pick", pick, methods=["GET"]),
    Route("/notifications", notifications_page, methods=["GET"]),
]
