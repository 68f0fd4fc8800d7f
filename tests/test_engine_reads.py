"""Read connections run each statement on its own: no transaction is left open."""

from __future__ import annotations

from runtime.storage.engine import make_engine, read_connection, write_transaction


def test_a_read_connection_holds_no_transaction(db_url: str) -> None:
    engine = make_engine(db_url)
    try:
        with read_connection(engine) as conn:
            assert conn.exec_driver_sql("SELECT 1").scalar() == 1
            raw = conn.connection.driver_connection
            if engine.dialect.name == "sqlite":
                assert raw.in_transaction is False  # type: ignore[union-attr]
            else:
                assert raw.autocommit is True  # type: ignore[union-attr]
        with write_transaction(engine) as conn:  # writes still get their transaction
            conn.exec_driver_sql("CREATE TABLE t_reads (x INTEGER)")
            if engine.dialect.name == "sqlite":
                assert conn.connection.driver_connection.in_transaction  # type: ignore[union-attr]
    finally:
        engine.dispose()
