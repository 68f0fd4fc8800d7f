"""Scheduled changes: a record edit that takes effect at a future time.

``schedule`` checks the edit now as an update by the caller (the fields exist, the
values fit, the caller may change them on this record) and queues it as a job of kind
``scheduled_change`` due at ``effective_at``. Until then it is pending: listed with the
record's scheduled changes (``pending``), cancellable through the jobs API.

When it comes due, the change is applied as its author, with the permissions they hold
then, on the record as it is then (it is not refused for being based on an older
version: it is an instruction to set those fields at that time); the update and the
job's completion are one transaction. A change the record refuses by then (a locked
state, a rule, a lost permission) ends the job ``failed`` with the reason, and nothing
is written.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from runtime.errors import Issue, TenonError, ValidationFailed
from runtime.security.actor import Actor
from runtime.services import inputs
from runtime.services.jobs import JobContext, JobFailed
from runtime.services.records import Records
from runtime.services.write_checks import sent_fields
from runtime.storage.engine import write_transaction
from runtime.storage.jobs import QUEUED, JobRow, JobStore

KIND = "scheduled_change"


def _refused(path: str, message: str, code: str = "INVALID_VALUE") -> ValidationFailed:
    return ValidationFailed.from_issues(message, [Issue(path, message, code)])


def effective_time(raw: Any, now: datetime) -> datetime:
    """``effective_at`` as a naive UTC time after ``now`` (a date: its start)."""
    when: datetime | None = None
    if isinstance(raw, str) and len(raw) <= 40:
        try:
            when = datetime.fromisoformat(raw)
        except ValueError:
            when = None
    if when is None:
        message = "effective_at must be an ISO 8601 date or date and time"
        raise ValidationFailed.from_issues(
            message, [Issue("/effective_at", message, "INVALID_VALUE")]
        )
    if when.tzinfo is not None:  # kept as naive UTC, like every time in Tenon
        when = when.astimezone(UTC).replace(tzinfo=None)
    if when <= now:
        message = "effective_at must be in the future (to change the record now, PATCH it)"
        raise _refused("/effective_at", message, "NOT_FUTURE")
    return when


class Scheduled:
    def __init__(self, records: Records, jobs: JobStore) -> None:
        self.records = records
        self.jobs = jobs

    def schedule(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        changes: Any,
        effective_at: Any,
    ) -> int:
        """Check the edit as the caller's update, and queue it; the job's id."""
        if not isinstance(changes, Mapping) or not changes:
            message = "changes must be an object of the fields to set"
            raise ValidationFailed.from_issues(
                message, [Issue("/changes", message, "INVALID_BODY")]
            )
        now = self.records.clock.now()
        when = effective_time(effective_at, now)
        obj = self.records.reader.object(qualified)
        app = qualified.partition(".")[0]
        values, issues = inputs.parse(
            conn, app, obj, changes, self.records.reader.table, "/changes"
        )
        if "version" in changes:
            message = "a scheduled change applies to the record as it is then: leave out version"
            issues.append(Issue("/changes/version", message, "INVALID_BODY"))
        if issues:
            raise ValidationFailed.from_issues(
                f"the change to this {obj.name} was not scheduled", issues
            )
        self.records.permits.check(
            conn, actor, qualified, "update", record_id, sent_fields(values, changes)
        )
        payload = {"object": qualified, "id": record_id, "changes": dict(changes)}
        key = f"{_prefix(qualified, record_id)}{uuid.uuid4().hex}"
        return self.jobs.enqueue(
            conn,
            KIND,
            now=now,
            run_at=when,
            payload=payload,
            key=key,
            created_by=(actor.user_id, actor.username),
        )

    def pending(self, qualified: str, record_id: int) -> list[JobRow]:
        """The record's changes still to come, soonest first."""
        found = self.jobs.list(key_prefix=_prefix(qualified, record_id), statuses=[QUEUED])
        return sorted(found, key=lambda j: (j.run_at, j.id))

    def apply(self, context: JobContext) -> dict[str, Any]:
        payload = context.job.payload
        qualified, record_id = str(payload["object"]), int(payload["id"])
        actor = context.actor()
        with write_transaction(self.jobs.engine) as conn:
            try:
                row = self.records.locked_row(conn, qualified, record_id)
                done = self.records.update(
                    conn, actor, qualified, record_id, payload["changes"], row["version"]
                )
            except TenonError as error:
                raise JobFailed(error.message, error.body()["error"]) from None
            result = {"id": record_id, "version": done.version}
            context.finish_in(conn, result)
        return result


def _prefix(qualified: str, record_id: int) -> str:
    return f"change:{qualified}:{record_id}:"


def handler(view: Callable[[], Any]) -> Callable[[JobContext], dict[str, Any]]:
    def run(context: JobContext) -> dict[str, Any]:
        scheduled: Scheduled = view().scheduled
        return scheduled.apply(context)

    return run
