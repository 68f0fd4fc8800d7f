"""Webhook endpoints, for system administrators: where each environment sends the calls
its apps name.

    GET    /api/v1/admin/webhooks           every endpoint (the secret is never shown)
    PUT    /api/v1/admin/webhooks/{name}    {"url": "https://…", "secret": "…"}
    DELETE /api/v1/admin/webhooks/{name}
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.services.webhooks import Endpoints
from runtime.web import auth, body


def _endpoints(request: Request) -> Endpoints:
    return Endpoints(request.app.state.engine)


def list_endpoints(request: Request) -> Response:
    auth.require_system_admin(request)
    return JSONResponse({"data": _endpoints(request).listed()})


async def put_endpoint(request: Request) -> Response:
    auth.require_system_admin(request)
    data = await body.read_object(request, allowed=("url", "secret"))
    name = request.path_params["name"]
    saved = await run_in_threadpool(
        _endpoints(request).put, name, data.get("url"), data.get("secret")
    )
    return JSONResponse(saved)


def delete_endpoint(request: Request) -> Response:
    auth.require_system_admin(request)
    _endpoints(request).delete(request.path_params["name"])
    return Response(status_code=204)


routes = [
    Route("/api/v1/admin/webhooks", list_endpoints, methods=["GET"]),
    Route("/api/v1/admin/webhooks/{name}", put_endpoint, methods=["PUT"]),
    Route("/api/v1/admin/webhooks/{name}", delete_endpoint, methods=["DELETE"]),
]
