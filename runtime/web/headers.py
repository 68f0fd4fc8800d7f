"""Security headers on every response, errors and 500s included.

Pages and API answers carry HR data, so everything except ``/static`` is
``Cache-Control: no-store``. The CSP allows scripts and styles from this server only: no
inline script, no ``unsafe-eval`` (htmx runs with ``allowEval=false``), no framing.
"""

from __future__ import annotations

import functools

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
COMMON = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000"
STATIC_PREFIX = "/static/"


def for_request(path: str, https: bool) -> dict[str, str]:
    """The headers a response to ``path`` must carry."""
    headers = dict(COMMON)
    if not path.startswith(STATIC_PREFIX):
        headers["cache-control"] = "no-store"
    if https:
        headers["strict-transport-security"] = HSTS
    return headers


@functools.cache
def _encoded(static: bool, https: bool) -> tuple[list[tuple[bytes, bytes]], frozenset[bytes]]:
    """:func:`for_request` as raw ASGI headers, and their names (four cases, kept)."""
    extra = for_request(STATIC_PREFIX if static else "/", https)
    return [(k.encode(), v.encode()) for k, v in extra.items()], frozenset(
        k.encode() for k in extra
    )


class SecurityHeaders:
    """Adds :func:`for_request` to every HTTP response, replacing what a route set."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        encoded, replaced = _encoded(
            scope["path"].startswith(STATIC_PREFIX), scope.get("scheme") == "https"
        )

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                kept = [(k, v) for k, v in message.get("headers", []) if k.lower() not in replaced]
                message["headers"] = kept + encoded
            await send(message)

        await self.app(scope, receive, send_with_headers)
