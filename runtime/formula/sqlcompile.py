"""Compile a checked formula to a SQLAlchemy expression, for SQLite and PostgreSQL.

Filters, permission scopes, rollups and bulk recomputation run inside the database; no
row is loaded into Python to be filtered. The SQL follows the evaluator's rules exactly:

* numbers: PostgreSQL NUMERIC with the rounding of ``runtime.decimals`` added where a
  result can exceed 30 decimal places; SQLite has no decimal type, so decimal arithmetic
  calls the exact functions of ``runtime.storage.sqlite_functions`` (``tenon_mul`` …);
* blanks: arithmetic with a blank is blank; a comparison with a blank is FALSE (``<>``
  TRUE), never NULL; a blank condition counts as FALSE;
* ``TODAY()``, ``NOW()`` and ``@me`` are bound parameters from the injected clock and user.

A function without a SQL translation is refused with its position (``FORMULA_SQL``).
"""

from __future__ import annotations

import json
import operator
import threading
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.sql.elements import ColumnElement

from runtime.decimals import MAX_DIGITS, MAX_SCALE
from runtime.formula import ir, kernel
from runtime.formula.analysis import spread_list, sql_depth_problem
from runtime.formula.bridge import from_sqlite, key_for
from runtime.formula.errors import FormulaError
from runtime.formula.types import FType

TableFor = Callable[[str], sa.Table]
SQL = ColumnElement[Any]


@dataclass(frozen=True)
class SqlEnv:
    today: date
    now: datetime
    me: int | None = None


