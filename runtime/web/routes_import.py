"""Importing records from a file, and exporting them as a workbook, as the signed-in caller.

    POST /api/v1/apps/{app}/objects/{object}/import             multipart: file, dry_run,
                                                                 key, mapping (JSON object),
                                                                 background
    POST /api/v1/apps/{app}/objects/{object}/import/errors.csv  the same form, always a dry
                                                                 run: every problem as CSV
    GET  /api/v1/apps/{app}/objects/{object}/export.xlsx        filter, sort, fields

An import answers 200 with its report (committed, or a dry run), or 422 when a commit
found problems: the error body (each problem in ``details`` at ``/rows/<row>/<field>`` or
``/columns/<header>``) plus the report under ``"report"``. Nothing is written then.
With ``background=true`` the import is queued as a job instead: 202 with the job (its
``Location`` is ``/api/v1/jobs/{id}``, which shows progress and then the report).
"""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from runtime.errors import Issue, TenonError
from runtime.services.export import export_xlsx
from runtime.services.import_jobs import queue_import
from runtime.services.import_report import ImportReport, error_report_csv
from runtime.services.importing import Importer, ImportOptions
from runtime.services.sheets import MAX_BYTES, read_sheet
from runtime.storage.engine import write_transaction
from runtime.storage.jobs import JobRow
from runtime.web import auth, body
from runtime.web.routes_records import exported, qualified_object
from runtime.web.routes_writes import records

MAX_FORM_BYTES = MAX_BYTES + (64 << 10)  # the file and the few small fields around it
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def _body(request: Request) -> bytes:
    """The request body, refused (413) past ``MAX_FORM_BYTES`` before it is all read."""
    message = f"the upload is larger than {MAX_BYTES >> 20} MB"
    return await body.read_bytes(request, MAX_FORM_BYTES, too_large=message)


async def _upload(request: Request) -> tuple[bytes, str, ImportOptions, bool]:
    """The uploaded file, its name, the options sent with it, and whether to import it
    in the background."""
    raw = await _body(request)
    async with body.replayed(request, raw).form(
        max_files=1, max_fields=10, max_part_size=64 << 10
    ) as form:
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise TenonError(
                "send the file as the field 'file' of a multipart/form-data body",
                [Issue("/file", "a CSV or XLSX file is required", "REQUIRED")],
                code="FILE_REQUIRED",
            )
        data = await upload.read()
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        name = upload.filename or ""
    dry_run, background = _flag(fields, "dry_run"), _flag(fields, "background")
    mapping: Any = {}
    if fields.get("mapping", "").strip():
        try:
            mapping = json.loads(fields["mapping"])
        except ValueError:
            raise body.invalid("mapping", "mapping must be a JSON object") from None
    if not isinstance(mapping, dict) or not all(
        isinstance(v, str) or v is None for v in mapping.values()
    ):
        raise body.invalid("mapping", "mapping must map column headers to field names or null")
    key = fields.get("key", "").strip() or None
    return data, name, ImportOptions(dry_run, key, mapping), background


def _flag(fields: dict[str, str], name: str) -> bool:
    value = fields.get(name, "false").strip().lower()
    if value not in ("true", "false"):
        raise body.invalid(name, f"{name} must be true or false")
    return value == "true"


async def run_import(request: Request, dry_run: bool = False) -> ImportReport | JobRow:
    """The report of the import (run now), or the job queued to run it."""
    actor = auth.require_actor(request)

    def prepare() -> tuple[Importer, str]:  # the installed apps are read from the database
        importer = Importer(records(request)[1])
        qualified = qualified_object(request, importer.reader)
        importer.check(actor, qualified)  # before the upload is read
        return importer, qualified

    importer, qualified = await run_in_threadpool(prepare)
    data, name, options, background = await _upload(request)
    if dry_run:
        options = ImportOptions(True, options.key, options.mapping)
    engine, state = request.app.state.engine, request.app.state

    def work() -> ImportReport | JobRow:
        if background and not dry_run:
            read_sheet(data, name)  # a file that cannot be read is refused now, not later
            with write_transaction(engine) as conn:
                now = state.clock.now()
                job_id = queue_import(state.jobs, conn, now, actor, qualified, data, name, options)
            state.runner.wake()
            job: JobRow | None = state.jobs.get(job_id)
            assert job is not None
            return job
        return importer.run(engine, actor, qualified, read_sheet(data, name), options)

    return await run_in_threadpool(work)


async def import_records(request: Request) -> Response:
    report = await run_import(request)
    if isinstance(report, JobRow):
        location = f"/api/v1/jobs/{report.id}"
        return JSONResponse(report.as_dict(), status_code=202, headers={"location": location})
    if report.errors and not report.dry_run:
        answer = {**report.failure().body(), "report": report.as_dict()}
        return JSONResponse(answer, status_code=422)
    return JSONResponse(report.as_dict())


async def import_errors(request: Request) -> Response:
    report = await run_import(request, dry_run=True)
    assert isinstance(report, ImportReport)
    name = f"{request.path_params['object']}-import-errors.csv"
    return Response(
        error_report_csv(report.errors).encode("utf-8"),
        media_type="text/csv; charset=utf-8",
        headers={"content-disposition": f'attachment; filename="{name}"'},
    )


async def export_workbook(request: Request) -> Response:
    def work() -> tuple[str, bytes]:
        qualified, table = exported(request)
        return qualified, export_xlsx(table, qualified)

    qualified, data = await run_in_threadpool(work)
    name = qualified.replace(".", "-") + ".xlsx"
    return Response(
        data, media_type=XLSX, headers={"content-disposition": f'attachment; filename="{name}"'}
    )


BASE = "/api/v1/apps/{app}/objects/{object}"
routes = [
    Route(f"{BASE}/import", import_records, methods=["POST"]),
    Route(f"{BASE}/import/errors.csv", import_errors, methods=["POST"]),
    Route(f"{BASE}/export.xlsx", export_workbook, methods=["GET"]),
]
