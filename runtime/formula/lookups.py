"""Reading other records for the Python evaluator, through the SQL compiler.

When a formula evaluated for one record (a form being filled in, a workflow condition,
a preview) reaches another record — ``employee.department.name``, ``SUM(lines.amount)`` —
the evaluator asks ``SqlLookups`` which runs exactly that part as one query, with the
record's own values as parameters. The record need not be saved yet.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.sqlcompile import SqlCompiler
from runtime.formula.types import FType

MAX_RELATED = 10_000
SHARED_QUERIES = 4096  # compiled lookups kept across evaluations (least recently used go)


class _Watched:
    """The compiler's clock and user as it compiles one lookup, noting what it reads:
    a compiled query depends on ``today``, ``now`` or ``me`` only if it read them."""

    def __init__(self, env: Any) -> None:
        self._env = env
        self.read: dict[str, Any] = {}

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._env, name)
        self.read[name] = value
        return value


class _Shared:
    """Compiled lookup queries shared by every ``SqlLookups`` (a rule evaluated once per
    row of a 2,000-row create made a new one per row and compiled its lookups again):
    by formula part, table and dialect, with the clock and user values each one read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._found: OrderedDict[tuple[int, int, str], list[Any]] = OrderedDict()

    def get(self, expr: ir.Expr, table: sa.Table, compiler: SqlCompiler) -> Any:
        key = (id(expr), id(table), compiler.dialect)
        with self._lock:
            entries = self._found.get(key) or []
            for entry in entries:
                kept_expr, kept_table, read, query, used = entry
                if (
                    kept_expr is expr
                    and kept_table is table
                    and all(getattr(compiler.env, k) == v for k, v in read.items())
                ):
                    self._found.move_to_end(key)
                    return query, used
        return None

    def put(
        self,
        expr: ir.Expr,
        table: sa.Table,
        compiler: SqlCompiler,
        read: dict[str, Any],
        query: Any,
        used: set[str],
    ) -> None:
        key = (id(expr), id(table), compiler.dialect)
        with self._lock:
            entries = [e for e in self._found.get(key) or [] if e[0] is expr and e[1] is table]
            self._found[key] = [*entries[-7:], (expr, table, read, query, used)]
            self._found.move_to_end(key)
            while len(self._found) > SHARED_QUERIES:
                self._found.popitem(last=False)


_SHARED = _Shared()


class _Columns:
    """The record's values as bound parameters (``rec_<name>``), so one compiled query
    serves every record: a formula run over 2,000 rows compiles its lookups once."""

    def __init__(self, table: sa.Table, used: set[str]) -> None:
        self._table = table
        self._used = used

    def __getitem__(self, name: str) -> Any:
        column = self._table.c[name]
        self._used.add(name)
        return sa.bindparam(f"rec_{name}", type_=column.type, required=True)

    def __getattr__(self, name: str) -> Any:
        return self[name]


class _RecordRow:
    """Looks like a table to the compiler; its columns are the record's values."""

    def __init__(self, table: sa.Table, used: set[str]) -> None:
        self.c = _Columns(table, used)


class SqlLookups:
    def __init__(
        self, conn: Connection, compiler: SqlCompiler, table: sa.Table, remember: bool = False
    ) -> None:
        self.conn = conn
        self.compiler = compiler
        self.table = table
        self._queries: dict[int, tuple[ir.Expr, Any, set[str]]] = {}
        # ``remember``: answers kept per formula part and record values, for a pass over
        # many rows that nothing writes meanwhile (an export: 2,000 lines, one batch)
        self._answers: dict[Any, Any] | None = {} if remember else None

    def _query(self, expr: ir.Expr) -> tuple[Any, set[str]]:
        """The query of ``expr`` and the record columns it reads (compiled once)."""
        found = self._queries.get(id(expr))
        if found is None or found[0] is not expr:
            shared = _SHARED.get(expr, self.table, self.compiler)
            if shared is None:
                shared = self._compile(expr)
            found = (expr, *shared)
            self._queries[id(expr)] = found
        return found[1], found[2]

    def _compile(self, expr: ir.Expr) -> tuple[Any, set[str]]:
        used: set[str] = set()
        row = _RecordRow(self.table, used)
        env, watched = self.compiler.env, _Watched(self.compiler.env)
        self.compiler.env = watched  # type: ignore[assignment]
        try:
            if isinstance(expr, ir.Related):
                query = self.compiler.related(expr, row).limit(MAX_RELATED + 1)
            else:
                query = sa.select(self.compiler.value(expr, row))
        finally:
            self.compiler.env = env
        _SHARED.put(expr, self.table, self.compiler, watched.read, query, used)
        return query, used

    def fetch(self, expr: ir.Expr, record: Mapping[str, Any]) -> Any:
        query, used = self._query(expr)
        params = {f"rec_{name}": record.get(name) for name in used}
        if self._answers is None:
            return self._fetch(expr, query, params)
        try:
            key = (id(expr), *sorted(params.items()))
            hash(key)
        except TypeError:  # a JSON value among them: not kept
            return self._fetch(expr, query, params)
        if key not in self._answers:
            self._answers[key] = self._fetch(expr, query, params)
        return self._answers[key]

    def _fetch(self, expr: ir.Expr, query: Any, params: dict[str, Any]) -> Any:
        if isinstance(expr, ir.Related):
            values = list(self.conn.execute(query, params).scalars())
            if len(values) > MAX_RELATED:
                raise FormulaError(
                    f"more than {MAX_RELATED:,} related records; use SUM, COUNT, AVERAGE, MIN "
                    "or MAX, which run inside the database",
                    expr.pos,
                    "FORMULA_LIMIT",
                )
            item = expr.type.of or FType("any")
            return [self.compiler.python_value(v, item) for v in values]
        value = self.conn.execute(query, params).scalar()
        return self.compiler.python_value(value, expr.type)
