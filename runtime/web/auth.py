"""Who is asking: resolved once per request, used by every route.

``AuthMiddleware`` reads ``Authorization: Bearer <token>`` (API clients) or the
``tenon_session`` cookie (browsers) and sets

* ``request.state.actor``   — :class:`~runtime.security.actor.Actor` or None
* ``request.state.user``    — :class:`~runtime.security.users.UserInfo` or None
* ``request.state.session`` — :class:`~runtime.security.sessions.SessionInfo` when signed
  in by cookie (CSRF applies), else None
* ``request.state.token``   — :class:`~runtime.security.tokens.TokenInfo` when signed in by
  token, else None

A session is resolved by the middleware (CSRF checks it next). A bearer token is resolved
by the route itself, before its own code (:func:`resolving` wraps every route), so that a
synchronous API endpoint costs one trip to the thread pool, not two.

It refuses, before any route code runs: a token in the query string (400
``TOKEN_IN_QUERY``), an unknown, expired or revoked bearer token (401 ``INVALID_TOKEN``),
and a read-scope token on a method other than GET/HEAD/OPTIONS (403 ``TOKEN_READ_ONLY``).

Route code asks with :func:`require_actor` / :func:`require_system_admin`; the error
handler turns the 401 into a redirect to ``/login?next=…`` for pages and into a JSON 401
with ``WWW-Authenticate: Bearer`` for the API.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from runtime.config import Settings
from runtime.errors import Forbidden, TenonError, Unauthorized
from runtime.security.actor import Actor
from runtime.security.audit import Origin
from runtime.security.sessions import SessionInfo, SessionService
from runtime.security.tokens import TokenService
from runtime.security.users import UserService
from runtime.storage.engine import read_connection
from runtime.web import errors

SESSION_COOKIE = "tenon_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
QUERY_TOKEN_NAMES = frozenset({"access_token", "token", "api_key", "apikey", "auth"})


def current_actor(request: Request) -> Actor | None:
    actor: Actor | None = getattr(request.state, "actor", None)
    return actor


def current_session(request: Request) -> SessionInfo | None:
    session: SessionInfo | None = getattr(request.state, "session", None)
    return session


def require_actor(request: Request) -> Actor:
    """The signed-in actor, or 401 (pages: a redirect to the sign-in form)."""
    if getattr(request.state, "bearer", None) is not None:  # a route's mistake, not the caller's
        raise RuntimeError("the bearer token is not resolved yet: call resolve_here first")
    actor = current_actor(request)
    if actor is None:
        raise Unauthorized("Sign in to continue.")
    return actor


def require_system_admin(request: Request) -> Actor:
    """The signed-in actor if a system administrator, else 401/403 ``FORBIDDEN``."""
    actor = require_actor(request)
    if not actor.is_system_admin:
        raise Forbidden("Only a system administrator may do this.")
    return actor


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None


def origin(request: Request) -> Origin:
    """Who and where, for the security audit."""
    return Origin.of(current_actor(request), client_ip(request))


def is_https(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    return settings.secure_cookies or request.url.scheme == "https"


def set_session_cookie(response: Response, request: Request, raw: str) -> None:
    response.set_cookie(
        SESSION_COOKIE, raw, path="/", secure=is_https(request), httponly=True, samesite="lax"
    )


def clear_session_cookie(response: Response, request: Request) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=is_https(request), httponly=True, samesite="lax"
    )


def _refuse_token_in_query(request: Request) -> None:
    named = sorted({k for k in request.query_params if k.lower() in QUERY_TOKEN_NAMES})
    if named:
        raise TenonError(
            f"Credentials are not accepted in the URL (found {named[0]!r}); send the token "
            "in the header 'Authorization: Bearer <token>' and revoke the exposed one.",
            code="TOKEN_IN_QUERY",
        )


def _bearer(request: Request, credentials: str) -> None:
    """Fill ``request.state`` from a bearer token (blocking I/O)."""
    state = request.app.state
    users: UserService = state.users
    tokens: TokenService = state.tokens
    with read_connection(state.engine) as conn:  # one statement: the token and its user
        found = users.by_token(conn, credentials, tokens)
    token, user = found if found is not None else (None, None)
    if token is not None:
        tokens.note_use(token)
    if token is None or user is None or not user.is_active:
        raise Unauthorized(
            "The API token is not valid: unknown, expired or revoked.", code="INVALID_TOKEN"
        )
    if token.read_only and request.method not in SAFE_METHODS:
        raise Forbidden(
            "This token has the read scope: it may only read (GET, HEAD, OPTIONS).",
            code="TOKEN_READ_ONLY",
        )
    request.state.user = user
    request.state.token = token
    request.state.actor = users.actor_for(user, via="token", read_only=token.read_only)


def _session(request: Request) -> None:
    """Fill ``request.state`` from the session cookie (blocking I/O)."""
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return
    state = request.app.state
    users: UserService = state.users
    sessions: SessionService = state.sessions
    session = sessions.resolve(raw)
    found = users.get_by_id(session.user_id) if session is not None else None
    if session is not None and found is not None and found.is_active:
        request.state.user = found
        request.state.session = session
        request.state.actor = users.actor_for(found, via="session")


def _pending_bearer(request: Request) -> str | None:
    """The credentials of a bearer request not resolved yet (None after resolving)."""
    credentials: str | None = request.state.bearer
    request.state.bearer = None
    return credentials


RESOLVES_ITSELF = "tenon_resolves_itself"


def resolves_itself(endpoint: Callable[[Request], Any]) -> Callable[[Request], Any]:
    """Mark an async endpoint that reads its body (bounded, not parsed) and then calls
    :func:`resolve_here` first thing in its own trip to the thread pool: the token, the
    body's parsing and the work in one trip."""
    setattr(endpoint, RESOLVES_ITSELF, True)
    return endpoint


def resolve_here(request: Request) -> None:
    """Resolve the request's bearer token now, in a worker thread (blocking I/O)."""
    credentials = _pending_bearer(request)
    if credentials is not None:
        _bearer(request, credentials)


def resolving(endpoint: Callable[[Request], Any]) -> Callable[[Request], Awaitable[Response]]:
    """``endpoint`` with the request's bearer token resolved first, in the same trip to
    the thread pool as a synchronous endpoint's own work (one trip, not two: a good
    share of a small API request's cost). Every route of the app is wrapped."""
    if getattr(endpoint, RESOLVES_ITSELF, False):
        return endpoint
    if inspect.iscoroutinefunction(endpoint):

        async def run_async(request: Request) -> Response:
            credentials = _pending_bearer(request)
            if credentials is not None:
                await run_in_threadpool(_bearer, request, credentials)
            answer: Response = await endpoint(request)
            return answer

        return run_async

    def both(request: Request) -> Response:
        credentials = _pending_bearer(request)
        if credentials is not None:
            _bearer(request, credentials)
        answer: Response = endpoint(request)
        return answer

    async def run_sync(request: Request) -> Response:
        return await run_in_threadpool(both, request)

    return run_sync


class AuthMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/static/"):
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {}).update(
            actor=None, user=None, session=None, token=None, bearer=None
        )
        request = Request(scope)
        try:
            _refuse_token_in_query(request)
            scheme, _, credentials = request.headers.get("authorization", "").strip().partition(" ")
            if scheme.lower() == "bearer":  # resolved by the route (``resolving``)
                request.state.bearer = credentials.strip()
            elif SESSION_COOKIE in request.cookies:  # CSRF, next, needs the session
                await run_in_threadpool(_session, request)
        except TenonError as error:
            await errors.error_response(request, error)(scope, receive, send)
            return
        await self.app(scope, receive, send)
