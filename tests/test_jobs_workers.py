"""Two real ``tenon serve`` workers and 500 due jobs: every job runs exactly once."""

from __future__ import annotations

import json
import time
from datetime import date, datetime
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.clock import Clock
from runtime.metadata.package import read_package_bytes
from runtime.services.apps import AppService
from runtime.storage import audit
from runtime.storage.engine import write_transaction
from runtime.storage.jobs import TABLE as JOBS
from runtime.storage.jobs import JobStore
from tests.serving import serving
from tests.test_workflow_states import APP

COUNT = 500
PAST = datetime(2025, 1, 1, 9, 0)


def _seed(engine: Engine) -> sa.Table:
    """500 submitted requests whose auto_approve timers are long due."""
    apps = AppService(engine, Clock())
    apps.install(read_package_bytes(json.dumps(APP).encode(), "leave.json"), actor="t")
    md = sa.MetaData()
    table = sa.Table("app_leave__request", md, autoload_with=engine)
    rows = [
        {
            "id": i,
            "version": 1,
            "created_at": PAST,
            "updated_at": PAST,
            "title": f"request {i}",
            "days": 1,
            "reason": "r",
            "submitted_on": date(2025, 1, 1),
            "state": "submitted",
        }
        for i in range(1, COUNT + 1)
    ]
    jobs = JobStore(engine)
    with write_transaction(engine) as conn:
        conn.execute(table.insert(), rows)
        for i in range(1, COUNT + 1):
            payload = {"object": "leave.request", "id": i, "timer": "auto_approve"}
            jobs.enqueue(conn, "timer", now=PAST, run_at=PAST, payload=payload)
    return table


def test_two_workers_run_every_due_job_exactly_once(
    db_url: str, engine: Engine, tmp_path: Path
) -> None:
    table = _seed(engine)
    env = {"TENON_JOB_POLL_SECONDS": "1"}
    with serving(db_url, tmp_path, workers=2, env=env) as (_, process):
        deadline = time.monotonic() + 240
        left = COUNT
        while time.monotonic() < deadline and process.poll() is None:
            with engine.connect() as conn:
                left = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(JOBS)
                    .where(JOBS.c.status.in_(["queued", "running"]))
                ).scalar_one()
            if left == 0:
                break
            time.sleep(0.5)
        assert left == 0, (tmp_path / "serve.log").read_text()[-3000:]
    with engine.connect() as conn:
        jobs = conn.execute(
            sa.select(JOBS.c.status, JOBS.c.attempts, JOBS.c.lease_owner).where(
                JOBS.c.kind == "timer"
            )
        ).all()
        states = conn.execute(sa.select(table.c.state, sa.func.count()).group_by(table.c.state))
        approvals = conn.execute(
            sa.select(audit.TABLE.c.record_id, sa.func.count())
            .where(audit.TABLE.c.operation == "action:approve")
            .group_by(audit.TABLE.c.record_id)
        ).all()
        workers = conn.execute(
            sa.select(sa.func.count(sa.distinct(audit.TABLE.c.on_behalf_of))).where(
                audit.TABLE.c.operation == "action:approve"
            )
        ).scalar_one()
    assert len(jobs) == COUNT
    assert {(status, attempts) for status, attempts, _ in jobs} == {("done", 1)}
    assert len({owner for _, _, owner in jobs}) == 2  # both workers took their share
    assert dict(states.all()) == {"approved": COUNT}
    assert len(approvals) == COUNT and {n for _, n in approvals} == {1}
    assert workers == 1  # every one on behalf of the timer
