"""Admin routes: the security audit and, with ``TENON_TEST_CLOCK=1`` only, the test clock."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.clock import Clock
from runtime.security.audit import SecurityAudit
from runtime.web import auth, body


def security_events(request: Request) -> Response:
    """``GET /api/v1/admin/security-events?limit=&event=&subject=``, newest first."""
    auth.require_system_admin(request)
    audit: SecurityAudit = request.app.state.audit
    params = request.query_params
    events = audit.events(
        limit=body.query_int(request, "limit", default=100, minimum=1, maximum=1000),
        event=params.get("event") or None,
        subject=params.get("subject") or None,
    )
    return JSONResponse({"data": events})


def _clock_body(clock: Clock) -> dict[str, str]:
    return {"now": clock.now().isoformat()}


def read_clock(request: Request) -> Response:
    auth.require_system_admin(request)
    return JSONResponse(_clock_body(request.app.state.clock))


async def set_clock(request: Request) -> Response:
    """``{"now": "2025-06-10T09:00:00"}`` freezes every "now"; ``{"now": null}`` unfreezes.
    A time with an offset is converted to UTC (Tenon keeps naive UTC times)."""
    auth.require_system_admin(request)
    data = await body.read_object(request, allowed=("now",))
    raw = data.get("now")
    when = None
    if raw is not None:
        try:
            when = datetime.fromisoformat(body.required_text(data, "now", max_length=40))
        except ValueError:
            raise body.invalid("now", "'now' must be an ISO 8601 date and time") from None
        if when.tzinfo is not None:
            when = when.astimezone(UTC).replace(tzinfo=None)
    clock: Clock = request.app.state.clock
    clock.set(when)
    return JSONResponse(_clock_body(clock))


routes = [Route("/api/v1/admin/security-events", security_events, methods=["GET"])]
test_clock_routes = [
    Route("/api/v1/admin/clock", read_clock, methods=["GET"]),
    Route("/api/v1/admin/clock", set_clock, methods=["POST"]),
]
