"""The formula engine against hand-written Python and SQL, on a 100k-row table.

    python bench/run.py formula [--rows 100000] [--database-url URL]

Formula: IF(ISBLANK(rating), 0, ROUND(base_salary * months / 12 * multiplier * proration, 2))

* bulk: the engine recomputing the stored field for every row (one UPDATE inside the
  database) ÷ native Python reading the rows, computing with a lambda and writing back;
* row: the engine evaluating one record at a time, parsed once ÷ the lambda per row;
* filter: a formula filter checked, compiled and run with a sort and a 25-row page ÷ the
  same query written by hand in SQLAlchemy.

Every value the engine computes is compared with the native result; the last line printed
is one JSON object with the three ratios.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.clock import Clock
from runtime.formula.engine import FormulaEngine
from runtime.formula.evaluator import Compiled, Env
from runtime.formula.sqlcompile import SqlCompiler, SqlEnv
from runtime.metadata.model import AppDef
from runtime.metadata.package import read_package_bytes
from runtime.services.apps import AppService
from runtime.services.computed import Computed
from runtime.storage.engine import make_engine
from runtime.storage.migrate import upgrade_system_tables

FORMULA = "IF(ISBLANK(rating), 0, ROUND(base_salary * months / 12 * multiplier * proration, 2))"
FILTER = 'AND(rating = "A", base_salary > 20000)'
APP: dict[str, Any] = {
    "name": "fbench",
    "version": "1.0.0",
    "title": "Formula bench",
    "objects": [
        {
            "name": "line",
            "fields": [
                {"name": "rating", "type": "select", "options": ["S", "A", "B", "C", "D"]},
                {"name": "base_salary", "type": "currency"},
                {"name": "months", "type": "decimal", "precision": 4, "scale": 1},
                {"name": "multiplier", "type": "decimal", "precision": 4, "scale": 3},
                {"name": "proration", "type": "decimal", "precision": 10, "scale": 6},
                {"name": "bonus", "type": "formula", "returns": "currency", "formula": FORMULA},
            ],
        }
    ],
}
INPUTS = ("rating", "base_salary", "months", "multiplier", "proration")


def native(row: Any) -> Decimal:
    """What a developer would write by hand: exact decimals, Excel's ROUND."""
    if row.rating is None:
        return Decimal(0)
    with localcontext() as ctx:
        ctx.prec = 80
        value = row.base_salary * row.months / 12 * row.multiplier * row.proration
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def seed(engine: sa.Engine, table: sa.Table, rows: int) -> None:
    rnd = random.Random(7)
    stamp = datetime(2025, 1, 1)
    batch = []
    for i in range(rows):
        batch.append(
            {
                "version": 1,
                "created_at": stamp,
                "updated_at": stamp,
                "rating": None if rnd.random() < 0.1 else rnd.choice("SABCD"),
                "base_salary": Decimal(rnd.randrange(600_000, 13_000_000)) / 100,
                "months": Decimal(rnd.choice([2, 3, 4])),
                "multiplier": Decimal(rnd.choice(["2.0", "1.5", "1.0", "0.5", "0"])),
                "proration": Decimal(rnd.randrange(100_000, 1_000_001)) / 1_000_000,
            }
        )
        if len(batch) == 10_000 or i == rows - 1:
            with engine.begin() as conn:
                conn.execute(sa.insert(table), batch)
            batch = []


def timed(fn: Callable[[], Any], repeat: int = 1) -> tuple[float, Any]:
    best, result = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


@contextmanager
def database(url: str | None) -> Iterator[sa.Engine]:
    """A fresh SQLite file, or a schema of its own in the PostgreSQL database ``url``."""
    if url is None or url.startswith("sqlite"):
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(url or f"sqlite:///{Path(tmp) / 'bench.db'}")
            yield engine
            engine.dispose()
        return
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(url)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in url else "?"
    engine = make_engine(f"{url}{separator}options=-csearch_path%3D{schema}")
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


