"""The app launcher and an app's start page.

GET /                 the installed apps the signed-in user can open
GET /apps/{app}       the app's objects and dashboards the user may open
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runtime import __version__
from runtime.storage.engine import read_connection
from runtime.web import auth, i18n
from runtime.web.pages import shell
from runtime.web.pages.render import page


def launcher(request: Request) -> Response:
    actor = auth.require_actor(request)
    read = shell.reader(request)
    installed = request.app.state.apps.installed()
    apps: list[dict[str, Any]] = []
    with read_connection(request.app.state.engine) as conn:
        for info in installed:
            app = read.apps.get(info.name)
            if app is None:
                continue
            nav = shell.app_nav(conn, read, actor, app)
            apps.append(
                {
                    "name": info.name,
                    "version": info.version,
                    "title": info.title,
                    "label": i18n.label(info.title, info.name),
                    "description": i18n.label(app.raw.get("description")),
                    "href": f"/apps/{info.name}",
                    "openable": bool(nav["objects"] or nav["dashboards"]),
                }
            )
    twin = {"apps": [{k: a[k] for k in ("name", "version", "title", "openable")} for a in apps]}
    context = {**shell.chrome(request), "apps": apps, "version": __version__}
    return page(request, "home.html", context, twin)


def app_home(request: Request) -> Response:
    actor = auth.require_actor(request)
    read = shell.reader(request)
    app = shell.app_of(read, request.path_params["app"])
    with read_connection(request.app.state.engine) as conn:
        nav = shell.app_nav(conn, read, actor, app)
    context = {**shell.chrome(request, nav), "description": i18n.label(app.raw.get("description"))}
    return page(request, "app.html", context, nav)


routes = [
    Route("/", launcher, methods=["GET"]),
    Route("/apps/{app}", app_home, methods=["GET"]),
]
