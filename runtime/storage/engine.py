"""Engines and transactions that behave the same on SQLite and PostgreSQL.

SQLite: WAL, foreign keys on, a busy timeout, and transactions that really are
transactions — pysqlite's own BEGIN handling is switched off and we emit BEGIN ourselves,
so DDL rolls back too (RELIABILITY.md, pitfall 4). Writes use ``BEGIN IMMEDIATE`` so a
read-then-write transaction never fails with "database is locked" (pitfall 3).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from runtime.storage import sqlite_functions

_BEGIN_OPTION = "tenon_sqlite_begin"
_NO_BEGIN = "none"
# one lock id for every schema change, so concurrent installs on PostgreSQL queue up
# instead of racing (SQLite's BEGIN IMMEDIATE already serializes them)
SCHEMA_LOCK_ID = 0x7E404
BUSY_TIMEOUT_MS = 15000


def is_sqlite(bind: Engine | Connection) -> bool:
    return bind.dialect.name == "sqlite"


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs)
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(url, pool_pre_ping=True, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "foreign_keys=ON",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            "synchronous=NORMAL",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()
        sqlite_functions.register(dbapi_connection)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "")
        if mode == _NO_BEGIN:
            return  # a read: each statement is its own transaction
        conn.exec_driver_sql(f"BEGIN {mode}".strip())


@contextmanager
def read_connection(engine: Engine) -> Iterator[Connection]:
    """A connection for reads that need no snapshot across statements (a sign-in lookup,
    one page): no BEGIN/ROLLBACK around them, which on a busy server is a good share of
    a small read's cost. Never write through it."""
    with engine.connect() as conn:
        if is_sqlite(conn):
            yield conn.execution_options(**{_BEGIN_OPTION: _NO_BEGIN})
        else:
            yield conn.execution_options(isolation_level="AUTOCOMMIT")


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """One write transaction (``BEGIN IMMEDIATE`` on SQLite); commits or rolls back whole."""
    with engine.connect() as conn:
        conn = conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        with conn.begin():
            yield conn


@contextmanager
def write_transaction_nowait(engine: Engine) -> Iterator[Connection]:
    """A write transaction that does not wait for SQLite's write lock: when another
    transaction holds it, ``sqlalchemy.exc.OperationalError`` at once (for work that may
    be skipped, like a progress note while a long import writes)."""
    with engine.connect() as conn:
        raw: Any = conn.connection.driver_connection if is_sqlite(conn) else None
        if raw is not None:
            raw.execute("PRAGMA busy_timeout=0")
        try:
            conn = conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                yield conn
        finally:
            if raw is not None:
                raw.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


@contextmanager
def ddl_transaction(engine: Engine) -> Iterator[Connection]:
    """A write transaction for schema changes.

    On SQLite, foreign-key enforcement cannot change inside a transaction, and table
    rebuilds need it off (SQLite's documented ALTER procedure): it is switched off for
    this connection, the result is checked with ``foreign_key_check`` before commit, and
    switched back on afterwards.
    """
    with engine.connect() as conn:
        sqlite = is_sqlite(conn)
        if sqlite:
            conn.connection.driver_connection.execute("PRAGMA foreign_keys=OFF")  # type: ignore[union-attr]
        try:
            conn = conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
            with conn.begin():
                if not sqlite:
                    conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({SCHEMA_LOCK_ID})")
                yield conn
                if sqlite:
                    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
                    if broken:
                        raise sa.exc.IntegrityError(
                            "foreign_key_check", None, Exception(f"{len(broken)} broken links")
                        )
        finally:
            if sqlite:
                conn.connection.driver_connection.execute("PRAGMA foreign_keys=ON")  # type: ignore[union-attr]
