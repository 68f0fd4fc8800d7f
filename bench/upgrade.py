"""Upgrade cost on live data: Tenon's checked upgrade vs a hand-written migration.

    python bench/upgrade.py [--rows 50000] [--database-url URL]

Both sides start from the same table of N rows and make the same change: rename a text
column, convert another from text to integer, add a column. The baseline is what a
developer would write by hand on the same stack (SQLAlchemy + Alembic batch operations,
CAST in SQL, no checks). Tenon also checks every value before converting, converts in
Python so both databases agree, and records the version. Prints seconds and the ratio.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import datetime
from pathlib import Path

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.operations import Operations

from runtime.metadata.model import AppDef
from runtime.metadata.package import read_package_bytes
from runtime.services.apps import AppService
from runtime.storage.engine import ddl_transaction, make_engine
from runtime.storage.migrate import upgrade_system_tables
from runtime.storage.tables import build_table

V1 = {
    "name": "bench",
    "version": "1.0.0",
    "title": "Bench",
    "objects": [
        {
            "name": "item",
            "fields": [
                {"name": "code", "type": "text", "unique": True},
                {"name": "label", "type": "text"},
                {"name": "qty", "type": "text"},
            ],
        }
    ],
}
V2 = json.loads(json.dumps(V1))
V2["version"] = "2.0.0"
V2["objects"][0]["fields"][1] = {"name": "title", "type": "text", "renamed_from": "label"}
V2["objects"][0]["fields"][2] = {"name": "qty", "type": "integer"}
V2["objects"][0]["fields"].append({"name": "note", "type": "long_text"})


def seed(engine: sa.Engine, table: sa.Table, rows: int) -> None:
    stamp = datetime(2025, 1, 1)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(table),
            [
                {
                    "code": f"C{i}",
                    "label": f"item {i}",
                    "qty": str(i % 997),
                    "created_at": stamp,
                    "updated_at": stamp,
                }
                for i in range(rows)
            ],
        )


def tenon(url: str, rows: int) -> float:
    engine = make_engine(url)
    upgrade_system_tables(engine)
    service = AppService(engine)
    service.install(read_package_bytes(json.dumps(V1).encode()), actor="bench")
    app = AppDef.from_dict(V1)
    seed(engine, build_table(sa.MetaData(), app, app.object("item")), rows)
    start = time.perf_counter()
    service.install(read_package_bytes(json.dumps(V2).encode()), actor="bench")
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def baseline(url: str, rows: int) -> float:
    engine = make_engine(url)
    upgrade_system_tables(engine)  # the users table that audit columns point at
    app = AppDef.from_dict(V1)
    table = build_table(sa.MetaData(), app, app.object("item"))
    table.metadata.create_all(engine, tables=[table])
    seed(engine, table, rows)
    start = time.perf_counter()
    with ddl_transaction(engine) as conn:
        ops = Operations(MigrationContext.configure(conn))
        with ops.batch_alter_table(table.name) as batch:
            batch.alter_column("label", new_column_name="title")
            batch.alter_column(
                "qty",
                type_=sa.BigInteger(),
                existing_type=sa.Text(),
                postgresql_using="CAST(qty AS BIGINT)",
            )
            batch.add_column(sa.Column("note", sa.Text()))
    elapsed = time.perf_counter() - start
    engine.dispose()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--database-url", help="PostgreSQL URL (each side gets a schema)")
    args = parser.parse_args()
    for name in ("sqlite", "postgresql") if args.database_url else ("sqlite",):
        times = {}
        for side, run in (("baseline", baseline), ("tenon", tenon)):
            if name == "sqlite":
                url = f"sqlite:///{Path(tempfile.mkdtemp()) / 'bench.db'}"
            else:
                schema = f"bench_{side}_{int(time.time())}"
                with sa.create_engine(args.database_url).begin() as conn:
                    conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
                sep = "&" if "?" in args.database_url else "?"
                url = f"{args.database_url}{sep}options=-csearch_path%3D{schema}"
            times[side] = run(url, args.rows)
        ratio = times["tenon"] / times["baseline"]
        print(
            f"{name:<10} rows={args.rows:<7} baseline {times['baseline']:.3f}s  "
            f"tenon {times['tenon']:.3f}s  ratio {ratio:.2f}x"
        )


if __name__ == "__main__":
    main()
