"""The one write path: every create, update and delete of app data goes through here.

Inside the caller's write transaction (``storage.engine.write_transaction``: ``BEGIN
IMMEDIATE`` on SQLite), in this order:

1. permission: a rule grants the action (and, for updates and deletes, its scope holds
   for the record and it lets the actor write the fields sent);
2. input: unknown, read-only and ill-typed fields, users by username, references that
   do not exist, required fields left blank — all reported together;
3. the version: an update or delete carrying a stale ``version`` is refused with 409
   ``VERSION_CONFLICT`` naming who changed the record and when; the UPDATE itself is a
   compare-and-set on the version, so two writers can never both win;
4. the row is written, stored computed fields are recomputed (and those of the records
   that read it), then the object's rules run on the result, and the permission is
   checked once more on the record as written (a create must land in the actor's scope;
   an update may not move a record out of it);
5. an audit entry with the before and after value of every changed field.

Any problem raises, and the caller's transaction rolls back whole: nothing is half
written. ``bulk`` runs many of these in one transaction, collecting every row's problems
(with the row in the path) before refusing all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.clock import Clock
from runtime.errors import Conflict, Forbidden, Issue, TenonError, ValidationFailed
from runtime.metadata.model import SOFT_DELETE_COLUMN, ObjectDef
from runtime.metadata.workflows import STATE_COLUMN
from runtime.security.actor import Actor
from runtime.services import inputs
from runtime.services.auditing import audit_changes
from runtime.services.computed import Computed
from runtime.services.defaults import Defaults
from runtime.services.permits import Permits
from runtime.services.reading import Reader
from runtime.services.rules import Rules
from runtime.services.write_checks import (
    at_row,
    auto_numbers,
    duplicates,
    integrity_error,
    one_at_most,
    qualified_target,
    sent_fields,
    unique_issues,
    version_of,
)
from runtime.storage.bulk import insert_many
from runtime.storage.tables import USERS_TABLE

_USERS = sa.table(USERS_TABLE, sa.column("id"), sa.column("username"))


# (conn, actor, object, operation — create, update, action:<name>, delete —, [(before, after)])
Hook = Callable[
    [Connection, Actor, str, str, list[tuple[Mapping[str, Any], Mapping[str, Any]]]], None
]


@dataclass(frozen=True)
class Written:
    """What a write did: the record and its version after it."""

    id: int
    version: int


class Records:
    """Writes over a set of installed apps, for one reader (permissions) and clock."""

    def __init__(self, reader: Reader, computed: Computed | None = None) -> None:
        self.reader = reader
        self.clock: Clock = reader.clock
        self.permits = Permits(reader)
        self.computed = computed or Computed(reader.apps, reader.clock, reader.table)
        self.rules = Rules(reader.policy.engine, self.computed.table, self.clock, self._forms)
        self.defaults = Defaults(reader, self.clock)
        # run in the write's transaction on the records as written (timers, next automations)
        self.hooks: list[Hook] = []  # told of every write, in its transaction

    def _forms(self, qualified: str) -> list[Mapping[str, Any]]:
        app, _, name = qualified.partition(".")
        forms = self.reader.apps[app].raw.get("forms") or []
        return [f for f in forms if isinstance(f, Mapping) and f.get("object") == name]

    # -- create -------------------------------------------------------------------------

    def create(
        self, conn: Connection, actor: Actor, qualified: str, data: Mapping[str, Any]
    ) -> Written:
        return self.create_many(conn, actor, qualified, [data], single=True)[0]

    def create_many(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        rows: Sequence[Any],
        single: bool = False,
    ) -> list[Written]:
        """Create ``rows`` in set-based steps: inputs checked with one lookup per
        reference field, one multi-row INSERT, one recompute, one permission query, one
        audit insert. Every row's problems are reported together (``/rows/i/field``,
        or ``/field`` for a single record); any problem refuses all of them."""
        obj = self.reader.object(qualified)
        if not actor.is_system and not self.reader.policy.applicable(actor, qualified, "create"):
            raise Forbidden(f"you may not create records of {qualified}")
        if not rows:
            return []
        app = qualified.partition(".")[0]
        table = self.reader.table(qualified)
        known = inputs.Known(self.permits.readable(conn, actor))
        known.prefetch(conn, app, obj.stored_fields, rows, self.reader.table)
        issues: list[Issue] = []
        made: dict[str, Any] = {}  # what the defaults look up once per create
        prepared: list[dict[str, Any]] = []
        sent: list[list[str]] = []
        parsed: list[tuple[str, dict[str, Any], list[Issue], Mapping[str, Any]]] = []
        for i, data in enumerate(rows):
            where = "" if single else f"/rows/{i}"
            if not isinstance(data, Mapping):
                issues.append(Issue(where, "must be a JSON object", "INVALID_BODY"))
                continue
            values, found = inputs.parse(
                conn, app, obj, data, self.reader.table, where, known, actor.is_system
            )
            parsed.append((where, {**inputs.defaults(obj, values), **values}, found, data))
        filled = self.defaults.fill_many(conn, actor, qualified, obj, [p[1] for p in parsed], made)
        for (where, _, found, data), values in zip(parsed, filled, strict=True):
            named = {x.path for x in found}  # a field with a bad value is not also "required"
            found += [x for x in inputs.missing(obj, values, where) if x.path not in named]
            issues += found
            prepared.append(values)
            sent.append(sent_fields(values, data))
        one_at_most(conn, obj, table, len(prepared))
        issues += unique_issues(conn, obj, table, prepared, single)
        if issues:
            raise self._refused(obj, issues, len(rows), single)
        now = self.clock.now()
        counters: dict[tuple[str, str], int] = {}
        start = {STATE_COLUMN: obj.workflow.initial} if obj.workflow is not None else {}
        columns = sorted({name for values in prepared for name in values})
        full = [
            {
                **dict.fromkeys(columns),
                **values,
                **auto_numbers(conn, obj, table, now, values, counters),
                "version": 1,
                "created_at": now,
                "updated_at": now,
                "created_by": actor.stored_id,
                "updated_by": actor.stored_id,
                **start,
            }
            for values in prepared
        ]
        ids = self._insert(conn, obj, table, full, single)
        self.computed.recompute(conn, qualified, ids)
        checked = self.permits.check_many(
            conn, actor, qualified, "create", dict(zip(ids, sent, strict=True)), exist=True
        )
        for i, record_id in enumerate(ids):
            outcome = checked[record_id]
            if isinstance(outcome, TenonError):
                if single:
                    raise outcome
                issues += at_row(outcome, f"/rows/{i}")
        if issues:
            raise self._refused(obj, issues, len(rows), single)
        if self.computed.targets.get(qualified):
            after = self._rows(conn, table, ids)  # with the computed values
        else:
            after = dict(zip(ids, full, strict=True))  # each row has its id (_insert_rows)
        if single:
            self.rules.check(conn, actor, obj, qualified, after[ids[0]], sent[0])
        else:
            for i, record_id in enumerate(ids):
                row, given = after[record_id], sent[i]
                issues += self.rules.issues(conn, actor, obj, qualified, row, f"/rows/{i}", given)[
                    0
                ]
            if issues:
                raise self._refused(obj, issues, len(rows), single)
        audit_changes(conn, obj, actor, qualified, "create", [(i, {}, after[i]) for i in ids], now)
        for hook in self.hooks:  # after the audit: what a hook writes comes next in it
            hook(conn, actor, qualified, "create", [({}, after[i]) for i in ids])
        return [Written(record_id, 1) for record_id in ids]

    def _insert(
        self,
        conn: Connection,
        obj: ObjectDef,
        table: sa.Table,
        rows: list[dict[str, Any]],
        single: bool,
    ) -> list[int]:
        """One multi-row INSERT; if the database refuses it, each row on its own (in a
        savepoint) to say which rows it refused and why."""
        if single:  # a refusal ends the whole transaction anyway: no savepoint needed
            try:
                return self._insert_rows(conn, table, rows)
            except sa.exc.IntegrityError as exc:
                raise integrity_error(obj, exc) from None
        savepoint = conn.begin_nested()
        try:
            ids = self._insert_rows(conn, table, rows)
            savepoint.commit()
            return ids
        except sa.exc.IntegrityError:
            savepoint.rollback()
        issues: list[Issue] = []
        for i, row in enumerate(rows):
            one = conn.begin_nested()
            try:
                conn.execute(sa.insert(table).values(row))
            except sa.exc.IntegrityError as exc:
                issues += at_row(integrity_error(obj, exc), f"/rows/{i}")
            finally:
                one.rollback()
        if not issues:  # only the rows together clash (two rows with one unique value)
            issues = duplicates(obj, rows)
        raise self._refused(obj, issues, len(rows), single)

    @staticmethod
    def _insert_rows(conn: Connection, table: sa.Table, rows: list[dict[str, Any]]) -> list[int]:
        """Insert ``rows``, giving their ids in order (also set in each row). SQLite
        answers RETURNING one row per statement, so there the ids are given up front: the
        write transaction holds the database's only write lock (``BEGIN IMMEDIATE``), so
        nobody else takes them, and the rows go in with one executemany."""
        if conn.dialect.name != "sqlite" or len(rows) == 1:
            stmt = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
            found = [int(i) for i in conn.execute(stmt, rows).scalars()]
            for row, record_id in zip(rows, found, strict=True):
                row["id"] = record_id
            return found
        highest = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
        ids = list(range(highest + 1, highest + 1 + len(rows)))
        for row, record_id in zip(rows, ids, strict=True):
            row["id"] = record_id  # our own dicts: no copy of a thousand rows
        insert_many(conn, table, rows)
        return ids

    def _refused(self, obj: ObjectDef, issues: list[Issue], count: int, single: bool) -> TenonError:
        if single:
            return ValidationFailed.from_issues(f"the {obj.name} was not saved", issues)
        bad = len({i.path.split("/")[2] for i in issues if i.path.startswith("/rows/")})
        return ValidationFailed.from_issues(
            f"nothing was saved: {bad} of {count} records have problems", issues
        )

    # -- update -------------------------------------------------------------------------

    def update(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        data: Mapping[str, Any],
        version: Any,
    ) -> Written:
        obj = self.reader.object(qualified)
        table = self.reader.table(qualified)
        app = qualified.partition(".")[0]
        known = inputs.Known(self.permits.readable(conn, actor))
        values, issues = inputs.parse(conn, app, obj, data, self.reader.table, "", known)
        sent = sent_fields(values, data)
        self.permits.check(conn, actor, qualified, "update", record_id, sent)
        expected = version_of(version)
        before = self._row(conn, table, record_id, lock=True)
        self._current(conn, qualified, before, expected)
        issues += [i for i in inputs.missing(obj, {**before, **values}) if i.path[1:] in values]
        if issues:
            raise ValidationFailed.from_issues(f"the {obj.name} was not saved", issues)
        changed = {k: v for k, v in values.items() if before.get(k) != v}
        locked = obj.workflow.locked(before.get(STATE_COLUMN), changed) if obj.workflow else []
        if locked:
            state = before.get(STATE_COLUMN)
            raise ValidationFailed.from_issues(
                f"the {obj.name} was not saved",
                [
                    Issue(f"/{n}", f"{n} cannot change in state {state!r}", "FIELD_LOCKED")
                    for n in locked
                ],
            )
        done = self.write_changes(conn, actor, qualified, before, changed, "update")
        self.permits.check(conn, actor, qualified, "update", record_id, sent)
        return done

    def check_version(
        self, conn: Connection, qualified: str, row: Mapping[str, Any], expected: int
    ) -> None:
        """409 ``VERSION_CONFLICT`` naming who changed the record, unless it is at
        ``expected``."""
        self._current(conn, qualified, row, expected)

    def locked_row(self, conn: Connection, qualified: str, record_id: int) -> dict[str, Any]:
        """The record as stored, locked for this transaction (PostgreSQL: FOR UPDATE;
        SQLite: the write transaction holds the only write lock)."""
        return self._row(conn, self.reader.table(qualified), record_id, lock=True)

    def locked_rows(
        self, conn: Connection, qualified: str, ids: list[int]
    ) -> dict[int, dict[str, Any]]:
        """``locked_row`` for many records, by id (those gone are left out)."""
        table = self.reader.table(qualified)
        query = sa.select(table).where(table.c.id.in_(ids))
        if SOFT_DELETE_COLUMN in table.c:
            query = query.where(table.c[SOFT_DELETE_COLUMN].is_(None))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        return {int(row["id"]): dict(row) for row in conn.execute(query).mappings()}

    def write_changes(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        before: Mapping[str, Any],
        changed: Mapping[str, Any],
        operation: str,
        comment: str | None = None,
    ) -> Written:
        """Write ``changed`` (columns) onto the record read as ``before``, if it is still
        at that version (else 409): then its computed fields, the object's rules on the
        result, and the audit entry (with ``comment``)."""
        items = [(before, changed)]
        return self.write_many(conn, actor, qualified, items, operation, comment)[0]

    def write_many(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        items: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
        operation: str,
        comment: str | None = None,
    ) -> list[Written]:
        """``write_changes`` for many records of one object in set-based steps: one
        UPDATE each, then one recompute, one read, the rules, one audit insert and the
        hooks once (an effect snapshotting 2,000 rows costs a pass, not 2,000)."""
        obj = self.reader.object(qualified)
        table = self.reader.table(qualified)
        now = self.clock.now()
        names: set[str] = set()
        old_links: dict[str, list[Any]] = {}
        for before, changed in items:
            record_id, expected = int(before["id"]), int(before["version"])
            stmt = (
                sa.update(table)
                .where(table.c.id == record_id, table.c.version == expected)
                .values(**changed, version=expected + 1, updated_at=now, updated_by=actor.stored_id)
            )
            if self._execute_write(conn, obj, stmt, count=True) != 1:
                self._current(conn, qualified, self._row(conn, table, record_id), expected)
            names |= set(changed)
            for name in changed:
                fdef = obj.by_name.get(name)
                if (
                    fdef is not None
                    and fdef.storage == "reference"
                    and before.get(name) is not None
                ):
                    old_links.setdefault(name, []).append(before[name])
        ids = [int(b["id"]) for b, _ in items]
        self.computed.recompute(conn, qualified, ids, names, old_links)
        after = self._rows(conn, table, ids)
        for before, changed in items:
            record_id = int(before["id"])
            self.rules.check(conn, actor, obj, qualified, after[record_id], list(changed))
        pairs: list[tuple[Mapping[str, Any], Mapping[str, Any]]] = [
            (before, after[int(before["id"])]) for before, _ in items
        ]
        entries = [(int(b["id"]), b, a) for b, a in pairs]
        audit_changes(conn, obj, actor, qualified, operation, entries, now, comment)
        for hook in self.hooks:
            hook(conn, actor, qualified, operation, pairs)
        return [Written(int(b["id"]), int(b["version"]) + 1) for b, _ in items]

    # -- delete -------------------------------------------------------------------------

    def delete(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        version: Any = None,
    ) -> None:
        obj = self.reader.object(qualified)
        table = self.reader.table(qualified)
        self.permits.check(conn, actor, qualified, "delete", record_id)
        before = self._row(conn, table, record_id, lock=True)
        if version is not None:
            self._current(conn, qualified, before, version_of(version))
        now = self.clock.now()
        if obj.soft_delete:
            stmt: Any = (
                sa.update(table)
                .where(table.c.id == record_id)
                .values(
                    **{SOFT_DELETE_COLUMN: now},
                    version=before["version"] + 1,
                    updated_at=now,
                    updated_by=actor.stored_id,
                )
            )
            self._execute_write(conn, obj, stmt)
            self.computed.recompute(conn, qualified, [record_id])
        else:
            self._execute_write(conn, obj, sa.delete(table).where(table.c.id == record_id))
            for fdef in obj.stored_fields:  # the records it counted in (rollups)
                if fdef.storage == "reference" and before.get(fdef.name) is not None:
                    target = qualified_target(qualified, fdef.target)
                    self.computed.recompute(conn, target, [before[fdef.name]])
        for hook in self.hooks:
            hook(conn, actor, qualified, "delete", [(before, {})])
        audit_changes(conn, obj, actor, qualified, "delete", [(record_id, before, {})], now)

    # -- bulk ---------------------------------------------------------------------------

    # -- helpers ------------------------------------------------------------------------

    def _row(
        self, conn: Connection, table: sa.Table, record_id: int, lock: bool = False
    ) -> dict[str, Any]:
        query = sa.select(table).where(table.c.id == record_id)
        if SOFT_DELETE_COLUMN in table.c:
            query = query.where(table.c[SOFT_DELETE_COLUMN].is_(None))
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise TenonError("the record is gone", code="NOT_FOUND", status=404)
        return dict(row)

    def _rows(self, conn: Connection, table: sa.Table, ids: list[int]) -> dict[int, dict[str, Any]]:
        query = sa.select(table).where(table.c.id.in_(ids))
        return {int(row["id"]): dict(row) for row in conn.execute(query).mappings()}

    def _current(
        self, conn: Connection, qualified: str, row: Mapping[str, Any], expected: int
    ) -> None:
        """Refuse a write based on an older version of the record, saying who changed it."""
        if row["version"] == expected:
            return
        who = None
        if row.get("updated_by") is not None:
            query = sa.select(_USERS.c.username).where(_USERS.c.id == row["updated_by"])
            who = conn.execute(query).scalar()
        at = row["updated_at"].isoformat(timespec="seconds")
        raise Conflict(
            f"this {qualified.partition('.')[2]} was changed by {who or 'someone else'} at "
            f"{at} (version {row['version']}; you sent {expected}): reload it and try again",
            [Issue("/version", f"the current version is {row['version']}", "VERSION_CONFLICT")],
            code="VERSION_CONFLICT",
        )

    def _execute_write(
        self, conn: Connection, obj: ObjectDef, stmt: Any, count: bool = False
    ) -> int:
        """Run an INSERT/UPDATE/DELETE, turning the database's refusals into answers."""
        try:
            result = conn.execute(stmt)
        except sa.exc.IntegrityError as exc:
            raise integrity_error(obj, exc) from None
        if count:
            return int(result.rowcount or 0)
        if stmt.is_insert:
            return int(result.scalar_one())
        return 0
