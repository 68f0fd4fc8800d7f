"""Tenon's JSON API against the floor of its own stack, over HTTP.

    python bench/run.py api [--rows 100000]

Each server is ``python -m uvicorn`` with one worker and no access log, on a free
localhost port, with its own SQLite file (WAL) in a temporary folder:

* Tenon (``runtime.web.app.create_app``) with the app ``APP`` below installed: one object
  of 8 fields and one role whose rule grants read and create on every row. The client
  signs in with a bearer token, so every request is authenticated, and every write is
  validated, permission-checked, recomputed and audited.
* the baseline (``bench/api_baseline.py``): a hand-written Starlette + SQLAlchemy Core
  app serving the same 8 columns: INSERT … RETURNING, a filtered page plus its count; no
  auth, no audit. Both run their SQL in Starlette's thread pool.

Both tables get the same N rows (default 100,000), written straight into the database;
copies of both, topped up to 10 × N rows ("1M" at the default size), are served too.
One httpx client drives the servers in 7 rounds, Tenon and the baseline taking short
turns within each (who goes first alternating), so a noisy moment weighs on both alike:

* list: pages per second of ``amount >= 90000`` (a tenth of the rows, indexed), sorted
  by amount descending, 25 rows, with 8 concurrent clients, at N rows; and the median
  latency of that page asked one at a time, at N and at 10 × N rows. Tenon and the
  baseline must return the same page;
* create: single-record creates per second, one request at a time, at N rows;
* bulk: rows per second in bulk creates of 1,000 records, at N rows.

The last line printed is one JSON object with ``create_ratio``, ``bulk_ratio`` and
``list_ratio`` (the median over the rounds of Tenon's rate ÷ the baseline's; targets
≥ 0.5, ≥ 0.5 and ≥ 0.8) and ``growth_1m`` (Tenon's median page latency at 10 × N rows ÷
at N; target ≤ 1.5). The rates printed before it are the medians over the rounds, and
``*_by_round`` the ratio in each round, to show the noise.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import sqlalchemy as sa

from runtime.clock import Clock
from runtime.config import Settings
from runtime.metadata.package import read_package_bytes
from runtime.security.users import UserService
from runtime.services.apps import AppService
from runtime.storage.engine import make_engine
from runtime.storage.migrate import upgrade_system_tables
from runtime.storage.tables import build_table

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
APP: dict[str, Any] = {
    "name": "apibench",
    "version": "1.0.0",
    "title": "API bench",
    "roles": [{"name": "writer", "title": "Writer"}],
    "objects": [
        {
            "name": "item",
            "fields": [
                {"name": "name", "type": "text", "required": True},
                {"name": "code", "type": "text", "unique": True},
                {"name": "amount", "type": "integer", "index": True},
                {"name": "rate", "type": "decimal", "precision": 10, "scale": 2},
                {"name": "start_date", "type": "date"},
                {"name": "status", "type": "select", "options": ["active", "leave", "left"]},
                {"name": "remote", "type": "boolean"},
                {"name": "note", "type": "text"},
            ],
        }
    ],
    "permissions": [{"role": "writer", "object": "item", "actions": ["read", "create"]}],
}
USER, PASSWORD = "bench", "bench-password-1"
RECORDS = "/api/v1/apps/apibench/objects/item/records"
AMOUNTS = 100_000  # amounts are 0 … 99,999
LOW = 90_000  # the list's filter: amount >= LOW, a tenth of the rows
STAMP = datetime(2025, 1, 1, 9, 0)
DAY0 = date(2015, 1, 1)
STATUSES = ("active", "leave", "left")
ROUNDS = 7
# per side and round: turns of ...
CREATES = (20, 10)  # (turns, single creates in each)
BULKS = (8, 1)  # (turns, bulk creates of BULK_SIZE in each): short turns, many of them
LISTS = (3, 1.0)  # (turns, seconds of asking with CLIENTS clients in each)
LATENCIES = 40  # sequential pages per side and round, in turns of one
BULK_SIZE = 1000
CLIENTS = 8
GROWTH = 10


# -- data ---------------------------------------------------------------------------------


def _row(i: int) -> dict[str, Any]:
    """Seeded row ``i``, the same in both databases."""
    return {
        "id": i,
        "name": f"Person {i}",
        "code": f"S{i:07d}",
        "amount": i * 2654435761 % AMOUNTS,  # spread over 0 … 99,999
        "rate": Decimal(i % 10_000).scaleb(-2),
        "start_date": DAY0 + timedelta(days=i % 3650),
        "status": STATUSES[i % 3],
        "remote": i % 3 == 0,
        "note": "seeded",
    }


def _record(prefix: str, i: int) -> dict[str, Any]:
    """A record sent over HTTP; its amount is below LOW, so lists do not change."""
    return {
        "name": f"Sent {prefix}{i}",
        "code": f"{prefix}{i:07d}",
        "amount": i % LOW,
        "rate": "12.50",
        "start_date": "2024-03-01",
        "status": "active",
        "remote": True,
        "note": "sent over HTTP",
    }


def _seed(url: str, table: sa.Table, target: int, system: dict[str, Any]) -> None:
    """Add rows after the highest id until the table holds ``target`` rows."""
    engine = make_engine(url)
    with engine.begin() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        top = conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0
        batch = []
        for i in range(top + 1, top + 1 + target - count):
            batch.append({**_row(i), **system})
            if len(batch) == 10_000:
                conn.execute(sa.insert(table), batch)
                batch = []
        if batch:
            conn.execute(sa.insert(table), batch)
    engine.dispose()


def _setup_tenon(url: str) -> sa.Table:
    engine = make_engine(url)
    upgrade_system_tables(engine)
    clock = Clock()
    apps = AppService(engine, clock)
    apps.install(read_package_bytes(json.dumps(APP).encode(), "app.json"), actor="bench")
    users = UserService(engine, clock, definitions=apps.definitions)
    users.create(USER, PASSWORD, roles=["apibench.writer"])
    app = apps.get("apibench")
    engine.dispose()
    return build_table(sa.MetaData(), app, app.object("item"))


def _setup_baseline(url: str) -> sa.Table:
    import api_baseline

    engine = api_baseline.make_engine(url)
    api_baseline.metadata.create_all(engine)
    engine.dispose()
    return api_baseline.items


def tenon_app() -> Any:
    """The Tenon server of the benchmark (``uvicorn --factory api:tenon_app``)."""
    from runtime.web.app import create_app

    return create_app(Settings.from_env())


# -- servers ------------------------------------------------------------------------------


@dataclass
class Side:
    """One server under test and how to ask it the benchmark's questions."""

    name: str
    database: Path  # its SQLite file
    target: str  # what uvicorn serves
    create_path: str
    bulk_path: str
    list_path: str  # with the query string
    headers: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None
    sent: int = 0  # records created over HTTP, for unique codes

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"sqlite:///{self.database}"

    @property
    def log(self) -> Path:
        return self.database.with_suffix(".log")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start(side: Side) -> None:
    side.port = _free_port()
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(BENCH), str(ROOT), os.environ.get("PYTHONPATH", "")]),
        "TENON_DATABASE_URL": side.url,
        "BENCH_BASELINE_URL": side.url,
    }
    command = [sys.executable, "-m", "uvicorn", *side.target.split()]
    command += ["--host", "127.0.0.1", "--port", str(side.port)]
    command += ["--workers", "1", "--no-access-log", "--log-level", "warning"]
    with side.log.open("ab") as log:
        side.process = subprocess.Popen(command, env=env, stdout=log, stderr=log, cwd=ROOT)
    deadline = time.monotonic() + 60
    while True:
        if side.process.poll() is not None or time.monotonic() > deadline:
            _stop(side)
            tail = side.log.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"the {side.name} server did not start:\n{tail}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{side.base}/health", timeout=1).status_code == 200:
                return
        time.sleep(0.1)


