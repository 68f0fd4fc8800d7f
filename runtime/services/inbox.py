"""What people see of tasks: their inbox, and the approval trail of a record.

The inbox is one's own tasks only. A record's trail (its approvals, every decision with
its comment, its to-dos) is shown to whoever may read the record, and to the people it
asked. Task titles are the approval's ``summary`` as the app declared it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from runtime.errors import NotFound
from runtime.metadata.workflows import WorkflowDef
from runtime.security.actor import Actor
from runtime.services.approval_steps import late_from
from runtime.services.reading import Reader
from runtime.storage import tasks

OPEN = ("pending",)
CLOSED = ("approved", "rejected", "returned", "transferred", "cancelled", "done")
STATUSES = {"pending": OPEN, "waiting": ("waiting",), "closed": CLOSED, "all": ()}


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _due(row: Any, now: datetime) -> tuple[str | None, bool]:
    if row.due_at is None:
        return None, False
    late = now >= late_from(row.due_at, row.due_is_date) and row.status in tasks.OPEN
    if row.due_is_date:
        return row.due_at.date().isoformat(), late
    return row.due_at.isoformat(), late


def _actions(flow: WorkflowDef | None, row: Any, run: Any) -> list[str]:
    """The actions the holder of a pending approval task may take on it now."""
    if row.kind != "approval" or row.status != tasks.PENDING or flow is None or run is None:
        return []
    declared = {t.action for t in flow.transitions if row.state in t.sources}
    settings = json.loads(run.settings)
    out: list[str] = [a for a in ("approve", "reject") if a in declared]
    if "return" in declared or (row.step or 0) > 0:
        out.append("return")
    out += [a for a in ("transfer", "add_signer") if settings.get(a, True)]
    return [*out, "cc"]


def shown(
    conn: Connection, rows: Sequence[Any], reader: Reader, now: datetime
) -> list[dict[str, Any]]:
    """Tasks as the API shows them."""
    runs = {i: tasks.approval(conn, i) for i in {r.approval_id for r in rows} if i is not None}
    ids = [r.assignee_id for r in rows] + [x.submitter_id for x in runs.values() if x is not None]
    names = tasks.usernames(conn, ids)
    out = []
    for row in rows:
        run = runs.get(row.approval_id)
        qualified = f"{row.app}.{row.object}"
        try:
            flow = reader.object(qualified).workflow
        except (KeyError, NotFound):
            flow = None  # the app was removed
        due, overdue = _due(row, now)
        out.append(
            {
                "id": row.id,
                "kind": row.kind,
                "app": row.app,
                "object": row.object,
                "record_id": row.record_id,
                "state": row.state,
                "step": row.name,
                "title": row.title,
                "status": row.status,
                "assignee": names.get(row.assignee_id),
                "submitter": names.get(run.submitter_id) if run is not None else None,
                "due": due,
                "overdue": overdue,
                "created_at": _iso(row.created_at),
                "decided_at": _iso(row.decided_at),
                "decided_by": row.decided_by,
                "comment": row.comment,
                "origin": row.origin,
                "actions": _actions(flow, row, run),
            }
        )
    return out


def inbox(
    conn: Connection,
    reader: Reader,
    actor: Actor,
    status: str,
    kinds: Sequence[str],
    after: int | None,
    limit: int,
    now: datetime,
) -> dict[str, Any]:
    rows = tasks.inbox(conn, actor.user_id, STATUSES[status], after, limit + 1, kinds)
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "data": shown(conn, rows, reader, now),
        "next_cursor": str(rows[-1].id) if more and rows else None,
    }


def _approval(run: Any, names: dict[int, str], waiting: list[str]) -> dict[str, Any]:
    route = json.loads(run.route)
    return {
        "id": run.id,
        "app": run.app,
        "object": run.object,
        "record_id": run.record_id,
        "state": run.state,
        "status": run.status,
        "summary": run.summary,
        "submitter": names.get(run.submitter_id),
        "app_version": run.app_version,
        "started_at": _iso(run.started_at),
        "ended_at": _iso(run.ended_at),
        "current_step": route[run.step]["name"] if run.status == "running" else None,
        "waiting_for": waiting,
    }


def submitted(
    conn: Connection, actor: Actor, running_only: bool, before: int | None, limit: int
) -> dict[str, Any]:
    """The approvals the caller submitted ("my requests"), newest first: where each
    stands and whom it waits for."""
    runs = tasks.submitted(conn, actor.user_id, running_only, before, limit + 1)
    more = len(runs) > limit
    runs = runs[:limit]
    waiting: dict[int, list[int]] = {}
    for run in runs:
        if run.status == tasks.RUNNING:
            rows = tasks.of_step(conn, run.id, run.step)
            waiting[run.id] = [t.assignee_id for t in rows if t.status == tasks.PENDING]
    ids = [actor.user_id] + [i for found in waiting.values() for i in found]
    names = tasks.usernames(conn, ids)
    data = [
        _approval(run, names, [names.get(i, "") for i in waiting.get(run.id, [])]) for run in runs
    ]
    return {"data": data, "next_cursor": str(runs[-1].id) if more and runs else None}


def trail(
    conn: Connection, reader: Reader, actor: Actor, qualified: str, record_id: int, now: datetime
) -> dict[str, Any]:
    """The record's approvals, newest first, each with its route and tasks; and its
    to-dos. 404 unless the caller may read the record or was asked on it."""
    approvals, rows = tasks.of_record(conn, qualified, record_id)
    rows = sorted(rows, key=lambda r: (r.approval_id or 0, r.step or 0, r.grp, r.seq, r.id))
    if not any(r.assignee_id == actor.user_id for r in rows):
        reader.get_record(conn, actor, qualified, record_id)  # 404 when not readable
    names = tasks.usernames(conn, [a.submitter_id for a in approvals])
    listed = shown(conn, rows, reader, now)
    out = []
    for run in approvals:
        route = json.loads(run.route)
        pending = [  # whom it waits for
            t["assignee"]
            for t in listed
            if t["status"] == "pending" and _in(rows, t["id"], run.id, run.step)
        ]
        out.append(
            {
                **_approval(run, names, pending),
                "steps": [
                    {
                        "name": step["name"],
                        "title": step.get("title"),
                        "mode": step["mode"],
                        "tasks": [
                            t
                            for t in listed
                            if t["kind"] != "todo" and _in(rows, t["id"], run.id, index)
                        ],
                    }
                    for index, step in enumerate(route)
                ],
            }
        )
    todos = [t for t in listed if t["kind"] == "todo"]
    return {"approvals": out, "todos": todos}


def _in(rows: Sequence[Any], task_id: int, approval_id: int, step: int) -> bool:
    row = next(r for r in rows if r.id == task_id)
    return bool(row.approval_id == approval_id and row.step == step)
