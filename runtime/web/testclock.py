"""With ``TENON_TEST_CLOCK=1``: each request reads the shared test clock once, first."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from runtime.storage.shared_clock import SharedClock


class PinClock:
    """Reads the frozen time in a worker thread, then pins it in the request's context
    (set here, on the event loop, so every thread the request uses sees it)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            clock = getattr(scope["app"].state, "clock", None)
            if isinstance(clock, SharedClock):
                SharedClock.pin(await run_in_threadpool(clock.read))
        await self.app(scope, receive, send)
