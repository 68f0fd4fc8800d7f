"""A scratch object for formula tests, and helpers that evaluate a formula in Python and
inside the database and check both agree.

    def test_x(fx):                       # fx runs once on SQLite and once on PostgreSQL
        assert fx.both("ROUND(n, 1)", n=Decimal("2.25")) == Decimal("2.3")
        assert fx.py("LEN(s)", s="abc") == 3          # Python only
        fx.error("LEN(n)")                            # a FormulaError, returned

Field names available on ``fx.row``: n, m (decimal 18,4), i (integer), money (currency),
pct (percent), s, s2 (text), d, d2 (date), dt (datetime), b (boolean), sel (select S..D),
tags (multi_select x/y/z), parent (reference to row; ``children`` lists child rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.formula.engine import FormulaEngine
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled, Env
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

    def py(self, text: str, **values: Any) -> Any:
        """``text`` evaluated in Python for a record with ``values`` (others blank)."""
        record = {c.name: None for c in self.table.columns} | values
        return Compiled(self.check(text)).evaluate(record, self.env())

    def sql(self, text: str, **values: Any) -> Any:
        """``text`` evaluated inside the database for a stored record with ``values``."""
        tree = self.check(text)
        compiler = SqlCompiler(
            self.dialect, lambda _q: self.table, SqlEnv(self.today, self.now, self.me)
        )
        with self.engine.connect() as conn:
            trans = conn.begin()
            try:
                row = {"version": 1, "created_at": STAMP, "updated_at": STAMP} | values
                new_id = conn.execute(sa.insert(self.table).values(row)).inserted_primary_key[0]
                query = sa.select(compiler.value(tree, self.table)).where(self.table.c.id == new_id)
                return compiler.python_value(conn.execute(query).scalar(), tree.type)
            finally:
                trans.rollback()

    def both(self, text: str, **values: Any) -> Any:
        """Evaluate in Python and in the database; assert they agree; return the value."""
        expected = self.py(text, **values)
        got = self.sql(text, **values)
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
