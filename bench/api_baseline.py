"""The floor of the stack for ``bench/api.py``: a hand-written Starlette + SQLAlchemy Core
app serving the same 8-column table as the benchmark's Tenon app.

    POST /items        one record (201 and the row, INSERT … RETURNING)
    POST /items/bulk   {"records": [...]}: one executemany INSERT … RETURNING id
    GET  /items        ?min_amount=&limit=: WHERE amount >= ? ORDER BY amount DESC, id
                       LIMIT ?, plus the count of the matching rows

No authentication, no permissions, no audit, and only the conversions the columns need
(ISO dates, decimal text). SQL runs in Starlette's thread pool, never on the event loop,
on the same SQLite settings as Tenon (WAL, synchronous=NORMAL, a busy timeout). The
database comes from ``BENCH_BASELINE_URL``; ``python -m uvicorn api_baseline:app``.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

metadata = sa.MetaData()
items = sa.Table(
    "bench_item",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.Text(), nullable=False),
    sa.Column("code", sa.Text(), unique=True),
    sa.Column("amount", sa.BigInteger(), index=True),
    sa.Column("rate", sa.Numeric(10, 2, asdecimal=False)),
    sa.Column("start_date", sa.Date()),
    sa.Column("status", sa.Text()),
    sa.Column("remote", sa.Boolean()),
    sa.Column("note", sa.Text()),
    sa.Column("created_at", sa.DateTime(), nullable=False),
    sa.Column("updated_at", sa.DateTime(), nullable=False),
)
FIELDS = ("name", "code", "amount", "rate", "start_date", "status", "remote", "note")


def make_engine(url: str) -> sa.Engine:
    engine = sa.create_engine(url, connect_args={"timeout": 15})

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for pragma in ("journal_mode=WAL", "busy_timeout=15000", "synchronous=NORMAL"):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    return engine


def _values(data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    row = {name: data.get(name) for name in FIELDS}
    if row["start_date"] is not None:
        row["start_date"] = date.fromisoformat(row["start_date"])
    if row["rate"] is not None:
        row["rate"] = float(Decimal(str(row["rate"])))
    return {**row, "created_at": now, "updated_at": now}


def _json(row: Any) -> dict[str, Any]:
    out = dict(row)
    for key in ("start_date", "created_at", "updated_at"):
        if out[key] is not None:
            out[key] = out[key].isoformat()
    if out["rate"] is not None:
        out["rate"] = f"{out['rate']:.2f}"
    return out


def _engine(request: Request) -> sa.Engine:
    engine: sa.Engine = request.app.state.engine
    return engine


async def create(request: Request) -> Response:
    data = await request.json()
    engine = _engine(request)

    def work() -> dict[str, Any]:
        insert = sa.insert(items).values(_values(data, datetime.now())).returning(*items.c)
        with engine.begin() as conn:
            return _json(conn.execute(insert).mappings().one())

    return JSONResponse(await run_in_threadpool(work), status_code=201)


async def bulk_create(request: Request) -> Response:
    rows = (await request.json())["records"]
    engine = _engine(request)

    def work() -> list[dict[str, Any]]:
        now = datetime.now()
        insert = sa.insert(items).returning(items.c.id, sort_by_parameter_order=True)
        with engine.begin() as conn:
            ids = conn.execute(insert, [_values(row, now) for row in rows]).scalars()
            return [{"id": i} for i in ids]

    return JSONResponse({"data": await run_in_threadpool(work)}, status_code=201)


def list_items(request: Request) -> Response:
    """A sync endpoint: Starlette runs it in the thread pool."""
    low = int(request.query_params.get("min_amount", "0"))
    limit = min(int(request.query_params.get("limit", "25")), 500)
    where = items.c.amount >= low
    page = sa.select(items).where(where).order_by(items.c.amount.desc(), items.c.id).limit(limit)
    count = sa.select(sa.func.count()).select_from(items).where(where)
    with _engine(request).connect() as conn:
        data = [_json(row) for row in conn.execute(page).mappings()]
        total = conn.execute(count).scalar_one()
    return JSONResponse({"data": data, "total": total})


async def health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


@asynccontextmanager
async def lifespan(app: Starlette) -> AsyncIterator[None]:
    engine = make_engine(os.environ.get("BENCH_BASELINE_URL", "sqlite:///baseline.db"))
    metadata.create_all(engine)
    app.state.engine = engine
    try:
        yield
    finally:
        engine.dispose()


app = Starlette(
    routes=[
        Route("/health", health),
        Route("/items", create, methods=["POST"]),
        Route("/items/bulk", bulk_create, methods=["POST"]),
        Route("/items", list_items, methods=["GET"]),
    ],
    lifespan=lifespan,
)