def _stop(side: Side) -> None:
    if side.process is not None and side.process.poll() is None:
        side.process.terminate()
        try:
            side.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            side.process.kill()
            side.process.wait()
    side.process = None


@contextlib.contextmanager
def _serving(sides: list[Side]) -> Iterator[None]:
    try:
        for side in sides:
            _start(side)
        yield
    finally:
        for side in sides:
            _stop(side)


def _sign_in(tenon: Side) -> None:
    answer = httpx.post(
        f"{tenon.base}/api/v1/auth/token",
        json={"username": USER, "password": PASSWORD},
        timeout=30,
    )
    answer.raise_for_status()
    tenon.headers = {"authorization": f"Bearer {answer.json()['token']}"}


# -- measurements -------------------------------------------------------------------------


def _in_turns(sides: list[Side], round_no: int) -> list[Side]:
    return sides if round_no % 2 == 0 else sides[::-1]


def _client(side: Side) -> httpx.Client:
    return httpx.Client(base_url=side.base, headers=side.headers, timeout=120)


def _expect(answer: httpx.Response, status: int, side: Side) -> httpx.Response:
    if answer.status_code != status:
        raise RuntimeError(f"{side.name}: {answer.status_code} {answer.text[:500]}")
    return answer


def _creates(client: httpx.Client, side: Side, count: int) -> float:
    """Seconds for ``count`` single creates, one after the other."""
    bodies = [json.dumps(_record("N", side.sent + k)).encode() for k in range(count)]
    side.sent += count
    headers = {"content-type": "application/json"}
    start = time.perf_counter()
    for body in bodies:
        _expect(client.post(side.create_path, content=body, headers=headers), 201, side)
    return time.perf_counter() - start


