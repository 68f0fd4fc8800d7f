"""Tenon's own tables: Alembic migrations apply on both databases and match the models."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Engine

from runtime.storage.migrate import alembic_config, upgrade_system_tables
from runtime.storage.system import metadata


def test_migrations_create_every_system_table_and_match_models(engine: Engine) -> None:
    tables = set(sa.inspect(engine).get_table_names())
    assert {"tenon_users", "tenon_apps", "tenon_app_versions", "tenon_archives"} <= tables
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = [
            d
            for d in compare_metadata(context, metadata)
            if not (d[0] == "remove_table" and not d[1].name.startswith("tenon_"))
        ]
    assert diff == []


def test_upgrading_twice_is_harmless(engine: Engine) -> None:
    upgrade_system_tables(engine)
    with engine.connect() as conn:
        version = conn.exec_driver_sql("SELECT version_num FROM alembic_version").scalar()
    head = ScriptDirectory.from_config(alembic_config(str(engine.url))).get_current_head()
    assert version == head
