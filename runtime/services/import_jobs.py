"""Imports run as jobs: the file is queued with its options and imported by a worker.

``POST …/import`` with ``background=true`` queues one (202); the job's progress moves
through ``checking`` and ``writing`` and its result is the import report. The import and
the job's completion commit in one transaction, so a worker that dies mid-way leaves
nothing behind and the job runs again; it never imports twice. A commit with problems
ends the job ``failed``, its report (the first ``STORED_ERRORS`` problems) as result.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from runtime.security.actor import Actor
from runtime.services.current import Current
from runtime.services.import_report import ImportReport
from runtime.services.importing import Importer, ImportOptions
from runtime.services.jobs import JobContext, JobFailed, JobRunner
from runtime.services.sheets import read_sheet
from runtime.storage.jobs import JobStore

KIND = "import"
STORED_ERRORS = 10_000


def queue_import(
    jobs: JobStore,
    conn: Connection,
    now: datetime,
    actor: Actor,
    qualified: str,
    data: bytes,
    filename: str,
    options: ImportOptions,
) -> int:
    payload = {"object": qualified, "filename": filename, **asdict(options)}
    payload["mapping"] = dict(options.mapping)
    return jobs.enqueue(
        conn,
        KIND,
        now=now,
        payload=payload,
        data=data,
        created_by=(actor.user_id, actor.username),
    )


def stored(report: ImportReport) -> dict[str, Any]:
    return report.as_dict(limit=STORED_ERRORS)


def register(runner: JobRunner, current: Current) -> None:
    def run(context: JobContext) -> dict[str, Any]:
        payload = context.job.payload
        actor = context.actor()
        sheet = read_sheet(context.input(), payload["filename"])
        options = ImportOptions(bool(payload["dry_run"]), payload["key"], payload["mapping"])
        report = Importer(current.records()).run(
            context.store.engine,
            actor,
            payload["object"],
            sheet,
            options,
            progress=context.progress,
            within=lambda conn, report: context.finish_in(conn, stored(report)),
        )
        if report.errors and not report.dry_run:
            raise JobFailed(report.failure().message, stored(report))
        return stored(report)  # a dry run (a commit was marked done with its work)

    runner.register(KIND, run, immediate=True)
