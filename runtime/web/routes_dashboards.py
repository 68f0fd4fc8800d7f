"""Dashboards over the JSON API, always as the signed-in caller.

    GET /api/v1/apps/{app}/dashboards            the dashboards the caller may see
    GET /api/v1/apps/{app}/dashboards/{name}     every widget with its data;
                                                 filter (a condition), lang (en, zh …)

A dashboard the caller may not see is 404, like one that does not exist. Its widgets
are computed in one read-only transaction, each under TENON_DASHBOARD_WIDGET_TIMEOUT_MS.
See docs/dashboards.md.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.services.dashboards import Dashboards
from runtime.storage.limits import read_snapshot
from runtime.web import auth
from runtime.web.routes_records import reader


def _lang(request: Request) -> str:
    raw = request.query_params.get("lang", "en")
    return raw if raw.isalpha() and len(raw) <= 8 else "en"


def list_dashboards(request: Request) -> Response:
    actor = auth.require_actor(request)
    boards = Dashboards(reader(request)).list(actor, request.path_params["app"], _lang(request))
    return JSONResponse({"data": boards})


def get_dashboard(request: Request) -> Response:
    actor = auth.require_actor(request)
    limit = request.app.state.settings.dashboard_widget_timeout_ms
    service = Dashboards(reader(request), widget_timeout_ms=limit)
    with read_snapshot(request.app.state.engine) as conn:
        board = service.compute(
            conn,
            actor,
            request.path_params["app"],
            request.path_params["name"],
            filter=request.query_params.get("filter") or None,
            lang=_lang(request),
        )
    return JSONResponse(board)


routes = [
    Route("/api/v1/apps/{app}/dashboards", list_dashboards, methods=["GET"]),
    Route("/api/v1/apps/{app}/dashboards/{name}", get_dashboard, methods=["GET"]),
]
