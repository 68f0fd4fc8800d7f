"""Checks and helpers of the write path that need no state: unique values, auto
numbers, database refusals turned into answers, versions and ids from a request.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.errors import Conflict, Issue, TenonError, ValidationFailed
from runtime.metadata.model import ObjectDef
from runtime.services import inputs

_COUNTER = re.compile(r"\{(#+)\}")


def auto_numbers(
    conn: Connection,
    obj: ObjectDef,
    table: sa.Table,
    now: datetime,
    given: Any,
    counters: dict[tuple[str, str], int],
) -> dict[str, str]:
    """Values of auto-number fields: the pattern with the date filled in and the next
    counter among the values with the same prefix (``PIP-2025-0007``). ``counters``
    carries the last number given per field and prefix across the rows of a batch."""
    out: dict[str, str] = {}
    for fdef in obj.stored_fields:
        if fdef.type != inputs.AUTO or fdef.name in given:
            continue
        text = str(fdef.spec.get("pattern") or "{####}")
        for token, value in (
            ("{YYYY}", f"{now.year:04d}"),
            ("{YY}", f"{now.year % 100:02d}"),
            ("{MM}", f"{now.month:02d}"),
            ("{DD}", f"{now.day:02d}"),
        ):
            text = text.replace(token, value)
        counter = _COUNTER.search(text)
        if counter is None:
            out[fdef.name] = text
            continue
        prefix, width = text[: counter.start()], len(counter.group(1))
        key = (fdef.name, prefix)
        if key not in counters:
            _serialize(conn, f"{table.name}.{fdef.name}:{prefix}")
            counters[key] = _highest(conn, table.c[fdef.name], prefix)
        counters[key] += 1
        out[fdef.name] = prefix + str(counters[key]).zfill(width) + text[counter.end() :]
    return out


def _serialize(conn: Connection, key: str) -> None:
    """One numbering at a time per field and prefix, until the transaction ends: on
    PostgreSQL a transaction-level advisory lock (two creates at once would otherwise
    read the same highest number and collide); SQLite's write lock already does it."""
    if conn.dialect.name == "postgresql":
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(key))))


def _highest(conn: Connection, column: Any, prefix: str) -> int:
    taken = conn.execute(
        sa.select(column).where(column.startswith(prefix, autoescape=True))
    ).scalars()
    highest = 0
    for value in taken:
        digits = re.match(r"\d+", str(value)[len(prefix) :])
        if digits:
            highest = max(highest, int(digits.group(0)))
    return highest


def at_row(error: TenonError, where: str) -> list[Issue]:
    """An error about one record, as problems of that row of a batch."""
    found = error.details or [Issue("", error.message, error.code)]
    return [Issue(f"{where}{d.path}", d.message, d.code) for d in found]


def unique_issues(
    conn: Connection, obj: ObjectDef, table: sa.Table, rows: list[dict[str, Any]], single: bool
) -> list[Issue]:
    """Values of unique fields taken by another record, or by another row of the batch
    (composite and conditional constraints are left to the database)."""
    issues: list[Issue] = [] if single else duplicates(obj, rows, fallback=False)
    for fdef in obj.stored_fields:
        if not fdef.unique:
            continue
        given = sorted({r[fdef.name] for r in rows if r.get(fdef.name) is not None}, key=str)
        taken: set[Any] = set()
        query = _taken(table, fdef.name)
        for start in range(0, len(given), 500):
            taken |= set(conn.execute(query, {"values": given[start : start + 500]}).scalars())
        for i, row in enumerate(rows):
            if row.get(fdef.name) in taken:
                where = "" if single else f"/rows/{i}"
                message = f"another {obj.name} already has this {fdef.name}"
                issues.append(Issue(f"{where}/{fdef.name}", message, "NOT_UNIQUE"))
    return issues


