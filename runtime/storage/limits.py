"""Time limits on reads, so one runaway query stops instead of holding a worker.

``read_snapshot`` is a read-only transaction (on PostgreSQL, REPEATABLE READ: every
query of it sees the same data); ``time_limited_read`` runs a block of reads in it under
a limit:

* PostgreSQL: a SAVEPOINT, ``SET LOCAL statement_timeout`` and, after the block, a
  rollback to the savepoint — which also restores the previous limit, and leaves the
  transaction usable after a cancelled statement. ``SET LOCAL`` and savepoints need a
  transaction block: on an autocommit connection (``read_connection``) the savepoint is
  an error and ``SET LOCAL`` does nothing, which is why the snapshot comes first.
* SQLite: a progress handler on the DBAPI connection interrupts a statement once it
  has run longer than the limit; removed after the block.

A statement stopped this way raises ``TimeLimitExceeded``.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.storage.engine import is_sqlite, read_connection

QUERY_CANCELED = "57014"  # PostgreSQL's SQLSTATE for statement_timeout
_SQLITE_STEPS = 1000  # virtual machine instructions between two looks at the clock


class TimeLimitExceeded(Exception):
    """A statement ran longer than its limit and was stopped."""


@contextmanager
def read_snapshot(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction to run limited reads in (SQLite: ``read_connection``)."""
    if is_sqlite(engine):
        with read_connection(engine) as conn:
            yield conn
        return
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            conn.exec_driver_sql("SET TRANSACTION READ ONLY")
            yield conn


@contextmanager
def time_limited_read(conn: Connection, milliseconds: int) -> Iterator[None]:
    """Reads that stop after ``milliseconds``. Nothing written in the block is kept on
    PostgreSQL (its savepoint is rolled back)."""
    if is_sqlite(conn):
        with _sqlite_limit(conn, milliseconds):
            yield
        return
    if not conn.in_transaction() or _autocommit(conn):
        raise RuntimeError("time_limited_read needs a transaction (see read_snapshot)")
    savepoint = conn.begin_nested()
    try:
        conn.execute(
            sa.text("SELECT set_config('statement_timeout', :limit, true)"),
            {"limit": f"{int(milliseconds)}ms"},
        )
        yield
    except sa.exc.DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == QUERY_CANCELED:
            raise TimeLimitExceeded(str(error.orig)) from None
        raise
    finally:
        if savepoint.is_active:
            savepoint.rollback()


@contextmanager
def _sqlite_limit(conn: Connection, milliseconds: int) -> Iterator[None]:
    """Each statement of the block interrupted once it has run ``milliseconds``."""
    raw: Any = conn.connection.driver_connection
    started = [time.monotonic()]
    stopped = [False]

    def start(*_: Any) -> None:
        started[0] = time.monotonic()

    def check() -> int:
        stopped[0] = time.monotonic() - started[0] > milliseconds / 1000
        return 1 if stopped[0] else 0

    sa.event.listen(conn, "before_cursor_execute", start)
    raw.set_progress_handler(check, _SQLITE_STEPS)
    try:
        yield
    except sa.exc.OperationalError as error:
        if stopped[0] and "interrupted" in str(error.orig):
            raise TimeLimitExceeded(str(error.orig)) from None
        raise
    finally:
        raw.set_progress_handler(None, 0)
        sa.event.remove(conn, "before_cursor_execute", start)


def _autocommit(conn: Connection) -> bool:
    return conn.get_execution_options().get("isolation_level") == "AUTOCOMMIT"
