"""Jobs over the JSON API: what a background import (later: a timer) is doing.

    GET  /api/v1/jobs                   the caller's jobs, newest first (?status=, ?limit=;
                                         system administrators: ?everyone=true)
    GET  /api/v1/jobs/{id}              one job: status, progress, result
    POST /api/v1/jobs/{id}/cancel       a job that has not started (409 when it has)
    GET  /api/v1/jobs/{id}/errors.csv   an import job's problems, as CSV
    POST /api/v1/admin/jobs/run-due     with TENON_TEST_CLOCK=1 only: run what is due

A job is the business of whoever queued it. A system administrator sees every job's
status and counts, but not another user's result details (an import report quotes
cells of the file). Anyone else gets 404, as for a job that does not exist.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.errors import NotFound, TenonError
from runtime.security.actor import Actor
from runtime.services import import_jobs
from runtime.services.import_report import RowError, error_report_csv
from runtime.services.jobs import JobRunner
from runtime.storage.engine import write_transaction
from runtime.storage.jobs import FINISHED, QUEUED, JobRow, JobStore
from runtime.web import auth, body

STATUSES = (QUEUED, "running", *sorted(FINISHED))
_COUNTS = ("dry_run", "committed", "rows", "created", "updated", "error_count")


def _jobs(request: Request) -> JobStore:
    jobs: JobStore = request.app.state.jobs
    return jobs


def shown(request: Request, actor: Actor, job: JobRow) -> dict[str, Any]:
    out = job.as_dict()
    runner: JobRunner = request.app.state.runner
    live = runner.live.get(job.id)
    if live is not None and job.status == "running":  # running in this process: fresher
        out["progress"] = {"done": live[0], "total": live[1], "step": live[2]}
    if job.created_by_id != actor.user_id and isinstance(out["result"], dict):
        out["result"] = {k: v for k, v in out["result"].items() if k in _COUNTS}
    return out


def job_of(request: Request, actor: Actor) -> JobRow:
    raw = request.path_params["id"]
    job = _jobs(request).get(int(raw)) if raw.isdigit() and len(raw) <= 18 else None
    if job is None or not (job.created_by_id == actor.user_id or actor.is_system_admin):
        raise NotFound("job not found")
    return job


async def list_jobs(request: Request) -> Response:
    actor = auth.require_actor(request)
    params = request.query_params
    status = params.get("status") or None
    if status is not None and status not in STATUSES:
        raise body.invalid("status", f"status must be one of {', '.join(STATUSES)}")
    everyone = params.get("everyone", "false") == "true"
    if everyone and not actor.is_system_admin:
        raise TenonError(
            "only a system administrator sees everyone's jobs", code="FORBIDDEN", status=403
        )
    limit = body.query_int(request, "limit", default=50, minimum=1, maximum=500)

    def work() -> list[JobRow]:
        return _jobs(request).list(
            created_by_id=None if everyone else actor.user_id,
            statuses=[status] if status else (),
            limit=limit,
        )

    found = await run_in_threadpool(work)
    return JSONResponse({"data": [shown(request, actor, j) for j in found]})


async def get_job(request: Request) -> Response:
    actor = auth.require_actor(request)
    job = await run_in_threadpool(job_of, request, actor)
    return JSONResponse(shown(request, actor, job))


async def cancel_job(request: Request) -> Response:
    actor = auth.require_actor(request)

    def work() -> JobRow:
        job = job_of(request, actor)
        with write_transaction(request.app.state.engine) as conn:
            cancelled = _jobs(request).cancel(conn, job.id, request.app.state.clock.now())
        if not cancelled:
            raise TenonError(
                f"job {job.id} is {job.status}: only a queued job can be cancelled",
                code="JOB_NOT_CANCELLABLE",
                status=409,
            )
        return _jobs(request).get(job.id) or job

    job = await run_in_threadpool(work)
    return JSONResponse(shown(request, actor, job))


async def job_errors(request: Request) -> Response:
    actor = auth.require_actor(request)
    job = await run_in_threadpool(job_of, request, actor)
    result = job.result if job.created_by_id == actor.user_id else None
    if job.kind != import_jobs.KIND or not isinstance(result, dict):
        raise NotFound("this job has no error report")
    errors = (RowError(**e) for e in result.get("errors", []))
    return Response(
        error_report_csv(errors).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="job-{job.id}-errors.csv"'},
    )


async def run_due(request: Request) -> Response:
    """Run every job due by the (test) clock now; the jobs that ran, as they ended."""
    auth.require_system_admin(request)
    runner: JobRunner = request.app.state.runner
    ran = await run_in_threadpool(runner.run_due)
    return JSONResponse({"ran": [j.as_dict() for j in ran]})


routes = [
    Route("/api/v1/jobs", list_jobs, methods=["GET"]),
    Route("/api/v1/jobs/{id}", get_job, methods=["GET"]),
    Route("/api/v1/jobs/{id}/cancel", cancel_job, methods=["POST"]),
    Route("/api/v1/jobs/{id}/errors.csv", job_errors, methods=["GET"]),
]
test_clock_routes = [Route("/api/v1/admin/jobs/run-due", run_due, methods=["POST"])]
