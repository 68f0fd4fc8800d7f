"""The job table and runner, on SQLite and PostgreSQL: one worker per job, leases,
retries, and imports run in the background with progress, exactly once."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.cli import main
from runtime.clock import Clock
from runtime.config import Settings
from runtime.errors import TenonError
from runtime.security.users import UserService
from runtime.services.jobs import JobContext, JobFailed, JobGone, JobRunner
from runtime.storage import jobs as store
from runtime.storage.engine import write_transaction
from runtime.storage.jobs import JobStore
from runtime.storage.migrate import upgrade_system_tables
from tests.auth_support import bearer, make_client
from tests.staff_api import Api, staff_api
from tests.test_import import HEADER, _count, _csv, _import, _people

NOW = datetime(2025, 6, 10, 9, 0)


@pytest.fixture
def jobs(engine: Engine) -> JobStore:
    upgrade_system_tables(engine)
    return JobStore(engine)


def _queue(jobs: JobStore, kind: str = "test", **kw: Any) -> int:
    with write_transaction(jobs.engine) as conn:
        return jobs.enqueue(conn, kind, now=NOW, **kw)


def _runner(jobs: JobStore, clock: Clock | None = None) -> JobRunner:
    if clock is None:
        clock = Clock()
        clock.set(NOW)
    return JobRunner(jobs, clock, UserService(jobs.engine, clock))


def _lapse(jobs: JobStore, job_id: int) -> None:
    """As if the worker holding ``job_id`` died a while ago."""
    with write_transaction(jobs.engine) as conn:
        conn.execute(
            store.TABLE.update()
            .where(store.TABLE.c.id == job_id)
            .values(lease_until=store.wall_now() - timedelta(seconds=1))
        )


# -- the queue ---------------------------------------------------------------------------


def test_a_job_is_due_at_its_time_and_claimed_once(jobs: JobStore) -> None:
    later = _queue(jobs, run_at=NOW + timedelta(days=1), payload={"n": 1})
    now = _queue(jobs, payload={"n": 2})
    claimed = jobs.claim(NOW)
    assert claimed is not None and claimed.id == now and claimed.payload == {"n": 2}
    assert claimed.status == store.RUNNING and claimed.attempts == 1
    assert jobs.claim(NOW) is None  # the other one is not due yet
    assert jobs.finish(claimed.id, NOW, store.DONE, {"ok": True})
    assert jobs.get(now) is not None and jobs.get(now).result == {"ok": True}  # type: ignore[union-attr]
    tomorrow = jobs.claim(NOW + timedelta(days=1))
    assert tomorrow is not None and tomorrow.id == later


def test_concurrent_workers_never_claim_one_job_twice(jobs: JobStore) -> None:
    queued = {_queue(jobs, payload={"n": i}) for i in range(30)}
    workers = [JobStore(jobs.engine) for _ in range(4)]
    claimed: list[tuple[str, int]] = []
    lock = threading.Lock()

    def work(worker: JobStore) -> None:
        while (job := worker.claim(NOW)) is not None:
            with lock:
                claimed.append((worker.owner, job.id))
            assert worker.finish(job.id, NOW, store.DONE)

    threads = [threading.Thread(target=work, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    ids = [job_id for _, job_id in claimed]
    assert sorted(ids) == sorted(queued)  # each exactly once
    assert len({owner for owner, _ in claimed}) > 1 or len(workers) == 1


def test_a_lapsed_lease_is_claimed_again_and_the_old_holder_is_refused(jobs: JobStore) -> None:
    job_id = _queue(jobs, max_attempts=2)
    first = jobs.claim(NOW)
    assert first is not None
    assert jobs.claim(NOW) is None  # held
    _lapse(jobs, job_id)
    other = JobStore(jobs.engine)
    second = other.claim(NOW)
    assert second is not None and second.id == job_id and second.attempts == 2
    # the first worker comes back: the job is not its any more
    assert jobs.progress(job_id, 1, 2, "x") is False
    assert not jobs.finish(job_id, NOW, store.DONE)
    _lapse(jobs, job_id)  # the second worker dies too, on the last attempt
    assert other.claim(NOW) is None
    assert jobs.abandoned(NOW) == 1
    failed = jobs.get(job_id)
    assert failed is not None and failed.status == store.FAILED and failed.error


def test_a_key_keeps_one_queued_job_and_cancelling_stops_it(jobs: JobStore) -> None:
    first = _queue(jobs, key="timer:1", run_at=NOW + timedelta(days=3))
    second = _queue(jobs, key="timer:1", run_at=NOW + timedelta(days=5))
    assert jobs.get(first).status == store.CANCELLED  # type: ignore[union-attr]
    assert jobs.get(second).status == store.QUEUED  # type: ignore[union-attr]
    with write_transaction(jobs.engine) as conn:
        assert jobs.cancel(conn, second, NOW)
        assert not jobs.cancel(conn, second, NOW)  # already
    assert jobs.claim(NOW + timedelta(days=9)) is None


def test_a_rolled_back_transaction_queues_nothing(jobs: JobStore) -> None:
    with pytest.raises(RuntimeError), write_transaction(jobs.engine) as conn:
        jobs.enqueue(conn, "test", now=NOW)
        raise RuntimeError("the request failed")
    assert jobs.list() == []


# -- the runner --------------------------------------------------------------------------


def test_outcomes_done_failed_and_retried_with_backoff(jobs: JobStore) -> None:
    runner = _runner(jobs)
    calls: list[str] = []

    def ok(context: JobContext) -> Any:
        context.progress(3, 3, "counted")
        return {"sum": context.job.payload["a"] + context.job.payload["b"]}

    def refused(context: JobContext) -> Any:
        raise TenonError("the file has no header row", code="EMPTY_FILE")

    def failed(context: JobContext) -> Any:
        raise JobFailed("2 problems", {"error_count": 2})

    def flaky(context: JobContext) -> Any:
        calls.append("flaky")
        raise sa.exc.OperationalError("UPDATE app_x SET salary=99000", {}, Exception("gone"))

    for name, handler in [("ok", ok), ("refused", refused), ("failed", failed), ("flaky", flaky)]:
        runner.register(name, handler)
    ids = {n: _queue(jobs, n, payload={"a": 2, "b": 3}) for n in ("ok", "refused", "failed")}
    ids["flaky"] = _queue(jobs, "flaky", max_attempts=2)
    ran = {j.kind: j for j in runner.run_due()}
    assert ran["ok"].status == "done" and ran["ok"].result == {"sum": 5}
    assert (ran["ok"].progress_done, ran["ok"].progress_total) == (3, 3)
    assert (
        ran["refused"].status == "failed" and ran["refused"].error == "the file has no header row"
    )
    assert ran["refused"].result["code"] == "EMPTY_FILE"
    assert ran["failed"].status == "failed" and ran["failed"].result == {"error_count": 2}
    # an unexpected error is retried later; its message (which may hold values) is not kept
    retried = ran["flaky"]
    assert retried.status == "queued" and retried.run_at == NOW + timedelta(seconds=30)
    assert "OperationalError" in (retried.error or "") and "99000" not in (retried.error or "")
    assert runner.run_due() == []  # not yet
    runner.clock.set(NOW + timedelta(minutes=1))
    last = runner.run_due()
    assert [j.status for j in last] == ["failed"] and calls == ["flaky", "flaky"]


def test_a_job_runs_as_its_creator_while_they_are_active(jobs: JobStore) -> None:
    runner = _runner(jobs)
    users = runner.users
    ada = users.create("ada", None, roles=["system_admin"])
    runner.register("whoami", lambda c: {"user": c.actor().username, "via": c.actor().via})
    _queue(jobs, "whoami", created_by=(ada.id, "ada"))
    assert runner.run_due()[0].result == {"user": "ada", "via": "job"}
    users.create("bob", None)
    users.set_active("bob", False)
    bob = users.get("bob")
    _queue(jobs, "whoami", created_by=(bob.id, "bob"))
    refused = runner.run_due()[0]
    assert refused.status == "failed" and refused.result["code"] == "USER_INACTIVE"


def test_work_and_completion_commit_together(jobs: JobStore) -> None:
    """A job taken from a worker (its lease lapsed) rolls its own work back."""
    runner = _runner(jobs)
    written: list[int] = []

    def work(context: JobContext) -> Any:
        with write_transaction(jobs.engine) as conn:
            conn.execute(
                store.TABLE.insert().values(
                    kind="side",
                    status="done",
                    run_at=NOW,
                    payload="{}",
                    attempts=0,
                    max_attempts=1,
                    progress_done=0,
                    created_by="x",
                    created_at=NOW,
                )
            )
            if context.job.payload.get("steal"):
                _lapse(jobs, context.job.id)
                assert JobStore(jobs.engine).claim(NOW) is not None  # another worker
            context.finish_in(conn, {"ok": True})
            written.append(context.job.id)
        return {"ok": True}

    runner.register("work", work)
    _queue(jobs, "work", payload={"steal": True})
    runner.run_due(kinds=["work"])
    assert written == []
    assert jobs.list(kinds=["side"]) == []  # its write rolled back with it
    _queue(jobs, "work")
    ok = [j for j in runner.run_due(kinds=["work"]) if j.status == "done"]
    assert len(ok) == 1 and len(jobs.list(kinds=["side"])) == 1


def test_job_gone_is_raised_by_progress_when_cancelled_elsewhere(jobs: JobStore) -> None:
    runner = _runner(jobs)
    job_id = _queue(jobs, "x")
    job = jobs.claim(NOW)
    assert job is not None
    _lapse(jobs, job_id)
    JobStore(jobs.engine).claim(NOW)
    with pytest.raises(JobGone):
        context = JobContext(runner, job)
        context.progress(1, 1)


# -- imports in the background -----------------------------------------------------------


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with staff_api(db_url) as api:
        yield api


def _wait(api: Api, user: str, location: str) -> dict[str, Any]:
    for _ in range(300):
        job = api.get(user, location).json()
        if job["status"] not in ("queued", "running"):
            return job  # type: ignore[no-any-return]
        time.sleep(0.05)
    raise AssertionError(f"the job did not finish: {job}")


def test_a_background_import_reports_progress_and_commits_once(api: Api) -> None:
    before = _count(api)
    queued = _import(api, "hera", _csv(_people(1200)), background="true")
    assert queued.status_code == 202, queued.text
    location = queued.headers["location"]
    assert location == f"/api/v1/jobs/{queued.json()['id']}"
    assert queued.json()["kind"] == "import"
    job = _wait(api, "hera", location)
    assert job["status"] == "done", job
    assert job["result"]["committed"] and job["result"]["created"] == 1200
    assert job["progress"]["done"] == job["progress"]["total"] == 1200
    assert _count(api) == before + 1200
    mine = api.get("hera", "/api/v1/jobs").json()["data"]
    assert [j["id"] for j in mine] == [job["id"]]
    # someone else's job does not exist for them
    assert api.get("sam", location).status_code == 404
    assert api.get("sam", "/api/v1/jobs").json()["data"] == []


def test_a_background_import_with_bad_rows_fails_and_writes_nothing(api: Api) -> None:
    before = _count(api)
    rows = _people(1000)
    rows[10][3] = "not a date"  # row 12
    rows[500][2] = "NOPE"  # row 502
    queued = _import(api, "hera", _csv(rows), background="true")
    assert queued.status_code == 202, queued.text
    job = _wait(api, "hera", queued.headers["location"])
    assert job["status"] == "failed" and "2 problems" in job["error"]
    assert job["result"]["error_count"] == 2 and not job["result"]["committed"]
    assert _count(api) == before
    report = api.get("hera", f"{queued.headers['location']}/errors.csv")
    assert report.status_code == 200
    lines = report.content.decode("utf-8-sig").splitlines()
    assert lines[0] == "row,column,field,code,message"
    assert [line.split(",")[:4] for line in lines[1:]] == [
        ["12", HEADER[3], "hire_date", "INVALID_VALUE"],
        ["502", HEADER[2], "department", "NOT_FOUND"],
    ]


def test_a_file_that_cannot_be_read_is_refused_before_it_is_queued(api: Api) -> None:
    refused = _import(api, "hera", b"\x00\x01garbage", name="x.xlsx", background="true")
    assert refused.status_code == 400, refused.text
    assert api.get("hera", "/api/v1/jobs").json()["data"] == []
    flag = _import(api, "hera", _csv(_people(1)), background="maybe")
    assert flag.status_code == 422 and flag.json()["error"]["details"][0]["path"] == "/background"


def test_jobs_api_errors(api: Api) -> None:
    assert api.get("hera", "/api/v1/jobs/999999").status_code == 404
    assert api.get("hera", "/api/v1/jobs/abc").status_code == 404
    assert api.get("hera", "/api/v1/jobs", status="sleeping").status_code == 422
    everyone = api.get("hera", "/api/v1/jobs", everyone="true")
    assert everyone.status_code == 403 and everyone.json()["error"]["code"] == "FORBIDDEN"
    # without the test clock there is no run-due route
    assert api.call("hera", "POST", "/api/v1/admin/jobs/run-due").status_code == 404


def test_a_queued_job_can_be_cancelled_and_a_finished_one_cannot(db_url: str) -> None:
    with staff_api(db_url, run_jobs=False) as api:  # no runner: the job stays queued
        queued = _import(api, "hera", _csv(_people(3)), background="true")
        location = queued.headers["location"]
        assert api.get("hera", location).json()["status"] == "queued"
        assert api.call("sam", "POST", f"{location}/cancel").status_code == 404
        cancelled = api.call("hera", "POST", f"{location}/cancel")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        again = api.call("hera", "POST", f"{location}/cancel")
        assert again.status_code == 409 and again.json()["error"]["code"] == "JOB_NOT_CANCELLABLE"


# -- the test clock and run-due ----------------------------------------------------------


def test_the_test_clock_is_shared_by_workers_and_run_due_runs_what_is_due(
    db_url: str, tmp_path: Any
) -> None:
    with (
        staff_api(db_url, test_clock=True, run_jobs=False) as one,
        make_client(db_url, test_clock=True, run_jobs=False) as other,
    ):
        moved = one.call("sid", "POST", "/api/v1/admin/clock", json={"now": "2025-06-10T09:00:00"})
        assert moved.status_code == 200
        token = one.tokens["sid"]
        seen = other.get("/api/v1/admin/clock", headers=bearer(token))
        assert seen.json() == {"now": "2025-06-10T09:00:00"}  # another worker, same time

        queued = _import(one, "hera", _csv(_people(5)), background="true")
        assert (
            queued.json()["status"] == "queued" and queued.json()["run_at"] == "2025-06-10T09:00:00"
        )
        assert one.call("hera", "POST", "/api/v1/admin/jobs/run-due").status_code == 403
        ran = other.post("/api/v1/admin/jobs/run-due", headers=bearer(token))
        assert ran.status_code == 200
        assert [(j["id"], j["status"]) for j in ran.json()["ran"]] == [
            (queued.json()["id"], "done")
        ]
        assert other.post("/api/v1/admin/jobs/run-due", headers=bearer(token)).json() == {"ran": []}

        # a job due tomorrow waits for the clock; the command line follows it too
        state = one.client.app.state  # type: ignore[attr-defined]
        hera = state.users.get("hera")
        payload = {"object": "staff.employee", "filename": "p.csv", "dry_run": False}
        with write_transaction(state.engine) as conn:
            later = state.jobs.enqueue(
                conn,
                "import",
                now=NOW,
                run_at=NOW + timedelta(days=1),
                payload={**payload, "key": None, "mapping": {}},
                data=_csv([["L1", "Lee", "ENG", ""], ["L2", "Liu", "HR", ""]]),
                created_by=(hera.id, "hera"),
            )
            unknown = state.jobs.enqueue(conn, "from_a_newer_version", now=NOW)
        settings = Settings(database_url=db_url, test_clock=True)
        out = io.StringIO()
        assert main(["jobs", "run-due"], out=out, settings=settings) == 0
        assert out.getvalue() == ""  # not due; and a kind this version does not know waits
        one.call("sid", "POST", "/api/v1/admin/clock", json={"now": "2025-06-11T09:00:00"})
        out = io.StringIO()
        assert main(["jobs", "run-due"], out=out, settings=settings) == 0, out.getvalue()
        assert out.getvalue().split("\t")[:4] == [str(later), "import", "done", "2/2"]
        out = io.StringIO()
        assert main(["jobs", "list", "--json"], out=out, settings=settings) == 0
        listed = {j["id"]: j["status"] for j in json.loads(out.getvalue())}
        assert listed == {unknown: "queued", later: "done", queued.json()["id"]: "done"}
