"""The steps of a running approval: who is asked, in which order, and when a step is done.

A step's approvers form **groups**, one per person the step names. Within a group tasks
are taken one after the other (``seq``): a signer added *before* someone is asked first,
one added *after* is asked next; a transfer replaces a task in its place. So each group
has at most one ``pending`` task; the others are ``waiting`` or closed. A group is done
when its every task is closed and one of them approved.

- ``any``: the first group done decides the step; the others' tasks are cancelled;
- ``all``: every group must be done, all asked at once;
- ``sequential``: every group, one after the other, in the order the rules name them.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from runtime.errors import Issue, ValidationFailed
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Env
from runtime.metadata.approvals import Deadline, StepDef, step_from_dict
from runtime.services import people
from runtime.storage import notifications, tasks
from runtime.storage.jobs import JobStore

APPROVED, REJECTED, RETURNED = "approved", "rejected", "returned"
CANCELLED, TRANSFERRED, DONE = "cancelled", "transferred", "done"
DEADLINE_KIND = "deadline"


def bad(path: str, message: str, code: str) -> ValidationFailed:
    """A refusal of one problem, whose code is also the answer's."""
    return ValidationFailed(message, [Issue(path, message, code)], code)


def step_key(approval_id: int, step: int) -> str:
    return f"deadline:a{approval_id}:{step}"


def todo_key(task_id: int) -> str:
    return f"deadline:t{task_id}"


def late_from(due_at: datetime, is_date: bool) -> datetime:
    """When a task due at ``due_at`` becomes overdue: after the whole day for a date."""
    return due_at + timedelta(days=1) if is_date else due_at


def due_of(
    compile: people.Compile,
    qualified: str,
    deadline: Deadline | None,
    record: Mapping[str, Any],
    env: Env,
) -> tuple[datetime | None, bool]:
    """When a task opened now is due, and whether that is a whole day (a date)."""
    if deadline is None:
        return None, False
    try:
        value = compile(qualified, deadline.due).evaluate(dict(record), env)
    except FormulaError:
        return None, False
    if isinstance(value, datetime):
        return value, False
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day), True
    if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
        return env.now + timedelta(days=float(value)), False
    return None, False


def progress(rows: Sequence[Any], mode: str) -> tuple[list[int], list[int], bool]:
    """After a change to a step's tasks ``rows``: the tasks to open now, the tasks to
    cancel, and whether the step is done."""
    groups: dict[int, list[Any]] = {}
    for row in sorted(rows, key=lambda r: (r.grp, r.seq, r.id)):
        groups.setdefault(row.grp, []).append(row)

    def state(group: list[Any]) -> str:
        statuses = {t.status for t in group}
        if tasks.PENDING in statuses:
            return "active"
        if tasks.WAITING in statuses:
            return "waiting"
        return "done" if APPROVED in statuses else "void"

    opened: list[int] = []
    states = {g: state(group) for g, group in groups.items()}
    earlier_open = False
    for g, group in groups.items():
        if states[g] == "waiting" and not (mode == "sequential" and earlier_open):
            first = next(t for t in group if t.status == tasks.WAITING)
            opened.append(first.id)
            states[g] = "active"
        earlier_open = earlier_open or states[g] in ("active", "waiting")
    done_groups = [g for g, s in states.items() if s == "done"]
    if mode == "any" and done_groups:
        return [], [t.id for t in rows if t.status in tasks.OPEN], True
    finished = all(s in ("done", "void") for s in states.values()) and bool(done_groups)
    return opened, [], finished


