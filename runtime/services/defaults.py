"""Formula defaults (``"default": {"formula": "hire_date"}``) of a record being created:
each field the caller did not send gets its formula's value, computed on the values sent
(and the constant defaults), in field order, so a later default may read an earlier one.
A reference may instead be found by the values of the target's fields
(``"default": {"lookup": {"plan": "plan", "department": "employee.department"}}``).

A formula that cannot be computed for this record leaves the field blank; if the field
is required, the create is then refused with ``REQUIRED`` on it, as if nothing was sent.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.clock import Clock
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled
from runtime.formula.sqlcompile import SqlCompiler, SqlEnv
from runtime.metadata.fieldtypes import CoerceError
from runtime.metadata.model import SOFT_DELETE_COLUMN, ObjectDef, qualify
from runtime.security.actor import Actor
from runtime.services import defaults_sql
from runtime.services.formula_env import record_env
from runtime.services.reading import Reader

BATCH_FROM = 8  # rows in one create from which the database computes the defaults


class Defaults:
    def __init__(self, reader: Reader, clock: Clock) -> None:
        self.reader = reader
        self.clock = clock
        self._compiled: dict[tuple[str, str], Compiled] = {}

    def _formulas(self, obj: ObjectDef) -> list[tuple[Any, Any]]:
        """The fields with a formula or lookup default, in field order."""
        return [
            (f, f.spec["default"])
            for f in obj.stored_fields
            if isinstance(f.spec.get("default"), Mapping)
            and ("formula" in f.spec["default"] or "lookup" in f.spec["default"])
        ]

    def _compile(self, qualified: str, text: str) -> Compiled:
        key = (qualified, text)
        if key not in self._compiled:
            self._compiled[key] = self.reader.policy.engine.compile(text, qualified)
        return self._compiled[key]

    def fill_many(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        obj: ObjectDef,
        rows: list[dict[str, Any]],
        made: dict[str, Any],
    ) -> list[dict[str, Any]]:
        """``fill`` for the rows of one create. Rows missing the same formula defaults
        have them computed by the database, one prepared SELECT per row
        (``defaults_sql``); a few rows, or formulas it cannot run, go through ``fill``."""
        if len(rows) < BATCH_FROM:
            return [self.fill(conn, actor, qualified, obj, v, made) for v in rows]
        rows = [self._singletons(conn, qualified, obj, v, made) for v in rows]
        formulas = self._formulas(obj)
        groups: dict[tuple[str, ...], list[int]] = {}
        for i, values in enumerate(rows):
            key = tuple(f.name for f, _ in formulas if f.name not in values)
            groups.setdefault(key, []).append(i)
        out = list(rows)
        for names, members in groups.items():
            chosen = [rows[i] for i in members]
            filled = self._in_sql(conn, actor, qualified, obj, names, chosen) if names else chosen
            if filled is None:
                filled = [self.fill(conn, actor, qualified, obj, v, made) for v in chosen]
            for i, values in zip(members, filled, strict=True):
                out[i] = values
        return out

    def _in_sql(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        obj: ObjectDef,
        names: tuple[str, ...],
        rows: list[dict[str, Any]],
    ) -> list[dict[str, Any]] | None:
        pending = [(f, d) for f, d in self._formulas(obj) if f.name in names]
        now = self.clock.now()
        compiler = SqlCompiler(
            conn.dialect.name, self.reader.table, SqlEnv(now.date(), now, actor.stored_id)
        )
        app = qualified.partition(".")[0]

        def target(fdef: Any) -> sa.Table:
            return self.reader.table(qualify(app, str(fdef.target)))

        prepared = defaults_sql.plan(
            compiler,
            self.reader.table(qualified),
            pending,
            lambda text: self._compile(qualified, text).expr,
            target,
        )
        return None if prepared is None else defaults_sql.run(conn, compiler, prepared, rows)

    def fill(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        obj: ObjectDef,
        values: dict[str, Any],
        made: dict[str, Any],
    ) -> dict[str, Any]:
        """``values`` with the defaults of the fields not given: singleton references,
        then formulas and lookups in field order. ``made`` keeps what one create looks
        up once for all its rows (the formula environment, the singleton records' ids,
        the records found by lookups)."""
        out = self._singletons(conn, qualified, obj, values, made)
        pending = [(f, d) for f, d in self._formulas(obj) if f.name not in out]
        if pending and "env" not in made:
            tables = self.reader.table
            made["env"] = record_env(conn, tables, qualified, self.clock, actor.stored_id)
        for fdef, default in pending:
            try:
                if "lookup" in default:
                    value = self._lookup(conn, qualified, fdef, default["lookup"], out, made)
                else:
                    value = self._compile(qualified, str(default["formula"])).evaluate(
                        out, made["env"]
                    )
                out[fdef.name] = None if value is None else fdef.coerce(value)
            except (FormulaError, CoerceError):
                out[fdef.name] = None
        return out

    def _singletons(
        self,
        conn: Connection,
        qualified: str,
        obj: ObjectDef,
        values: dict[str, Any],
        made: dict[str, Any],
    ) -> dict[str, Any]:
        """``values`` with the references to the one settings record filled in."""
        out = dict(values)
        for fdef in obj.stored_fields:
            if fdef.name not in out and fdef.spec.get("default") == {"singleton": True}:
                target = qualify(qualified.partition(".")[0], str(fdef.target))
                if target not in made:
                    table = self.reader.table(target)
                    query = sa.select(table.c.id).order_by(table.c.id).limit(1)
                    made[target] = conn.execute(query).scalar()
                out[fdef.name] = made[target]
        return out

    def _lookup(
        self,
        conn: Connection,
        qualified: str,
        fdef: Any,
        keys: Mapping[str, str],
        out: dict[str, Any],
        made: dict[str, Any],
    ) -> Any:
        """The id of the target record whose fields equal the key formulas' values (the
        lowest id if several do; blank if none does, or if a key is blank)."""
        env = made["env"]
        wanted = {k: self._compile(qualified, t).evaluate(out, env) for k, t in keys.items()}
        if any(v is None for v in wanted.values()):
            return None
        target = qualify(qualified.partition(".")[0], str(fdef.target))
        cache = made.setdefault("lookups", {})
        key = (target, tuple(sorted(wanted.items(), key=lambda kv: kv[0])))
        if key not in cache:
            table = self.reader.table(target)
            query = sa.select(table.c.id).order_by(table.c.id).limit(1)
            if SOFT_DELETE_COLUMN in table.c:
                query = query.where(table.c[SOFT_DELETE_COLUMN].is_(None))
            for name, value in wanted.items():
                query = query.where(table.c[name] == value)
            cache[key] = conn.execute(query).scalar()
        return cache[key]
