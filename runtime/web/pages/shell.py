"""What every page around its content shows: who is signed in, the apps they can open,
the current app's navigation, unread notifications, the language switch."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection
from starlette.requests import Request

from runtime.errors import NotFound
from runtime.metadata.model import AppDef, ObjectDef
from runtime.security.actor import Actor
from runtime.services.dashboards import Dashboards
from runtime.services.reading import Reader
from runtime.storage import notifications
from runtime.web import auth, i18n
from runtime.web.pages.fields import object_label
from runtime.web.routes_records import reader as reader  # the pages read through it too


def app_of(read: Reader, name: str) -> AppDef:
    found = read.apps.get(name)
    if found is None:
        raise NotFound(i18n.gettext("There is no app %(name)s.", name=name), code="NOT_FOUND")
    return found


def object_of(read: Reader, app: AppDef, name: str) -> ObjectDef:
    found = app.by_name.get(name)
    if found is None:
        raise NotFound(i18n.gettext("There is no such page."), code="NOT_FOUND")
    return found


def readable_objects(conn: Connection, read: Reader, actor: Actor, app: AppDef) -> list[ObjectDef]:
    guard = read.guard(conn, actor)
    return [o for o in app.objects if guard.access(o.qualified, "read").allowed]


def allowed(conn: Connection, read: Reader, actor: Actor, qualified: str, action: str) -> bool:
    return bool(read.guard(conn, actor).access(qualified, action).allowed)


def app_nav(conn: Connection, read: Reader, actor: Actor, app: AppDef) -> dict[str, Any]:
    """The app's title and the pages of it the actor may open."""
    objects = readable_objects(conn, read, actor, app)
    boards = Dashboards(read).list(actor, app.name, i18n.current())
    return {
        "name": app.name,
        "title": i18n.label(app.raw.get("title"), app.name),
        "objects": [
            {
                "name": o.name,
                "title": object_label(o, plural=True),
                "href": f"/apps/{app.name}/{o.name}",
            }
            for o in objects
        ],
        "dashboards": [
            {
                "name": d["name"],
                "title": d["title"] or i18n.humanize(d["name"]),
                "href": f"/apps/{app.name}/dashboards/{d['name']}",
            }
            for d in boards
        ],
    }


def chrome(request: Request, app: dict[str, Any] | None = None) -> dict[str, Any]:
    """The shell's context: user, language, unread count, the current app's nav."""
    actor = auth.current_actor(request)
    session = auth.current_session(request)
    unread = 0
    if actor is not None:
        found = notifications.of_user(request.app.state.engine, actor.user_id, True, 1)
        unread = int(found["unread"])
    return {
        "user": actor.username if actor is not None else None,
        "csrf_token": session.csrf_token if session is not None else "",
        "unread": unread,
        "app": app,
    }
