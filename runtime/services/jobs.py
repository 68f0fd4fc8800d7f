"""Running jobs: a handler per kind, run by whichever worker claims the job first.

Every ``tenon serve`` process runs a ``JobRunner`` thread that claims due jobs from the
database (``runtime.storage.jobs``) and runs them one at a time; several processes share
the queue without running one job twice. ``run_due`` does one pass synchronously (the
test clock's ``POST /api/v1/admin/jobs/run-due`` and ``tenon jobs run-due``).

A handler gets a :class:`JobContext`: the job, the actor it runs as (its creator, with
the roles they hold *now*: a deactivated user's job fails), progress reporting, and
``finish_in(conn, result)`` to mark the job done inside the handler's own transaction,
so that work and completion commit together (a worker dying between the two cannot run
an import twice).

Outcomes: a handler's return value is the job's result (``done``); a ``TenonError`` is
a failure of the work itself (``failed`` at once, its message and body kept); any other
exception is retried with backoff up to the job's ``max_attempts``, and logged with its
traceback under the job id (the job shows only the error's type: messages of database
errors may carry values).

Under the test clock, the background thread runs only *immediate* kinds (an import
someone waits for); timers wait for ``run-due``, so tests decide when time passes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from time import monotonic
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.clock import Clock
from runtime.errors import TenonError
from runtime.security.actor import Actor
from runtime.security.users import UserService
from runtime.storage import jobs as store
from runtime.storage.jobs import JobRow, JobStore

log = logging.getLogger("tenon.jobs")
PROGRESS_EVERY = 0.5  # seconds between progress writes
RETRY_AFTER = timedelta(seconds=30)  # doubled per attempt


class JobGone(Exception):
    """The job is no longer this worker's (cancelled, or its lease lapsed and another
    worker took it): the work's transaction must roll back."""


