"""The audit entry of a write: for each record, the before and after of every changed
field (and of the workflow state), in one insert."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from runtime.metadata.model import ObjectDef
from runtime.metadata.workflows import STATE_COLUMN
from runtime.security.actor import Actor
from runtime.storage import audit


def audit_changes(
    conn: Connection,
    obj: ObjectDef,
    actor: Actor,
    qualified: str,
    operation: str,
    changes: Sequence[tuple[int, Mapping[str, Any], Mapping[str, Any]]],
    at: datetime,
    comment: str | None = None,
) -> None:
    """One audit entry per record: the before and after of every changed field (and
    of the state)."""
    names = [f.name for f in obj.stored_fields]
    if obj.workflow is not None:
        names.append(STATE_COLUMN)
    entries: list[tuple[int, dict[str, tuple[Any, Any]]]]
    if operation == "create":  # nothing before: every field that has a value
        entries = [
            (i, {n: (None, v) for n in names if (v := a.get(n)) is not None}) for i, _, a in changes
        ]
    else:
        entries = [
            (i, {n: (b.get(n), a.get(n)) for n in names if b.get(n) != a.get(n)})
            for i, b, a in changes
        ]
    audit.write_many(
        conn,
        at=at,
        actor_id=actor.stored_id,
        actor_name=actor.username,
        qualified=qualified,
        operation=operation,
        entries=entries,
        comment=comment,
        on_behalf_of=actor.on_behalf_of,
    )
