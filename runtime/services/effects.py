"""Effects on other records, declared by a transition (or an automation) and written in
its transaction:

- ``{"update": {"record": "employee", "set": {"on_pip": "TRUE"}}}``: the record a
  reference path of this one points to; the formulas run on *this* record;
- ``{"create": {"object": "core_hr.offboarding_case", "values": {"employee": "employee",
  "last_working_day": "TODAY() + 30"}}}``: a new record, in this app or a required one;
  the formulas run on this record;
- ``{"each": {"relation": "lines", "where": "eligible", "set": {"suggested": "…"}}}``:
  every related row (that ``where`` accepts), each formula run on *that row* — after
  this record was written, so a row reading ``pool.scale_factor`` sees the new value;
- ``{"export": {"relation": "lines", "field": "export_file", "columns": […]}}``: the
  related rows as a CSV file (``runtime.services.export_file``), stored and set as the
  record's attachment ``field``.

Every write goes through the record service: validation, computed fields, rules, timers
and the audit, which says on whose behalf (``effect of action:confirm by hana``). An
effect runs as the person who acted — their permission rules apply — unless it declares
``"as": "system"``, the app's explicit grant to do what its user may not (E4).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.errors import Forbidden, Issue, TenonError, ValidationFailed
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Env
from runtime.metadata.approvals import people_of
from runtime.metadata.fieldtypes import CoerceError
from runtime.metadata.model import SOFT_DELETE_COLUMN
from runtime.metadata.workflows import STATE_COLUMN
from runtime.security.actor import Actor
from runtime.services import existing, for_each, outbox, people, series
from runtime.services.effect_rows import RowFormulas, relation_of
from runtime.services.effect_rows import failed as _failed
from runtime.services.export_file import CellError, csv_file
from runtime.services.for_each import MAX_ROWS
from runtime.services.formula_env import record_env
from runtime.services.records import Records
from runtime.services.values import to_json
from runtime.storage import files, notifications, tasks
from runtime.storage.jobs import JobStore


class Site(NamedTuple):
    """Where an effect is written: the transaction, who writes, the record it is of."""

    conn: Connection
    actor: Actor
    qualified: str
    record: Mapping[str, Any]
    env: Env
    path: str


Act = Callable[[Connection, Actor, str, int, str, Mapping[str, Any]], Any]
ActMany = Callable[[Connection, Actor, str, list[int], str, Mapping[str, Any]], Any]


class Effects:
    def __init__(
        self,
        records: Records,
        compile: people.Compile,
        act: Act | None = None,
        jobs: JobStore | None = None,
    ) -> None:
        self.records = records
        self.reader = records.reader
        self.compile = compile
        self.act = act  # taking a workflow action (``Transitions.act``)
        self.act_many: ActMany | None = None  # the same on many records (``act_many``)
        self.jobs = jobs

    def run(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        effects: list[tuple[str, Mapping[str, Any]]],
        cause: str,
        record: Mapping[str, Any] | None = None,
    ) -> None:
        """Write ``effects`` (kind, spec) of a change of the record, read afresh (or
        ``record``: a deleted one as it was)."""
        if not effects:
            return
        gone = record is not None
        if record is None:
            record = self.records.locked_row(conn, qualified, record_id)
        me = actor.stored_id  # @me is who acted, even where the system writes
        env = record_env(conn, self.reader.table, qualified, self.records.clock, me)
        for index, (kind, spec) in enumerate(effects):
            who = self.acting(actor, spec, cause)
            site = Site(conn, who, qualified, record, env, f"/effects/{index}/{kind}")
            getattr(self, f"_{kind}")(site, spec)
            if kind != "notify" and not gone:  # the record (or its rollups) changed: read again
                record = self.records.locked_row(conn, qualified, record_id)

    def acting(self, actor: Actor, spec: Mapping[str, Any], cause: str) -> Actor:
        """Who writes an effect of ``cause`` taken by ``actor``."""
        if actor.is_system:  # a timer, an automation: already on behalf of its cause
            return actor
        if spec.get("as") == "system":
            return Actor.system(f"effect of {cause}")
        return dataclasses.replace(actor, on_behalf_of=f"effect of {cause}")

    def _values(
        self,
        qualified: str,
        target: str | None,
        formulas: Mapping[str, str],
        record: Mapping[str, Any],
        env: Env,
        path: str,
        rows: RowFormulas | None = None,
    ) -> dict[str, Any]:
        """Each formula on ``record``, coerced to the field of ``target`` it sets (None:
        values as the formulas give them); ``rows`` compiles formulas on related rows."""
        obj = self.reader.object(target) if target is not None else None
        out: dict[str, Any] = {}
        for name, text in formulas.items():
            try:
                formula = rows(text, f"{path}/{name}") if rows else self.compile(qualified, text)
                value = formula.evaluate(dict(record), env)
                if obj is not None and value is not None:
                    value = obj.by_name[name].coerce(value)
                out[name] = value
            except (FormulaError, CoerceError) as error:
                raise _failed(f"{path}/{name}", f"{name} could not be set: {error}") from None
        return out

    def _check(
        self, conn: Connection, actor: Actor, target: str, record_id: int, names: Any
    ) -> None:
        self.check_many(conn, actor, target, {record_id: names})

    def check_many(
        self, conn: Connection, actor: Actor, target: str, fields: Mapping[int, Any]
    ) -> None:
        """The acting user must be allowed to update the records, and the fields their
        rules can grant (``system`` fields are the app's to set, never a user's)."""
        if actor.is_system or not fields:
            return
        obj = self.reader.object(target)
        asked = {
            i: [n for n in names if not obj.by_name[n].spec.get("system")]
            for i, names in fields.items()
        }
        found = self.records.permits.check_many(conn, actor, target, "update", asked)
        refused = next((e for e in found.values() if isinstance(e, TenonError)), None)
        if refused is not None:
            raise refused

    def _update(self, at: Site, spec: Mapping[str, Any]) -> None:
        planned = self.update_plan(at, spec)
        if planned is None:
            return
        target, target_id, changed = planned
        self._check(at.conn, at.actor, target, target_id, list(changed))
        before = self.records.locked_row(at.conn, target, target_id)
        changed = {k: v for k, v in changed.items() if before.get(k) != v}
        if changed:
            self.records.write_changes(at.conn, at.actor, target, before, changed, "update")

    def update_plan(
        self, at: Site, spec: Mapping[str, Any]
    ) -> tuple[str, int, dict[str, Any]] | None:
        """The record an ``update`` effect writes and the values it sets (None: its
        reference is blank)."""
        qualified, record, env, path = at.qualified, at.record, at.env, at.path
        pointer = self.compile(qualified, str(spec["record"]))
        target = pointer.expr.type.target
        try:
            target_id = pointer.evaluate(dict(record), env)
        except FormulaError as error:
            raise _failed(f"{path}/record", f"the record to update: {error}") from None
        if target_id is None or target is None:
            return None  # nothing to update (a blank reference)
        changed = self._values(qualified, target, spec["set"], record, env, f"{path}/set")
        return target, int(target_id), changed

    def _create(self, at: Site, spec: Mapping[str, Any]) -> None:
        """One record, or with ``for_each`` one per row of another object: its
        reference ``field`` set to the row, kept when ``where`` (a condition on the new
        record, which may read the row and the values through their references) holds."""
        target, rows = self.create_rows(at, spec)
        single = not (spec.get("for_each") or spec.get("repeat"))
        self.create_made(at.conn, at.actor, target, rows, at.path, single)

    def create_rows(self, at: Site, spec: Mapping[str, Any]) -> tuple[str, list[dict[str, Any]]]:
        """The object a ``create`` effect makes records of, and their values."""
        conn, actor, qualified, record, env, path = at
        target = str(spec["object"])
        if "." not in target:
            target = f"{qualified.partition('.')[0]}.{target}"
        values = self._values(qualified, target, spec["values"], record, env, f"{path}/values")
        obj = self.reader.object(target)
        rows = [values]
        each = spec.get("for_each")
        if each:
            rows = for_each.new_rows(self, conn, actor, target, values, each, f"{path}/for_each")
        repeat = spec.get("repeat")
        if repeat:  # one record per date of a series (runtime.services.series)
            field, where = str(repeat["field"]), f"{path}/repeat"
            days = series.series(self.compile, qualified, record, env, repeat, where)
            rows = [{**values, field: day} for day in days]
            env = record_env(conn, self.reader.table, target, self.records.clock, actor.stored_id)
            rows = series.keep(
                self.compile,
                target,
                repeat.get("where"),
                rows,
                env,
                f"{where}/where",
                lambda row: f"{field} {row[field]}",
            )
        if spec.get("skip_existing"):
            rows = existing.missing(conn, self.reader.table(target), obj, rows)
        return target, rows

    def create_made(
        self,
        conn: Connection,
        actor: Actor,
        target: str,
        rows: list[dict[str, Any]],
        path: str,
        single: bool,
    ) -> None:
        """Create the records ``create_rows`` planned, in one ``create_many``."""
        obj = self.reader.object(target)
        users = [v for row in rows for k, v in row.items() if obj.by_name[k].storage == "user"]
        names = tasks.usernames(conn, users)
        data = [
            {
                k: names.get(v)
                if obj.by_name[k].storage == "user" and v is not None
                else to_json(v)
                for k, v in row.items()
            }
            for row in rows
        ]
        if not data:
            return
        try:
            self.records.create_many(conn, actor, target, data, single=single)
        except TenonError as error:
            found = error.details or [Issue("", error.message, error.code)]
            issues = [Issue(f"{path}/values{d.path}", d.message, d.code) for d in found]
            refused = ValidationFailed.from_issues(f"the {obj.name} was not created", issues)
            refused.code, refused.status = error.code, error.status
            raise refused from None

    def _related(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record: Mapping[str, Any],
        spec: Mapping[str, Any],
        path: str,
        env: Env,
    ) -> tuple[str, list[dict[str, Any]], Env, RowFormulas]:
        """The rows of the relation ``spec`` names (of the record, or of a record it points
        to) that its ``where`` accepts, locked; and how formulas on them are compiled."""
        engine = self.reader.policy.engine
        relation = relation_of(
            engine, self.compile, qualified, record, env, str(spec["relation"]), path
        )
        child = relation.child
        formulas = RowFormulas(engine, self.compile, qualified, record, env, child)
        if relation.parent is None:  # a blank reference on the way: no rows
            return child, [], env, formulas
        table = self.reader.table(child)
        query = sa.select(table).where(table.c[relation.fk] == relation.parent)
        query = query.order_by(table.c.id)
        if SOFT_DELETE_COLUMN in table.c:
            query = query.where(table.c[SOFT_DELETE_COLUMN].is_(None))
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        rows = [dict(r) for r in conn.execute(query.limit(MAX_ROWS + 1)).mappings()]
        if len(rows) > MAX_ROWS:
            raise _failed(path, f"more than {MAX_ROWS} {relation.name} rows to write at once")
        env = record_env(conn, self.reader.table, child, self.records.clock, actor.stored_id)
        where = formulas(str(spec["where"]), f"{path}/where") if spec.get("where") else None
        out = []
        for row in rows:
            try:
                if where is None or where.evaluate(row, env) is True:
                    out.append(row)
            except FormulaError as error:
                raise _failed(f"{path}/where", f"row {row['id']}: {error}") from None
        return child, out, env, formulas

    def _each(self, at: Site, spec: Mapping[str, Any]) -> None:
        conn, actor, qualified, record, env, path = at
        child, rows, env, formulas = self._related(conn, actor, qualified, record, spec, path, env)
        items = []
        for row in rows:  # every value first (on the rows as they were), then one write
            changed = self._values(child, child, spec["set"], row, env, f"{path}/set", formulas)
            changed = {k: v for k, v in changed.items() if row.get(k) != v}
            if changed:
                items.append((row, changed))
        if items:
            self.check_many(conn, actor, child, {int(r["id"]): list(c) for r, c in items})
            self.records.write_many(conn, actor, child, items, "update")

    def _export(self, at: Site, spec: Mapping[str, Any]) -> None:
        """The related rows as a CSV file, stored in this transaction and set as the
        record's attachment ``field`` (replacing what it held). As the acting user, they
        must be able to read every row exported."""
        conn, actor, qualified, record, env, path = at
        child, rows, _, formulas = self._related(conn, actor, qualified, record, spec, path, env)
        readable = self.records.permits.readable(conn, actor)
        ids = [int(r["id"]) for r in rows]
        hidden = set(ids) - readable(child, ids) if readable is not None and ids else set()
        if hidden:
            raise Forbidden(
                f"you may not read {len(hidden)} of the {len(ids)} rows this export writes"
            )
        me = actor.stored_id  # the rows' formulas read each other record once
        row_env = record_env(conn, self.reader.table, child, self.records.clock, me, True)
        try:
            data, media = csv_file(
                lambda text, where: formulas(text, f"{path}{where}"),
                rows,
                row_env,
                spec,
                lambda ids: tasks.usernames(conn, ids),
            )
            name = self.compile(qualified, str(spec["name"])).evaluate(dict(record), env)
        except CellError as error:
            raise _failed(f"{path}{error.where}", error.message) from None
        except FormulaError as error:
            raise _failed(f"{path}/name", f"the file's name: {error}") from None
        fallback = f"{qualified.partition('.')[2]}-{record['id']}.csv"
        info = files.put(
            conn, str(name or fallback), media, data, env.now, (me, actor.username), fallback
        )
        field = str(spec["field"])
        self._check(conn, actor, qualified, int(record["id"]), [field])
        self.records.write_changes(
            conn, actor, qualified, record, {field: [info.as_value()]}, "update"
        )

    def _set(self, at: Site, spec: Mapping[str, Any]) -> None:
        conn, actor, qualified, record, env, path = at
        changed = self._values(qualified, qualified, spec, record, env, path)
        changed = {k: v for k, v in changed.items() if record.get(k) != v}
        if changed:
            self._check(conn, actor, qualified, int(record["id"]), list(changed))
            self.records.write_changes(conn, actor, qualified, record, changed, "update")

    def _act(self, at: Site, spec: Mapping[str, Any]) -> None:
        """Take a workflow action on the record, on each related row ``where`` accepts, or
        on the record a reference path points to; one the action does not leave from is
        left alone."""
        conn, actor, qualified, record, env, path = at
        if spec.get("relation"):
            target, rows, _, _ = self._related(conn, actor, qualified, record, spec, path, env)
        elif spec.get("record"):  # the record a reference path points to, if where holds
            found = self._pointed(conn, actor, qualified, record, env, spec, path)
            if found is None:
                return
            target, rows = found
        else:
            target, rows = qualified, [dict(record)]
        self.act_on(conn, actor, target, rows, spec)

    def act_on(
        self,
        conn: Connection,
        actor: Actor,
        target: str,
        rows: Sequence[Mapping[str, Any]],
        spec: Mapping[str, Any],
    ) -> None:
        """An ``act`` effect's action on ``rows`` of ``target``: the rows it leaves from
        together (``Transitions.act_many``), one by one for a single row; a row the
        action does not leave from is left alone."""
        assert self.act is not None
        body = {"comment": spec["comment"]} if spec.get("comment") else {}
        flow = self.reader.object(target).workflow
        action = str(spec["action"])
        if self.act_many is not None and flow is not None and len(rows) > 1:
            ids = [int(r["id"]) for r in rows if flow.candidates(action, r.get(STATE_COLUMN))]
            if ids:
                self.act_many(conn, actor, target, ids, action, body)
            return
        for row in rows:
            try:
                self.act(conn, actor, target, int(row["id"]), action, body)
            except TenonError as error:
                if error.code != "INVALID_TRANSITION":
                    raise

    def _pointed(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record: Mapping[str, Any],
        env: Env,
        spec: Mapping[str, Any],
        path: str,
    ) -> tuple[str, list[dict[str, Any]]] | None:
        """The record ``spec["record"]`` points to, as it is now, when ``where`` (a
        condition on it) holds; None for a blank reference or a record it refuses."""
        pointer = self.compile(qualified, str(spec["record"]))
        target = pointer.expr.type.target
        try:
            target_id = pointer.evaluate(dict(record), env)
        except FormulaError as error:
            raise _failed(f"{path}/record", f"the record to act on: {error}") from None
        if target_id is None or target is None:
            return None
        row = dict(self.records.locked_row(conn, target, int(target_id)))
        if spec.get("where"):
            there = record_env(conn, self.reader.table, target, self.records.clock, actor.stored_id)
            try:
                if self.compile(target, str(spec["where"])).evaluate(row, there) is not True:
                    return None
            except FormulaError as error:
                raise _failed(f"{path}/where", f"{target} {target_id}: {error}") from None
        return target, [row]

    def _notify(self, at: Site, spec: Mapping[str, Any]) -> None:
        conn, actor, qualified, record, env, path = at
        try:
            text = self.compile(qualified, str(spec["message"])).evaluate(dict(record), env)
        except FormulaError as error:
            raise _failed(f"{path}/message", f"the notification: {error}") from None
        rules = people_of(qualified.partition(".")[0], spec["to"])
        who = people.resolve(conn, env, self.compile, qualified, rules, record)
        if who and text not in (None, ""):
            cause = actor.on_behalf_of or actor.username
            notifications.add(
                conn,
                who,
                str(text),
                env.now,
                qualified=qualified,
                record_id=int(record["id"]),
                cause=cause,
            )
            outbox.notified(conn, self.jobs, who, str(text), spec, env.now, cause)

    def _webhook(self, at: Site, spec: Mapping[str, Any]) -> None:
        """Queue a call of the endpoint (in this transaction: no write, no call); the body
        holds what the effect declares, never the whole record."""
        conn, actor, qualified, record, env, path = at
        data = self._values(qualified, None, spec.get("body") or {}, record, env, f"{path}/body")
        app, _, obj = qualified.partition(".")
        event = {
            "event": actor.on_behalf_of or actor.username,
            "app": app,
            "object": obj,
            "record_id": int(record["id"]),
            "data": {k: to_json(v) for k, v in data.items()},
        }
        outbox.webhook(conn, self.jobs, str(spec["endpoint"]), event, env.now)
