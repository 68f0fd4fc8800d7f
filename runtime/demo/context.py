"""What every part of the demo works with: the database, a clock pinned at the demo's
"today", the installed apps' record service, the seeded random generator, the ids of
what was made so far, and the time each part took."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.clock import Clock
from runtime.errors import TenonError
from runtime.resources import catalog_dir
from runtime.security.actor import Actor
from runtime.services.current import Current, View
from runtime.storage.engine import write_transaction
from runtime.storage.jobs import JobStore

SYSTEM = Actor.system("demo data")
CHUNK = 1000  # rows per create_many, like the bulk API


def load_data(folder: Path | None = None) -> dict[str, Any]:
    """Every JSON file of ``apps_catalog/demo`` by its stem (``company``, ``levels`` …)."""
    base = folder or catalog_dir() / "demo"
    return {p.stem: json.loads(p.read_text("utf-8")) for p in sorted(base.glob("*.json"))}


def day(text: str) -> date:
    return date.fromisoformat(text)


@dataclass
class Person:
    """One generated employee, before and after it is a record."""

    no: str
    name: str
    name_zh: str
    username: str
    department: str  # code
    level: str  # code
    manager: str | None  # employee number
    hire_date: date
    salary: int
    employment_type: str = "full_time"
    contract: tuple[str, int | None] = ("open_ended", None)
    probation_months: int = 0
    status: str = "regular"
    termination: tuple[date, str] | None = None
    depth: int = 0
    roles: list[str] = field(default_factory=list)
    who: str = ""  # what the logins table says about them
    id: int = 0  # the record's id once created


@dataclass
class Demo:
    engine: Engine
    clock: Clock
    current: Current
    data: dict[str, Any]
    rng: random.Random
    ids: dict[str, int] = field(default_factory=dict)  # department and level codes
    people: dict[str, Person] = field(default_factory=dict)  # by employee number
    users: dict[str, int] = field(default_factory=dict)  # user ids by username
    heads: dict[str, str] = field(default_factory=dict)  # department code -> employee number
    hrbps: list[str] = field(default_factory=list)  # employee numbers, HRBP 1 first
    hrbp_of: dict[str, int] = field(default_factory=dict)  # department code -> employee id
    timings: list[tuple[str, float]] = field(default_factory=list)
    _by_id: dict[int, Person] = field(default_factory=dict)
    _actors: dict[str, Actor] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    @property
    def view(self) -> View:
        return self.current.view()

    @property
    def today(self) -> date:
        return self.clock.now().date()

    @contextmanager
    def timed(self, what: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings.append((what, time.perf_counter() - start))

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with write_transaction(self.engine) as conn:
            yield conn

    # -- people -------------------------------------------------------------------------

    def actor(self, username: str) -> Actor:
        """A demo user as the API would see them signed in (their granted roles, which
        the people were given before any of them acts)."""
        found = self._actors.get(username)
        if found is None:
            roles = frozenset(
                r for p in self.people.values() if p.username == username for r in p.roles
            )
            found = self._actors[username] = Actor(self.users[username], username, roles, via="cli")
        return found

    def person_of(self, employee_id: int) -> Person:
        if len(self._by_id) != len(self.people):
            self._by_id = {p.id: p for p in self.people.values()}
        return self._by_id[employee_id]

    def department_hrbp(self, code: str) -> int:
        """The employee id of a department's effective HRBP (its own or its parent's)."""
        return self.hrbp_of[code]

    def with_role(self, role: str) -> Person:
        return next(p for p in self.people.values() if role in p.roles)

    # -- the record service -------------------------------------------------------------

    def create(
        self,
        conn: Connection,
        qualified: str,
        rows: Sequence[Mapping[str, Any]],
        actor: Actor = SYSTEM,
    ) -> list[int]:
        """``Records.create_many`` in chunks of the bulk API's size; the new ids in order."""
        records = self.view.records
        ids: list[int] = []
        for start in range(0, len(rows), CHUNK):
            chunk = list(rows[start : start + CHUNK])
            ids += [w.id for w in records.create_many(conn, actor, qualified, chunk)]
        return ids

    def write(
        self,
        conn: Connection,
        qualified: str,
        changes: Mapping[int, Mapping[str, Any]],
        actor: Actor = SYSTEM,
        operation: str = "update",
    ) -> None:
        """``Records.write_many``: ``changes`` by record id, in one set-based pass."""
        if not changes:
            return
        table = self.view.reader.table(qualified)
        rows = self.rows(conn, qualified, table.c.id.in_(list(changes)))
        items = [(row, changes[row["id"]]) for row in rows]
        self.view.records.write_many(conn, actor, qualified, items, operation)

    def update(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        data: Mapping[str, Any],
    ) -> None:
        """One update as the API's PATCH makes it (permission rules and inputs checked)."""
        version = self.rows(conn, qualified, self.view.reader.table(qualified).c.id == record_id)
        self.view.records.update(conn, actor, qualified, record_id, data, version[0]["version"])

    def act(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        action: str,
        **body: Any,
    ) -> None:
        """A workflow action as ``POST …/actions/{action}`` takes it."""
        try:
            self.view.transitions.act(conn, actor, qualified, record_id, action, body)
        except TenonError as error:
            raise _failed(error, f"{qualified} {record_id} {action} as {actor.username}") from None

    def act_many(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        ids: Sequence[int],
        action: str,
        **body: Any,
    ) -> None:
        """A workflow action on many records, as ``POST …/records/bulk/actions/{action}``
        takes it (at most the bulk API's 1,000 at a time)."""
        for start in range(0, len(ids), CHUNK):
            chunk = list(ids[start : start + CHUNK])
            try:
                self.view.transitions.act_many(conn, actor, qualified, chunk, action, body)
            except TenonError as error:
                what = f"{qualified} {chunk[0]}… {action} as {actor.username}"
                raise _failed(error, what) from None

    def rows(
        self, conn: Connection, qualified: str, where: Any = None, order: Any = None
    ) -> list[dict[str, Any]]:
        """Stored rows of an object (the generator's own bookkeeping, not a secured read)."""
        table = self.view.reader.table(qualified)
        query = sa.select(table).order_by(order if order is not None else table.c.id)
        if where is not None:
            query = query.where(where)
        return [dict(r) for r in conn.execute(query).mappings()]

    def table(self, qualified: str) -> sa.Table:
        return self.view.reader.table(qualified)

    def run_due(self) -> int:
        """Run the jobs due at the demo's "today" (timers that came while the data was
        made); how many ran."""
        from runtime.security.users import UserService
        from runtime.services.job_kinds import job_runner

        users = UserService(self.engine, self.clock, definitions=self.current.apps.definitions)
        runner = job_runner(self.current, self.current.jobs, users, test_clock=True)
        return len(runner.run_due())


def _failed(error: TenonError, what: str) -> TenonError:
    """``error`` saying which step of the demo it stopped (and every detail)."""
    detail = "; ".join(f"{i.path} {i.code}: {i.message}" for i in error.details)
    message = f"demo: {what}: {error.message}" + (f" ({detail})" if detail else "")
    return TenonError(message, code=error.code, status=error.status)


def make_demo(engine: Engine, data: dict[str, Any], now: datetime) -> Demo:
    from runtime.services.apps import AppService

    clock = Clock()
    clock.set(now)
    current = Current(AppService(engine, clock), clock, JobStore(engine))
    seed = int(data["company"]["seed"])
    return Demo(engine, clock, current, data, random.Random(seed))  # noqa: S311 - a fixed seed
