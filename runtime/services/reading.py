"""Reading app data on behalf of an actor: the one query layer every read path uses.

List (filter, sort, cursor, field selection), single record, aggregates, export, formula
preview and history all build their SQL here, from the actor's ``Guard``: the row scope is
the WHERE clause, hidden fields are masked in the column list, and the actor's own
formulas see only secured data. A record outside the caller's scope is "not found", the
same answer as a record that does not exist.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.clock import Clock
from runtime.errors import Forbidden, Issue, NotFound, TenonError
from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.staging import localized
from runtime.metadata.model import SOFT_DELETE_COLUMN, AppDef, ObjectDef, qualify
from runtime.security.actor import Actor
from runtime.security.guard import FLAG, ConditionCache, Guard, _Masked, _ordered, shown
from runtime.security.policy import Access, Policy
from runtime.services.values import decode_cursor, encode_cursor, json_converter, to_json
from runtime.storage.tables import USERS_TABLE, build_table

MAX_LIMIT = 500
SELECT_CACHE = 1024
QUERY_CACHE = 64  # statements of first pages kept per secured select
DEFAULT_LIMIT = 50
COUNT_CAP = 10_000  # totals are exact up to here, then reported as capped
_USERS = sa.table(USERS_TABLE, sa.column("id"), sa.column("username"))
_SYSTEM_KINDS = {
    "id": "integer",
    "version": "integer",
    "created_at": "datetime",
    "updated_at": "datetime",
    "created_by": "user",
    "updated_by": "user",
    "state": "text",
}


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    next_cursor: str | None
    total: int | None = None  # when counted: exact up to COUNT_CAP
    total_capped: bool = False

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"data": self.data, "next_cursor": self.next_cursor}
        if self.total is not None:
            out["total"] = self.total
            out["total_capped"] = self.total_capped
        return out


_ONE = ("one record",)  # the key of the statement reading one record by id


@dataclass(frozen=True)
class _Plan:
    """The statements of a list: the page, its sort keys, and the capped count (when
    asked for)."""

    query: Any
    keys: list[tuple[str, bool]]
    count: Any | None


def formula_error(error: FormulaError, text: str, where: str) -> TenonError:
    """A formula the caller wrote (a filter, a preview) as a 400 naming the position."""
    issue = Issue(where, error.describe(text), error.code or "FORMULA_ERROR")
    return TenonError(f"the {where} is not valid: {error}", [issue], code="INVALID_FORMULA")


class _Select:
    """The columns of one secured query: database values (masked) and what is shown."""

    def __init__(self, reader: Reader, guard: Guard, access: Access, table: sa.Table) -> None:
        self.obj = access.obj
        self.access = access
        self.table = table
        self.values = guard.columns(access, table)  # masked, as stored (users by id)
        policy = reader.policy
        info = policy.engine.catalog[self.obj.qualified]
        for fdef in self.obj.fields:
            if fdef.computed and not fdef.stored and fdef.name in access.fields:
                tree = policy.engine.checker.computed(info, info.fields[fdef.name])
                value = guard.raw.value(tree, table)
                self.values[fdef.name] = guard.mask(access, fdef.name, value, table)
        # the computed fields the row holds (a formula reads them, not their formulas)
        self.held = frozenset(
            f.name for f in self.obj.fields if f.computed and f.name in self.values
        )
        self.kinds = {
            **_SYSTEM_KINDS,
            **{f.name: reader.kind(f.name, self.obj) for f in self.obj.fields},
        }
        # how each column's value becomes JSON (None: it already is, or is null)
        computed = {f.name for f in self.obj.fields if f.computed}
        self.convert = {
            name: to_json if name in computed else json_converter(kind)
            for name, kind in self.kinds.items()
        }
        self.shown: dict[str, Any] = {}
        for name, value in self.values.items():
            if self.kinds.get(name) == "user":
                value = sa.select(_USERS.c.username).where(_USERS.c.id == value).scalar_subquery()
            self.shown[name] = value
        self.groups = guard.groups(access)
        self.flags = guard.flags(access, table, self.groups)
        self._present: dict[int | None, frozenset[str]] = {}
        self.masked = _Masked(self.values, table)
        self._where: tuple[Any, ...] | None = None
        self._names: dict[Any, list[str]] = {}
        self.queries: dict[Any, _Plan] = {}

    def where(self, guard: Guard) -> tuple[Any, ...]:
        """The rows of the query (scope, not deleted), built once."""
        if self._where is None:
            where = [guard.where(self.access, self.table)]
            if self.obj.soft_delete:
                where.append(self.table.c[SOFT_DELETE_COLUMN].is_(None))
            self._where = tuple(where)
        return self._where

    def present(self, row: Any) -> frozenset[str]:
        """The fields a selected row shows (from its flag column)."""
        mask = row[FLAG] if self.flags else None
        found = self._present.get(mask)
        if found is None:
            found = self._present[mask] = shown(self.access, self.groups, mask)
        return found

    def shown_names(self, present: frozenset[str], wanted: set[str] | None) -> list[str]:
        """The fields a row shows, in order, for the fields it reveals and those asked."""
        key = (present, frozenset(wanted) if wanted is not None else None)
        names = self._names.get(key)
        if names is None:
            names = [
                n
                for n in self.order()
                if n in present and (wanted is None or n in wanted or n in ("id", "version"))
            ]
            if len(self._names) < 256:
                self._names[key] = names
        return names

    def order(self) -> list[str]:
        names = ["id", "version", *[f.name for f in self.obj.fields], "state"]
        names += ["created_at", "created_by", "updated_at", "updated_by"]
        return [n for n in names if n in self.shown]


class Reader:
    """Secured reads over a set of installed apps (by name)."""

    def __init__(self, apps: Mapping[str, AppDef], clock: Clock | None = None) -> None:
        self.apps = dict(apps)
        self.clock = clock or Clock()
        self.policy = Policy(self.apps)
        self._tables: dict[str, sa.Table] = {}
        self._conditions = ConditionCache()
        self._selects: OrderedDict[Any, _Select] = OrderedDict()
        self._lock = threading.Lock()

    # -- plumbing -----------------------------------------------------------------------

    def table(self, qualified: str) -> sa.Table:
        """The object's table: one ``Table`` per reader, even when two requests ask for
        it at once (two would make one statement select from two tables of one name)."""
        found = self._tables.get(qualified)
        if found is None:
            app, _, name = qualified.partition(".")
            built = build_table(sa.MetaData(), self.apps[app], self.apps[app].object(name))
            found = self._tables.setdefault(qualified, built)  # atomic: the first one wins
        return found

    def object(self, qualified: str) -> ObjectDef:
        obj = self.policy.object(qualified)
        if obj is None:
            raise NotFound(f"there is no object {qualified!r}", code="NOT_FOUND")
        return obj

    def kind(self, name: str, obj: ObjectDef) -> str:
        if name in _SYSTEM_KINDS:
            return _SYSTEM_KINDS[name]
        fdef = obj.by_name[name]
        return str(fdef.storage or fdef.returns or "text")

    def guard(self, conn: Connection, actor: Actor) -> Guard:
        return Guard(
            self.policy,
            actor,
            conn.dialect.name,
            self.table,
            self.clock.now(),
            self._conditions,
        )

    def select(self, guard: Guard, access: Access) -> _Select:
        """The secured columns of a query; immutable, so kept for the same rules, user
        and day (and minute-exact time when a field reads NOW())."""
        obj = access.obj
        moment: Any = guard.now.date()
        if any(f.volatile and "NOW" in str(f.spec.get("formula", "")).upper() for f in obj.fields):
            moment = guard.now
        key = (
            obj.qualified,
            access.action,
            tuple(r.where for r in access.rules),
            guard.actor.user_id,
            guard.dialect,
            moment,
        )
        with self._lock:
            found = self._selects.get(key)
        if found is None:
            found = _Select(self, guard, access, self.table(obj.qualified))
            with self._lock:  # requests run in worker threads
                self._selects[key] = found
                if len(self._selects) > SELECT_CACHE:
                    self._selects.popitem(last=False)
        return found

    def access(self, guard: Guard, qualified: str, action: str) -> Access:
        self.object(qualified)
        access = guard.access(qualified, action)
        if not access.allowed:
            verb = "export" if action == "export" else "read"
            raise Forbidden(f"you may not {verb} records of {qualified}")
        return access

    def formula(self, guard: Guard, text: str, qualified: str, where: str, **kw: Any) -> ir.Expr:
        try:
            tree = self.policy.engine.check(text, qualified, **kw)
        except FormulaError as error:
            raise formula_error(error, text, where) from None
        guard.check_readable(tree, qualified, where)
        return tree

    def base_where(self, guard: Guard, sel: _Select) -> list[Any]:
        return list(sel.where(guard))

    def _record(self, sel: _Select, row: Any, guard: Guard, wanted: Any) -> dict[str, Any]:
        names = sel.shown_names(sel.present(row), wanted)
        convert = sel.convert
        out = {}
        for name in names:
            value = row[name]
            change = convert.get(name, to_json)
            out[name] = value if change is None or value is None else change(value)
        return out

    def _wanted(self, obj: ObjectDef, fields: Sequence[str] | None) -> set[str] | None:
        if fields is None:
            return None
        known = set(_SYSTEM_KINDS) | set(obj.by_name)
        unknown = [f for f in fields if f not in known]
        if unknown:
            raise TenonError(
                f"unknown field {unknown[0]!r} in fields",
                [
                    Issue("fields", f"{obj.qualified} has no field {f!r}", "UNKNOWN_FIELD")
                    for f in unknown
                ],
                code="UNKNOWN_FIELD",
            )
        return set(fields)

    # -- list and get -------------------------------------------------------------------

    def list_records(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        *,
        filter: str | None = None,
        sort: str | None = None,
        limit: int = DEFAULT_LIMIT,
        cursor: str | None = None,
        fields: Sequence[str] | None = None,
        action: str = "read",
        expand: Sequence[str] = (),
        count: bool = False,
    ) -> Page:
        guard = self.guard(conn, actor)
        access = self.access(guard, qualified, action)
        sel = self.select(guard, access)
        wanted = self._wanted(sel.obj, fields)
        if not 1 <= limit <= MAX_LIMIT:
            raise TenonError(f"limit must be between 1 and {MAX_LIMIT}", code="INVALID_LIMIT")
        self._expandable(sel, expand)
        plan = self._list_query(guard, sel, filter, sort, limit, cursor, count)
        rows = list(conn.execute(plan.query).mappings())
        more = len(rows) > limit
        rows = rows[:limit]
        data = [self._record(sel, row, guard, wanted) for row in rows]
        self._expand(conn, actor, sel, data, expand)
        next_cursor = None
        if more and rows:
            last = rows[-1]
            next_cursor = encode_cursor([last[f"_k{i}"] for i in range(len(plan.keys))])
        if plan.count is None:
            return Page(data, next_cursor)
        total = int(conn.execute(plan.count).scalar_one())
        return Page(data, next_cursor, min(total, COUNT_CAP), total > COUNT_CAP)

    # -- expanding references -------------------------------------------------------------

    def _expandable(self, sel: _Select, names: Sequence[str]) -> None:
        problems = [
            Issue("expand", f"{name!r} is not a reference field you can read", "NOT_EXPANDABLE")
            for name in names
            if name not in sel.access.fields or sel.kinds.get(name) != "reference"
        ]
        if problems:
            raise TenonError(
                "only readable reference fields can be expanded", problems, code="NOT_EXPANDABLE"
            )

    def _expand(
        self,
        conn: Connection,
        actor: Actor,
        sel: _Select,
        data: list[dict[str, Any]],
        names: Sequence[str],
    ) -> None:
        """Replace each expanded reference by the target record as the caller reads it
        (``{"id": n}`` alone when the caller may not read that record)."""
        for name in dict.fromkeys(names):
            target = qualify(sel.obj.app, str(sel.obj.by_name[name].target))
            ids = {r[name] for r in data if isinstance(r.get(name), int)}
            found = self.records_by_id(conn, actor, target, ids) if ids else {}
            for record in data:
                value = record.get(name)
                if isinstance(value, int):
                    record[name] = found.get(value, {"id": value})

    def records_by_id(
        self, conn: Connection, actor: Actor, qualified: str, ids: Sequence[int] | set[int]
    ) -> dict[int, dict[str, Any]]:
        """The records of ``ids`` the caller may read, by id (the others are left out)."""
        guard = self.guard(conn, actor)
        access = guard.access(qualified, "read")
        if not access.allowed:
            return {}
        sel = self.select(guard, access)
        where = [*self.base_where(guard, sel), sel.table.c.id.in_(sorted(ids))]
        columns = [v.label(k) for k, v in {**sel.shown, **sel.flags}.items()]
        rows = conn.execute(sa.select(*columns).where(*where)).mappings()
        return {int(row["id"]): self._record(sel, row, guard, None) for row in rows}

    def _list_query(
        self,
        guard: Guard,
        sel: _Select,
        filter: str | None,
        sort: str | None,
        limit: int,
        cursor: str | None,
        counted: bool,
    ) -> _Plan:
        """The statements of a page. Without a cursor they are the same for every request
        of the user with the same rules: kept, they are neither rebuilt nor re-keyed for
        SQLAlchemy's compiled cache."""
        key = None if cursor else (filter, sort, limit, counted)
        if key is not None:
            found = sel.queries.get(key)
            if found is not None:
                return found
        where: list[Any] = []
        if sel.obj.soft_delete:
            where.append(sel.table.c[SOFT_DELETE_COLUMN].is_(None))
        if filter:
            tree = self.formula(guard, filter, sel.obj.qualified, "filter", expect="boolean")
            where.append(guard.compiler.condition(localized(tree, sel.held), sel.masked))
            if any(isinstance(n, ir.Call) and n.function.name == "NOW" for n in tree.walk()):
                key = None  # the time of the request is part of the statement
        keys = self._sort_keys(sel, sort)
        count = None
        if counted:  # the rows matching the filter, the cursor aside
            matching = guard.where(sel.access, sel.table, also=list(where))
            first = sa.select(sel.table.c.id).where(matching).limit(COUNT_CAP + 1).subquery()
            count = sa.select(sa.func.count()).select_from(first)
        if cursor:
            after = decode_cursor(cursor, [sel.kinds[name] for name, _ in keys])
            where.append(_after(keys, sel, after))
        order = [(sel.shown[name], desc) for name, desc in keys]
        columns = [v.label(k) for k, v in sel.shown.items()]
        columns += [v.label(k) for k, v in sel.flags.items()]
        columns += [sel.shown[name].label(f"_k{i}") for i, (name, _) in enumerate(keys)]
        rows = guard.where(sel.access, sel.table, also=where, order=order, limit=limit + 1)
        terms = [_ordered(expr, desc) for expr, desc in order]
        query = sa.select(*columns).where(rows).order_by(*terms).limit(limit + 1)
        plan = _Plan(query, keys, count)
        if key is not None and len(sel.queries) < QUERY_CACHE:
            sel.queries[key] = plan
        return plan

    def get_record(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        fields: Sequence[str] | None = None,
        expand: Sequence[str] = (),
    ) -> dict[str, Any]:
        guard = self.guard(conn, actor)
        access = self.access(guard, qualified, "read")
        sel = self.select(guard, access)
        wanted = self._wanted(sel.obj, fields)
        self._expandable(sel, expand)
        plan = sel.queries.get(_ONE)
        if plan is None:  # built once per user's rules, like a list's first page
            where = [*self.base_where(guard, sel), sel.table.c.id == sa.bindparam("record_id")]
            columns = [v.label(k) for k, v in {**sel.shown, **sel.flags}.items()]
            plan = sel.queries[_ONE] = _Plan(sa.select(*columns).where(*where), [], None)
        row = conn.execute(plan.query, {"record_id": record_id}).mappings().first()
        if row is None:
            raise NotFound(f"{qualified} record {record_id} was not found")
        record = self._record(sel, row, guard, wanted)
        self._expand(conn, actor, sel, [record], expand)
        return record

    def _sort_keys(self, sel: _Select, sort: str | None) -> list[tuple[str, bool]]:
        keys: list[tuple[str, bool]] = []
        for part in (sort or "").split(","):
            part = part.strip()
            if not part:
                continue
            desc = part.startswith("-")
            name = part.lstrip("-+")
            readable_column(sel, name, "sort")
            keys.append((name, desc))
            if name == "id":
                return keys  # unique: nothing after it changes the order
        keys.append(("id", False))
        return keys