def _bulks(client: httpx.Client, side: Side, count: int) -> float:
    """Seconds for ``count`` bulk creates of BULK_SIZE records."""
    bodies = []
    for _ in range(count):
        rows = [_record("B", side.sent + k) for k in range(BULK_SIZE)]
        side.sent += BULK_SIZE
        bodies.append(json.dumps({"records": rows}).encode())
    headers = {"content-type": "application/json"}
    start = time.perf_counter()
    for body in bodies:
        answer = _expect(client.post(side.bulk_path, content=body, headers=headers), 201, side)
        if len(answer.json()["data"]) != BULK_SIZE:
            raise RuntimeError(f"{side.name}: the bulk create did not write every row")
    return time.perf_counter() - start


async def _pages(side: Side, seconds: float) -> tuple[int, float]:
    """Pages got and seconds taken with CLIENTS clients asking at once for ``seconds``."""
    limits = httpx.Limits(max_connections=CLIENTS, max_keepalive_connections=CLIENTS)
    async with httpx.AsyncClient(
        base_url=side.base, headers=side.headers, limits=limits, timeout=120
    ) as client:
        done = 0

        async def ask(until: float) -> None:
            nonlocal done
            while time.perf_counter() < until:
                answer = await client.get(side.list_path)
                if answer.status_code != 200:
                    raise RuntimeError(f"{side.name}: {answer.status_code} {answer.text[:500]}")
                done += 1

        # open the connections first
        await asyncio.gather(*(client.get(side.list_path) for _ in range(CLIENTS)))
        start = time.perf_counter()
        await asyncio.gather(*(ask(start + seconds) for _ in range(CLIENTS)))
        return done, time.perf_counter() - start


def _page_ids(client: httpx.Client, side: Side) -> list[int]:
    answer = _expect(client.get(side.list_path), 200, side)
    return [row["id"] for row in answer.json()["data"]]


def _rates(
    sides: list[Side], measure: Callable[[Side], tuple[float, float]], turns: int
) -> dict[str, list[float]]:
    """ROUNDS rates (units per second) of each side: in each round the sides take
    ``turns`` turns each at ``measure`` (units done, seconds taken), who goes first
    alternating."""
    rates: dict[str, list[float]] = {side.name: [] for side in sides}
    for r in range(ROUNDS):
        done = dict.fromkeys(rates, 0.0)
        spent = dict.fromkeys(rates, 0.0)
        for turn in range(turns):
            for side in _in_turns(sides, r + turn):
                units, seconds = measure(side)
                done[side.name] += units
                spent[side.name] += seconds
        for name, values in rates.items():
            values.append(done[name] / spent[name])
    return rates


