"""Cross-site request forgery protection for every mutating request.

* A POST, PUT, PATCH or DELETE whose ``Origin`` header names another site is refused,
  however it is authenticated.
* One authenticated by the session cookie must carry the session's CSRF token, in the
  ``X-CSRF-Token`` header (htmx: ``static/tenon.js`` adds it from
  ``<meta name="csrf-token">``) or in a ``csrf_token`` form field (plain forms).
* Bearer-token requests carry no ambient credential and need no token.
* The sign-in form has no session yet: it uses a double-submit cookie (``tenon_csrf``,
  HttpOnly, SameSite=Strict), checked by the route (:func:`login_token_ok`).

Every failure is 403 ``CSRF_FAILED``. Tokens are compared with ``hmac.compare_digest``.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from runtime.errors import Forbidden, TenonError
from runtime.security.sessions import SessionInfo
from runtime.web import errors

HEADER = "x-csrf-token"
FIELD = "csrf_token"
LOGIN_COOKIE = "tenon_csrf"
MUTATING = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# routes that take credentials in the body and check their own forgery protection
EXEMPT_PATHS = frozenset({"/login", "/api/v1/auth/token"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FORM_BYTES = 32 << 20
_DEFAULT_PORTS = {"http": 80, "https": 443}


def new_token() -> str:
    return secrets.token_urlsafe(32)


def tokens_match(supplied: object, expected: object) -> bool:
    if not isinstance(supplied, str) or not isinstance(expected, str):
        return False
    if not supplied or not expected:
        return False
    return hmac.compare_digest(supplied.encode(), expected.encode())


def login_token_ok(request: Request, supplied: object) -> bool:
    """The double-submit check of the sign-in form: field equals cookie."""
    return tokens_match(supplied, request.cookies.get(LOGIN_COOKIE))


def _origin_key(origin: str) -> tuple[str, str, int] | None:
    try:
        parts = urlsplit(origin)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def origin_allowed(
    request: Request, trusted: Iterable[str] = (), assume_https: bool = False
) -> bool:
    """True when no ``Origin`` is sent, or it is this server's origin or a trusted one.
    ``assume_https`` (``secure_cookies``) also accepts https on this host, for a TLS proxy
    that forwards plain http."""
    sent = request.headers.get("origin")
    if sent is None:
        return True
    key = _origin_key(sent)
    if key is None:  # "null" (sandboxed frames, some redirects) or garbage
        return False
    allowed = [f"{request.url.scheme}://{request.url.netloc}", *trusted]
    if assume_https:
        allowed.append(f"https://{request.url.hostname}")
    return key in {_origin_key(o) for o in allowed}


def _failed(message: str) -> Forbidden:
    return Forbidden(message, code="CSRF_FAILED")


async def _read_body(receive: Receive) -> bytes:
    chunks, size, more = [], 0, True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_FORM_BYTES:
            raise TenonError("The form is too large", code="TOO_LARGE", status=413)
        chunks.append(chunk)
        more = message.get("more_body", False)
    return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _form_token(scope: Scope, body: bytes, receive: Receive) -> str | None:
    request = Request(scope, _replay(body, receive))
    try:
        async with request.form() as form:
            value = form.get(FIELD)
            return None if isinstance(value, UploadFile) else value
    except Exception:  # a malformed form has no token; the route will say more
        return None


class CsrfMiddleware:
    """Runs after :class:`~runtime.web.auth.AuthMiddleware` (it reads ``state.session``)."""

    def __init__(
        self, app: ASGIApp, trusted_origins: Iterable[str] = (), assume_https: bool = False
    ) -> None:
        self.app = app
        self.trusted = tuple(trusted_origins)
        self.assume_https = assume_https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in MUTATING:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        try:
            receive = await self._check(request, scope, receive)
        except TenonError as error:
            await errors.error_response(request, error)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    async def _check(self, request: Request, scope: Scope, receive: Receive) -> Receive:
        if not origin_allowed(request, self.trusted, self.assume_https):
            raise _failed("This request came from another site and was refused.")
        session: SessionInfo | None = scope.get("state", {}).get("session")
        if session is None or scope["path"] in EXEMPT_PATHS:
            return receive
        supplied = request.headers.get(HEADER)
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if supplied is None and content_type in FORM_TYPES:
            body = await _read_body(receive)
            supplied = await _form_token(scope, body, receive)
            receive = _replay(body, receive)
        if not tokens_match(supplied, session.csrf_token):
            raise _failed(
                "The security token of this form is missing or out of date; reload the page "
                "and try again."
            )
        return receive
