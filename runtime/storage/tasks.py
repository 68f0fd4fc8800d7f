"""Approvals and tasks (``tenon_approvals``, ``tenon_tasks``): the SQL, nothing more.

Every change is made in the caller's transaction, after the caller locked the record the
approval is about; that lock is what serializes two decisions on one record.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.storage.system import Approval, Task, User

APPROVALS: sa.Table = Approval.__table__  # type: ignore[assignment]
TASKS: sa.Table = Task.__table__  # type: ignore[assignment]
_USERS: sa.Table = User.__table__  # type: ignore[assignment]

RUNNING = "running"
PENDING, WAITING = "pending", "waiting"
OPEN = (PENDING, WAITING)


def _split(qualified: str) -> tuple[str, str]:
    app, _, obj = qualified.partition(".")
    return app, obj


# -- approvals ---------------------------------------------------------------------------


def start(
    conn: Connection,
    qualified: str,
    record_id: int,
    state: str,
    *,
    app_version: str,
    route: list[dict[str, Any]],
    settings: Mapping[str, Any],
    summary: str | None,
    submitter_id: int | None,
    now: datetime,
) -> int:
    app, obj = _split(qualified)
    stmt = APPROVALS.insert().values(
        app=app,
        object=obj,
        record_id=record_id,
        state=state,
        status=RUNNING,
        app_version=app_version,
        route=json.dumps(route),
        settings=json.dumps(settings),
        step=0,
        summary=(summary or "")[:500] or None,
        submitter_id=submitter_id,
        started_at=now,
    )
    return int(conn.execute(stmt.returning(APPROVALS.c.id)).scalar_one())


def running(conn: Connection, qualified: str, record_id: int) -> Any:
    """The record's running approval (a row), or None."""
    app, obj = _split(qualified)
    query = sa.select(APPROVALS).where(
        APPROVALS.c.app == app,
        APPROVALS.c.object == obj,
        APPROVALS.c.record_id == record_id,
        APPROVALS.c.status == RUNNING,
    )
    return conn.execute(query.order_by(APPROVALS.c.id.desc()).limit(1)).first()


def approval(conn: Connection, approval_id: int) -> Any:
    return conn.execute(sa.select(APPROVALS).where(APPROVALS.c.id == approval_id)).first()


def set_step(conn: Connection, approval_id: int, step: int) -> None:
    conn.execute(APPROVALS.update().where(APPROVALS.c.id == approval_id).values(step=step))


def end(conn: Connection, approval_id: int, status: str, now: datetime) -> None:
    stmt = APPROVALS.update().where(APPROVALS.c.id == approval_id, APPROVALS.c.status == RUNNING)
    conn.execute(stmt.values(status=status, ended_at=now))


def in_flight(conn: Connection, app: str) -> list[dict[str, Any]]:
    """The running approvals of ``app``, counted by object, state and version."""
    query = (
        sa.select(APPROVALS.c.object, APPROVALS.c.state, APPROVALS.c.app_version, sa.func.count())
        .where(APPROVALS.c.app == app, APPROVALS.c.status == RUNNING)
        .group_by(APPROVALS.c.object, APPROVALS.c.state, APPROVALS.c.app_version)
        .order_by(APPROVALS.c.object, APPROVALS.c.state)
    )
    return [
        {"object": o, "state": s, "version": v, "count": int(n)}
        for o, s, v, n in conn.execute(query)
    ]


# -- tasks -------------------------------------------------------------------------------


def add(conn: Connection, rows: Sequence[Mapping[str, Any]]) -> list[int]:
    """Insert ``rows`` (each a full task), returning their ids in order."""
    ids = []
    for row in rows:
        stmt = TASKS.insert().values(**row).returning(TASKS.c.id)
        ids.append(int(conn.execute(stmt).scalar_one()))
    return ids


def hand_on(
    conn: Connection,
    task: Any,
    *,
    assignee_id: int,
    status: str,
    origin: str,
    now: datetime,
    **extra: Any,
) -> int:
    """A new task in ``task``'s place (same approval, step, line, order, title and
    deadline) for someone else: a transfer, an added signer, an escalation."""
    closed = ("id", "decided_at", "decided_by", "comment")
    row = {k: getattr(task, k) for k in task._mapping if k not in closed}
    row |= {
        "assignee_id": assignee_id,
        "status": status,
        "origin": origin,
        "origin_task_id": task.id,
        "created_at": now,
        **extra,
    }
    return add(conn, [row])[0]