def run(rows: int, url: str | None) -> dict[str, Any]:
    with database(url) as engine:
        upgrade_system_tables(engine)
        clock = Clock()
        service = AppService(engine, clock)
        service.install(read_package_bytes(json.dumps(APP).encode(), "app.json"), actor="bench")
        app = AppDef.from_dict(APP)
        computed = Computed({"fbench": app}, clock)
        table = computed.table("fbench.line")
        seed(engine, table, rows)
        return measure(engine, table, computed, rows)


def measure(engine: sa.Engine, table: sa.Table, computed: Computed, rows: int) -> dict[str, Any]:
    def engine_bulk() -> None:
        with engine.begin() as conn:
            computed.recompute_all(conn, "fbench.line")

    def native_bulk() -> dict[int, Decimal]:
        cols = [table.c.id, *[table.c[n] for n in INPUTS]]
        with engine.begin() as conn:
            data = conn.execute(sa.select(*cols)).all()
            out = {r.id: native(r) for r in data}
            stmt = sa.update(table).where(table.c.id == sa.bindparam("rid"))
            conn.execute(
                stmt.values(bonus=sa.bindparam("value")),
                [{"rid": k, "value": v} for k, v in out.items()],
            )
        return out

    bulk_engine, _ = timed(engine_bulk)
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(table.c.id, table.c.bonus)).all())
    bulk_native, expected = timed(native_bulk)
    bulk_equal = all(stored[k] == v for k, v in expected.items()) and len(stored) == rows

    with engine.connect() as conn:
        records = [dict(r) for r in conn.execute(sa.select(table)).mappings()]
    formulas = FormulaEngine([APP])
    tree = formulas.check(FORMULA, "fbench.line", stored=True)
    now = datetime(2025, 6, 1)
    evaluate = Compiled(tree).evaluator(Env(now.date(), now))
    row_engine, values = timed(lambda: [evaluate(r) for r in records], repeat=3)

    class Row:
        __slots__ = INPUTS

    natives = []
    for r in records:
        obj = Row()
        for n in INPUTS:
            setattr(obj, n, r[n])
        natives.append(obj)
    row_native, native_values = timed(lambda: [native(r) for r in natives], repeat=3)
    row_equal = all(v == n for v, n in zip(values, native_values, strict=True))

    def engine_page() -> list[Any]:
        condition = formulas.check(FILTER, "fbench.line", expect="boolean", inline=False)
        compiler = SqlCompiler(engine.dialect.name, computed.table, SqlEnv(now.date(), now))
        query = (
            sa.select(table)
            .where(compiler.condition(condition, table))
            .order_by(table.c.base_salary.desc(), table.c.id)
            .limit(25)
        )
        with engine.connect() as conn:
            return list(conn.execute(query).all())

    def native_page() -> list[Any]:
        query = (
            sa.select(table)
            .where(table.c.rating == "A", table.c.base_salary > 20000)
            .order_by(table.c.base_salary.desc(), table.c.id)
            .limit(25)
        )
        with engine.connect() as conn:
            return list(conn.execute(query).all())

    engine_page()
    native_page()
    filter_engine, page = timed(lambda: [engine_page() for _ in range(20)], repeat=3)
    filter_native, native_rows = timed(lambda: [native_page() for _ in range(20)], repeat=3)
    filter_equal = page == native_rows

    return {
        "database": engine.dialect.name,
        "rows": rows,
        "bulk_engine_s": round(bulk_engine, 3),
        "bulk_native_s": round(bulk_native, 3),
        "row_engine_s": round(row_engine, 3),
        "row_native_s": round(row_native, 3),
        "filter_engine_ms": round(filter_engine / 20 * 1000, 2),
        "filter_native_ms": round(filter_native / 20 * 1000, 2),
        "all_equal": bulk_equal and row_equal and filter_equal,
        "bulk_ratio": round(bulk_engine / bulk_native, 3),
        "row_ratio": round(row_engine / row_native, 2),
        "filter_ratio": round(filter_engine / filter_native, 3),
    }
