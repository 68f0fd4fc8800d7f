"""Server-side sessions: the cookie holds an opaque id, the database only its SHA-256.

A session ends at the first of: sign-out or revocation, ``idle_minutes`` without a
request, ``absolute_hours`` after sign-in, or its user being deactivated. ``last_seen_at``
is written at most once a minute, so a busy page costs no write per request (idle expiry
is therefore exact to within a minute, erring on the early side).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.clock import Clock
from runtime.storage.engine import write_transaction
from runtime.storage.system import AuthSession, User

TABLE: sa.Table = AuthSession.__table__  # type: ignore[assignment]
USERS: sa.Table = User.__table__  # type: ignore[assignment]
TOUCH_EVERY = timedelta(minutes=1)
KEEP_ENDED = timedelta(days=30)  # ended sessions are kept this long for investigations
MAX_ID_LENGTH = 128


def secret_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass(frozen=True)
class SessionInfo:
    id: int
    user_id: int
    csrf_token: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime


def revoke_live(conn: Connection, table: sa.Table, user_id: int, at: datetime) -> int:
    """Revoke a user's live rows of ``table`` (sessions or API tokens: both have
    ``revoked_at`` and ``expires_at``) inside the caller's transaction; how many."""
    result = conn.execute(
        sa.update(table)
        .where(table.c.user_id == user_id, table.c.revoked_at.is_(None), table.c.expires_at > at)
        .values(revoked_at=at)
    )
    return result.rowcount


def revoke_all(conn: Connection, user_id: int, at: datetime) -> int:
    """Revoke every live session of a user inside the caller's transaction; how many."""
    return revoke_live(conn, TABLE, user_id, at)


class SessionService:
    def __init__(
        self, engine: Engine, clock: Clock, idle_minutes: int = 60, absolute_hours: int = 12
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.idle = timedelta(minutes=idle_minutes)
        self.absolute = timedelta(hours=absolute_hours)

    def create(
        self,
        user_id: int,
        ip: str | None = None,
        user_agent: str | None = None,
        replaces: str | None = None,
    ) -> tuple[str, SessionInfo]:
        """A new session (always a new id); ``replaces`` is the cookie the sign-in came
        with, which is revoked in the same transaction."""
        now = self.clock.now()
        raw = secrets.token_urlsafe(32)
        csrf_token = secrets.token_urlsafe(32)
        expires_at = now + self.absolute
        values = {
            "id_hash": secret_hash(raw),
            "user_id": user_id,
            "created_at": now,
            "last_seen_at": now,
            "expires_at": expires_at,
            "csrf_token": csrf_token,
            "ip": (ip or "")[:64] or None,
            "user_agent": (user_agent or "")[:255] or None,
        }
        with write_transaction(self.engine) as conn:
            if replaces:
                conn.execute(
                    sa.update(TABLE)
                    .where(TABLE.c.id_hash == secret_hash(replaces), TABLE.c.revoked_at.is_(None))
                    .values(revoked_at=now)
                )
            conn.execute(sa.delete(TABLE).where(TABLE.c.expires_at < now - KEEP_ENDED))
            new_id = conn.execute(sa.insert(TABLE).values(**values)).inserted_primary_key
        assert new_id is not None
        return raw, SessionInfo(int(new_id[0]), user_id, csrf_token, now, now, expires_at)

    def resolve(self, raw: str) -> SessionInfo | None:
        """The live session a cookie value names, or None; refreshes ``last_seen_at``."""
        if not raw or len(raw) > MAX_ID_LENGTH:
            return None
        now = self.clock.now()
        query = (
            sa.select(TABLE)
            .join(USERS, USERS.c.id == TABLE.c.user_id)
            .where(TABLE.c.id_hash == secret_hash(raw), USERS.c.is_active.is_(True))
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None or row["revoked_at"] is not None:
            return None
        if now >= row["expires_at"] or now - row["last_seen_at"] >= self.idle:
            return None
        last_seen = row["last_seen_at"]
        if now - last_seen >= TOUCH_EVERY:
            with write_transaction(self.engine) as conn:
                conn.execute(
                    sa.update(TABLE)
                    .where(TABLE.c.id == row["id"], TABLE.c.last_seen_at < now)
                    .values(last_seen_at=now)
                )
            last_seen = now
        return SessionInfo(
            row["id"],
            row["user_id"],
            row["csrf_token"],
            row["created_at"],
            last_seen,
            row["expires_at"],
        )

    def revoke(self, session_id: int) -> bool:
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.id == session_id, TABLE.c.revoked_at.is_(None))
                .values(revoked_at=self.clock.now())
            )
        return bool(result.rowcount)

    def revoke_all(self, user_id: int) -> int:
        with write_transaction(self.engine) as conn:
            return revoke_all(conn, user_id, self.clock.now())

    def live_count(self, user_id: int) -> int:
        now = self.clock.now()
        query = (
            sa.select(sa.func.count())
            .select_from(TABLE)
            .where(
                TABLE.c.user_id == user_id,
                TABLE.c.revoked_at.is_(None),
                TABLE.c.expires_at > now,
                TABLE.c.last_seen_at > now - self.idle,
            )
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