def _taken(table: sa.Table, name: str) -> Any:
    """``SELECT name … WHERE name IN :values``, built once per table (``table.info``)."""
    key = ("tenon_taken", name)
    if key not in table.info:
        column = table.c[name]
        values: Any = sa.bindparam("values", expanding=True)
        table.info[key] = sa.select(column).where(column.in_(values))
    return table.info[key]


def duplicates(obj: ObjectDef, rows: list[dict[str, Any]], fallback: bool = True) -> list[Issue]:
    """Rows of one batch that share a value of a unique field."""
    issues = []
    for fdef in obj.stored_fields:
        if not fdef.unique:
            continue
        first: dict[Any, int] = {}
        for i, row in enumerate(rows):
            value = row.get(fdef.name)
            if value is None:
                continue
            if value in first:
                message = f"row {first[value]} has the same {fdef.name}"
                issues.append(Issue(f"/rows/{i}/{fdef.name}", message, "NOT_UNIQUE"))
            else:
                first[value] = i
    if issues or not fallback:
        return issues
    return [Issue("/rows", "the database refused these records", "CONFLICT")]


def sent_fields(values: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    return [name for name in data if name in values]


def qualified_target(qualified: str, target: str | None) -> str:
    assert target is not None
    return target if "." in target else f"{qualified.partition('.')[0]}.{target}"


def version_of(raw: Any) -> int:
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 12:
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**31:
        raise TenonError(
            "send the record's version (from when it was read) to change it",
            [Issue("/version", "must be the record's current version", "VERSION_REQUIRED")],
            code="VERSION_REQUIRED",
        )
    return raw


def record_id(raw: Any) -> int:
    """A record id from a request body, or a 400 naming it."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**63:
        raise TenonError(
            "each record needs its id, a whole number",
            [Issue("/id", "must be the id of a record", "ID_REQUIRED")],
            code="ID_REQUIRED",
        )
    return raw


def integrity_error(obj: ObjectDef, exc: sa.exc.IntegrityError) -> TenonError:
    """A refusal by the database (unique values, records still referring) as an answer
    naming the fields, never the SQL."""
    text = str(exc.orig)
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
    lowered = text.lower()
    if "unique" in lowered or "duplicate" in lowered:
        fields = [
            f.name
            for f in obj.stored_fields
            if f.name in constraint or re.search(rf"\.{re.escape(f.name)}\b", text)
        ]
        declared: Mapping[str, Any] = {}
        for constraint_def in obj.constraints:
            if constraint_def.name in constraint or all(
                re.search(rf"\.{re.escape(n)}\b", text) for n in constraint_def.fields
            ):
                fields, declared = list(constraint_def.fields), constraint_def.spec
        code = str(declared.get("code") or "NOT_UNIQUE")
        said = declared.get("message")
        if isinstance(said, Mapping):
            said = said.get("en") or next(iter(said.values()), None)
        issues = [
            Issue(f"/{name}", str(said or f"another {obj.name} already has this {name}"), code)
            for name in fields or ["id"]
        ]
        refused = ValidationFailed.from_issues(f"the {obj.name} was not saved", issues)
        if declared.get("code"):  # the app's own name for it (PIP_ALREADY_OPEN)
            refused.code = code
        return refused
    if "foreign key" in lowered:
        return Conflict(
            f"other records still refer to this {obj.name}; change or delete them first",
            code="REFERENCED",
        )
    return Conflict(f"the database refused the change to this {obj.name}", code="CONFLICT")


def one_at_most(conn: Connection, obj: ObjectDef, table: sa.Table, adding: int) -> None:
    """A ``singleton`` object holds one record at most: 409 ``SINGLETON_EXISTS`` for a
    second (creates are serialized, so two at once cannot both pass)."""
    if not obj.spec.get("singleton"):
        return
    _serialize(conn, f"{table.name}:singleton")
    present = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
    if present + adding > 1:
        raise Conflict(
            f"{obj.name} holds one record at most (its settings): change the one there is",
            code="SINGLETON_EXISTS",
        )
