"""One place that turns errors into responses: the JSON error body for the API, a small
HTML page elsewhere. Never a traceback."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.templating import Jinja2Templates

from runtime.errors import TenonError

log = logging.getLogger("tenon.web")

HTTP_CODES = {
    400: "BAD_REQUEST",
    401: "UNAUTHORIZED",
    403: "FORBIDDEN",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    413: "TOO_LARGE",
    422: "VALIDATION_FAILED",
    429: "TOO_MANY_REQUESTS",
    500: "INTERNAL_ERROR",
    503: "UNAVAILABLE",
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or "application/json" in request.headers.get(
        "accept", ""
    )


def error_response(request: Request, error: TenonError) -> Response:
    if _wants_json(request):
        return JSONResponse(error.body(), status_code=error.status)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"error": error}, status_code=error.status
    )


async def tenon_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TenonError)
    return error_response(request, exc)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    code = HTTP_CODES.get(exc.status_code, "ERROR")
    message = exc.detail if isinstance(exc.detail, str) else code
    return error_response(request, TenonError(message, code=code, status=exc.status_code))


async def server_error(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    error = TenonError(
        "Something went wrong on our side; nothing was changed.", code="INTERNAL_ERROR", status=500
    )
    if _wants_json(request):
        return JSONResponse(error.body(), status_code=500)
    return HTMLResponse("<h1>Something went wrong</h1>", status_code=500)