class Steps:
    """Opens steps and to-dos: resolves the people, writes their tasks, tells them."""

    def __init__(self, compile: people.Compile, jobs: JobStore) -> None:
        self.compile = compile
        self.jobs = jobs

    def text(
        self, qualified: str, text: str | None, record: Mapping[str, Any], env: Env
    ) -> str | None:
        """A text formula's value on the record (a summary, a title); None when blank
        or when it cannot be computed."""
        if not text:
            return None
        try:
            value = self.compile(qualified, text).evaluate(dict(record), env)
        except FormulaError:
            return None
        return None if value in (None, "") else str(value)[:500]

    def applies(self, qualified: str, step: StepDef, record: Mapping[str, Any], env: Env) -> bool:
        """Whether ``step`` is on the route of an approval starting on the record."""
        if not step.when:
            return True
        try:
            return self.compile(qualified, step.when).evaluate(dict(record), env) is True
        except FormulaError as error:
            message = f"the condition of the approval step {step.name!r} failed: {error}"
            raise ValidationFailed(
                message, [Issue("", message, "CONDITION_ERROR")], "CONDITION_ERROR"
            ) from None

    def notify(
        self,
        conn: Connection,
        user_ids: Sequence[int],
        message: str,
        env: Env,
        qualified: str,
        record_id: int,
        cause: str,
    ) -> None:
        notifications.add(
            conn, user_ids, message, env.now, qualified=qualified, record_id=record_id, cause=cause
        )

    def approvers(
        self,
        conn: Connection,
        env: Env,
        qualified: str,
        step: StepDef,
        fallback: Any,
        record: Mapping[str, Any],
        settings: Mapping[str, Any],
        submitter: int | None,
    ) -> list[int]:
        """Who the step asks: its rules, else the fallback; never the submitter unless
        self-approval is allowed. Nobody: 422 ``NO_APPROVER`` (nothing is written)."""

        def named(rules: Any) -> list[int]:
            found = people.resolve(conn, env, self.compile, qualified, rules, record)
            if settings.get("self_approval") != "allow":
                found = [i for i in found if i != submitter]
            return found

        found = named(step.approvers) or named(fallback)
        if not found:
            message = (
                f"the approval step {step.name!r} names nobody who may approve"
                + (" (the submitter may not approve their own request)" if submitter else "")
                + ": fill in the people it names, or give the approval a fallback"
            )
            raise bad("", message, "NO_APPROVER")
        return found

    def open_step(
        self,
        conn: Connection,
        env: Env,
        qualified: str,
        run: Any,
        index: int,
        record: Mapping[str, Any],
        fallback: Any,
        cause: str,
    ) -> bool:
        """Write the tasks of step ``index`` of the approval ``run``; True when the step
        is already done (everyone asked approved an earlier step, with ``dedupe``)."""
        route = json.loads(run.route)
        settings = json.loads(run.settings)
        app = qualified.partition(".")[0]
        step = step_from_dict(app, route[index])
        asked = self.approvers(
            conn, env, qualified, step, fallback, record, settings, run.submitter_id
        )
        approved_before: set[int] = set()
        if settings.get("dedupe"):
            approved_before = {
                t.assignee_id
                for t in tasks.of_approval(conn, run.id)
                if t.status == APPROVED and t.step is not None and t.step < index
            }
        due_at, is_date = due_of(self.compile, qualified, step.deadline, record, env)
        rows = []
        for grp, user_id in enumerate(asked):
            auto = user_id in approved_before
            if auto:
                status = APPROVED
            elif step.mode == "sequential" and grp > 0:
                status = tasks.WAITING
            else:
                status = tasks.PENDING
            rows.append(
                self._task(run, qualified, record, index, step.name, grp, 0, user_id, status, env)
                | {
                    "origin": "auto" if auto else "route",
                    "due_at": due_at,
                    "due_is_date": is_date,
                    "decided_at": env.now if auto else None,
                    "decided_by": "system" if auto else None,
                    "comment": "approved at an earlier step" if auto else None,
                }
            )
        tasks.add(conn, rows)
        tasks.set_step(conn, run.id, index)
        current = tasks.of_step(conn, run.id, index)
        opened, cancelled, finished = progress(current, step.mode)
        tasks.update(conn, opened, status=tasks.PENDING)
        tasks.update(conn, cancelled, status=CANCELLED, decided_at=env.now)
        if finished:
            return True
        pending = [
            t.assignee_id for t in tasks.of_step(conn, run.id, index) if t.status == "pending"
        ]
        label = run.summary or f"{qualified.partition('.')[2]} #{run.record_id}"
        self.notify(
            conn, pending, f"Approval needed: {label}", env, qualified, run.record_id, cause
        )
        if step.cc:
            watchers = people.resolve(conn, env, self.compile, qualified, step.cc, record)
            message = f"For your information: {label} is at the step {step.name}"
            self.notify(conn, watchers, message, env, qualified, run.record_id, cause)
        if due_at is not None and step.deadline is not None:
            self.schedule(conn, step_key(run.id, index), step.deadline, due_at, env, run.id, index)
        return False

    def schedule(
        self,
        conn: Connection,
        key: str,
        deadline: Deadline,
        due_at: datetime,
        env: Env,
        approval_id: int | None,
        step: int | None,
        task_id: int | None = None,
        after: datetime | None = None,
    ) -> None:
        """Queue the deadline job for the next reminder or escalation after ``after``
        (default: now); nothing when none is left."""
        since = after or env.now
        when = deadline.next_event(due_at, since)
        if when is None:
            return
        payload = {
            "approval": approval_id,
            "step": step,
            "task": task_id,
            "since": since.isoformat(),
        }
        self.jobs.schedule(conn, DEADLINE_KIND, key, when, now=env.now, payload=payload)

    def _task(
        self,
        run: Any,
        qualified: str,
        record: Mapping[str, Any],
        index: int | None,
        name: str,
        grp: int,
        seq: int,
        user_id: int,
        status: str,
        env: Env,
    ) -> dict[str, Any]:
        app, _, obj = qualified.partition(".")
        return {
            "kind": "approval",
            "approval_id": run.id if run is not None else None,
            "app": app,
            "object": obj,
            "record_id": int(record["id"]),
            "state": str(record.get("state")),
            "step": index,
            "name": name,
            "grp": grp,
            "seq": seq,
            "assignee_id": user_id,
            "status": status,
            "origin": "route",
            "origin_task_id": None,
            "title": run.summary if run is not None else None,
            "due_at": None,
            "due_is_date": False,
            "deadline": None,
            "escalated": False,
            "created_at": env.now,
        }

    def open_todos(
        self,
        conn: Connection,
        env: Env,
        qualified: str,
        todos: Sequence[Any],
        record: Mapping[str, Any],
        cause: str,
        label: Callable[[str | None], str | None],
    ) -> None:
        """One task per person each to-do of the state names, with its deadline."""
        for todo in todos:
            assigned = people.resolve(conn, env, self.compile, qualified, todo.to, record)
            title = label(todo.title) or todo.name.replace("_", " ")
            due_at, is_date = due_of(self.compile, qualified, todo.deadline, record, env)
            rows = [
                self._task(None, qualified, record, None, todo.name, i, 0, user, "pending", env)
                | {
                    "kind": "todo",
                    "title": title[:500],
                    "due_at": due_at,
                    "due_is_date": is_date,
                    "deadline": json.dumps(todo.deadline.as_dict()) if todo.deadline else None,
                }
                for i, user in enumerate(assigned)
            ]
            ids = tasks.add(conn, rows)
            self.notify(conn, assigned, f"To do: {title}", env, qualified, int(record["id"]), cause)
            if todo.deadline is not None and due_at is not None:
                for task_id in ids:
                    self.schedule(
                        conn, todo_key(task_id), todo.deadline, due_at, env, None, None, task_id
                    )
