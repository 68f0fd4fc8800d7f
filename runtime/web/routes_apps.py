"""Installed apps over the JSON API.

    GET  /api/v1/apps                       the installed apps (name, version, title)
    POST /api/v1/apps[?dry_run=true][&allow_data_loss=true]
                                            install or upgrade a package (.zip or JSON)
    GET  /api/v1/apps/{app}                 the installed definition

Installing is for system administrators. Reading definitions is for any signed-in user:
a definition names objects, fields and rules, never a record's value. Every worker
notices an install on its next request (the readers compare installed versions).
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.errors import TenonError
from runtime.metadata.package import read_package_bytes
from runtime.services.apps import AppService
from runtime.web import auth, body

MAX_PACKAGE_BYTES = 20 << 20


def _apps(request: Request) -> AppService:
    service: AppService = request.app.state.apps
    return service


def _flag(request: Request, name: str) -> bool:
    raw = request.query_params.get(name, "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise TenonError(f"{name} must be true or false", code="BAD_REQUEST")
    return raw in ("true", "1")


def list_apps(request: Request) -> Response:
    auth.require_actor(request)
    apps = [
        {
            "name": a.name,
            "version": a.version,
            "title": a.title,
            "installed_at": a.installed_at.isoformat(timespec="seconds"),
        }
        for a in _apps(request).installed()
    ]
    return JSONResponse({"data": apps})


def get_app(request: Request) -> Response:
    auth.require_actor(request)
    return JSONResponse(_apps(request).get(request.path_params["app"]).as_dict())


async def install(request: Request) -> Response:
    actor = auth.require_system_admin(request)
    dry_run = _flag(request, "dry_run")
    allow_data_loss = _flag(request, "allow_data_loss")
    message = f"the package is larger than {MAX_PACKAGE_BYTES} bytes"
    data = await body.read_bytes(request, MAX_PACKAGE_BYTES, too_large=message)
    if not data:
        raise TenonError("send the package (.zip or JSON) as the request body", code="BAD_REQUEST")

    def work() -> Any:
        package = read_package_bytes(data, "upload")
        return _apps(request).install(
            package, actor=actor.username, dry_run=dry_run, allow_data_loss=allow_data_loss
        )

    result = await run_in_threadpool(work)
    status = 201 if result.status in ("installed", "upgraded") else 200
    return JSONResponse(result.as_dict(), status_code=status)


routes = [
    Route("/api/v1/apps", list_apps, methods=["GET"]),
    Route("/api/v1/apps", install, methods=["POST"]),
    Route("/api/v1/apps/{app}", get_app, methods=["GET"]),
]
