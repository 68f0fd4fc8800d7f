"""``create_app(settings)``: the Starlette application. Resources live in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from runtime import __version__
from runtime.clock import Clock
from runtime.config import Settings
from runtime.errors import TenonError
from runtime.security.audit import SecurityAudit
from runtime.security.ratelimit import LoginThrottle
from runtime.security.sessions import SessionService
from runtime.security.tokens import TokenService
from runtime.security.users import UserService
from runtime.services import mail
from runtime.services.apps import AppService
from runtime.services.current import Current
from runtime.services.job_kinds import job_runner
from runtime.storage.engine import make_engine
from runtime.storage.jobs import JobStore
from runtime.storage.migrate import upgrade_system_tables
from runtime.storage.shared_clock import SharedClock
from runtime.web import (
    errors,
    i18n,
    pages,
    routes_admin,
    routes_apps,
    routes_auth,
    routes_dashboards,
    routes_files,
    routes_import,
    routes_jobs,
    routes_notifications,
    routes_records,
    routes_tasks,
    routes_users,
    routes_webhooks,
    routes_writes,
)
from runtime.web.auth import AuthMiddleware, resolving
from runtime.web.csrf import CsrfMiddleware
from runtime.web.headers import SecurityHeaders
from runtime.web.testclock import PinClock

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def _apps(request: Request) -> AppService:
    service: AppService = request.app.state.apps
    return service


def health(request: Request) -> Response:
    installed = _apps(request).installed()
    return JSONResponse(
        {
            "status": "ok",
            "version": __version__,
            "apps": [{"name": a.name, "version": a.version} for a in installed],
        }
    )


def make_templates() -> Jinja2Templates:
    """The page templates: autoescaped, with the UI's gettext and label helpers."""
    templates = Jinja2Templates(directory=str(TEMPLATES))
    env = templates.env
    env.autoescape = True
    env.globals.update(_=i18n.gettext, ngettext=i18n.ngettext, current_lang=i18n.current)
    env.filters["label"] = i18n.label
    return templates


def _resolving(route: BaseRoute) -> BaseRoute:
    """Every endpoint resolves the caller's bearer token before it runs (auth.resolving)."""
    if isinstance(route, Route):
        methods = sorted(route.methods) if route.methods else None
        return Route(route.path, resolving(route.endpoint), methods=methods, name=route.name)
    return route


def create_app(
    settings: Settings,
    clock: Clock | None = None,
    http: Callable[[], httpx.Client] | None = None,
) -> Starlette:
    """The ASGI app. ``http`` makes the client outbound webhooks are sent with (tests
    give one on httpx's MockTransport)."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        engine = make_engine(settings.database_url)
        upgrade_system_tables(engine)
        the_clock = clock or (SharedClock(engine) if settings.test_clock else Clock())
        app.state.engine = engine
        app.state.clock = the_clock
        app.state.apps = AppService(engine, the_clock)
        app.state.jobs = JobStore(engine)
        app.state.current = Current(app.state.apps, the_clock, app.state.jobs)
        app.state.users = UserService(engine, the_clock, definitions=app.state.apps.definitions)
        app.state.runner = runner = job_runner(
            app.state.current,
            app.state.jobs,
            app.state.users,
            settings.test_clock,
            http,
            mail.handler(engine, settings),
        )
        app.state.sessions = SessionService(
            engine, the_clock, settings.session_idle_minutes, settings.session_absolute_hours
        )
        app.state.tokens = TokenService(engine, the_clock)
        app.state.throttle = LoginThrottle(
            engine,
            the_clock,
            per_user=settings.login_max_failures_per_user,
            per_ip=settings.login_max_failures_per_ip,
            window_minutes=settings.login_window_minutes,
        )
        app.state.audit = SecurityAudit(engine, the_clock)
        app.state.templates = make_templates()
        if settings.run_jobs:
            runner.start(settings.job_poll_seconds)
        try:
            yield
        finally:
            runner.stop()
            engine.dispose()

    routes: list[BaseRoute] = [
        Route("/health", health),
        Route("/api/v1/health", health),
        *routes_auth.routes,
        *routes_users.routes,
        *routes_admin.routes,
        *routes_apps.routes,
        *routes_import.routes,
        *routes_writes.routes,
        *routes_records.routes,
        *routes_files.routes,
        *routes_dashboards.routes,
        *routes_jobs.routes,
        *routes_notifications.routes,
        *routes_tasks.routes,
        *routes_webhooks.routes,
        *(routes_admin.test_clock_routes if settings.test_clock else []),
        *(routes_jobs.test_clock_routes if settings.test_clock else []),
        *pages.routes,
        Mount("/static", StaticFiles(directory=str(STATIC)), name="static"),
    ]
    app = Starlette(
        debug=False,
        routes=[_resolving(route) for route in routes],
        middleware=[
            # outermost first: headers on every answer, then who is asking, then CSRF
            Middleware(SecurityHeaders),
            Middleware(i18n.Language),
            *([Middleware(PinClock)] if settings.test_clock else []),
            Middleware(AuthMiddleware),
            Middleware(
                CsrfMiddleware,
                trusted_origins=settings.trusted_origins,
                assume_https=settings.secure_cookies,
            ),
        ],
        exception_handlers={
            TenonError: errors.tenon_error,
            HTTPException: errors.http_error,
            Exception: errors.server_error,
        },
        lifespan=lifespan,
    )
    app.state.settings = settings
    return app


def from_environment() -> Starlette:
    """The app for one of ``tenon serve --workers N``'s processes (a uvicorn factory)."""
    return create_app(Settings.from_env())
