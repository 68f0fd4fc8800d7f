"""Row scopes at scale: listing 25 employees of 100,000 as a manager, an HRBP and an admin.

    python bench/run.py scope [--rows 100000] [--database-url URL]

The app is the permission fixture of the tests (tests/packages/staff): own record,
direct reports (``manager.user = @me``), management subtree (``STARTS_WITH(manager_path,
…)``) and HRBP departments (``department.effective_hrbp.user = @me``) for every signed-in
user, and an unscoped hr_admin rule. Each list goes through the whole read layer (rules →
SQL → rows → JSON values). The baseline is the same list for the admin, whose rule has no
scope; the ratios are the median time of each scoped list over it. A scope that made the
database read every row would show as a ratio far above 1.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from runtime.clock import Clock
from runtime.metadata.package import read_package_bytes
from runtime.security.actor import Actor
from runtime.services.analysis import Analysis
from runtime.services.apps import AppService
from runtime.services.reading import Reader
from runtime.storage.engine import make_engine
from runtime.storage.migrate import upgrade_system_tables
from runtime.storage.tables import build_table

PACKAGE = Path(__file__).resolve().parent.parent / "tests" / "packages" / "staff" / "app.json"
DEPARTMENT_SIZE = 250
FAN_OUT = 8  # direct reports per manager
STAMP = datetime(2025, 1, 1, 9, 0)
REPEAT = 101


def _seed(engine: sa.Engine, app: Any, rows: int) -> dict[str, int]:
    """Employees 1..rows in departments of 250; employee i reports to (i - 2) // 8 + 1."""
    dept = build_table(sa.MetaData(), app, app.object("department"))
    emp = build_table(sa.MetaData(), app, app.object("employee"))
    users = sa.table(
        "tenon_users",
        sa.column("id"),
        sa.column("username"),
        sa.column("is_active"),
        sa.column("created_at"),
    )
    departments = max(1, rows // DEPARTMENT_SIZE)
    stamp = {"created_at": STAMP, "updated_at": STAMP}
    manager_id = rows // FAN_OUT // 2  # low in the tree: about 8 reports and no deeper
    hrbp_id = rows  # a leaf: no reports of their own
    with engine.begin() as conn:
        ids = {}
        for name in ("manager", "hrbp", "admin"):
            insert = sa.insert(users).values(username=name, is_active=True, created_at=STAMP)
            ids[name] = int(conn.execute(insert.returning(users.c.id)).scalar_one())
        conn.execute(
            sa.insert(dept),
            [
                {
                    "id": d,
                    "code": f"D{d}",
                    "name": f"Department {d}",
                    "parent": None,
                    "path": f"/D{d}/",
                    "budget": Decimal("100000.00"),
                    **stamp,
                }
                for d in range(1, departments + 1)
            ],
        )
        paths: dict[int, str] = {}
        batch = []
        for i in range(1, rows + 1):
            manager = (i - 2) // FAN_OUT + 1 if i > 1 else None
            paths[i] = "/" if manager is None else f"{paths[manager]}{manager}/"
            user = ids["manager"] if i == manager_id else ids["hrbp"] if i == hrbp_id else None
            batch.append(
                {
                    "id": i,
                    "employee_no": f"E{i:06d}",
                    "name": f"Employee {i}",
                    "user": user,
                    "department": (i - 1) % departments + 1,
                    "manager": manager,
                    "manager_path": paths[i],
                    "job_title": "Engineer",
                    "hire_date": date(2020, 1, 1),
                    "birth_date": date(1990, 1, 1),
                    "base_salary": Decimal("30000.00"),
                    **stamp,
                }
            )
            if len(batch) == 5000:
                conn.execute(sa.insert(emp), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(emp), batch)
        # the HRBP covers one department
        conn.execute(
            sa.update(dept).where(dept.c.id == 8).values(hrbp=hrbp_id, effective_hrbp=hrbp_id)
        )
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql("ANALYZE")
        else:
            conn.exec_driver_sql("ANALYZE")
    return ids


def _medians(calls: dict[str, Any]) -> dict[str, float]:
    """The median time of each call, the calls interleaved so that a noisy moment of the
    machine weighs on all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in calls}
    for _ in range(REPEAT):
        for name, fn in calls.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def run(rows: int, database_url: str | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        url = database_url or f"sqlite:///{Path(tmp) / 'scope.db'}"
        engine = make_engine(url)
        upgrade_system_tables(engine)
        clock = Clock()
        clock.set(datetime(2025, 6, 10, 9, 0))
        service = AppService(engine, clock)
        service.install(read_package_bytes(PACKAGE.read_bytes(), "app.json"), actor="bench")
        app = service.get("staff")
        ids = _seed(engine, app, rows)
        reader = Reader({"staff": app}, clock)
        actors = {
            "manager": Actor(ids["manager"], "manager"),
            "hrbp": Actor(ids["hrbp"], "hrbp"),
            "admin": Actor(ids["admin"], "admin", frozenset({"staff.hr_admin"})),
        }
        result: dict[str, Any] = {"dialect": engine.dialect.name, "rows": rows}
        with engine.connect() as conn:
            for name, actor in actors.items():
                seen = Analysis(reader).aggregate(conn, actor, "staff.employee")[0]["count"]
                page = reader.list_records(conn, actor, "staff.employee", limit=25)
                result[f"{name}_sees"] = seen
                result[f"{name}_listed"] = len(page.data)
            calls = {
                name: lambda a=actor: reader.list_records(conn, a, "staff.employee", limit=25)
                for name, actor in actors.items()
            }
            for _ in range(2):  # warm up caches, then measure
                timings = _medians(calls)
        engine.dispose()
    for name, seconds in timings.items():
        result[f"{name}_ms"] = round(seconds * 1000, 3)
    result["manager_ratio"] = round(timings["manager"] / timings["admin"], 3)
    result["hrbp_ratio"] = round(timings["hrbp"] / timings["admin"], 3)
    return result


if __name__ == "__main__":
    out = run(100_000, None)
    print(json.dumps(out))