def _latencies(clients: dict[str, httpx.Client], sides: list[Side]) -> dict[str, float]:
    """The median seconds of one page, the two servers asked in turn."""
    times: dict[str, list[float]] = {side.name: [] for side in sides}
    for r in range(ROUNDS):
        for _ in range(LATENCIES):
            for side in _in_turns(sides, r):
                start = time.perf_counter()
                _expect(clients[side.name].get(side.list_path), 200, side)
                times[side.name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _same_page(clients: dict[str, httpx.Client], sides: list[Side], rows: int) -> None:
    pages = {side.name: _page_ids(clients[side.name], side) for side in sides}
    first = next(iter(pages.values()))
    if len(first) != 25 or any(page != first for page in pages.values()):
        raise RuntimeError(f"the servers disagree on the page at {rows} rows: {pages}")


def _warm_up(clients: dict[str, httpx.Client], sides: list[Side]) -> None:
    for side in sides:
        for _ in range(20):
            _expect(clients[side.name].get(side.list_path), 200, side)


# -- the benchmark ------------------------------------------------------------------------


def _copy(source: Path, target: Path) -> None:
    """A copy of a SQLite database (the backup API, so the copy is consistent)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def _sides(folder: Path, size: str) -> list[Side]:
    tenon_list = {"filter": f"amount >= {LOW}", "sort": "-amount", "limit": 25}
    return [
        Side(
            f"tenon_{size}",
            folder / f"tenon_{size}.db",
            "--factory api:tenon_app",
            RECORDS,
            f"{RECORDS}/bulk",
            f"{RECORDS}?{urlencode(tenon_list)}",
        ),
        Side(
            f"baseline_{size}",
            folder / f"baseline_{size}.db",
            "api_baseline:app",
            "/items",
            "/items/bulk",
            "/items?" + urlencode({"min_amount": LOW, "limit": 25}),
        ),
    ]


def run(rows: int, database_url: str | None) -> dict[str, Any]:
    if database_url:
        raise SystemExit(
            "bench/run.py api runs on SQLite only, in files of its own in a temporary "
            f"folder: leave out --database-url (got {database_url!r})"
        )
    began = time.perf_counter()
    big = rows * GROWTH
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        small_sides, big_sides = _sides(folder, "small"), _sides(folder, "big")
        tenon, baseline = small_sides
        tables = [_setup_tenon(tenon.url), _setup_baseline(baseline.url)]
        systems: list[dict[str, Any]] = [
            {"version": 1, "created_at": STAMP, "updated_at": STAMP},
            {"created_at": STAMP, "updated_at": STAMP},
        ]
        start = time.perf_counter()
        for i, table in enumerate(tables):
            small, large = small_sides[i], big_sides[i]
            _seed(small.url, table, rows, systems[i])
            _copy(small.database, large.database)  # then topped up
            _seed(large.url, table, big, systems[i])
        seeding = time.perf_counter() - start

        everyone = small_sides + big_sides
        rates: dict[str, dict[str, list[float]]] = {}
        with _serving(everyone):
            for side in everyone:
                if side.name.startswith("tenon"):
                    _sign_in(side)
            clients = {side.name: _client(side) for side in everyone}
            try:
                _warm_up(clients, everyone)
                _same_page(clients, small_sides, rows)
                _same_page(clients, big_sides, big)
                turns, seconds = LISTS
                rates["list"] = _rates(
                    small_sides, lambda side: asyncio.run(_pages(side, seconds)), turns
                )
                latency = _latencies(clients, everyone)
                for side in small_sides:  # warm up the write paths
                    _creates(clients[side.name], side, 10)
                turns, count = CREATES
                rates["create"] = _rates(
                    small_sides,
                    lambda side: (count, _creates(clients[side.name], side, count)),
                    turns,
                )
                turns, count = BULKS
                rates["bulk"] = _rates(
                    small_sides,
                    lambda side: (count * BULK_SIZE, _bulks(clients[side.name], side, count)),
                    turns,
                )
            finally:
                for client in clients.values():
                    client.close()

    def median(side: str, what: str) -> float:
        return statistics.median(rates[what][side])

    def by_round(what: str) -> list[float]:
        """Tenon ÷ the baseline in each round."""
        pairs = zip(rates[what]["tenon_small"], rates[what]["baseline_small"], strict=True)
        return [round(t / b, 3) for t, b in pairs]

    result: dict[str, Any] = {"dialect": "sqlite", "rows": rows, "rows_1m": big}
    for what, unit in (
        ("create", "creates_per_s"),
        ("bulk", "bulk_rows_per_s"),
        ("list", "pages_per_s"),
    ):
        for who in ("tenon", "baseline"):
            result[f"{who}_{unit}"] = round(median(f"{who}_small", what), 1)
    for who in ("tenon", "baseline"):
        result[f"{who}_page_ms"] = round(latency[f"{who}_small"] * 1000, 3)
        result[f"{who}_page_ms_1m"] = round(latency[f"{who}_big"] * 1000, 3)
    result["seed_seconds"] = round(seeding, 1)
    result["total_seconds"] = round(time.perf_counter() - began, 1)
    for what in ("create", "bulk", "list"):
        result[f"{what}_by_round"] = by_round(what)
    for what in ("create", "bulk", "list"):
        result[f"{what}_ratio"] = round(statistics.median(by_round(what)), 3)
    result["growth_1m"] = round(latency["tenon_big"] / latency["tenon_small"], 3)
    return result


if __name__ == "__main__":
    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000, None)))
