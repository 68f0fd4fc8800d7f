"""The append-only audit trail of record changes (``tenon_audit``).

Every create, update, delete, import and workflow transition appends one row: who (and,
for automations and workflow effects, on whose behalf), when (the injected clock), which
record, and per field the value before and after, as JSON text. Rows are never updated or
deleted by Tenon. Reading a record's history goes through the permission layer
(``runtime.services.reading``), which masks fields the reader may not see.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from runtime.storage.bulk import insert_many
from runtime.storage.system import Base
from runtime.storage.types import ID_TYPE


class AuditEntry(Base):
    __tablename__ = "tenon_audit"
    __table_args__ = (sa.Index("ix_tenon_audit__record", "app", "object", "record_id"),)

    id: Mapped[int] = mapped_column(ID_TYPE, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(sa.DateTime)
    actor_id: Mapped[int | None] = mapped_column(ID_TYPE)
    actor_name: Mapped[str] = mapped_column(sa.String(150))
    on_behalf_of: Mapped[str | None] = mapped_column(sa.String(300))
    app: Mapped[str] = mapped_column(sa.String(24))
    object: Mapped[str] = mapped_column(sa.String(30))
    record_id: Mapped[int] = mapped_column(sa.BigInteger)
    operation: Mapped[str] = mapped_column(sa.String(40))
    changes: Mapped[str] = mapped_column(sa.Text)
    comment: Mapped[str | None] = mapped_column(sa.Text)  # a workflow action's comment


TABLE: sa.Table = AuditEntry.__table__  # type: ignore[assignment]


_SIMPLE = (type(None), bool, int, str)


def _plain(value: Any) -> Any:
    if type(value) in _SIMPLE:
        return value
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)  # Decimal: exact text


def write(
    conn: Connection,
    *,
    at: datetime,
    actor_id: int | None,
    actor_name: str,
    qualified: str,
    record_id: int,
    operation: str,
    changes: Mapping[str, tuple[Any, Any]],
    on_behalf_of: str | None = None,
) -> None:
    """Append one entry; ``changes`` maps a field to its (before, after) values."""
    write_many(
        conn,
        at=at,
        actor_id=actor_id,
        actor_name=actor_name,
        qualified=qualified,
        operation=operation,
        entries=[(record_id, changes)],
        on_behalf_of=on_behalf_of,
    )


def _default(value: Any) -> Any:
    """What JSON has no type for: dates and times as ISO text, decimals as exact text."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


# the C encoder calls ``_default`` only for values it cannot write itself
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=_default)


def _encode(changes: Mapping[str, tuple[Any, Any]]) -> str:
    try:
        return _ENCODER.encode(changes)  # (before, after) tuples are written as lists
    except TypeError:  # keys JSON cannot take (a dict keyed by dates): the slow path
        body = {n: [_plain(before), _plain(after)] for n, (before, after) in changes.items()}
        return _ENCODER.encode(body)


def entries(conn: Connection, qualified: str, record_id: int) -> list[dict[str, Any]]:
    """The entries of one record, oldest first, with ``changes`` decoded."""
    app, _, obj = qualified.partition(".")
    query = (
        sa.select(TABLE)
        .where(TABLE.c.app == app, TABLE.c.object == obj, TABLE.c.record_id == record_id)
        .order_by(TABLE.c.id)
    )
    out = []
    for row in conn.execute(query).mappings():
        entry = dict(row)
        entry["changes"] = json.loads(entry["changes"])
        out.append(entry)
    return out


def write_many(
    conn: Connection,
    *,
    at: datetime,
    actor_id: int | None,
    actor_name: str,
    qualified: str,
    operation: str,
    entries: Sequence[tuple[int, Mapping[str, tuple[Any, Any]]]],
    on_behalf_of: str | None = None,
    comment: str | None = None,
) -> None:
    """Append one entry per (record id, changes), in one statement."""
    if not entries:
        return
    app, _, obj = qualified.partition(".")
    common = {
        "at": at,
        "actor_id": actor_id,
        "actor_name": actor_name,
        "on_behalf_of": on_behalf_of,
        "app": app,
        "object": obj,
        "operation": operation,
        "comment": comment,
    }
    insert_many(
        conn, TABLE, [{**common, "record_id": r, "changes": _encode(c)} for r, c in entries]
    )
