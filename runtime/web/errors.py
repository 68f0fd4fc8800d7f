"""One place that turns errors into responses: the JSON error body for the API, a small
HTML page elsewhere. Never a traceback."""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from runtime.errors import TenonError, TooManyRequests
from runtime.web import headers

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


def wants_json(request: Request) -> bool:
    """The API, and pages asked for their JSON twin (``Accept`` or ``?format=json``)."""
    if request.url.path.startswith("/api/") or request.query_params.get("format") == "json":
        return True
    return "application/json" in request.headers.get("accept", "")


def _headers(error: TenonError, api: bool) -> dict[str, str]:
    headers = {}
    if isinstance(error, TooManyRequests):
        headers["Retry-After"] = str(max(1, error.retry_after))
    if error.status == 401 and api:
        invalid = error.code == "INVALID_TOKEN"
        headers["WWW-Authenticate"] = 'Bearer error="invalid_token"' if invalid else "Bearer"
    return headers


def login_redirect(request: Request) -> Response:
    """Pages send a visitor who is not signed in to the sign-in form, and back after."""
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/login?next=" + quote(target, safe="/")
    if request.headers.get("hx-request"):
        return Response(status_code=401, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


def error_response(request: Request, error: TenonError) -> Response:
    api = wants_json(request)
    if error.status == 401 and error.code == "UNAUTHORIZED" and not api:
        return login_redirect(request)
    headers = _headers(error, api)
    if api:
        return JSONResponse(error.body(), status_code=error.status, headers=headers)
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(
        request, "error.html", {"error": error}, status_code=error.status, headers=headers
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
    # this handler runs outside the middleware stack: add the security headers here
    extra = headers.for_request(request.url.path, request.url.scheme == "https")
    if wants_json(request):
        return JSONResponse(error.body(), status_code=500, headers=extra)
    return HTMLResponse("<h1>Something went wrong</h1>", status_code=500, headers=extra)
