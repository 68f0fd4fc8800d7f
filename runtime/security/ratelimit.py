"""Sign-in throttling, counted in the database so every worker process shares it.

Each attempt is written *before* the password is checked (``begin``) and counts as a
failure unless ``succeeded`` clears it; so a burst of parallel guesses cannot slip past
the count while the first guesses are still being verified. Refused attempts are not
counted, so waiting always works. The answer while throttled depends only on the counts,
never on whether the username exists.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.clock import Clock
from runtime.errors import TooManyRequests
from runtime.storage.engine import is_sqlite, write_transaction
from runtime.storage.system import LoginAttempt

TABLE: sa.Table = LoginAttempt.__table__  # type: ignore[assignment]
LOCK_ID = 0x7E405  # serializes count-then-insert on PostgreSQL


def username_key(username: object) -> str:
    """How attempts are counted per user: trimmed and lowercased, whatever was typed."""
    return str(username).strip().lower()[:150] if isinstance(username, str) else ""


class LoginThrottle:
    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        per_user: int = 5,
        per_ip: int = 20,
        window_minutes: int = 15,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.per_user = per_user
        self.per_ip = per_ip
        self.window = timedelta(minutes=window_minutes)

    def begin(self, username: object, ip: str | None) -> None:
        """Count an attempt, or raise :class:`TooManyRequests` (with ``retry_after``)."""
        now = self.clock.now()
        key, address = username_key(username), (ip or "unknown")[:64]
        with write_transaction(self.engine) as conn:
            if not is_sqlite(conn):
                conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({LOCK_ID})")
            since = now - self.window
            conn.execute(sa.delete(TABLE).where(TABLE.c.at <= since))
            wait = max(
                self._wait(conn, TABLE.c.username == key, self.per_user, now),
                self._wait(conn, TABLE.c.ip == address, self.per_ip, now),
            )
            if wait > 0:
                minutes = math.ceil(wait / 60)
                raise TooManyRequests(
                    "Too many failed sign-in attempts. Try again in "
                    f"{minutes} minute{'s' if minutes != 1 else ''}.",
                    retry_after=wait,
                )
            conn.execute(sa.insert(TABLE).values(at=now, username=key, ip=address))

    def _wait(
        self, conn: Connection, where: sa.ColumnElement[bool], limit: int, now: datetime
    ) -> int:
        """Seconds until fewer than ``limit`` attempts remain in the window (0: not limited)."""
        recent = (
            conn.execute(
                sa.select(TABLE.c.at).where(where).order_by(TABLE.c.at.desc()).limit(limit)
            )
            .scalars()
            .all()
        )
        if len(recent) < limit:
            return 0
        frees_at: datetime = recent[-1] + self.window
        return max(1, math.ceil((frees_at - now).total_seconds()))

    def succeeded(self, username: object) -> None:
        """A correct password clears the username's failures (not the address's)."""
        with write_transaction(self.engine) as conn:
            conn.execute(sa.delete(TABLE).where(TABLE.c.username == username_key(username)))

    def failures(self, username: object) -> int:
        since = self.clock.now() - self.window
        query = (
            sa.select(sa.func.count())
            .select_from(TABLE)
            .where(TABLE.c.username == username_key(username), TABLE.c.at > since)
        )
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
