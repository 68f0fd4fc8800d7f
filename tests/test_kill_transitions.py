"""SIGKILL the server while it takes workflow actions, again and again: no transition is
ever half applied (state, version and audit always agree), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from datetime import datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.clock import Clock
from runtime.metadata.package import read_package_bytes
from runtime.security.users import UserService
from runtime.services.apps import AppService
from runtime.storage import audit
from runtime.storage.engine import write_transaction
from tests.serving import serving
from tests.test_workflow_states import APP

RECORDS = 60
ROUNDS = 3
PASSWORD = "correct horse battery staple"
BASE = "/api/v1/apps/leave/objects/request/records"
STAMP = datetime(2025, 1, 1, 9, 0)


def _seed(engine: Engine) -> sa.Table:
    apps = AppService(engine, Clock())
    apps.install(read_package_bytes(json.dumps(APP).encode(), "leave.json"), actor="t")
    users = UserService(engine, Clock(), definitions=apps.definitions)
    ann = users.create("ann", PASSWORD, roles=["leave.member"])
    table = sa.Table("app_leave__request", sa.MetaData(), autoload_with=engine)
    rows = [
        {
            "id": i,
            "version": 1,
            "created_at": STAMP,
            "updated_at": STAMP,
            "title": f"request {i}",
            "days": 1,
            "reason": "r",
            "owner": ann.id,
            "state": "draft",
        }
        for i in range(1, RECORDS + 1)
    ]
    with write_transaction(engine) as conn:
        conn.execute(table.insert(), rows)
    return table


def _hammer(base: str, token: str, stop: threading.Event) -> None:
    """Submit and recall records as fast as one client can, until the server is gone."""
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=5) as client:
        i = 0
        while not stop.is_set():
            record = 1 + i % RECORDS
            i += 1
            try:
                state = client.get(f"{BASE}/{record}").json().get("state")
                action = "submit" if state == "draft" else "recall"
                client.post(f"{BASE}/{record}/actions/{action}", json={"comment": "go"})
            except (httpx.HTTPError, ValueError):
                return  # killed


def _check(engine: Engine, table: sa.Table) -> int:
    """Every record's state and version agree with its audit entries; how many actions."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            assert conn.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
        records = {
            r.id: r for r in conn.execute(sa.select(table.c.id, table.c.state, table.c.version))
        }
        entries = conn.execute(
            sa.select(audit.TABLE.c.record_id, audit.TABLE.c.changes)
            .where(audit.TABLE.c.operation.like("action:%"))
            .order_by(audit.TABLE.c.id)
        ).all()
    taken: dict[int, list[str]] = {}
    for record_id, changes in entries:
        taken.setdefault(int(record_id), []).append(json.loads(changes)["state"][1])
    for record_id, record in records.items():
        states = taken.get(record_id, [])
        assert record.version == 1 + len(states), (record_id, record.version, states)
        assert record.state == (states[-1] if states else "draft"), (record_id, states)
    return len(entries)


def test_killing_the_server_mid_transition_never_half_applies_one(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    table = _seed(engine)
    done = 0
    for _ in range(ROUNDS):
        with serving(db_url, tmp_path, env={"TENON_RUN_JOBS": "0"}) as (base, process):
            answer = httpx.post(
                f"{base}/api/v1/auth/token", json={"username": "ann", "password": PASSWORD}
            )
            token = answer.json()["token"]
            stop = threading.Event()
            clients = [threading.Thread(target=_hammer, args=(base, token, stop)) for _ in range(6)]
            for client in clients:
                client.start()
            time.sleep(1.5)
            os.kill(process.pid, signal.SIGKILL)  # mid-flight, no shutdown
            process.wait()
            stop.set()
            for client in clients:
                client.join()
        total = _check(engine, table)
        assert total > done  # actions happened in this round, and none is half there
        done = total
