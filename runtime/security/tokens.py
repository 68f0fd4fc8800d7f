"""API tokens: ``Authorization: Bearer tnn_…``, stored as a SHA-256 hash.

The secret is shown once, when the token is made; the database keeps its hash and a short
prefix (``tnn_`` and 8 characters) so people can tell their tokens apart. A token has a
scope (``read``: GET/HEAD/OPTIONS only; ``read_write``), an expiry (at most a year), and
can be revoked at once. ``last_used_at`` is written at most once a minute.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.clock import Clock
from runtime.security import audit
from runtime.security.sessions import revoke_live, secret_hash
from runtime.storage.engine import write_transaction
from runtime.storage.system import ApiToken, User

TABLE: sa.Table = ApiToken.__table__  # type: ignore[assignment]
USERS: sa.Table = User.__table__  # type: ignore[assignment]
SCOPES = ("read", "read_write")
MARK = "tnn_"
PREFIX_LENGTH = len(MARK) + 8
MAX_DAYS = 365
DEFAULT_DAYS = 30
TOUCH_EVERY = timedelta(minutes=1)
MAX_SECRET_LENGTH = 128


@dataclass(frozen=True)
class TokenInfo:
    id: int
    user_id: int
    name: str
    prefix: str
    scope: str
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None

    @property
    def read_only(self) -> bool:
        return self.scope == "read"

    def as_dict(self, now: datetime) -> dict[str, Any]:
        def iso(value: datetime | None) -> str | None:
            return None if value is None else value.isoformat()

        return {
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "scope": self.scope,
            "created_at": iso(self.created_at),
            "expires_at": iso(self.expires_at),
            "last_used_at": iso(self.last_used_at),
            "revoked_at": iso(self.revoked_at),
            "active": self.revoked_at is None and now < self.expires_at,
        }


def _info(row: Any, prefix: str = "") -> TokenInfo:
    return TokenInfo(
        *(
            row[prefix + name]
            for name in (
                "id",
                "user_id",
                "name",
                "prefix",
                "scope",
                "created_at",
                "expires_at",
                "last_used_at",
                "revoked_at",
            )
        )
    )


# built once: a statement reused is compiled once and its cache key is remembered
_BY_HASH = (
    sa.select(TABLE)
    .join(USERS, USERS.c.id == TABLE.c.user_id)
    .where(TABLE.c.token_hash == sa.bindparam("token_hash"), USERS.c.is_active.is_(True))
)


def well_formed(secret: str) -> bool:
    """Whether ``secret`` could be a token at all (else no lookup is made)."""
    return secret.startswith(MARK) and len(secret) <= MAX_SECRET_LENGTH


def revoke_all(conn: Connection, user_id: int, at: datetime) -> int:
    """Revoke every live token of a user inside the caller's transaction; how many."""
    return revoke_live(conn, TABLE, user_id, at)


class TokenService:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def create(
        self,
        user_id: int,
        username: str,
        *,
        name: str,
        scope: str,
        expires_in_days: int = DEFAULT_DAYS,
        not_after: datetime | None = None,
        origin: audit.Origin,
    ) -> tuple[str, TokenInfo]:
        """A new token and its secret. ``not_after`` caps the expiry (a token made with a
        token never outlives it)."""
        assert scope in SCOPES and 1 <= expires_in_days <= MAX_DAYS
        now = self.clock.now()
        expires_at = now + timedelta(days=expires_in_days)
        if not_after is not None:
            expires_at = min(expires_at, not_after)
        secret = MARK + secrets.token_urlsafe(32)
        prefix = secret[:PREFIX_LENGTH]
        values = {
            "user_id": user_id,
            "name": name,
            "prefix": prefix,
            "token_hash": secret_hash(secret),
            "scope": scope,
            "created_at": now,
            "expires_at": expires_at,
        }
        with write_transaction(self.engine) as conn:
            key = conn.execute(sa.insert(TABLE).values(**values)).inserted_primary_key
            assert key is not None
            token_id = int(key[0])
            audit.record(
                conn,
                now,
                "token_created",
                origin,
                username,
                token_id=token_id,
                name=name,
                scope=scope,
                prefix=prefix,
                expires_at=expires_at.isoformat(),
            )
        info = TokenInfo(token_id, user_id, name, prefix, scope, now, expires_at, None, None)
        return secret, info

    def resolve(self, secret: str, conn: Connection | None = None) -> TokenInfo | None:
        """The live token of an active user that ``secret`` names, or None (looked up on
        ``conn`` when given)."""
        if not well_formed(secret):
            return None
        params = {"token_hash": secret_hash(secret)}
        if conn is None:
            with self.engine.connect() as own:
                row = own.execute(_BY_HASH, params).mappings().first()
        else:
            row = conn.execute(_BY_HASH, params).mappings().first()
        info = self.accept(row) if row is not None else None
        if info is not None:
            self.note_use(info)
        return info

    def accept(self, row: Any, prefix: str = "") -> TokenInfo | None:
        """The token of a row read by its hash (columns named ``prefix`` + name), or None
        when revoked or expired."""
        now = self.clock.now()
        if row[f"{prefix}revoked_at"] is not None or now >= row[f"{prefix}expires_at"]:
            return None
        return _info(row, prefix)

    def note_use(self, info: TokenInfo) -> None:
        """Note the token's last use, at most once a minute: a write of its own, so call
        it with no other connection held (a request holding two waits on the pool)."""
        now = self.clock.now()
        if info.last_used_at is None or now - info.last_used_at >= TOUCH_EVERY:
            with write_transaction(self.engine) as conn:
                conn.execute(sa.update(TABLE).where(TABLE.c.id == info.id).values(last_used_at=now))

    def list(self, user_id: int) -> list[TokenInfo]:
        query = sa.select(TABLE).where(TABLE.c.user_id == user_id).order_by(TABLE.c.id)
        with self.engine.connect() as conn:
            return [_info(row) for row in conn.execute(query).mappings()]

    def get(self, token_id: int) -> TokenInfo | None:
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(TABLE).where(TABLE.c.id == token_id)).mappings().first()
        return None if row is None else _info(row)

    def revoke(self, token_id: int, owner: str, origin: audit.Origin) -> bool:
        """Revoke one token at once; False when it was already revoked."""
        now = self.clock.now()
        with write_transaction(self.engine) as conn:
            result = conn.execute(
                sa.update(TABLE)
                .where(TABLE.c.id == token_id, TABLE.c.revoked_at.is_(None))
                .values(revoked_at=now)
            )
            if not result.rowcount:
                return False
            audit.record(conn, now, "token_revoked", origin, owner, token_id=token_id)
        return True
