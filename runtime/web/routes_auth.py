"""Signing in and out (the HTML form), API tokens, and ``/api/v1/me``.

Every failed sign-in — unknown user, inactive user, no password, wrong password — gets
the same answer (401 ``INVALID_CREDENTIALS``); the security audit records the real reason.
Throttled attempts get 429 with ``Retry-After`` whether or not the user exists.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from runtime.errors import NotFound, TooManyRequests, Unauthorized
from runtime.security import tokens as tokens_module
from runtime.security.audit import Origin, SecurityAudit
from runtime.security.ratelimit import LoginThrottle, username_key
from runtime.security.sessions import SessionService
from runtime.security.tokens import TokenService
from runtime.security.users import UserInfo, UserService
from runtime.web import auth, body, csrf

INVALID_CREDENTIALS = "Username or password is incorrect."
TOKEN_KEYS = ("name", "scope", "expires_in_days")


def safe_next(target: object) -> str:
    """A local path to go to after signing in; anything else (another site, a scheme,
    ``//host``, backslashes, control characters) becomes ``/``."""
    if not isinstance(target, str) or not target.startswith("/") or len(target) > 2000:
        return "/"
    if target.startswith("//") or "\\" in target or any(ord(c) < 32 for c in target):
        return "/"
    parts = urlsplit(target)
    return target if not parts.scheme and not parts.netloc else "/"


async def sign_in(request: Request, username: object, password: object, via: str) -> UserInfo:
    """Throttle, check the password, audit; the user, or 401/429 (same for every reason)."""
    state = request.app.state
    throttle: LoginThrottle = state.throttle
    users: UserService = state.users
    audit: SecurityAudit = state.audit
    ip = auth.client_ip(request)
    tried = username_key(username)
    try:
        await run_in_threadpool(throttle.begin, username, ip)
    except TooManyRequests as error:
        audit.record(
            "login_throttled", Origin(ip=ip), tried, via=via, retry_after=error.retry_after
        )
        raise
    user, reason = await run_in_threadpool(users.check_credentials, username, password)
    if user is None:
        audit.record("login_failed", Origin(ip=ip), tried, via=via, reason=reason)
        raise Unauthorized(INVALID_CREDENTIALS, code="INVALID_CREDENTIALS")
    throttle.succeeded(username)
    audit.record("login_succeeded", Origin(user.id, user.username, ip), user.username, via=via)
    return user


# -- the sign-in form -------------------------------------------------------------------


def _login_page(
    request: Request,
    token: str,
    next_path: str,
    *,
    username: str = "",
    error: str | None = None,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    context = {"csrf_token": token, "next": next_path, "username": username, "error": error}
    response = templates.TemplateResponse(
        request, "login.html", context, status_code=status, headers=headers
    )
    response.set_cookie(
        csrf.LOGIN_COOKIE,
        token,
        path="/login",
        secure=auth.is_https(request),
        httponly=True,
        samesite="strict",
    )
    return response


def _form_token(request: Request) -> str:
    """Keep the double-submit token the browser has (so re-rendered forms match)."""
    existing = request.cookies.get(csrf.LOGIN_COOKIE, "")
    return existing if 40 <= len(existing) <= 64 and existing.isascii() else csrf.new_token()


async def login_form(request: Request) -> Response:
    return _login_page(request, _form_token(request), safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    async with request.form() as form:
        fields = {k: form.get(k) for k in ("username", "password", "csrf_token", "next")}
    values = {k: v if isinstance(v, str) else "" for k, v in fields.items()}
    next_path = safe_next(values["next"])
    username = values["username"][:150]
    if not csrf.login_token_ok(request, values["csrf_token"]):
        message = "The sign-in form expired. Please try again."
        return _login_page(request, csrf.new_token(), next_path, error=message, status=403)
    token = _form_token(request)
    try:
        user = await sign_in(request, values["username"], values["password"], via="session")
    except TooManyRequests as error:
        retry = {"Retry-After": str(error.retry_after)}
        return _login_page(
            request,
            token,
            next_path,
            username=username,
            error=error.message,
            status=429,
            headers=retry,
        )
    except Unauthorized as error:
        return _login_page(
            request, token, next_path, username=username, error=error.message, status=401
        )
    sessions: SessionService = request.app.state.sessions
    raw, _session = await run_in_threadpool(
        sessions.create,
        user.id,
        auth.client_ip(request),
        request.headers.get("user-agent"),
        request.cookies.get(auth.SESSION_COOKIE),
    )
    response = RedirectResponse(next_path, status_code=303)
    auth.set_session_cookie(response, request, raw)
    response.delete_cookie(
        csrf.LOGIN_COOKIE,
        path="/login",
        secure=auth.is_https(request),
        httponly=True,
        samesite="strict",
    )
    return response


async def logout(request: Request) -> Response:
    session = auth.current_session(request)
    if session is not None:
        sessions: SessionService = request.app.state.sessions
        audit: SecurityAudit = request.app.state.audit
        if sessions.revoke(session.id):
            actor = auth.current_actor(request)
            audit.record("logout", auth.origin(request), actor.username if actor else None)
    if "application/json" in request.headers.get("accept", ""):
        response: Response = JSONResponse({"signed_out": True})
    else:
        response = RedirectResponse("/login", status_code=303)
    auth.clear_session_cookie(response, request)
    return response


# -- API tokens -------------------------------------------------------------------------


def _token_fields(data: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": body.text(data, "name", default="API token", max_length=100) or "API token",
        "scope": body.choice(data, "scope", tokens_module.SCOPES, "read_write"),
        "expires_in_days": body.integer(
            data,
            "expires_in_days",
            default=tokens_module.DEFAULT_DAYS,
            minimum=1,
            maximum=tokens_module.MAX_DAYS,
        ),
    }


def _issued(secret: str, info: tokens_module.TokenInfo) -> Response:
    return JSONResponse(
        {
            "token": secret,
            "id": info.id,
            "name": info.name,
            "prefix": info.prefix,
            "scope": info.scope,
            "expires_at": info.expires_at.isoformat(),
        },
        status_code=201,
    )


async def issue_token(request: Request) -> Response:
    """``POST /api/v1/auth/token``: a token for a username and password."""
    data = await body.read_object(request, allowed=("username", "password", *TOKEN_KEYS))
    username = body.required_text(data, "username", max_length=1000)
    password = body.required_text(data, "password", max_length=10_000)
    fields = _token_fields(data)
    user = await sign_in(request, username, password, via="token")
    tokens: TokenService = request.app.state.tokens
    ip = auth.client_ip(request)
    origin = Origin(user.id, user.username, ip)
    secret, info = await run_in_threadpool(
        lambda: tokens.create(user.id, user.username, origin=origin, **fields)
    )
    return _issued(secret, info)


def list_tokens(request: Request) -> Response:
    actor = auth.require_actor(request)
    tokens: TokenService = request.app.state.tokens
    now = request.app.state.clock.now()
    return JSONResponse({"data": [t.as_dict(now) for t in tokens.list(actor.user_id)]})


async def create_token(request: Request) -> Response:
    """A personal token for the signed-in caller (session + CSRF, or a read_write token).
    A token made with a token expires no later than the one that made it."""
    actor = auth.require_actor(request)
    fields = _token_fields(await body.read_object(request, allowed=TOKEN_KEYS))
    parent: tokens_module.TokenInfo | None = request.state.token
    tokens: TokenService = request.app.state.tokens
    secret, info = await run_in_threadpool(
        lambda: tokens.create(
            actor.user_id,
            actor.username,
            origin=auth.origin(request),
            not_after=parent.expires_at if parent is not None else None,
            **fields,
        )
    )
    return _issued(secret, info)


def revoke_token(request: Request) -> Response:
    """Revoke at once: the caller's own tokens, or anyone's for a system administrator."""
    actor = auth.require_actor(request)
    tokens: TokenService = request.app.state.tokens
    info = tokens.get(request.path_params["token_id"])
    if info is None or (info.user_id != actor.user_id and not actor.is_system_admin):
        raise NotFound("No such token", code="TOKEN_NOT_FOUND")
    owner = actor.username
    if info.user_id != actor.user_id:
        users: UserService = request.app.state.users
        found = users.get_by_id(info.user_id)
        owner = found.username if found else str(info.user_id)
    tokens.revoke(info.id, owner, auth.origin(request))
    return Response(status_code=204)


async def me(request: Request) -> Response:
    actor = auth.require_actor(request)
    user: UserInfo | None = request.state.user
    return JSONResponse(
        {
            "username": actor.username,
            "display_name": user.display_name if user else None,
            "roles": sorted(actor.roles),
            "via": actor.via,
            "read_only": actor.read_only,
        }
    )


routes = [
    Route("/login", login_form, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/api/v1/auth/token", issue_token, methods=["POST"]),
    Route("/api/v1/auth/tokens", list_tokens, methods=["GET"]),
    Route("/api/v1/auth/tokens", create_token, methods=["POST"]),
    Route("/api/v1/auth/tokens/{token_id:int}", revoke_token, methods=["DELETE"]),
    Route("/api/v1/me", me, methods=["GET"]),
]
