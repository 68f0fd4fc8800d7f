"""One actor's access as SQL: the WHERE clause of the rows and the masked column list.

``Guard`` is built per request (actor, clock, dialect). It gives:

* ``rows(obj, table, action)`` — the union of the applicable rules' scopes (FALSE when no
  rule applies), index-friendly (``runtime.security.scopesql``);
* ``columns(obj, table)`` — every field the actor may see in some row, each either the
  plain column (visible wherever the row is) or ``CASE WHEN <scopes of the rules that
  reveal it> THEN column END``, so a value the actor may not read never leaves the
  database, and a flag column telling which fields a row shows (``present``);
* ``compiler`` — a formula compiler for the actor's filters, sorts and previews, whose
  view of every object (the row itself, records reached through references, related
  lists in aggregates) is the secured one: rows outside the scope are not there and
  hidden fields are blank. Together with ``check_readable`` (refusing formulas that name
  a field the actor can never read) filtering cannot reveal what reading cannot.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from runtime.errors import Forbidden, Issue
from runtime.formula import ir
from runtime.formula.analysis import dependencies
from runtime.formula.sqlcompile import SQL, SqlCompiler, SqlEnv
from runtime.security import scopesql
from runtime.security.actor import Actor
from runtime.security.policy import Access, Policy, Rule, ScopeInfo

TableFor = Any  # Callable[[str], sa.Table]
FLAG = "_shown"  # the column telling which fields a selected row shows


class _Secured:
    """Looks like a table to the compiler (``.c[name]``, ``.alias()``): the secured rows
    and columns of one object, as a subquery."""

    def __init__(self, guard: Guard, qualified: str) -> None:
        self.guard = guard
        self.qualified = qualified

    def alias(self, name: str) -> Any:
        table = self.guard.tables(self.qualified)
        raw = table.alias(f"{name}_raw")
        access = self.guard.access(self.qualified)
        columns = [expr.label(field) for field, expr in self.guard.columns(access, raw).items()]
        if "deleted_at" in raw.c:
            columns.append(raw.c.deleted_at)
        query = sa.select(*columns).where(self.guard.rows(access, raw))
        return query.subquery(name)


class _Masked:
    """The row of the object a query is about, with hidden columns masked."""

    def __init__(self, columns: Mapping[str, SQL], raw: Any) -> None:
        self.c = _Cols(columns, raw)


class _Cols:
    def __init__(self, columns: Mapping[str, SQL], raw: Any) -> None:
        self._columns = columns
        self._raw = raw

    def __getitem__(self, name: str) -> SQL:
        if name in self._columns:
            return self._columns[name]
        if name == "deleted_at":
            column: SQL = self._raw.c[name]
            return column
        return sa.null()

    def __getattr__(self, name: str) -> SQL:
        return self[name]

    def __contains__(self, name: str) -> bool:
        return name in self._columns or (name == "deleted_at" and name in self._raw.c)


Groups = list[tuple[frozenset[str], list[Rule]]]


def shown(access: Access, groups: Groups, mask: int | None) -> frozenset[str]:
    """The fields a row shows, from its flag column (``mask``; None: no flag needed)."""
    if mask is None:
        return access.fields
    names = {n for n, rules in access.grants.items() if any(r.scope is None for r in rules)}
    for i, (fields, _) in enumerate(groups):
        if mask & (1 << i):
            names |= fields
    return frozenset(names)


def _ordered(expr: SQL, desc: bool) -> Any:
    """The ORDER BY term of a list: blanks last in either direction."""
    return (expr.desc() if desc else expr.asc()).nulls_last()


class ConditionCache:
    """A bounded map of compiled SQL (rule conditions, the lookups of ``MeValues``),
    shared by the guards of one reader. Only conditions on the reader's own (long-lived)
    tables are cached."""

    def __init__(self, size: int = 2048) -> None:
        self.size = size
        self._items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._items[key] = value
            if len(self._items) > self.size:
                self._items.popitem(last=False)


@dataclass
class Guard:
    policy: Policy
    actor: Actor
    dialect: str
    tables: TableFor
    now: datetime
    cache: ConditionCache | None = None

    def __post_init__(self) -> None:
        env = SqlEnv(self.now.date(), self.now, self.actor.user_id)
        # scopes read the raw tables: they are the app's own trusted conditions
        self.raw = SqlCompiler(self.dialect, self.tables, env)
        # the actor's own formulas (filters, sorts, previews) see only secured data
        self.compiler = SqlCompiler(self.dialect, self._secured, env)
        self._access: dict[tuple[str, str], Access] = {}

    def _secured(self, qualified: str) -> Any:
        return _Secured(self, qualified)

    def access(self, obj: str, action: str = "read") -> Access:
        key = (obj, action)
        if key not in self._access:
            self._access[key] = self.policy.access(self.actor, obj, action)
        return self._access[key]

    # -- rows ---------------------------------------------------------------------------

    def rule_condition(self, rule: Rule, row: Any) -> SQL:
        """The rule's scope for the rows of ``row``. Expressions are immutable and depend
        only on the rule, the table, the user and the clock, so they are cached."""
        if rule.scope is None:
            return sa.true()
        scope = self.policy.scope_info(rule)
        if self.cache is None or row is not self.tables(rule.obj):
            return self._condition(scope, row)
        moment = self.now if scope.uses_now else self.now.date()
        key = (rule.where, self.dialect, self.actor.user_id, moment)
        cached: SQL | None = self.cache.get(key)
        if cached is None:
            cached = self._condition(scope, row)
            self.cache.put(key, cached)
        return cached

    def _condition(self, scope: ScopeInfo, row: Any) -> SQL:
        condition = scopesql.condition(self.raw, scope.tree, row)
        if not scope.linked:
            return condition
        # a rule about "my employee record" applies only to users who have one: without
        # this, a scope like STARTS_WITH(path, @me.employee.path & "/") would match every
        # row for a user without a record (blank & "/" is "/")
        exists = [self.raw.me_record(m).is_not(None) for m in scope.linked]
        return sa.and_(*exists, condition)

    def rows(self, access: Access, row: Any, rules: Iterable[Rule] | None = None) -> SQL:
        chosen = list(access.rules if rules is None else rules)
        if not chosen:
            return sa.false()
        if any(r.scope is None for r in chosen):
            return sa.true()
        return sa.or_(*[self.rule_condition(r, row) for r in chosen])

    def where(
        self,
        access: Access,
        table: sa.Table,
        *,
        also: Sequence[SQL] = (),
        order: Sequence[tuple[SQL, bool]] = (),
        limit: int | None = None,
    ) -> SQL:
        """The rows of ``table`` the actor may see, for the WHERE clause of a query about
        that object. With scoped rules only, the ids come from one indexed lookup per rule
        (``id IN (SELECT id … WHERE scope₁ UNION ALL …)``): an OR of scopes next to an
        ORDER BY … LIMIT makes the planners walk the whole table in id order instead.

        For a page (``order``: expressions and whether descending; ``limit``), each
        lookup also takes the query's other conditions (``also``) and keeps only its own
        first ``limit`` rows in that order: the page is among them, and a rule matching
        many rows costs a small top-N sort of its index entries, not a fetch of each
        row. The sort keys are hidden from the planners' index choice (SQLite's
        ``likely(x)`` is x, PostgreSQL's ``x + 0`` / ``x || ''`` likewise): else "ORDER
        BY id LIMIT 26" tempts them to walk the whole primary key testing the scope."""
        if not access.rules:
            return sa.false()
        if access.unrestricted:
            return sa.and_(*also) if also else sa.true()
        branches: list[Any] = []
        for rule in access.rules:
            branch: Any = sa.select(table.c.id).where(self.rule_condition(rule, table), *also)
            if limit is not None:
                keys = [_ordered(self._opaque(expr), desc) for expr, desc in order]
                # the limit inline: with "LIMIT ?" SQLite cannot weigh the index against a
                # scan and scans
                first = branch.order_by(*keys).limit(sa.literal_column(str(int(limit))))
                first = first.subquery()
                branch = sa.select(first.c.id)
            branches.append(branch.correlate(None))
        if not branches:
            return sa.false()
        ids: Any = branches[0] if len(branches) == 1 else sa.union_all(*branches)
        if self.dialect == "postgresql":
            # one array of ids, computed first: the planner then fetches exactly those
            # rows through the primary key, in order (a join would walk the whole index)
            found = ids.subquery("scoped")
            aggregated = sa.select(sa.func.array_agg(found.c.id)).scalar_subquery()
            empty = sa.cast(sa.literal("{}"), postgresql.ARRAY(sa.BigInteger()))
            return table.c.id == sa.any_(sa.func.coalesce(aggregated, empty))
        return table.c.id.in_(ids)

    def _opaque(self, expr: SQL) -> SQL:
        """``expr`` unchanged, but not something an index can produce in order."""
        if self.dialect == "sqlite":
            wrapped: SQL = sa.func.likely(expr)
            return wrapped
        if isinstance(expr.type, sa.Integer | sa.Numeric):
            return expr + 0
        if isinstance(expr.type, sa.String):
            return expr.concat("")
        return expr

    # -- columns ------------------------------------------------------------------------

    def columns(self, access: Access, row: Any) -> dict[str, SQL]:
        """Field name -> the expression the actor may see (masked where needed), for the
        stored fields and system columns of the object."""
        out: dict[str, SQL] = {}
        for name in access.fields:
            if name in row.c:
                out[name] = self.mask(access, name, row.c[name], row)
        return out

    def mask(self, access: Access, name: str, value: SQL, row: Any) -> SQL:
        """``value`` (field ``name`` of ``row``) where a rule reveals the field, else NULL."""
        if access.everywhere(name):
            return value
        return sa.case((self.rows(access, row, access.grants.get(name, ())), value))

    def groups(self, access: Access) -> Groups:
        """The scoped rules that can match, grouped by the fields they reveal (rules
        revealing the same fields need not be told apart)."""
        found: dict[frozenset[str], list[Rule]] = {}
        for rule in access.rules:
            if rule.scope is not None:
                shown = frozenset(n for n, rules in access.grants.items() if rule in rules)
                found.setdefault(shown, []).append(rule)
        return list(found.items())

    def flags(self, access: Access, row: Any, groups: Groups) -> dict[str, SQL]:
        """One integer column telling which fields a row shows, when rules reveal different
        fields: bit i is set when a rule of ``groups[i]`` matches the row. Unscoped rules
        match every row and need no bit."""
        if all(access.everywhere(name) for name in access.fields) or not groups:
            return {}
        total: SQL = sa.literal(0)
        for i, (_, rules) in enumerate(groups):
            total = total + sa.case((self.rows(access, row, rules), 1 << i), else_=0)
        return {FLAG: total}

    # -- formulas of the actor --------------------------------------------------------

    def check_readable(self, tree: ir.Expr, obj: str, where: str) -> None:
        """Refuse a filter, sort or preview naming a field (or an object) the actor can
        never read: filtering on it would reveal its values one question at a time."""
        problems = []
        for dep in sorted(dependencies(tree, obj), key=lambda d: (d.obj, d.field)):
            access = self.access(dep.obj)
            if not access.allowed:
                problems.append(f"records of {dep.obj} are not readable for you")
            elif dep.field not in access.fields and dep.field != "deleted_at":
                problems.append(f"field {dep.field!r} of {dep.obj} is not readable for you")
        if problems:
            raise Forbidden(
                f"the {where} uses data you cannot read",
                [Issue(where, p, "FIELD_NOT_READABLE") for p in dict.fromkeys(problems)],
                code="FIELD_NOT_READABLE",
            )
