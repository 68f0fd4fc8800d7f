"""``create_app(settings)``: the Starlette application. Resources live in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime import __version__
from runtime.clock import Clock
from runtime.config import Settings
from runtime.errors import TenonError
from runtime.services.apps import AppService
from runtime.storage.engine import make_engine
from runtime.storage.migrate import upgrade_system_tables
from runtime.web import errors

TEMPLATES = Path(__file__).parent / "templates"
SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


class SecurityHeaders:
    """Adds the security headers to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + SECURITY_HEADERS
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _apps(request: Request) -> AppService:
    service: AppService = request.app.state.apps
    return service


async def health(request: Request) -> Response:
    installed = _apps(request).installed()
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "apps": [{"name": a.name, "version": a.version} for a in installed],
        }
    )


async def home(request: Request) -> Response:
    context: dict[str, Any] = {"apps": _apps(request).installed(), "version": __version__}
    if "application/json" in request.headers.get("accept", ""):
        return JSONResponse(
            {
                "apps": [
                    {"name": a.name, "version": a.version, "title": a.title}
                    for a in context["apps"]
                ]
            }
        )
    templates: Jinja2Templates = request.app.state.templates
    return templates.TemplateResponse(request, "home.html", context)


def create_app(settings: Settings, clock: Clock | None = None) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        upgrade_system_tables(engine)
        app.state.engine = engine
        app.state.clock = clock or Clock()
        app.state.apps = AppService(engine, app.state.clock)
        app.state.templates = Jinja2Templates(directory=str(TEMPLATES))
        try:
            yield
        finally:
            engine.dispose()

    return Starlette(
        debug=False,
        routes=[
            Route("/", home),
            Route("/health", health),
            Route("/api/v1/health", health),
        ],
        middleware=[Middleware(SecurityHeaders)],
        exception_handlers={
            TenonError: errors.tenon_error,
            HTTPException: errors.http_error,
            Exception: errors.server_error,
        },
        lifespan=lifespan,
    )
