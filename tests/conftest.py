"""Fixtures: a fresh database per test, on SQLite and (when configured) PostgreSQL.

PostgreSQL tests need ``TENON_TEST_POSTGRES_URL`` (``.ci/start-postgres`` prints one).
Without it they are skipped on a developer machine, and fail under CI, where skipping
would hide a broken half of the suite. Each PostgreSQL test runs in a schema of its own.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.clock import Clock
from runtime.metadata.package import read_package_bytes
from runtime.services.apps import AppService, InstallResult
from runtime.storage.engine import make_engine
from runtime.storage.migrate import upgrade_system_tables

PG_URL = os.environ.get("TENON_TEST_POSTGRES_URL")


def _pg_or_skip() -> str:
    if PG_URL:
        return PG_URL
    if os.environ.get("CI"):
        pytest.fail("TENON_TEST_POSTGRES_URL is not set under CI; run .ci/start-postgres")
    pytest.skip("PostgreSQL not configured (set TENON_TEST_POSTGRES_URL)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty database (a new SQLite file, or a new PostgreSQL schema)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tenon.db'}"
        return
    with pg_schema("t") as url:
        yield url


@contextmanager
def pg_schema(prefix: str) -> Iterator[str]:
    """The URL of a new, empty PostgreSQL schema, dropped afterwards."""
    base = _pg_or_skip()
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(base)
    with admin.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base else "?"
    try:
        yield f"{base}{separator}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        admin.dispose()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    upgrade_system_tables(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def clock() -> Clock:
    from datetime import datetime

    c = Clock()
    c.set(datetime(2025, 6, 10, 9, 0, 0))
    return c


@pytest.fixture
def service(engine: Engine, clock: Clock) -> AppService:
    return AppService(engine, clock)


Installer = Callable[..., InstallResult]


@pytest.fixture
def install(service: AppService) -> Installer:
    """Install a definition given as a dict: ``install(defn, dry_run=..., allow_data_loss=...)``."""

    def run(definition: dict[str, Any], **kwargs: Any) -> InstallResult:
        package = read_package_bytes(json.dumps(definition).encode(), "test.json")
        kwargs.setdefault("actor", "tester")
        return service.install(package, **kwargs)

    return run


def schema_dump(engine: Engine) -> str:
    """Everything that defines the database's schema and registry, as comparable text.

    SQLite: the ``.schema`` text of every object. PostgreSQL: tables, columns, constraints
    and indexes from the catalog of the current schema. Both add the registry rows.
    """
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(
                "SELECT type, name, tbl_name, sql FROM sqlite_master ORDER BY type, name"
            ).all()
        else:
            rows = conn.exec_driver_sql(
                """
                SELECT 'column', c.table_name, c.column_name,
                       c.data_type
                       || coalesce('(' || c.numeric_precision || ',' || c.numeric_scale || ')', '')
                       || ' ' || c.is_nullable || ' ' || coalesce(c.column_default, '')
                FROM information_schema.columns c WHERE c.table_schema = current_schema()
                UNION ALL
                SELECT 'constraint', t.relname, con.conname, pg_get_constraintdef(con.oid)
                FROM pg_constraint con JOIN pg_class t ON t.oid = con.conrelid
                WHERE t.relnamespace = current_schema()::regnamespace
                UNION ALL
                SELECT 'index', tablename, indexname, indexdef FROM pg_indexes
                WHERE schemaname = current_schema()
                ORDER BY 1, 2, 3
                """
            ).all()
        registry = []
        for table in ("tenon_apps", "tenon_app_versions", "tenon_archives"):
            registry += [
                (table, *r) for r in conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY 1").all()
            ]
    return "\n".join(map(repr, rows + registry))


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def fx(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """The formula scratch object (tests/formulas.py), once per database for the session."""
    from tests.formulas import make_fx

    if request.param == "sqlite":
        eng = make_engine(f"sqlite:///{tmp_path_factory.mktemp('fx') / 'fx.db'}")
        yield make_fx(eng)
        eng.dispose()
        return
    with pg_schema("fx") as url:
        eng = make_engine(url)
        try:
            yield make_fx(eng)
        finally:
            eng.dispose()