def of_step(conn: Connection, approval_id: int, step: int) -> list[Any]:
    query = (
        sa.select(TASKS)
        .where(TASKS.c.approval_id == approval_id, TASKS.c.step == step)
        .order_by(TASKS.c.grp, TASKS.c.seq, TASKS.c.id)
    )
    return list(conn.execute(query))


def of_approval(conn: Connection, approval_id: int) -> list[Any]:
    query = sa.select(TASKS).where(TASKS.c.approval_id == approval_id).order_by(TASKS.c.id)
    return list(conn.execute(query))


def get(conn: Connection, task_id: int) -> Any:
    return conn.execute(sa.select(TASKS).where(TASKS.c.id == task_id)).first()


def update(conn: Connection, task_ids: Iterable[int], **values: Any) -> None:
    ids = list(task_ids)
    if ids:
        conn.execute(TASKS.update().where(TASKS.c.id.in_(ids)).values(**values))


def open_of_record(conn: Connection, qualified: str, record_id: int, kind: str) -> list[Any]:
    app, obj = _split(qualified)
    query = sa.select(TASKS).where(
        TASKS.c.app == app,
        TASKS.c.object == obj,
        TASKS.c.record_id == record_id,
        TASKS.c.kind == kind,
        TASKS.c.status.in_(OPEN),
    )
    return list(conn.execute(query.order_by(TASKS.c.id)))


def renumber(conn: Connection, order: list[int]) -> None:
    """Give the tasks ``order`` (ids, one line of a step) the sequence numbers 0, 1, …"""
    for seq, task_id in enumerate(order):
        conn.execute(TASKS.update().where(TASKS.c.id == task_id).values(seq=seq))


def active_users(conn: Connection, ids: Iterable[int]) -> set[int]:
    wanted = list(dict.fromkeys(ids))
    if not wanted:
        return set()
    query = sa.select(_USERS.c.id).where(_USERS.c.id.in_(wanted), _USERS.c.is_active.is_(True))
    return {int(i) for i in conn.execute(query).scalars()}


def user_named(conn: Connection, username: str) -> Any:
    query = sa.select(_USERS.c.id, _USERS.c.is_active).where(_USERS.c.username == username)
    return conn.execute(query).first()


def usernames(conn: Connection, ids: Iterable[int | None]) -> dict[int, str]:
    wanted = [i for i in dict.fromkeys(ids) if i is not None]
    if not wanted:
        return {}
    query = sa.select(_USERS.c.id, _USERS.c.username).where(_USERS.c.id.in_(wanted))
    return {int(i): str(n) for i, n in conn.execute(query)}


def inbox(
    conn: Connection,
    user_id: int,
    statuses: Sequence[str],
    after: int | None,
    limit: int,
    kinds: Sequence[str] = (),
) -> list[Any]:
    """A user's tasks in ``statuses``, oldest first, after the task id ``after``."""
    query = sa.select(TASKS).where(TASKS.c.assignee_id == user_id)
    if statuses:
        query = query.where(TASKS.c.status.in_(list(statuses)))
    if kinds:
        query = query.where(TASKS.c.kind.in_(list(kinds)))
    if after is not None:
        query = query.where(TASKS.c.id > after)
    return list(conn.execute(query.order_by(TASKS.c.id).limit(limit)))


def of_record(conn: Connection, qualified: str, record_id: int) -> tuple[list[Any], list[Any]]:
    """A record's approvals (newest first) and all their tasks and to-dos."""
    app, obj = _split(qualified)
    approvals = conn.execute(
        sa.select(APPROVALS)
        .where(
            APPROVALS.c.app == app, APPROVALS.c.object == obj, APPROVALS.c.record_id == record_id
        )
        .order_by(APPROVALS.c.id.desc())
    )
    tasks = conn.execute(
        sa.select(TASKS)
        .where(TASKS.c.app == app, TASKS.c.object == obj, TASKS.c.record_id == record_id)
        .order_by(TASKS.c.id)
    )
    return list(approvals), list(tasks)


def submitted(
    conn: Connection, user_id: int, running_only: bool, before: int | None, limit: int
) -> list[Any]:
    """The approvals ``user_id`` submitted, newest first, before the id ``before``."""
    query = sa.select(APPROVALS).where(APPROVALS.c.submitter_id == user_id)
    if running_only:
        query = query.where(APPROVALS.c.status == RUNNING)
    if before is not None:
        query = query.where(APPROVALS.c.id < before)
    return list(conn.execute(query.order_by(APPROVALS.c.id.desc()).limit(limit)))
