"""Workflow timers: an action the system takes when a time computed from the record comes.

A timer (``{"name": "auto_confirm", "at": "end_date + 1", "action": "confirm"}``) waits
while the record is in one of its states (by default, those its action leaves from). With
``every`` (days) it repeats from ``at`` up to ``until`` (``every 7 days from start_date
until end_date``); each run queues the next occurrence.
Every write of the record (create, update, action) re-evaluates ``at`` in the same
transaction: the timer's job (key ``timer:<object>:<id>:<name>``) is queued, moved to the
new time, or cancelled when the record left the states or ``at`` is blank. A date
means the start of that day.

When the job runs it takes the action as the system (audited as ``system`` on behalf of
``timer <name>``), in one transaction with the job's completion. A record that has
moved on meanwhile, or was deleted, ends the job ``done`` with what it skipped; an
action the record refuses (its condition) ends it ``failed`` with the reason. A time that
moved later without a write of the record (``at`` reads a rollup over related rows) is
found when the job runs early: the job queues itself again for the new time.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy.engine import Connection

from runtime.errors import TenonError
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Env
from runtime.metadata.workflows import STATE_COLUMN, TimerDef
from runtime.security.actor import Actor
from runtime.services.formula_env import record_env
from runtime.services.jobs import JobContext, JobFailed
from runtime.services.records import Records
from runtime.services.transitions import Transitions
from runtime.storage.engine import write_transaction
from runtime.storage.jobs import JobStore

KIND = "timer"


def moment(value: Any) -> datetime | None:
    """A date or date-time formula's value as the moment it means (a date: its start)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    return None


def _key(qualified: str, record_id: int, timer: TimerDef) -> str:
    return f"timer:{qualified}:{record_id}:{timer.name}"


class Timers:
    def __init__(self, records: Records, transitions: Transitions, jobs: JobStore) -> None:
        self.records = records
        self.transitions = transitions
        self.jobs = jobs
        records.hooks.append(self.schedule)

    def env(self, conn: Connection, qualified: str) -> Env:
        """What ``at`` and ``until`` are evaluated in: the clock, no ``@me``."""
        return record_env(conn, self.records.reader.table, qualified, self.records.clock, None)

    def _time(self, env: Env, qualified: str, text: str, row: Mapping[str, Any]) -> datetime | None:
        try:
            value = self.transitions.formula(qualified, text).evaluate(dict(row), env)
        except FormulaError:
            return None  # a blank or broken date: the timer does not wait
        return moment(value)

    def due(
        self, env: Env, qualified: str, timer: TimerDef, row: Mapping[str, Any]
    ) -> datetime | None:
        """When ``timer`` fires next for the record ``row`` (None: it does not wait now).
        A repeating timer's next occurrence is the first one after now, up to ``until``."""
        if row.get(STATE_COLUMN) not in timer.states:
            return None
        first = self._time(env, qualified, timer.at, row)
        if first is None or timer.every is None:
            return first
        now, step = env.now, timedelta(days=timer.every)
        if first <= now:
            first += step * ((now - first) // step + 1)
        last = self._time(env, qualified, timer.until, row) if timer.until else None
        if last is not None and first > last + timedelta(days=1) - timedelta(microseconds=1):
            return None  # past the last day
        return first

    def schedule(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        operation: str,
        changes: list[tuple[Mapping[str, Any], Mapping[str, Any]]],
    ) -> None:
        """Queue, move or cancel the timers of the records just written. A one-time
        timer whose time has passed fires once (it catches up), never twice."""
        flow = self.records.reader.object(qualified).workflow
        if flow is None or not flow.timers or operation == "delete":
            return
        rows = [after for _, after in changes]
        env = self.env(conn, qualified)
        now = env.now
        for row in rows:
            for timer in flow.timers:
                key = _key(qualified, int(row["id"]), timer)
                when = self.due(env, qualified, timer, row)
                if when is None or (when <= now and self.jobs.ran(conn, key, when)):
                    self.jobs.cancel_key(conn, key, now)
                else:
                    payload = {"object": qualified, "id": int(row["id"]), "timer": timer.name}
                    self.jobs.schedule(conn, KIND, key, when, now=now, payload=payload)

    def fire(self, context: JobContext) -> dict[str, Any]:
        """The timer's job: take its action as the system, if the record still waits."""
        payload = context.job.payload
        qualified, record_id = str(payload["object"]), int(payload["id"])
        obj = self.records.reader.object(qualified)
        flow = obj.workflow
        timer = next((t for t in flow.timers if t.name == payload["timer"]), None) if flow else None
        if timer is None:
            return {"skipped": "the workflow no longer has this timer"}
        with write_transaction(self.jobs.engine) as conn:
            try:
                row = self.records.locked_row(conn, qualified, record_id)
            except TenonError:
                result: dict[str, Any] = {"skipped": "the record is gone"}
                context.finish_in(conn, result)
                return result
            if timer.every is None:
                when = self.due(self.env(conn, qualified), qualified, timer, row)
            else:  # the occurrence this job is for, if the record still waits
                waits = row.get(STATE_COLUMN) in timer.states
                when = context.job.run_at if waits else None
            if when is not None and when > context.now() and timer.every is None:
                # its time moved later without a write of the record (a rollup over
                # related rows, such as days paused): wait for the new time
                key = _key(qualified, record_id, timer)
                self.jobs.schedule(conn, KIND, key, when, now=context.now(), payload=payload)
                result = {"moved": when.isoformat()}
                context.finish_in(conn, result)
                return result
            if when is None or when > context.now():
                result = {"skipped": f"the record is {row.get(STATE_COLUMN)!r} and not due"}
                context.finish_in(conn, result)
                return result
            actor = Actor.system(f"timer {timer.name}")
            try:
                self.transitions.act(conn, actor, qualified, record_id, timer.action, {})
            except TenonError as error:
                raise JobFailed(f"{timer.action}: {error.message}", error.body()["error"]) from None
            result = {"action": timer.action, "id": record_id}
            context.finish_in(conn, result)
        return result


def handler(view: Callable[[], Any]) -> Callable[[JobContext], dict[str, Any]]:
    """The ``timer`` job kind, over the apps installed when it runs."""

    def run(context: JobContext) -> dict[str, Any]:
        timers: Timers = view().timers
        return timers.fire(context)

    return run
