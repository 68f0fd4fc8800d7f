"""A scratch object for formula tests, and helpers that evaluate a formula in Python and
inside the database and check both agree.

    def test_x(fx):                       # fx runs once on SQLite and once on PostgreSQL
        assert fx.both("ROUND(n, 1)", n=Decimal("2.25")) == Decimal("2.3")
        assert fx.py("LEN(s)", s="abc") == 3          # Python only
        fx.error("LEN(n)")                            # a FormulaError, returned

Field names available on ``fx.row``: n, m (decimal 18,4), i (integer), money (currency),
pct (percent), s, s2 (text), d, d2 (date), dt (datetime), b (boolean), sel (select S..D),
tags (multi_select x/y/z), parent (reference to row; ``children`` lists child rows).
Pass ``children=[{"n": 1}, …]`` to store rows pointing at the record through ``parent``:
``fx.both("SUM(children.n, n > 0)", children=[...])``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.formula.engine import FormulaEngine
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled, Env
from runtime.formula.lookups import SqlLookups
from runtime.formula.sqlcompile import SqlCompiler, SqlEnv
from runtime.metadata.model import AppDef
from runtime.storage.tables import build_table

TODAY = date(2025, 3, 10)
NOW = datetime(2025, 3, 10, 9, 30, 0)
STAMP = datetime(2025, 1, 1, 9, 0, 0)

SCRATCH: dict[str, Any] = {
    "name": "fx",
    "version": "1.0.0",
    "title": {"en": "Formula scratch"},
    "objects": [
        {
            "name": "row",
            "fields": [
                {"name": "n", "type": "decimal", "precision": 18, "scale": 4},
                {"name": "m", "type": "decimal", "precision": 18, "scale": 4},
                {"name": "i", "type": "integer"},
                {"name": "money", "type": "currency"},
                {"name": "pct", "type": "percent"},
                {"name": "s", "type": "text"},
                {"name": "s2", "type": "text"},
                {"name": "d", "type": "date"},
                {"name": "d2", "type": "date"},
                {"name": "dt", "type": "datetime"},
                {"name": "b", "type": "boolean"},
                {"name": "sel", "type": "select", "options": ["S", "A", "B", "C", "D"]},
                {"name": "tags", "type": "multi_select", "options": ["x", "y", "z"]},
                {"name": "parent", "type": "reference", "to": "row", "related_name": "children"},
            ],
        }
    ],
}
OBJECT = "fx.row"


@dataclass
class Fx:
    engine: Engine
    table: sa.Table
    formulas: FormulaEngine
    today: date = TODAY
    now: datetime = NOW
    me: int | None = None

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def env(self) -> Env:
        return Env(self.today, self.now, self.me)

    def check(self, text: str, **options: Any) -> Any:
        return self.formulas.check(text, OBJECT, **options)

    def error(self, text: str, **options: Any) -> FormulaError:
        """The FormulaError that checking ``text`` raises (fails the test if none)."""
        with pytest.raises(FormulaError) as caught:
            self.check(text, **options)
        return caught.value

    def compiler(self) -> SqlCompiler:
        env = SqlEnv(self.today, self.now, self.me)
        return SqlCompiler(self.dialect, lambda _q: self.table, env)

    @contextmanager
    def stored(
        self, values: dict[str, Any], children: list[dict[str, Any]] | None = None
    ) -> Iterator[tuple[Connection, int]]:
        """A transaction holding the record (and its ``children`` rows), rolled back after."""
        with self.engine.connect() as conn:
            trans = conn.begin()
            try:
                stamp = {"version": 1, "created_at": STAMP, "updated_at": STAMP}
                insert = sa.insert(self.table)
                new_id = conn.execute(insert.values(stamp | values)).inserted_primary_key[0]
                for child in children or []:
                    conn.execute(insert.values(stamp | child | {"parent": new_id}))
                yield conn, new_id
            finally:
                trans.rollback()

    def py(self, text: str, children: list[dict[str, Any]] | None = None, **values: Any) -> Any:
        """``text`` evaluated in Python for a record with ``values`` (others blank); other
        records (``children`` rows pointing at it through ``parent``) are read from the
        database."""
        tree = self.check(text)
        with self.stored(values, children) as (conn, new_id):
            stamp = {"version": 1, "created_at": STAMP, "updated_at": STAMP}
            record = {c.name: None for c in self.table.columns} | stamp | values | {"id": new_id}
            lookups = SqlLookups(conn, self.compiler(), self.table)
            env = Env(self.today, self.now, self.me, lookups)
            return Compiled(tree).evaluate(record, env)

    def sql(self, text: str, children: list[dict[str, Any]] | None = None, **values: Any) -> Any:
        """``text`` evaluated inside the database for a stored record with ``values``."""
        tree = self.check(text)
        compiler = self.compiler()
        with self.stored(values, children) as (conn, new_id):
            query = sa.select(compiler.value(tree, self.table)).where(self.table.c.id == new_id)
            return compiler.python_value(conn.execute(query).scalar(), tree.type)

    def both(self, text: str, children: list[dict[str, Any]] | None = None, **values: Any) -> Any:
        """Evaluate in Python and in the database; assert they agree; return the value."""
        expected = self.py(text, children, **values)
        got = self.sql(text, children, **values)
        assert got == expected, f"{text}: database gave {got!r}, Python gave {expected!r}"
        numbers = (int, Decimal)
        same_kind = type(got) is type(expected) or (
            isinstance(got, numbers) and isinstance(expected, numbers)
        )
        assert same_kind and isinstance(got, bool) == isinstance(expected, bool), (
            f"{text}: database gave {type(got).__name__}, Python {type(expected).__name__}"
        )
        return expected


def scratch_table(engine: Engine) -> sa.Table:
    app = AppDef.from_dict(SCRATCH)
    md = sa.MetaData()
    table = build_table(md, app, app.object("row"))
    md.create_all(engine)
    return table


def make_fx(engine: Engine) -> Fx:
    return Fx(engine, scratch_table(engine), FormulaEngine([SCRATCH]))


def xfail_on(request: pytest.FixtureRequest, fx: Fx, dialects: tuple[str, ...], why: str) -> None:
    """Mark this run as an expected (strict) failure on the dialects a bug affects."""
    if fx.dialect in dialects:
        request.node.add_marker(pytest.mark.xfail(strict=True, reason=why))
