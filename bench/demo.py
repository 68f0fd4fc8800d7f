"""``tenon demo`` end to end: the §11.1 dataset (2,000 employees, users, a rated cycle,
probation decisions, a bonus plan opened) through the record service.

    python bench/run.py demo [--database-url URL]

The baseline is the floor of the same stack: the 2,000 employee rows the demo made,
inserted again with one SQLAlchemy Core executemany into a plain copy of their table (no
validation, formulas, rules, automations or audit). Printed: each part's seconds, the
whole run, the baseline, and ``ratio`` = whole run ÷ baseline (how many times the floor
of inserting just the employees the full, validated, workflow-driven dataset costs).
``--rows`` is ignored: the dataset's size is its spec's.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.demo.run import generate
from runtime.storage.engine import make_engine
from runtime.storage.migrate import upgrade_system_tables


def _baseline(engine: sa.Engine, table: sa.Table) -> float:
    """Seconds to insert the employee rows again into a plain copy of their table."""
    copy = table.to_metadata(sa.MetaData(), name="bench_employee_copy")
    for index in list(copy.indexes):
        copy.indexes.discard(index)
    copy.constraints = {c for c in copy.constraints if isinstance(c, sa.PrimaryKeyConstraint)}
    with engine.begin() as conn:
        rows = [dict(r) for r in conn.execute(sa.select(table)).mappings()]
        copy.create(conn)
    start = time.perf_counter()
    with engine.begin() as conn:
        conn.execute(sa.insert(copy), rows)
    return time.perf_counter() - start


def run(rows: int, database_url: str | None) -> dict[str, Any]:
    del rows
    with tempfile.TemporaryDirectory() as folder:
        url = database_url or f"sqlite:///{Path(folder) / 'demo.db'}"
        engine = make_engine(url)
        upgrade_system_tables(engine)
        try:
            demo = generate(engine)
            table = demo.table("core_hr.employee")
            floor = _baseline(engine, table)
        finally:
            engine.dispose()
    result: dict[str, Any] = {what: round(seconds, 2) for what, seconds in demo.timings}
    total = dict(demo.timings)["total"]
    result["baseline_insert_employees_s"] = round(floor, 3)
    result["ratio"] = round(total / floor, 1)
    return result
