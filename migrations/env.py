"""Alembic environment for Tenon's system tables.

Used three ways: ``tenon serve`` (a connection is passed in), the ``alembic`` command
(``alembic upgrade head`` / ``alembic check`` with ``TENON_DATABASE_URL``), and tests.
App tables (prefix ``app_``) belong to app definitions, not to these migrations.
"""

from __future__ import annotations

import os

from alembic import context
from sqlalchemy.engine import Connection

from runtime.storage import audit  # noqa: F401  (registers tenon_audit)
from runtime.storage.engine import make_engine
from runtime.storage.system import metadata

config = context.config


def _include(
    obj: object, name: str | None, type_: str, reflected: bool, compare_to: object
) -> bool:
    if type_ == "table" and name is not None:
        return name.startswith("tenon_")
    return True


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=_include,
        compare_type=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def main() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = os.environ.get("TENON_DATABASE_URL") or config.get_main_option("sqlalchemy.url")
    if not url:
        url = "sqlite:///tenon.db"
    engine = make_engine(url)
    with engine.begin() as conn:
        _run(conn)


main()
