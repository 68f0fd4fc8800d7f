"""The job table (``tenon_jobs``): queueing, claiming and finishing work outside requests.

A job is due when it is ``queued`` and its ``run_at`` has come (by the injected clock,
which tests may freeze), or when it is ``running`` but the worker that claimed it let its
lease lapse (it died): the job is then claimed again, up to ``max_attempts`` times.

Claiming is a short write transaction of its own. On PostgreSQL the due row is locked
with ``FOR UPDATE SKIP LOCKED``, so workers claiming at once each get a different job
and never wait on each other; on SQLite ``BEGIN IMMEDIATE`` serializes claims. Either
way one job is claimed by one worker at a time (RELIABILITY.md: several stateless
workers on one database).

Leases are wall-clock time, not the clock: freezing the test clock must not make a
running job look abandoned.
"""

from __future__ import annotations

import json
import socket
import uuid
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.storage.engine import (
    is_sqlite,
    read_connection,
    write_transaction,
    write_transaction_nowait,
)
from runtime.storage.system import Job

TABLE: sa.Table = Job.__table__  # type: ignore[assignment]
QUEUED, RUNNING, DONE, FAILED, CANCELLED = "queued", "running", "done", "failed", "cancelled"
FINISHED = frozenset({DONE, FAILED, CANCELLED})
LEASE = timedelta(minutes=5)
ERROR_CHARS = 2000


def wall_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def worker_name() -> str:
    """Who holds a lease: the host and a per-process random part."""
    return f"{socket.gethostname()[:40]}:{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True)
class JobRow:
    id: int
    kind: str
    key: str | None
    status: str
    run_at: datetime
    payload: dict[str, Any]
    attempts: int
    max_attempts: int
    progress_done: int
    progress_total: int | None
    progress_step: str | None
    result: Any
    error: str | None
    created_by_id: int | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        """The job as the API shows it (the payload and input stay inside)."""

        def iso(value: datetime | None) -> str | None:
            return value.isoformat() if value is not None else None

        return {
            "id": self.id,
            "kind": self.kind,
            "status": self.status,
            "run_at": iso(self.run_at),
            "attempts": self.attempts,
            "progress": {
                "done": self.progress_done,
                "total": self.progress_total,
                "step": self.progress_step,
            },
            "result": self.result,
            "error": self.error,
            "created_by": self.created_by,
            "created_at": iso(self.created_at),
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
        }


_COLUMNS = [c for c in TABLE.c if c.name not in ("input", "lease_owner", "lease_until")]


def _row(row: Any) -> JobRow:
    data = dict(row._mapping)
    data["payload"] = json.loads(data["payload"])
    data["result"] = json.loads(data["result"]) if data["result"] is not None else None
    return JobRow(**data)


class JobStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.owner = worker_name()

    # -- queueing -------------------------------------------------------------------------

    def enqueue(
        self,
        conn: Connection,
        kind: str,
        *,
        now: datetime,
        run_at: datetime | None = None,
        payload: Mapping[str, Any] | None = None,
        data: bytes | None = None,
        key: str | None = None,
        created_by: tuple[int | None, str] = (None, "system"),
        max_attempts: int = 3,
    ) -> int:
        """Queue a job in the caller's transaction (it exists only if that commits).
        With a ``key``, a queued job of that key is replaced (a timer moved)."""
        if key is not None:
            self.cancel_key(conn, key, now)
        values = {
            "kind": kind,
            "key": key,
            "status": QUEUED,
            "run_at": run_at or now,
            "payload": json.dumps(dict(payload or {}), sort_keys=True),
            "input": data,
            "attempts": 0,
            "max_attempts": max_attempts,
            "progress_done": 0,
            "created_by_id": created_by[0],
            "created_by": created_by[1],
            "created_at": now,
        }
        query = TABLE.insert().values(values).returning(TABLE.c.id)
        return int(conn.execute(query).scalar_one())

    def schedule(
        self,
        conn: Connection,
        kind: str,
        key: str,
        run_at: datetime,
        *,
        now: datetime,
        payload: Mapping[str, Any],
    ) -> None:
        """The queued job of ``key`` due at ``run_at``: moved when it exists, else queued
        (in the caller's transaction, so it follows the write that caused it)."""
        moved = conn.execute(
            TABLE.update()
            .where(TABLE.c.key == key, TABLE.c.status == QUEUED)
            .values(run_at=run_at, payload=json.dumps(dict(payload), sort_keys=True))
        )
        if not moved.rowcount:
            self.enqueue(conn, kind, now=now, run_at=run_at, payload=payload, key=key)

    def ran(self, conn: Connection, key: str, run_at: datetime) -> bool:
        """Whether the job of ``key`` due at ``run_at`` has run or is running."""
        ended = [RUNNING, DONE, FAILED]
        query = sa.select(TABLE.c.id).where(
            TABLE.c.key == key, TABLE.c.run_at == run_at, TABLE.c.status.in_(ended)
        )
        return conn.execute(query.limit(1)).first() is not None

    def queued_keys(self, conn: Connection, prefix: str) -> set[str]:
        """The keys starting with ``prefix`` that have a queued job."""
        query = sa.select(TABLE.c.key).where(
            TABLE.c.status == QUEUED, TABLE.c.key.startswith(prefix)
        )
        return {str(k) for k in conn.execute(query).scalars()}

    def cancel(self, conn: Connection, job_id: int, now: datetime) -> bool:
        """Cancel a job that has not started; False when it is running or finished."""
        done = conn.execute(
            TABLE.update()
            .where(TABLE.c.id == job_id, TABLE.c.status == QUEUED)
            .values(status=CANCELLED, finished_at=now, input=None)
        )
        return bool(done.rowcount)

    def cancel_key(self, conn: Connection, key: str, now: datetime) -> int:
        done = conn.execute(
            TABLE.update()
            .where(TABLE.c.key == key, TABLE.c.status == QUEUED)
            .values(status=CANCELLED, finished_at=now, input=None)
        )
        return int(done.rowcount)

    # -- reading --------------------------------------------------------------------------

    def get(self, job_id: int) -> JobRow | None:
        with read_connection(self.engine) as conn:
            row = conn.execute(sa.select(*_COLUMNS).where(TABLE.c.id == job_id)).first()
        return _row(row) if row is not None else None

    def input_of(self, job_id: int) -> bytes | None:
        with read_connection(self.engine) as conn:
            data = conn.execute(sa.select(TABLE.c.input).where(TABLE.c.id == job_id)).scalar()
        return bytes(data) if data is not None else None

    def list(
        self,
        *,
        created_by_id: int | None = None,
        statuses: Collection[str] = (),
        kinds: Collection[str] = (),
        key_prefix: str | None = None,
        limit: int = 50,
    ) -> list[JobRow]:
        """Newest first."""
        query = sa.select(*_COLUMNS).order_by(TABLE.c.id.desc()).limit(limit)
        if key_prefix is not None:
            query = query.where(TABLE.c.key.startswith(key_prefix, autoescape=True))
        if created_by_id is not None:
            query = query.where(TABLE.c.created_by_id == created_by_id)
        if statuses:
            query = query.where(TABLE.c.status.in_(list(statuses)))
        if kinds:
            query = query.where(TABLE.c.kind.in_(list(kinds)))
        with read_connection(self.engine) as conn:
            return [_row(r) for r in conn.execute(query)]

    # -- running --------------------------------------------------------------------------

    def _due(self, now: datetime, wall: datetime, kinds: Collection[str]) -> Any:
        query = (
            sa.select(TABLE.c.id)
            .where(
                sa.or_(
                    sa.and_(TABLE.c.status == QUEUED, TABLE.c.run_at <= now),
                    sa.and_(
                        TABLE.c.status == RUNNING,
                        TABLE.c.lease_until < wall,
                        TABLE.c.attempts < TABLE.c.max_attempts,
                    ),
                )
            )
            .order_by(TABLE.c.run_at, TABLE.c.id)
            .limit(1)
        )
        return query.where(TABLE.c.kind.in_(list(kinds))) if kinds else query

    def claim(self, now: datetime, kinds: Collection[str] = ()) -> JobRow | None:
        """Take the next due job (``kinds``: only those), or None when nothing is due."""
        wall = wall_now()
        with write_transaction(self.engine) as conn:
            query = self._due(now, wall, kinds)
            if not is_sqlite(conn):
                query = query.with_for_update(skip_locked=True)
            job_id = conn.execute(query).scalar()
            if job_id is None:
                return None
            conn.execute(
                TABLE.update()
                .where(TABLE.c.id == job_id)
                .values(
                    status=RUNNING,
                    attempts=TABLE.c.attempts + 1,
                    lease_owner=self.owner,
                    lease_until=wall + LEASE,
                    started_at=now,
                    error=None,
                )
            )
            row = conn.execute(sa.select(*_COLUMNS).where(TABLE.c.id == job_id)).one()
        return _row(row)

    def abandoned(self, now: datetime) -> int:
        """Fail the running jobs whose lease lapsed on their last attempt (counted)."""
        with write_transaction(self.engine) as conn:
            done = conn.execute(
                TABLE.update()
                .where(
                    TABLE.c.status == RUNNING,
                    TABLE.c.lease_until < wall_now(),
                    TABLE.c.attempts >= TABLE.c.max_attempts,
                )
                .values(
                    status=FAILED,
                    finished_at=now,
                    input=None,
                    error="the worker running it stopped, on every attempt",
                )
            )
        return int(done.rowcount)

    def _mine(self, job_id: int) -> Any:
        return sa.and_(
            TABLE.c.id == job_id, TABLE.c.status == RUNNING, TABLE.c.lease_owner == self.owner
        )

    def progress(
        self, job_id: int, done: int, total: int | None, step: str | None, wait: bool = True
    ) -> bool | None:
        """Record progress and renew the lease: True when recorded, False when the job is
        no longer ours. With ``wait=False`` a busy SQLite database is not waited for (a
        long import holds its write lock): None, nothing recorded."""
        values = {
            "progress_done": done,
            "progress_total": total,
            "progress_step": step,
            "lease_until": wall_now() + LEASE,
        }
        query = TABLE.update().where(self._mine(job_id)).values(values)
        if wait:
            with write_transaction(self.engine) as conn:
                updated = conn.execute(query)
        else:
            try:
                with write_transaction_nowait(self.engine) as conn:
                    updated = conn.execute(query)
            except sa.exc.OperationalError:
                if not is_sqlite(self.engine):
                    raise
                return None
        return bool(updated.rowcount)

    def finish(
        self,
        job_id: int,
        now: datetime,
        status: str,
        result: Any = None,
        error: str | None = None,
        conn: Connection | None = None,
        progress: tuple[int, int | None, str | None] | None = None,
    ) -> bool:
        """End a job we hold: ``done`` or ``failed``, with its result (JSON) or error;
        in ``conn``'s transaction when given (to commit with the work), with the
        last ``progress`` the job reported. The uploaded
        input is dropped: it is not kept past the work it was for."""
        values: dict[str, Any] = {
            "status": status,
            "finished_at": now,
            "result": json.dumps(result, sort_keys=True) if result is not None else None,
            "error": error[:ERROR_CHARS] if error else None,
            "lease_until": None,  # the owner stays: who ran it
            "input": None,
        }
        if progress is not None:  # the last known (it may not have been written)
            values["progress_done"], values["progress_total"], values["progress_step"] = progress
        if status == DONE:
            total = values.get("progress_total", TABLE.c.progress_total)
            values["progress_done"] = sa.func.coalesce(total, values.get("progress_done", 0))
        query = TABLE.update().where(self._mine(job_id)).values(values)
        if conn is not None:
            return bool(conn.execute(query).rowcount)
        with write_transaction(self.engine) as own:
            return bool(own.execute(query).rowcount)

    def retry(self, job_id: int, at: datetime, error: str) -> bool:
        """Put a job we hold back in the queue, to run again at ``at``."""
        with write_transaction(self.engine) as conn:
            updated = conn.execute(
                TABLE.update()
                .where(self._mine(job_id))
                .values(
                    status=QUEUED,
                    run_at=at,
                    error=error[:ERROR_CHARS],
                    lease_owner=None,
                    lease_until=None,
                )
            )
        return bool(updated.rowcount)
