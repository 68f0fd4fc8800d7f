"""Keep stored computed fields (formulas and rollups) right, inside the write transaction.

* ``recompute(obj, ids)`` recomputes the record's stored computed fields in one UPDATE per
  object (other computed fields of the same record are inlined, so order does not matter
  and intermediates stay exact), then follows the dependency graph to the records that
  read them: the parent of an edited child line (rollups), the records that reference a
  renamed record (lookups), and so on, to a bounded depth.
* ``recompute_all(obj)`` recomputes every row, inside the database, after an install or
  upgrade; a field that reads its own kind through a reference (a department's level from
  its parent's) is repeated until nothing changes.

Formulas whose functions cannot run inside the database are evaluated in Python, record by
record, with the same semantics.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime import decimals
from runtime.clock import Clock
from runtime.formula import ir
from runtime.formula.analysis import Dependency, dependencies, sql_problem
from runtime.formula.engine import FormulaEngine
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled, Env
from runtime.formula.lookups import SqlLookups
from runtime.formula.sqlcompile import SqlCompiler, SqlEnv
from runtime.metadata.model import AppDef, FieldDef, ObjectDef
from runtime.services.computed_stages import staged_update
from runtime.storage.tables import build_table

MAX_CASCADE = 32  # dependency hops followed after one write
MAX_PASSES = 64  # repetitions of a self-referencing bulk recompute (hierarchy depth)


@dataclass
class _Target:
    """One stored computed field and how to compute it."""

    obj: str
    fdef: FieldDef
    tree: ir.Expr
    in_sql: bool
    reads: set[Dependency] = field(default_factory=set)


class Computed:
    """Computed-field maintenance for a set of installed apps (definitions by name)."""

    def __init__(
        self,
        apps: Mapping[str, AppDef],
        clock: Clock | None = None,
        tables: Callable[[str], sa.Table] | None = None,
    ) -> None:
        """``tables``: where an object's ``Table`` comes from (a reader's, so one request
        works with one ``Table`` per object); by default built and kept here."""
        self.apps = dict(apps)
        self.clock = clock or Clock()
        self._shared = tables
        self.engine = FormulaEngine(a.raw for a in self.apps.values())
        self._tables: dict[str, sa.Table] = {}
        self._compiled: dict[tuple[str, str], tuple[sa.Table, dict[str, Any]]] = {}
        self._statements: dict[tuple[Any, ...], tuple[sa.Table, dict[str, Any], Any]] = {}
        self._affects: dict[str, bool] = {}
        self.targets: dict[str, list[_Target]] = {}
        for app in self.apps.values():
            for obj in app.objects:
                self.targets[obj.qualified] = [
                    self._target(obj, f) for f in obj.fields if _stored_computed(f)
                ]

    def _target(self, obj: ObjectDef, fdef: FieldDef) -> _Target:
        info = self.engine.catalog[obj.qualified]
        tree = self.engine.checker.computed(info, info.fields[fdef.name])
        return _Target(
            obj.qualified, fdef, tree, sql_problem(tree) is None, dependencies(tree, obj.qualified)
        )

    # -- tables -------------------------------------------------------------------------

    def table(self, qualified: str) -> sa.Table:
        """One ``Table`` per object, even when two threads ask at once (``setdefault`` is
        atomic: the first one built is the one everybody uses)."""
        if self._shared is not None:
            return self._shared(qualified)
        found = self._tables.get(qualified)
        if found is None:
            app_name, _, obj_name = qualified.partition(".")
            app = self.apps[app_name]
            built = build_table(sa.MetaData(), app, app.object(obj_name))
            found = self._tables.setdefault(qualified, built)
        return found

    def compiler(self, conn: Connection, me: int | None = None) -> SqlCompiler:
        now = self.clock.now()
        return SqlCompiler(conn.dialect.name, self.table, SqlEnv(now.date(), now, me))

    # -- recomputation ------------------------------------------------------------------

    def recompute_all(self, conn: Connection, qualified: str) -> int:
        """Recompute every row of ``qualified``; returns the rows written in the last pass."""
        targets = self.targets.get(qualified) or []
        if not targets:
            return 0
        self_reading = any(d.obj == qualified and d.via for t in targets for d in t.reads)
        changed = self._update(conn, qualified, None, only_changed=self_reading)
        passes = 1
        while self_reading and changed and passes < MAX_PASSES:
            changed = self._update(conn, qualified, None, only_changed=True)
            passes += 1
        return changed

    def order(self, objects: list[str]) -> list[str]:
        """``objects`` so that each comes after those whose stored values it reads (a
        pool's totals after its lines, a line after the plan it reads); objects that read
        each other come twice, so the second pass sees the first's values."""
        reads = {
            o: {d.obj for t in self.targets.get(o, []) for d in t.reads if d.via} - {o}
            for o in objects
        }
        done: list[str] = []
        left = list(objects)
        while left:
            ready = [o for o in left if not (reads[o] & set(left))]
            if not ready:  # a circle: everything left, twice
                return done + left + left
            done += ready
            left = [o for o in left if o not in ready]
        return done

    def affects(self, qualified: str) -> bool:
        """Does writing a record of ``qualified`` change any stored computed field (its
        own, or one of another record that reads it)?"""
        if qualified not in self._affects:
            self._affects[qualified] = bool(self.targets.get(qualified)) or any(
                dep.obj == qualified and dep.via
                for targets in self.targets.values()
                for target in targets
                for dep in target.reads
            )
        return self._affects[qualified]

    def recompute(
        self,
        conn: Connection,
        qualified: str,
        ids: Collection[int],
        changed: Iterable[str] | None = None,
        old_links: Mapping[str, Collection[int]] | None = None,
    ) -> None:
        """After records ``ids`` of ``qualified`` were written (fields ``changed``; None:
        any), recompute them and every record whose computed fields read them.
        ``old_links`` gives, per reference field, the ids it pointed at before the write,
        so the previous parent of a moved child line is recomputed too."""
        if not self.affects(qualified):
            return
        work: list[tuple[str, Any, set[str] | None, Mapping[str, Collection[int]]]] = [
            (qualified, list(ids), set(changed) if changed is not None else None, old_links or {})
        ]
        for _ in range(MAX_CASCADE):
            next_work = []
            for obj, selector, fields, old in work:
                table = self.table(obj)
                query = sa.select(table.c.id).where(_within(table.c.id, _sets(selector)))
                found = [int(i) for i in conn.execute(query).scalars()]
                if not found:
                    continue
                cascaded = fields is not None and not fields
                if self.targets.get(obj):
                    changed_rows = self._update(conn, obj, found, only_changed=cascaded)
                    if cascaded and not changed_rows:
                        continue  # nothing moved: the dependents are already right
                elif cascaded:
                    continue
                written = set(fields) if fields is not None else None
                if written is not None:
                    written |= {t.fdef.name for t in self.targets.get(obj, [])}
                next_work += self._dependents(obj, found, written, old)
            if not next_work:
                return
            work = next_work

    def _dependents(
        self,
        obj: str,
        selector: Any,
        written: set[str] | None,
        old: Mapping[str, Collection[int]],
    ) -> list[tuple[str, Any, set[str] | None, Mapping[str, Collection[int]]]]:
        out: list[tuple[str, Any, set[str] | None, Mapping[str, Collection[int]]]] = []
        seen: set[tuple[str, tuple[Any, ...]]] = set()
        for targets in self.targets.values():
            for target in targets:
                for dep in target.reads:
                    if dep.obj != obj or not dep.via:
                        continue
                    if written is not None and dep.field not in written and dep.field != "id":
                        continue
                    key = (target.obj, dep.via)
                    if key in seen:
                        continue
                    seen.add(key)
                    out.append((target.obj, self._walk_back(dep.via, selector, old), set(), {}))
        return out

    def _walk_back(
        self,
        via: tuple[tuple[str, str, str], ...],
        selector: Any,
        old: Mapping[str, Collection[int]],
    ) -> list[Any]:
        """Id sets (lists or subqueries) of the records that reach ``selector`` through ``via``."""
        ids = _sets(selector)
        for depth, (kind, obj, name) in enumerate(reversed(via)):
            table = self.table(obj)
            if kind == "ref":
                ids = [sa.select(table.c.id).where(_within(table.c[name], ids))]
            else:
                ids = [sa.select(table.c[name]).where(_within(table.c.id, ids))]
                previous = [v for v in old.get(name, ()) if v is not None] if depth == 0 else []
                if previous:
                    ids.append(previous)
        return ids

    def _update(
        self, conn: Connection, qualified: str, selector: Any, only_changed: bool = False
    ) -> int:
        table = self.table(qualified)
        targets = self.targets[qualified]
        compiler = self.compiler(conn)
        written = 0
        in_sql = [t for t in targets if t.in_sql]
        if in_sql:
            # stored formulas read no clock and no @me: their SQL serves every write, as
            # long as the Table objects it was built on are the ones in use
            key = (qualified, compiler.dialect)
            cached = self._compiled.get(key)
            if cached is not None and cached[0] is table:
                values = cached[1]
            else:
                values = {
                    t.fdef.name: _fit(compiler, compiler.value(t.tree, table), t) for t in in_sql
                }
                self._compiled[key] = (table, values)
            stmt = self._statement(
                table, values, key, selector is not None, only_changed, (compiler, in_sql)
            )
            try:
                if selector is None:
                    written += conn.execute(stmt).rowcount or 0
                for chunk in _id_chunks(conn, selector):
                    written += conn.execute(stmt, {"ids": chunk}).rowcount or 0
            except sa.exc.DBAPIError as exc:  # the database refused a value: no partial write
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
                names = ", ".join(values)
                raise FormulaError(
                    f"the database could not compute {names} of {qualified}: {reason}",
                    0,
                    "FORMULA_EVAL",
                ) from exc
        in_python = [t for t in targets if not t.in_sql]
        if in_python:
            written += self._update_in_python(conn, table, in_python, selector, compiler)
        return written

    def _statement(
        self,
        table: sa.Table,
        values: dict[str, Any],
        key: tuple[str, str],
        selected: bool,
        only_changed: bool,
        formulas: tuple[SqlCompiler, list[_Target]],
    ) -> Any:
        """The UPDATE of ``values``, built once per object and shape, the ids an expanding
        parameter: SQLAlchemy keys its statement cache on the statement object, and a
        new object of many formulas costs more to key than the write itself. Formulas
        that read each other's fields are computed in stages (``computed_stages``)."""
        shape = (*key, selected, only_changed)
        cached = self._statements.get(shape)
        if cached is not None and cached[0] is table and cached[1] is values:
            return cached[2]
        compiler, targets = formulas
        staged = staged_update(compiler, table, targets, selected, only_changed, _fit)
        if staged is not None:
            self._statements[shape] = (table, values, staged)
            return staged
        stmt = sa.update(table).values(values)
        if selected:
            stmt = stmt.where(table.c.id.in_(sa.bindparam("ids", expanding=True)))
        if only_changed:
            stmt = stmt.where(
                sa.or_(*[table.c[name].is_distinct_from(expr) for name, expr in values.items()])
            )
        self._statements[shape] = (table, values, stmt)
        return stmt

    def _update_in_python(
        self,
        conn: Connection,
        table: sa.Table,
        targets: list[_Target],
        selector: Any,
        compiler: SqlCompiler,
    ) -> int:
        query = sa.select(table)
        if selector is not None:
            query = query.where(_within(table.c.id, _sets(selector)))
        now = self.clock.now()
        env = Env(now.date(), now, None, SqlLookups(conn, compiler, table))
        compiled = [(t, Compiled(t.tree)) for t in targets]  # translated once, not per row
        count = 0
        for row in conn.execute(query).mappings().all():
            record = dict(row)
            values = {
                t.fdef.name: _fit_python(formula.evaluate(record, env), t.fdef)
                for t, formula in compiled
            }
            conn.execute(sa.update(table).where(table.c.id == record["id"]).values(values))
            count += 1
        return count


def _stored_computed(fdef: FieldDef) -> bool:
    return fdef.computed and fdef.stored


def _sets(selector: Any) -> list[Any]:
    """A selector (ids, or a list of id sets from ``_walk_back``) as a list of id sets."""
    if isinstance(selector, list) and selector and not isinstance(selector[0], int):
        return selector
    return [list(selector)]


ID_CHUNK = 10_000  # ids per UPDATE (SQLite allows 32,766 parameters a statement)


def _id_chunks(conn: Connection, selector: Any) -> list[list[int]]:
    """The ids a selector names (its subqueries run first), in chunks; none for None."""
    if selector is None:
        return []
    ids: set[int] = set()
    for found in _sets(selector):
        if isinstance(found, list | tuple | set | frozenset):
            ids.update(int(i) for i in found if i is not None)
        else:
            ids.update(int(i) for i in conn.execute(found).scalars() if i is not None)
    ordered = sorted(ids)
    return [ordered[i : i + ID_CHUNK] for i in range(0, len(ordered), ID_CHUNK)]


def _within(column: Any, sets: list[Any]) -> Any:
    return sa.or_(*[column.in_(s) for s in sets]) if sets else sa.false()


def _fit(compiler: SqlCompiler, value: Any, target: _Target) -> Any:
    """The value as the column stores it: rounded half away from zero to its scale."""
    fdef = target.fdef
    storage = fdef.storage
    if storage in ("decimal", "integer") and target.tree.type.scale <= (
        fdef.decimal_shape[1] if storage == "decimal" else 0
    ):
        return value  # never more places than the column keeps: nothing to round
    if storage == "decimal":
        return compiler.round(value, sa.literal(fdef.decimal_shape[1]), "half_up")
    if storage == "integer":
        rounded = compiler.round(value, sa.literal(0), "half_up")
        return rounded if compiler.sqlite else sa.cast(rounded, sa.BigInteger())
    return value


def _fit_python(value: Any, fdef: FieldDef) -> Any:
    storage = fdef.storage
    if value is None:
        return None
    if storage == "decimal":
        return decimals.round_to(value, fdef.decimal_shape[1])
    if storage == "integer":
        rounded = decimals.round_to(value, 0)
        return None if rounded is None else int(rounded)
    return value
