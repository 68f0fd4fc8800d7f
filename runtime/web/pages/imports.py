"""Importing a CSV or XLSX file into an object from the browser.

    GET  /apps/{app}/{object}/import      the upload form: file, key field, check or import
    POST /apps/{app}/{object}/import      "check" (a dry run: nothing written) or "import"
                                          (all rows or none); the report lists every
                                          problem by row, column and reason, with the
                                          error report as CSV; "in the background"
                                          queues a job whose progress the page follows
    GET  /imports/jobs/{id}               the job's progress (htmx polls it)

The same importer and checks as ``POST /api/v1/apps/{app}/objects/{object}/import``.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from runtime.errors import TenonError
from runtime.metadata.model import ObjectDef, unique_keys
from runtime.services.import_report import ImportReport
from runtime.storage.engine import read_connection
from runtime.storage.jobs import JobRow
from runtime.web import auth
from runtime.web.pages import shell
from runtime.web.pages.fields import field_label, object_label
from runtime.web.pages.render import page
from runtime.web.routes_import import run_import
from runtime.web.routes_jobs import job_of, shown


def _context(request: Request, obj: ObjectDef) -> dict[str, Any]:
    actor = auth.require_actor(request)
    read = shell.reader(request)
    app = shell.app_of(read, obj.app)
    with read_connection(request.app.state.engine) as conn:
        nav = shell.app_nav(conn, read, actor, app)
    keys = [k[0] for k in unique_keys(obj.spec) if len(k) == 1]
    return {
        **shell.chrome(request, nav),
        "object": {"name": obj.name, "title": object_label(obj, plural=True)},
        "back": f"/apps/{obj.app}/{obj.name}",
        "action": f"/apps/{obj.app}/{obj.name}/import",
        "errors_csv": f"/api/v1/apps/{obj.app}/objects/{obj.name}/import/errors.csv",
        "keys": [(k, field_label(obj, k)) for k in keys],
        "columns": [
            (f.name, field_label(obj, f.name)) for f in obj.fields if f.name in obj.settable
        ],
        "report": None,
        "job": None,
        "problem": None,
    }


def _object(request: Request) -> ObjectDef:
    read = shell.reader(request)
    app = shell.app_of(read, request.path_params["app"])
    return shell.object_of(read, app, request.path_params["object"])


def import_form(request: Request) -> Response:
    auth.require_actor(request)
    return page(request, "import.html", _context(request, _object(request)), {})


async def import_file(request: Request) -> Response:
    obj = await run_in_threadpool(_object, request)
    status = 200
    try:
        outcome: ImportReport | JobRow | None = await run_import(request)
        problem = None
    except TenonError as error:
        if error.status >= 500:
            raise
        outcome, problem, status = None, error, error.status
    context = await run_in_threadpool(_context, request, obj)
    context["problem"] = problem
    if isinstance(outcome, JobRow):
        context["job"] = outcome.as_dict()
        twin: Any = context["job"]
        status = 202
    elif outcome is not None:
        context["report"] = _shown_report(obj, outcome)
        twin = outcome.as_dict()
        if outcome.errors and not outcome.dry_run:
            status = 422
    else:
        twin = problem.body() if problem else {}
    return page(request, "import.html", context, twin, status=status)


def _shown_report(obj: ObjectDef, report: ImportReport) -> dict[str, Any]:
    out = report.as_dict()
    for error in out["errors"]:
        error["label"] = field_label(obj, error["field"]) if error.get("field") else ""
    return out


async def job_progress(request: Request) -> Response:
    actor = auth.require_actor(request)
    job = await run_in_threadpool(job_of, request, actor)
    found = shown(request, actor, job)
    return page(request, "_import_job.html", {"job": found}, found)


routes = [
    Route("/apps/{app}/{object}/import", import_form, methods=["GET"]),
    Route("/apps/{app}/{object}/import", import_file, methods=["POST"]),
    Route("/imports/jobs/{id}", job_progress, methods=["GET"]),
]