class SqlCompiler:
    def __init__(self, dialect: str, tables: TableFor, env: SqlEnv) -> None:
        self.dialect = dialect
        self.tables = tables
        self.env = env
        self._aliases = 0

    @property
    def sqlite(self) -> bool:
        return self.dialect == "sqlite"

    # -- entry points -------------------------------------------------------------------

    def value(self, expr: ir.Expr, row: Any) -> SQL:
        """``expr`` for the record in ``row`` (a table or alias with the object's columns),
        read back untouched (not through an operand column's type) by ``python_value``."""
        _refuse_deep(expr)
        return sa.type_coerce(self.compile(expr, row), sa.types.NullType())

    def condition(self, expr: ir.Expr, row: Any) -> SQL:
        _refuse_deep(expr)
        return self.cond(self.compile(expr, row), expr)

    def python_value(self, value: Any, ftype: FType) -> Any:
        """A value selected from the database in the evaluator's Python form."""
        if self.sqlite:
            return from_sqlite(value, ftype)
        if value is None:
            return None
        if ftype.kind == "number" and isinstance(value, Decimal):
            return value
        if ftype.kind == "list" and isinstance(value, str):
            return json.loads(value)
        return value

    def alias(self, qualified: str, needs: Iterable[str] | None = None) -> Any:
        """A new alias of the object's table; with ``needs``, of a table holding only
        those columns (and ``id``, ``deleted_at``): the same SQL, but an alias of a wide
        table costs a millisecond to build, once per column, every time."""
        self._aliases += 1
        table = self.tables(qualified)
        if needs is not None and isinstance(table, sa.Table):
            table = narrow(table, needs)
        return table.alias(f"f{self._aliases}")

    # -- helpers for function translations ----------------------------------------------

    def cond(self, value: SQL, expr: ir.Expr | None = None) -> SQL:
        """A condition that is never NULL: blank counts as FALSE."""
        if expr is not None and _never_null(expr):
            return value
        return sa.func.coalesce(value, sa.false())

    def is_blank(self, value: SQL, ftype: FType) -> SQL:
        if ftype.kind == "text":
            return sa.or_(value.is_(None), value == "")
        if ftype.kind == "list":
            return sa.or_(value.is_(None), sa.cast(value, sa.Text()).in_(["[]", "null"]))
        return value.is_(None)

    def nonempty(self, value: SQL, ftype: FType) -> SQL:
        """``value`` with empty text turned into NULL (for COALESCE-like functions)."""
        return sa.func.nullif(value, "") if ftype.kind == "text" else value

    def literal(self, value: Any, ftype: FType | None = None) -> SQL:
        if value is None:
            return sa.null()
        if isinstance(value, bool):
            return sa.true() if value else sa.false()
        if isinstance(value, int) and -(2**63) <= value < 2**63:
            return sa.literal(value, sa.BigInteger())
        if isinstance(value, int):
            value = Decimal(value)  # wider than 64 bits: a decimal on both databases
        if isinstance(value, Decimal):
            if self.sqlite:
                return sa.literal(str(value), sa.Text())
            return sa.literal(value, sa.Numeric(80, max(0, -int(value.as_tuple().exponent))))
        if isinstance(value, datetime):
            return sa.literal(value, sa.DateTime())
        if isinstance(value, date):
            return sa.literal(value, sa.Date())
        return sa.literal(str(value), sa.Text())

    def python(self, call: ir.Call, args: list[SQL]) -> SQL:
        """On SQLite, run the function's own Python implementation inside the query."""
        if not self.sqlite:
            raise FormulaError(
                f"{call.function.name}() has no PostgreSQL translation", call.pos, "FORMULA_SQL"
            )
        return sa.func.tenon_call(key_for(call), *args)

    def decimal(self, value: SQL) -> SQL:
        """A number in exact decimal form (SQLite: its text; PostgreSQL: NUMERIC)."""
        return sa.func.tenon_num(value) if self.sqlite else sa.cast(value, sa.Numeric())

    def arith(self, op: str, left: SQL, right: SQL, scales: tuple[int, int]) -> SQL:
        """``left op right`` for numbers, exact on both databases."""
        if self.sqlite:
            if op != "/" and scales == (0, 0):
                native: SQL = {"+": operator.add, "-": operator.sub, "*": operator.mul}[op](
                    left, right
                )
                return native
            name = {"+": "tenon_add", "-": "tenon_sub", "*": "tenon_mul", "/": "tenon_div"}[op]
            udf: SQL = getattr(sa.func, name)(left, right)
            return udf
        if op == "/":
            return self._divide(left, right)
        if op == "*":
            product = sa.cast(left, sa.Numeric()) * right
            return sa.func.round(product, MAX_SCALE) if sum(scales) > MAX_SCALE else product
        return (
            sa.cast(left, sa.Numeric()) + right
            if op == "+"
            else sa.cast(left, sa.Numeric()) - right
        )

    def _divide(self, left: SQL, right: SQL) -> SQL:
        """``left / right`` rounded once, half away from zero, at 30 places, as
        ``decimals.div``: sign · div(2·|a|·10^30 + |b|, 2·|b|) / 10^30 in exact NUMERIC."""
        a, b = sa.cast(left, sa.Numeric()), sa.cast(sa.func.nullif(right, 0), sa.Numeric())
        scale = sa.literal(Decimal(10) ** MAX_SCALE, sa.Numeric())
        units = sa.func.div(2 * sa.func.abs(a) * scale + sa.func.abs(b), 2 * sa.func.abs(b))
        signed = sa.func.sign(a) * sa.func.sign(b) * units
        return signed * sa.literal(Decimal(1).scaleb(-MAX_SCALE), sa.Numeric(31, MAX_SCALE))

    def round(self, value: SQL, digits: SQL, mode: str = "half_up") -> SQL:
        """ROUND family: ``mode`` is half_up, down, up, floor or ceiling (see decimals.py)."""
        if self.sqlite:
            return sa.func.tenon_round(value, digits, mode)
        wide = sa.cast(value, sa.Numeric())
        # as decimals.round_to: at most 30 places; below -38 everything rounds to 0
        clamped = sa.func.least(sa.func.greatest(sa.func.trunc(digits), -MAX_DIGITS - 1), MAX_SCALE)
        places = sa.cast(clamped, sa.Integer())
        if mode == "half_up":
            return sa.func.round(wide, places)
        if mode == "down":
            return sa.func.trunc(wide, places)
        scale = sa.func.power(sa.cast(10, sa.Numeric(80, 40)), places)
        if mode == "floor":
            return sa.func.floor(wide * scale) / scale
        if mode == "ceiling":
            return sa.func.ceil(wide * scale) / scale
        shifted = sa.func.abs(wide) * scale
        return sa.func.sign(wide) * sa.func.ceil(shifted) / scale

    def text(self, value: SQL, ftype: FType) -> SQL:
        """``value`` as text, the way ``&`` and TEXT show it; blank is empty text."""
        shown: SQL
        if ftype.kind == "number":
            shown = (
                sa.func.tenon_text(value)
                if self.sqlite
                else sa.cast(sa.func.trim_scale(sa.cast(value, sa.Numeric())), sa.Text())
            )
        elif ftype.kind == "boolean":
            shown = sa.case((value.is_(None), None), (self.cond(value), "TRUE"), else_="FALSE")
        elif ftype.kind in ("text", "blank"):
            shown = value
        elif ftype.kind == "datetime":  # to the second, as the evaluator shows it
            shown = (
                sa.func.strftime("%Y-%m-%d %H:%M:%S", value)
                if self.sqlite
                else sa.func.to_char(value, "YYYY-MM-DD HH24:MI:SS")
            )
        else:
            shown = sa.cast(value, sa.Text())
        return sa.func.coalesce(shown, "")

    # -- nodes --------------------------------------------------------------------------

    def compile(self, expr: ir.Expr, row: Any) -> SQL:
        fused = self._kernel(expr, row)
        if fused is not None:
            return fused
        if isinstance(expr, ir.Const):
            return self.literal(expr.value, expr.type)
        if isinstance(expr, ir.Local):
            column: SQL = row.c[expr.name]
            return column
        if isinstance(expr, ir.Inline):
            return self.compile(expr.body, row)
        if isinstance(expr, ir.Me):
            return sa.literal(self.env.me, sa.BigInteger())
        if isinstance(expr, ir.MeRecord):
            return self.me_record(expr)
        if isinstance(expr, ir.Ref):
            return self.ref(expr, row)
        if isinstance(expr, ir.Aggregate):
            return self.aggregate(expr, row)
        if isinstance(expr, ir.Related):
            raise FormulaError(
                "a list of related records cannot be used here; wrap it in SUM, COUNT, "
                "AVERAGE, MIN or MAX",
                expr.pos,
                "FORMULA_SQL",
            )
        if isinstance(expr, ir.Negate):
            operand = expr.operand
            if isinstance(operand, ir.Const) and isinstance(operand.value, int | Decimal):
                value = operand.value
                return self.literal(value.copy_negate() if isinstance(value, Decimal) else -value)
            inner = self.compile(operand, row)
            if self.sqlite and (operand.type.scale or not _native(operand)):
                negated: SQL = sa.func.tenon_sub(0, inner)
                return negated
            return -inner
        if isinstance(expr, ir.Binary):
            return self.binary(expr, row)
        assert isinstance(expr, ir.Call)
        fn = expr.function
        if spread_list(expr):
            raise FormulaError(
                f"{fn.name}() over a list of values cannot run inside the database",
                expr.pos,
                "FORMULA_SQL",
            )
        if fn.sql is None:
            raise FormulaError(
                f"{fn.name}() cannot run inside the database, so it cannot be used in a "
                "filter, a permission scope or a stored field",
                expr.pos,
                "FORMULA_SQL",
            )
        args = [self.compile(a, row) for a in expr.args]
        translated: SQL = fn.sql(self, args, expr)
        return translated

    def _kernel(self, expr: ir.Expr, row: Any) -> SQL | None:
        """On SQLite, a decimal subtree as one call into Python (see kernel.py), or None."""
        if not self.sqlite or expr.type.kind != "number" or isinstance(expr, ir.Local | ir.Const):
            return None
        if not (kernel.fusable(expr) and kernel.worth_it(expr)):
            return None
        key, names = kernel.register(expr)
        fused: SQL = sa.func.tenon_call(key, *[row.c[n] for n in names])
        return fused

    def me_record(self, expr: ir.MeRecord) -> SQL:
        """The id of the signed-in user's own record (evaluated once per query)."""
        linked = self.alias(expr.obj, (expr.field,))
        clauses = [linked.c[expr.field] == sa.literal(self.env.me, sa.BigInteger())]
        if "deleted_at" in linked.c:
            clauses.append(linked.c.deleted_at.is_(None))
        return sa.select(linked.c.id).where(*clauses).limit(1).scalar_subquery()

    def ref(self, expr: ir.Ref, row: Any) -> SQL:
        base = self.compile(expr.base, row)
        needs = columns_read(expr.body) if expr.body is not None else {expr.name}
        other = self.alias(expr.target, needs)
        value = self.compile(expr.body, other) if expr.body is not None else other.c[expr.name]
        # the record's own table comes from the enclosing statement, however deep this
        # sits (an UPDATE's SET does not auto-correlate a subquery inside a subquery)
        query = sa.select(value).where(other.c.id == base).correlate_except(other)
        return query.scalar_subquery()

    def _rows(self, rows: ir.Related, row: Any) -> tuple[Any, list[SQL]]:
        parent = row.c.id if rows.base is None else self.compile(rows.base, row)
        needs = {rows.fk, *columns_read(rows.value), *columns_read(rows.where)}
        child = self.alias(rows.child, needs)
        clauses = [child.c[rows.fk] == parent]
        if "deleted_at" in child.c:
            clauses.append(child.c.deleted_at.is_(None))
        if rows.where is not None:
            clauses.append(self.condition(rows.where, child))
        return child, clauses

    def related(self, rows: ir.Related, row: Any) -> sa.Select[Any]:
        """The values (or ids) of the related records, in creation order."""
        child, clauses = self._rows(rows, row)
        value = self.compile(rows.value, child) if rows.value is not None else child.c.id
        return sa.select(value).where(*clauses).order_by(child.c.id)

    def aggregate(self, expr: ir.Aggregate, row: Any) -> SQL:
        rows = expr.rows
        child, clauses = self._rows(rows, row)
        value = self.compile(rows.value, child) if rows.value is not None else None
        func = expr.func
        if func == "COUNT":
            counted = sa.func.count() if value is None else sa.func.count(value)
            return sa.select(counted).where(*clauses).scalar_subquery()
        assert value is not None
        decimal = self.sqlite and rows.value is not None and rows.value.type.scale > 0
        if func in ("MIN", "MAX"):
            agg = getattr(sa.func, "tenon_" + func.lower() if decimal else func.lower())(value)
            return sa.select(agg).where(*clauses).scalar_subquery()
        total: SQL = sa.func.tenon_sum(value) if decimal else sa.func.sum(value)
        if func == "SUM":
            return sa.select(sa.func.coalesce(total, 0)).where(*clauses).scalar_subquery()
        count = sa.func.count(value)
        average = self.arith("/", total, count, (MAX_SCALE, 0))
        return sa.select(average).where(*clauses).scalar_subquery()

    def binary(self, expr: ir.Binary, row: Any) -> SQL:
        left = self.compile(expr.left, row)
        right = self.compile(expr.right, row)
        op = expr.op
        lt, rt = expr.left.type, expr.right.type
        if op == "&":
            return self.text(left, lt) + self.text(right, rt)
        if op in ("=", "<>", "<", "<=", ">", ">="):
            return self.compare(op, left, right, expr)
        if lt.kind in ("date", "datetime") or rt.kind in ("date", "datetime"):
            return self.date_arith(op, left, right, lt, rt)
        return self.arith(op, left, right, (lt.scale, rt.scale))

    def compare(self, op: str, left: SQL, right: SQL, expr: ir.Binary) -> SQL:
        lt, rt = expr.left.type, expr.right.type
        if (
            self.sqlite
            and "number" in (lt.kind, rt.kind)
            and not (_native(expr.left) and _native(expr.right))
        ):
            left, right = sa.func.tenon_cmp(left, right), sa.literal(0)
        elif not self.sqlite and op not in ("=", "<>") and lt.kind == "text":
            left, right = left.collate("C"), right.collate("C")
        test = _COMPARE[op](left, right)
        nullable = [
            side for side, e in ((left, expr.left), (right, expr.right)) if not _never_null(e)
        ]
        if op == "<>":
            return sa.or_(*[s.is_(None) for s in nullable], test) if nullable else test
        return sa.and_(*[s.is_not(None) for s in nullable], test) if nullable else test

    def date_arith(self, op: str, left: SQL, right: SQL, lt: FType, rt: FType) -> SQL:
        if lt.kind in ("date", "datetime") and rt.kind in ("date", "datetime"):
            if self.sqlite:
                return sa.func.tenon_days_between(left, right)
            if lt.kind == rt.kind == "date":
                return left - right
            seconds = sa.func.extract(
                "epoch", sa.cast(left, sa.DateTime()) - sa.cast(right, sa.DateTime())
            )
            return self.arith("/", seconds, sa.literal(86400), (MAX_SCALE, 0))
        days = right if op == "+" else -right
        if self.sqlite:
            return sa.func.tenon_add_days(left, days)
        whole = sa.func.trunc(days)
        if lt.kind == "date":  # blank outside years 1–9999, as the evaluator
            day = (left - sa.literal(date(1, 1, 1), sa.Date())) + whole  # days since 0001-01-01
            clamped = sa.func.least(sa.func.greatest(whole, -_MAX_DAYS), _MAX_DAYS)
            moved: SQL = left + sa.cast(clamped, sa.Integer())
            return sa.case((day.between(0, _MAX_DAYS - 1), moved))
        span = sa.case((sa.func.abs(whole) <= _MAX_DAYS, sa.cast(days, sa.Numeric())))
        shifted: SQL = left + span * sa.text("interval '1 day'")
        return sa.case(
            (shifted.between(datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59)), shifted)
        )


