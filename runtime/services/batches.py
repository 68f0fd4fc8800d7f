"""Writing many records sent at once (a bulk request, an import chunk): each in a
savepoint of the caller's transaction, so one refusal refuses them all and every row's
problems are reported together."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from runtime.errors import Issue, TenonError, ValidationFailed
from runtime.services.records import Written

MAX_BULK = 1000


def write_rows(
    conn: Connection,
    rows: Sequence[Any],
    write: Callable[[Connection, Mapping[str, Any]], Written],
) -> list[Written]:
    """``write`` each row (a JSON object) in the caller's transaction; any problem in
    any row refuses them all, reporting every row's problems (``/rows/3/salary``)."""
    if len(rows) > MAX_BULK:
        raise TenonError(
            f"send at most {MAX_BULK} records per request ({len(rows)} sent)",
            code="TOO_MANY_RECORDS",
        )
    issues: list[Issue] = []
    done: list[Written] = []
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            issues.append(Issue(f"/rows/{i}", "must be a JSON object", "INVALID_BODY"))
            continue
        savepoint = conn.begin_nested()
        try:
            done.append(write(conn, row))
            savepoint.commit()
        except TenonError as error:
            savepoint.rollback()
            found = error.details or [Issue("", error.message, error.code)]
            issues += [Issue(f"/rows/{i}{d.path}", d.message, d.code) for d in found]
    if issues:
        raise ValidationFailed.from_issues(
            f"nothing was saved: {len({i.path.split('/')[2] for i in issues})} of "
            f"{len(rows)} records have problems",
            issues,
        )
    return done
