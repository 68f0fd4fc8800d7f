"""The security audit: an append-only log of sign-ins, sessions, tokens, users and roles.

Each event is written in the same transaction as the change it records, so a change is
never without its event (and a failed change leaves none). Passwords and secrets are never
written: a failed sign-in records the username that was tried and why it failed.
"""

from __future__ import annotations

import getpass
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.clock import Clock
from runtime.errors import Issue, ValidationFailed
from runtime.security.actor import Actor
from runtime.storage.system import SecurityEvent
from runtime.suggest import suggest

EVENTS = (
    "login_succeeded",
    "login_failed",
    "login_throttled",
    "logout",
    "session_revoked",
    "token_created",
    "token_revoked",
    "user_created",
    "user_updated",
    "password_changed",
    "role_granted",
    "role_revoked",
)
TABLE: sa.Table = SecurityEvent.__table__  # type: ignore[assignment]
MAX_LIMIT = 1000


@dataclass(frozen=True)
class Origin:
    """Who caused a change, and from where: a signed-in actor, the CLI, or nobody yet
    (a sign-in attempt)."""

    actor_id: int | None = None
    actor_name: str | None = None
    ip: str | None = None

    @classmethod
    def of(cls, actor: Actor | None, ip: str | None = None) -> Origin:
        if actor is None:
            return cls(ip=ip)
        return cls(actor.user_id, actor.username, ip)

    @classmethod
    def cli(cls) -> Origin:
        return cls(actor_name=f"cli:{getpass.getuser()}")


def _clip(value: str | None, size: int) -> str | None:
    return None if value is None else value[:size]


def record(
    conn: Connection,
    at: datetime,
    event: str,
    origin: Origin,
    subject: str | None = None,
    **detail: Any,
) -> None:
    """Append one event inside the caller's transaction."""
    assert event in EVENTS, event
    conn.execute(
        sa.insert(TABLE).values(
            at=at,
            event=event,
            actor_id=origin.actor_id,
            actor_name=_clip(origin.actor_name, 150),
            subject=_clip(subject, 150),
            ip=_clip(origin.ip, 64),
            detail=json.dumps(detail, sort_keys=True, default=str),
        )
    )


class SecurityAudit:
    """Writes events in transactions of their own and reads them back, newest first."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def record(self, event: str, origin: Origin, subject: str | None = None, **detail: Any) -> None:
        with self.engine.begin() as conn:
            record(conn, self.clock.now(), event, origin, subject, **detail)

    def events(
        self, limit: int = 100, event: str | None = None, subject: str | None = None
    ) -> list[dict[str, Any]]:
        if event is not None and event not in EVENTS:
            message = f"Unknown security event {event!r}{suggest(event, EVENTS)}"
            raise ValidationFailed(message, [Issue("/event", message, "UNKNOWN_EVENT")])
        query = sa.select(TABLE).order_by(TABLE.c.id.desc()).limit(max(1, min(limit, MAX_LIMIT)))
        if event is not None:
            query = query.where(TABLE.c.event == event)
        if subject is not None:
            query = query.where(TABLE.c.subject == subject)
        with self.engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            {
                "id": row["id"],
                "at": row["at"].isoformat(),
                "event": row["event"],
                "actor_id": row["actor_id"],
                "actor": row["actor_name"],
                "subject": row["subject"],
                "ip": row["ip"],
                "detail": json.loads(row["detail"]),
            }
            for row in rows
        ]