class JobFailed(Exception):
    """The work ran and failed (an import with problems): the job ends ``failed`` with
    ``result`` (the report) and ``message``."""

    def __init__(self, message: str, result: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.result = result


class JobRetry(Exception):
    """The work could not be done now (a webhook's receiver is down): try again later,
    with backoff, up to the job's ``max_attempts``; no traceback is logged."""


@dataclass(frozen=True)
class Kind:
    handler: Callable[[JobContext], Any]
    immediate: bool = False  # run as soon as queued, even under the test clock


class JobContext:
    def __init__(self, runner: JobRunner, job: JobRow) -> None:
        self.runner = runner
        self.job = job
        self._last = 0.0

    @property
    def store(self) -> JobStore:
        return self.runner.store

    def now(self) -> datetime:
        return self.runner.clock.now()

    def actor(self) -> Actor:
        """The job's creator as an actor, with the roles they hold now."""
        user_id = self.job.created_by_id
        user = self.runner.users.get_by_id(user_id) if user_id is not None else None
        if user is None or not user.is_active:
            raise TenonError(
                f"{self.job.created_by} is no longer an active user", code="USER_INACTIVE"
            )
        return self.runner.users.actor_for(user, via="job")

    def input(self) -> bytes:
        data = self.store.input_of(self.job.id)
        if data is None:
            raise TenonError("the job's file is gone", code="INPUT_MISSING")
        return data

    def progress(self, done: int, total: int | None = None, step: str | None = None) -> None:
        """Report progress: kept in memory at once (``JobRunner.live``) and written to
        the job row at most every ``PROGRESS_EVERY`` seconds, when the database is free
        (on SQLite a long write transaction holds it; the write is then skipped)."""
        self.runner.live[self.job.id] = (done, total, step)
        if monotonic() - self._last < PROGRESS_EVERY and done != total:
            return
        self._last = monotonic()
        if self.store.progress(self.job.id, done, total, step, wait=False) is False:
            raise JobGone(self.job.id)

    def finish_in(self, conn: Connection, result: Any) -> None:
        """Mark the job done in ``conn``'s transaction: it commits with the work or not
        at all. Raises ``JobGone`` (roll back!) when the job is no longer ours."""
        live = self.runner.live.get(self.job.id)
        if not self.store.finish(
            self.job.id, self.now(), store.DONE, result, conn=conn, progress=live
        ):
            raise JobGone(self.job.id)


class JobRunner:
    def __init__(
        self, jobs: JobStore, clock: Clock, users: UserService, test_clock: bool = False
    ) -> None:
        self.store = jobs
        self.clock = clock
        self.users = users
        self.test_clock = test_clock
        self.kinds: dict[str, Kind] = {}
        self.prepare: list[Callable[[datetime], None]] = []  # before each look for jobs
        self.live: dict[int, tuple[int, int | None, str | None]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def register(
        self, name: str, handler: Callable[[JobContext], Any], immediate: bool = False
    ) -> None:
        self.kinds[name] = Kind(handler, immediate)

    # -- one job, one pass ----------------------------------------------------------------

    def run(self, job: JobRow) -> None:
        kind = self.kinds.get(job.kind)
        now = self.clock.now
        if kind is None:
            self.store.finish(job.id, now(), store.FAILED, error=f"no handler for {job.kind!r}")
            return
        context = JobContext(self, job)

        def finish(status: str, result: Any = None, error: str | None = None) -> None:
            live = self.live.get(job.id)
            self.store.finish(job.id, now(), status, result, error, progress=live)

        try:
            result = kind.handler(context)
        except JobGone:
            log.warning("job %s (%s) was taken from this worker", job.id, job.kind)
        except JobFailed as failure:
            finish(store.FAILED, failure.result, failure.message)
        except TenonError as error:
            finish(store.FAILED, error.body()["error"], error.message)
        except JobRetry as again:
            log.warning("job %s (%s): %s; attempt %s", job.id, job.kind, again, job.attempts)
            self._again(job, str(again))
        except Exception as error:  # a job must never take the worker down
            log.exception("job %s (%s) failed on attempt %s", job.id, job.kind, job.attempts)
            self._again(job, f"{type(error).__name__} (attempt {job.attempts}; see the server log)")
        else:
            finish(store.DONE, result)  # nothing happens after a finish_in
        finally:
            self.live.pop(job.id, None)

    def before(self) -> None:
        for step in self.prepare:
            try:
                step(self.clock.now())
            except Exception:  # never stop the runner; the next pass tries again
                log.exception("preparing the job runner failed")

    def _again(self, job: JobRow, reason: str) -> None:
        """Queue ``job`` again after a backoff, or fail it after its last attempt."""
        now = self.clock.now()
        if job.attempts < job.max_attempts:
            self.store.retry(job.id, now + RETRY_AFTER * 2 ** (job.attempts - 1), reason)
        else:
            live = self.live.get(job.id)
            self.store.finish(job.id, now, store.FAILED, None, reason, progress=live)

    def run_due(self, kinds: Collection[str] = (), limit: int = 1000) -> list[JobRow]:
        """Run every job due now (of ``kinds``), one after another; what ran, as it ended."""
        self.before()
        self.store.abandoned(self.clock.now())
        ran: list[JobRow] = []
        while len(ran) < limit:
            job = self.store.claim(self.clock.now(), kinds or tuple(self.kinds))
            if job is None:
                break
            self.run(job)
            ran.append(self.store.get(job.id) or job)
        return ran

    # -- the background thread ------------------------------------------------------------

    def wake(self) -> None:
        """Look for due jobs now (a job was just queued)."""
        self._wake.set()

    def start(self, poll_seconds: float) -> None:
        if poll_seconds <= 0 or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._loop, args=(poll_seconds,), name="tenon-jobs", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self, poll_seconds: float) -> None:
        while not self._stop.is_set():
            kinds = [n for n, k in self.kinds.items() if k.immediate or not self.test_clock]
            try:
                ran = self.run_due(kinds, limit=1)
            except sa.exc.SQLAlchemyError:  # the database is away: try again later
                log.warning("the job runner could not reach the database", exc_info=True)
                ran = []
            if not ran:
                self._wake.wait(poll_seconds)
                self._wake.clear()
