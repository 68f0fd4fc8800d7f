"""In-app notifications (``tenon_notifications``): written in the transaction of what
caused them, read and marked read by their user only."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.storage.engine import read_connection, write_transaction
from runtime.storage.system import Notification, RoleGrant, User

TABLE: sa.Table = Notification.__table__  # type: ignore[assignment]
MAX_MESSAGE = 2000
_GRANTS: sa.Table = RoleGrant.__table__  # type: ignore[assignment]
_USERS: sa.Table = User.__table__  # type: ignore[assignment]


def holders(conn: Connection, roles: Sequence[str]) -> list[int]:
    """The ids of active users holding any of ``roles`` (qualified), in id order."""
    query = (
        sa.select(_USERS.c.id)
        .join(_GRANTS, _GRANTS.c.user_id == _USERS.c.id)
        .where(_GRANTS.c.role.in_(list(roles)), _USERS.c.is_active.is_(True))
        .distinct()
        .order_by(_USERS.c.id)
    )
    return [int(i) for i in conn.execute(query).scalars()]


def add(
    conn: Connection,
    user_ids: Sequence[int],
    message: str,
    at: datetime,
    *,
    qualified: str | None = None,
    record_id: int | None = None,
    cause: str | None = None,
) -> int:
    """One notification per user (each once), in the caller's transaction."""
    app, _, obj = (qualified or "").partition(".")
    rows = [
        {
            "user_id": user_id,
            "at": at,
            "message": message[:MAX_MESSAGE],
            "app": app or None,
            "object": obj or None,
            "record_id": record_id,
            "cause": (cause or "")[:200] or None,
        }
        for user_id in dict.fromkeys(user_ids)
    ]
    if rows:
        conn.execute(TABLE.insert(), rows)
    return len(rows)


def _shown(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at.isoformat(),
        "message": row.message,
        "app": row.app,
        "object": row.object,
        "record_id": row.record_id,
        "cause": row.cause,
        "read": row.read_at is not None,
    }


def of_user(engine: Engine, user_id: int, unread: bool, limit: int) -> dict[str, Any]:
    """A user's notifications, newest first, and how many are unread."""
    query = sa.select(TABLE).where(TABLE.c.user_id == user_id).order_by(TABLE.c.id.desc())
    if unread:
        query = query.where(TABLE.c.read_at.is_(None))
    count = sa.select(sa.func.count()).where(TABLE.c.user_id == user_id, TABLE.c.read_at.is_(None))
    with read_connection(engine) as conn:
        rows = conn.execute(query.limit(limit)).all()
        unread_count = conn.execute(count).scalar_one()
    return {"data": [_shown(r) for r in rows], "unread": int(unread_count)}


def mark_read(engine: Engine, user_id: int, ids: Sequence[int] | None, at: datetime) -> int:
    """Mark the user's notifications ``ids`` (None: all) read; how many changed."""
    query = TABLE.update().where(TABLE.c.user_id == user_id, TABLE.c.read_at.is_(None))
    if ids is not None:
        query = query.where(TABLE.c.id.in_(list(ids)))
    with write_transaction(engine) as conn:
        return int(conn.execute(query.values(read_at=at)).rowcount)