def _refuse_deep(expr: ir.Expr) -> None:
    problem = sql_depth_problem(expr)
    if problem:
        raise FormulaError(problem[0], problem[1], "FORMULA_SQL")


_MAX_DAYS = 3_652_059  # 0001-01-01 to 9999-12-31
_COMPARE = {
    "=": operator.eq,
    "<>": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _never_null(expr: ir.Expr) -> bool:
    if isinstance(expr, ir.Const):
        return expr.value is not None
    if isinstance(expr, ir.Binary):
        return expr.op in ("=", "<>", "<", "<=", ">", ">=", "&")
    if isinstance(expr, ir.Aggregate):
        return expr.func in ("COUNT", "SUM")
    if isinstance(expr, ir.Call):
        return expr.function.name in _NEVER_NULL
    return False


_NEVER_NULL = frozenset(
    {"AND", "OR", "NOT", "XOR", "ISBLANK", "ISNOTBLANK", "TRUE", "FALSE", "ISNUMBER", "ISTEXT"}
)


def _native(expr: ir.Expr) -> bool:
    """On SQLite: is this number a plain stored value (REAL/INTEGER), not decimal text?"""
    if isinstance(expr, ir.Local | ir.Const):
        return not (isinstance(expr, ir.Const) and isinstance(expr.value, Decimal))
    if isinstance(expr, ir.Ref):
        return expr.body is None
    if isinstance(expr, ir.Aggregate):
        return expr.func in ("COUNT", "MIN", "MAX") and (
            expr.func == "COUNT" or expr.rows.value is None or expr.rows.value.type.scale == 0
        )
    if isinstance(expr, ir.Binary):
        return expr.type.kind == "number" and expr.type.scale == 0 and expr.op in "+-*"
    return False


def columns_read(expr: ir.Expr | None) -> set[str]:
    """The columns of its own record that ``expr`` reads (the record's id always)."""
    if expr is None:
        return set()
    return {n.name for n in expr.walk() if isinstance(n, ir.Local)} | {"id"}


_NARROW: weakref.WeakKeyDictionary[sa.Table, dict[frozenset[str], sa.Table]] = (
    weakref.WeakKeyDictionary()
)
_NARROW_LOCK = threading.Lock()


def narrow(table: sa.Table, needs: Iterable[str]) -> sa.Table:
    """``table`` with only the columns ``needs`` names (and ``id``, ``deleted_at``), kept
    per table and set of columns; it renders as the same table."""
    names = frozenset(n for n in {*needs, "id", "deleted_at"} if n in table.c)
    with _NARROW_LOCK:
        kept = _NARROW.setdefault(table, {})
        found = kept.get(names)
        if found is None:
            columns = [sa.Column(c.name, c.type, key=c.key) for c in table.c if c.key in names]
            found = kept[names] = sa.Table(table.name, sa.MetaData(), *columns, schema=table.schema)
        return found
