"""Deadlines of approval steps and to-dos: reminders and escalations, run as jobs.

One job per open step (key ``deadline:a<approval>:<step>``) or to-do (``deadline:t<task>``)
waits for the next event its deadline declares: a reminder some days before the due
time, reminders every ``repeat`` days after it, the escalation ``after`` days past it.
When it runs it does what came due since the last run — several missed reminders are
one reminder, an escalation happens once — and queues itself for the next event. A step
that was decided meanwhile, or a record that moved on, makes it a no-op.

Escalations: ``notify`` tells the people named; ``transfer`` hands every pending task
to them; ``approve`` / ``reject`` decide the step as the system (audited on behalf of
the escalation). All of it commits with the job's completion, in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from runtime.errors import TenonError
from runtime.formula.evaluator import Env
from runtime.metadata.approvals import Deadline, deadline_of, step_from_dict
from runtime.security.actor import Actor
from runtime.services import people
from runtime.services.approval_steps import (
    DEADLINE_KIND,
    TRANSFERRED,
    late_from,
    step_key,
    todo_key,
)
from runtime.services.formula_env import record_env
from runtime.services.jobs import JobContext, JobFailed
from runtime.services.transitions import Transitions
from runtime.storage import tasks
from runtime.storage.engine import write_transaction

KIND = DEADLINE_KIND


def _when(row: Any) -> str:
    due: datetime = row.due_at
    return due.date().isoformat() if row.due_is_date else due.isoformat(timespec="minutes")


class Deadlines:
    def __init__(self, transitions: Transitions) -> None:
        self.transitions = transitions
        self.records = transitions.records
        assert transitions.approvals is not None
        self.steps = transitions.approvals.steps

    def fire(self, context: JobContext) -> dict[str, Any]:
        payload = context.job.payload
        since = datetime.fromisoformat(str(payload["since"]))
        with write_transaction(context.store.engine) as conn:
            result = self._run(conn, context, payload, since)
            context.finish_in(conn, result)
        return result

    def _scope(self, conn: Connection, payload: dict[str, Any]) -> Any:
        """The open tasks the job is about, their deadline, key, and approval (if any)."""
        if payload.get("approval") is not None:
            run = tasks.approval(conn, int(payload["approval"]))
            if run is None or run.status != tasks.RUNNING or run.step != payload["step"]:
                return None
            step = step_from_dict(run.app, json.loads(run.route)[run.step])
            rows = [t for t in tasks.of_step(conn, run.id, run.step) if t.status in tasks.OPEN]
            return rows, step.deadline, step_key(run.id, run.step), run, step.name
        task = tasks.get(conn, int(payload["task"]))
        if task is None or task.status not in tasks.OPEN or not task.deadline:
            return None
        deadline = deadline_of(task.app, json.loads(task.deadline))
        return [task], deadline, todo_key(task.id), None, task.name

    def _run(
        self, conn: Connection, context: JobContext, payload: dict[str, Any], since: datetime
    ) -> dict[str, Any]:
        scope = self._scope(conn, payload)
        if scope is None:
            return {"skipped": "already done"}
        rows, deadline, key, run, name = scope
        if not rows or deadline is None or rows[0].due_at is None:
            return {"skipped": "nothing open"}
        qualified = f"{rows[0].app}.{rows[0].object}"
        record_id = int(rows[0].record_id)
        try:  # the record's lock orders this after any decision being taken
            record = self.records.locked_row(conn, qualified, record_id)
        except TenonError:
            return {"skipped": "the record is gone"}
        env = record_env(conn, self.records.reader.table, qualified, self.records.clock, None)
        now = env.now
        came = [what for at, what in deadline.events(rows[0].due_at) if since < at <= now]
        done: dict[str, Any] = {"reminded": [], "escalated": None}
        label = str(rows[0].title or f"{qualified.partition('.')[2]} #{record_id}")
        if "remind" in came:
            pending = [t.assignee_id for t in rows if t.status == tasks.PENDING]
            late = (
                "overdue since" if now >= late_from(rows[0].due_at, rows[0].due_is_date) else "due"
            )
            message = f"Reminder: {label} is {late} {_when(rows[0])}"
            self.steps.notify(conn, pending, message, env, qualified, record_id, f"deadline {name}")
            done["reminded"] = pending
        if "escalate" in came and not any(t.escalated for t in rows):
            done["escalated"] = self._escalate(
                conn, env, deadline, rows, record, run, label, name, qualified
            )
        if done["escalated"] not in ("approve", "reject"):
            more = self._scope(conn, payload)
            if more is not None:
                self.steps.schedule(
                    conn,
                    key,
                    deadline,
                    rows[0].due_at,
                    env,
                    payload.get("approval"),
                    payload.get("step"),
                    payload.get("task"),
                    after=now,
                )
        return done

    def _escalate(
        self,
        conn: Connection,
        env: Env,
        deadline: Deadline,
        rows: list[Any],
        record: dict[str, Any],
        run: Any,
        label: str,
        name: str,
        qualified: str,
    ) -> str:
        record_id = int(record["id"])
        compile = self.transitions.formula
        to = people.resolve(conn, env, compile, qualified, deadline.escalate_to, record)
        tasks.update(conn, [t.id for t in rows], escalated=True)
        does = deadline.escalate_do
        cause = f"escalation of {name}"
        if does in ("approve", "reject") and run is not None:
            actor = Actor.system(cause)
            try:
                self.transitions.act(conn, actor, qualified, record_id, does, {})
            except TenonError as error:
                raise JobFailed(f"{does}: {error.message}", error.body()["error"]) from None
            return does
        if does == "transfer" and to:
            holding = {t.assignee_id for t in rows}
            target = next((i for i in to if i not in holding), None)
            pending = [t for t in rows if t.status == tasks.PENDING]
            if target is not None and pending:
                for task in pending:
                    tasks.update(
                        conn, [task.id], status=TRANSFERRED, decided_at=env.now, decided_by="system"
                    )
                    tasks.hand_on(
                        conn,
                        task,
                        assignee_id=target,
                        status=tasks.PENDING,
                        origin="escalation",
                        now=env.now,
                        escalated=True,
                    )
                message = f"Escalated to you (overdue since {_when(rows[0])}): {label}"
                self.steps.notify(conn, [target], message, env, qualified, record_id, cause)
                return "transfer"
        waiting = tasks.usernames(conn, [t.assignee_id for t in rows if t.status == tasks.PENDING])
        who = ", ".join(waiting.values()) or "nobody"
        message = f"Overdue since {_when(rows[0])}: {label} (waiting for {who})"
        self.steps.notify(conn, to, message, env, qualified, record_id, cause)
        return "notify"


def handler(view: Callable[[], Any]) -> Callable[[JobContext], dict[str, Any]]:
    """The ``deadline`` job kind, over the apps installed when it runs."""

    def run(context: JobContext) -> dict[str, Any]:
        return Deadlines(view().transitions).fire(context)

    return run