def _after(keys: list[tuple[str, bool]], sel: _Select, values: list[Any]) -> Any:
    """Rows strictly after ``values`` in the order of ``keys`` (blanks sort last)."""
    ors = []
    for i, (name, desc) in enumerate(keys):
        expr = sel.shown[name]
        value = values[i]
        same = [_equal(sel.shown[n], values[j]) for j, (n, _) in enumerate(keys[:i])]
        if value is None:
            continue  # nothing sorts after a blank in this key except other blanks
        beyond = expr < value if desc else expr > value
        ors.append(sa.and_(*same, sa.or_(beyond, expr.is_(None))))
    return sa.or_(*ors) if ors else sa.false()


def _equal(expr: Any, value: Any) -> Any:
    return expr.is_(None) if value is None else expr == value


def readable_column(sel: _Select, name: str, where: str) -> Any:
    if name not in sel.kinds:
        raise TenonError(
            f"{sel.obj.qualified} has no field {name!r}",
            [Issue(where, f"unknown field {name!r}", "UNKNOWN_FIELD")],
            code="UNKNOWN_FIELD",
        )
    if name not in sel.values:
        raise Forbidden(
            f"field {name!r} is not readable for you",
            [Issue(where, f"field {name!r} is not readable for you", "FIELD_NOT_READABLE")],
            code="FIELD_NOT_READABLE",
        )
    return sel.values[name]
