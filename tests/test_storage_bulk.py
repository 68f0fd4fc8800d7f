"""``insert_many`` writes exactly what SQLAlchemy's own executemany writes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.storage.bulk import insert_many
from runtime.storage.engine import write_transaction
from runtime.storage.types import ExactDecimal

NOW = datetime(2025, 6, 10, 9, 30, 15, 123456)


def _tables(engine: Engine) -> tuple[sa.Table, sa.Table]:
    md = sa.MetaData()
    made = []
    for name in ("bulk_fast", "bulk_plain"):
        made.append(
            sa.Table(
                name,
                md,
                sa.Column("id", sa.Integer, primary_key=True),
                sa.Column("name", sa.String(40)),
                sa.Column("amount", ExactDecimal(14, 2)),
                sa.Column("day", sa.Date),
                sa.Column("at", sa.DateTime),
                sa.Column("doc", sa.JSON),
                sa.Column("flag", sa.Boolean),
            )
        )
    md.create_all(engine)
    return made[0], made[1]


def _rows(count: int) -> list[dict[str, Any]]:
    return [
        {
            "id": i + 1,
            "name": f"row {i}" if i % 3 else None,
            "amount": Decimal("272000.50") + i,
            "day": date(2025, 1, 1 + i % 28),
            "at": NOW,  # one object in every row, as a write's timestamp is
            "doc": None if i % 2 else {"k": [i, "é"]},
            "flag": bool(i % 2),
        }
        for i in range(count)
    ]


def _read(engine: Engine, table: sa.Table) -> list[Any]:
    with engine.connect() as conn:
        raw = conn.execute(
            sa.select(*[sa.cast(c, sa.Text) for c in table.c]).order_by(table.c.id)
        ).all()
        typed = conn.execute(sa.select(table).order_by(table.c.id)).all()
    return [*raw, *typed]


def test_the_same_rows_as_sqlalchemys_executemany(engine: Engine) -> None:
    fast, plain = _tables(engine)
    try:
        rows = _rows(50)
        with write_transaction(engine) as conn:
            insert_many(conn, fast, rows)
            conn.execute(sa.insert(plain), rows)
        assert _read(engine, fast) == _read(engine, plain)
        assert len(_read(engine, fast)) == 100
    finally:
        with write_transaction(engine) as conn:
            fast.drop(conn)
            plain.drop(conn)


def test_rows_of_different_shapes_are_refused_as_sqlalchemy_refuses_them(
    engine: Engine,
) -> None:
    fast, plain = _tables(engine)
    try:
        rows = _rows(4)
        del rows[2]["doc"]  # one row without a column
        for table in (fast, plain):
            with pytest.raises(sa.exc.StatementError), write_transaction(engine) as conn:
                insert_many(conn, table, rows)
        assert _read(engine, fast) == []
        with write_transaction(engine) as conn:  # nothing to insert is nothing done
            insert_many(conn, fast, [])
    finally:
        with write_transaction(engine) as conn:
            fast.drop(conn)
            plain.drop(conn)
