"""Automations: what the system does when records change, or on a schedule.

A record automation runs inside the write that fired it (a hook of the record service,
after the write's own audit entry): its actions and the write commit together, and an
action that fails refuses the write, with the automation's name in the message. It acts
as the system, audited on behalf of ``automation <app>.<name> (<operation> by <user>)``.

Loops are stopped: an automation that a chain of automations fires again for the same
record is skipped (and logged); a chain longer than ``MAX_DEPTH`` automations refuses the
write with 409 ``AUTOMATION_LOOP``.

A ``schedule`` automation (``"every": "0 9 * * 1-5"``, cron) is one job (key
``schedule:<app>.<name>``) that runs its actions for each record meeting its condition,
then queues its next time; after downtime a missed time runs once.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from croniter import croniter
from sqlalchemy.engine import Connection

from runtime.errors import Conflict, TenonError
from runtime.formula.errors import FormulaError
from runtime.metadata.automations import AutomationDef, by_object
from runtime.metadata.model import SOFT_DELETE_COLUMN
from runtime.security.actor import Actor
from runtime.services.effect_batch import batchable, run_batch
from runtime.services.effects import Effects
from runtime.services.formula_env import record_env
from runtime.services.jobs import JobContext, JobFailed
from runtime.services.records import Records
from runtime.services.timers import moment
from runtime.storage.engine import read_connection, write_transaction
from runtime.storage.jobs import JobStore

log = logging.getLogger("tenon.automations")
KIND = "schedule"
DATED = "automation_date"
MAX_DEPTH = 8
MAX_SCHEDULED = 10_000  # records one scheduled run acts on
Link = tuple[str, str, int | frozenset[int]]  # automation, object, record(s)
_CHAIN: ContextVar[tuple[Link, ...]] = ContextVar("tenon_automations", default=())


def next_time(every: str, after: datetime) -> datetime:
    found: datetime = croniter(every, after).get_next(datetime)
    return found


class Automations:
    def __init__(self, records: Records, effects: Effects, jobs: JobStore) -> None:
        self.records = records
        self.effects = effects
        self.jobs = jobs
        apps = records.reader.apps
        self.watching = by_object((name, app.raw) for name, app in apps.items())
        self.scheduled = [a for autos in self.watching.values() for a in autos if a.on == KIND]
        self.dated = {
            a.qualname: a for autos in self.watching.values() for a in autos if a.on == "date"
        }
        records.hooks.append(self.on_write)

    # -- record automations -------------------------------------------------------------

    def on_write(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        operation: str,
        changes: list[tuple[Mapping[str, Any], Mapping[str, Any]]],
    ) -> None:
        for auto in self.watching.get(qualified, ()):
            if auto.on == "date":
                for before, after in changes:
                    self._plan(conn, auto, before or after, after)
                continue
            fired = [
                (before, after)
                for before, after in changes
                if auto.fires(operation, before, after)
                and self._holds(conn, auto, operation, before, after)
            ]
            if len(fired) > 1 and operation != "delete" and batchable(list(auto.actions)):
                ids = [int(after["id"]) for _, after in fired]
                if self._run_batch(conn, actor, auto, operation, ids):
                    continue
            for before, after in fired:
                self._run(conn, actor, auto, operation, after or before, gone=not after)

    def _run_batch(
        self, conn: Connection, actor: Actor, auto: AutomationDef, operation: str, ids: list[int]
    ) -> bool:
        """``_run`` for many records at once (``effect_batch``); False: run them one by one."""
        chain = _CHAIN.get()
        if _in_chain(chain, auto, ids) or len(chain) >= MAX_DEPTH:
            return False  # ``_run`` stops the loop record by record, with its warning
        cause = _cause(auto, operation, actor)
        with _linked(auto, (auto.qualname, auto.object, frozenset(ids))):
            system, actions = Actor.system(cause), list(auto.actions)
            return run_batch(self.effects, conn, system, auto.object, ids, actions, cause)

    # -- date automations ---------------------------------------------------------------

    def _when(self, conn: Connection, auto: AutomationDef, row: Mapping[str, Any]) -> Any:
        """When ``auto`` fires for the record ``row`` (None: not, as the record is)."""
        if not row or (auto.condition and not self._condition(conn, auto)(row)):
            return None
        env = record_env(conn, self.records.reader.table, auto.object, self.records.clock, None)
        try:
            return moment(self.effects.compile(auto.object, str(auto.at)).evaluate(dict(row), env))
        except FormulaError:
            return None

    def _plan(
        self,
        conn: Connection,
        auto: AutomationDef,
        row: Mapping[str, Any],
        after: Mapping[str, Any],
    ) -> None:
        """Queue, move or cancel the date automation's job for the record just written;
        a time already passed fires once (it catches up), never twice."""
        key = f"{DATED}:{auto.qualname}:{int(row['id'])}"
        now = self.records.clock.now()
        when = self._when(conn, auto, after)
        if when is None or (when <= now and self.jobs.ran(conn, key, when)):
            self.jobs.cancel_key(conn, key, now)
        else:
            payload = {"automation": auto.qualname, "id": int(row["id"])}
            self.jobs.schedule(conn, DATED, key, when, now=now, payload=payload)

    def fire_dated(self, context: JobContext) -> dict[str, Any]:
        payload = context.job.payload
        auto = self.dated.get(str(payload["automation"]))
        if auto is None:
            return {"skipped": "the automation is gone"}
        with write_transaction(self.jobs.engine) as conn:
            try:
                row = self.records.locked_row(conn, auto.object, int(payload["id"]))
            except TenonError:
                row = {}
            if self._when(conn, auto, row) != context.job.run_at:
                result: dict[str, Any] = {"skipped": "the record no longer waits for this time"}
            else:
                try:
                    self._run(conn, Actor.system("date"), auto, "date", row)
                except TenonError as error:
                    raise JobFailed(error.message, error.body()["error"]) from None
                result = {"automation": auto.qualname, "id": int(row["id"])}
            context.finish_in(conn, result)
        return result

    def _condition(self, conn: Connection, auto: AutomationDef) -> Callable[[Any], bool]:
        qualified = auto.object
        env = record_env(conn, self.records.reader.table, qualified, self.records.clock, None)
        formula = self.effects.compile(qualified, str(auto.condition))

        def holds(row: Mapping[str, Any]) -> bool:
            if not row:
                return False
            try:
                return formula.evaluate(dict(row), env) is True
            except FormulaError:
                return False

        return holds

    def _holds(
        self,
        conn: Connection,
        auto: AutomationDef,
        operation: str,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
    ) -> bool:
        """The trigger's condition: on the record as it was for a delete; *becoming*
        true for an update; true afterwards otherwise."""
        if not auto.condition:
            return True
        holds = self._condition(conn, auto)
        if operation == "delete":
            return holds(before)
        if auto.on == "update":
            return holds(after) and not holds(before)
        return holds(after)

    def _run(
        self,
        conn: Connection,
        actor: Actor,
        auto: AutomationDef,
        operation: str,
        record: Mapping[str, Any],
        gone: bool = False,
    ) -> None:
        record_id = int(record["id"])
        link = (auto.qualname, auto.object, record_id)
        chain = _CHAIN.get()
        if _in_chain(chain, auto, [record_id]):
            path = " → ".join(name for name, _, _ in (*chain, link))
            log.warning("automation loop stopped: %s on %s %s", path, auto.object, record_id)
            return
        if len(chain) >= MAX_DEPTH:
            raise Conflict(
                f"automations fired one another {MAX_DEPTH} times in a row "
                f"({' → '.join(n for n, _, _ in chain)}): nothing was saved",
                code="AUTOMATION_LOOP",
            )
        cause = _cause(auto, operation, actor)
        with _linked(auto, link):
            self.effects.run(
                conn,
                Actor.system(cause),
                auto.object,
                record_id,
                list(auto.actions),
                cause,
                record=record if gone else None,
            )

    # -- scheduled automations ----------------------------------------------------------

    def ensure_schedules(self, now: datetime) -> None:
        """Queue each schedule automation's next run unless one is queued; cancel the
        runs of automations that are gone."""
        wanted = {f"{KIND}:{a.qualname}": a for a in self.scheduled}
        with read_connection(self.jobs.engine) as conn:
            queued = self.jobs.queued_keys(conn, f"{KIND}:")
        if queued == set(wanted):
            return  # nothing to queue or cancel: no write
        with write_transaction(self.jobs.engine) as conn:
            queued = self.jobs.queued_keys(conn, f"{KIND}:")
            for key in queued - set(wanted):
                self.jobs.cancel_key(conn, key, now)
            for key, auto in wanted.items():
                if key not in queued:
                    when = next_time(str(auto.every), now)
                    payload = {"automation": auto.qualname, "every": auto.every}
                    self.jobs.enqueue(conn, KIND, now=now, run_at=when, payload=payload, key=key)

    def fire(self, context: JobContext) -> dict[str, Any]:
        name = str(context.job.payload["automation"])
        auto = next((a for a in self.scheduled if a.qualname == name), None)
        if auto is None:
            return {"skipped": "the automation is gone"}
        now = context.now()
        done = []
        with write_transaction(self.jobs.engine) as conn:
            table = self.records.reader.table(auto.object)
            query = sa.select(table).order_by(table.c.id).limit(MAX_SCHEDULED)
            if SOFT_DELETE_COLUMN in table.c:
                query = query.where(table.c[SOFT_DELETE_COLUMN].is_(None))
            holds = self._condition(conn, auto) if auto.condition else bool
            for row in conn.execute(query).mappings():
                if holds(dict(row)):
                    try:
                        self._run(conn, Actor.system("schedule"), auto, "schedule", dict(row))
                    except TenonError as error:
                        raise JobFailed(error.message, error.body()["error"]) from None
                    done.append(int(row["id"]))
            key = f"{KIND}:{auto.qualname}"
            payload = {"automation": auto.qualname, "every": auto.every}
            when = next_time(str(auto.every), now)
            self.jobs.enqueue(conn, KIND, now=now, run_at=when, payload=payload, key=key)
            result = {"automation": name, "records": done, "next": when.isoformat()}
            context.finish_in(conn, result)
        return result


def handler(view: Callable[[], Any]) -> Callable[[JobContext], dict[str, Any]]:
    def run(context: JobContext) -> dict[str, Any]:
        automations: Automations = view().automations
        return automations.fire(context)

    return run


def dated_handler(view: Callable[[], Any]) -> Callable[[JobContext], dict[str, Any]]:
    def run(context: JobContext) -> dict[str, Any]:
        automations: Automations = view().automations
        return automations.fire_dated(context)

    return run


def _in_chain(chain: tuple[Link, ...], auto: AutomationDef, ids: list[int]) -> bool:
    """Has ``auto`` already run, in this chain, for one of the records ``ids`` (a link
    names one record, or the set a batch ran for)?"""
    for name, obj, held in chain:
        if (name, obj) != (auto.qualname, auto.object):
            continue
        if any(i in held for i in ids) if isinstance(held, frozenset) else held in ids:
            return True
    return False


def _cause(auto: AutomationDef, operation: str, actor: Actor) -> str:
    return f"automation {auto.qualname} ({operation} by {actor.on_behalf_of or actor.username})"


@contextmanager
def _linked(auto: AutomationDef, link: Link) -> Iterator[None]:
    """Run ``auto`` as the next link of the chain; a refusal names the automation."""
    token = _CHAIN.set((*_CHAIN.get(), link))
    try:
        yield
    except TenonError as error:
        if error.code == "AUTOMATION_LOOP":
            raise
        message = f"automation {auto.qualname}: {error.message}"
        raise dataclasses.replace(error, message=message) from None
    finally:
        _CHAIN.reset(token)
