"""CSV export of the records an actor may export, through the secured read layer.

Only rules granting ``export`` count: their scopes give the rows and their field grants
the columns. The file is UTF-8 with a byte-order mark (so spreadsheet programs read
Chinese names correctly), sorted stably, and safe to open: a text cell that a spreadsheet
would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, tab, carriage return or
NUL) gets a leading apostrophe. Numbers are never touched, so ``-5`` stays a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Connection

from runtime.security.actor import Actor
from runtime.services.reading import MAX_LIMIT, Reader

MAX_ROWS = 200_000
TEXT_KINDS = frozenset({"text", "json"})
_DANGEROUS = ("=", "+", "-", "@", "\t", "\r", "\x00")


def safe_cell(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = str(value)
    if kind in TEXT_KINDS and text.startswith(_DANGEROUS):
        return "'" + text
    return text


def export_csv(
    reader: Reader,
    conn: Connection,
    actor: Actor,
    qualified: str,
    *,
    filter: str | None = None,
    sort: str | None = None,
    fields: Sequence[str] | None = None,
) -> str:
    obj = reader.object(qualified)
    rows: list[dict[str, Any]] = []
    cursor = None
    while True:
        page = reader.list_records(
            conn,
            actor,
            qualified,
            filter=filter,
            sort=sort,
            limit=MAX_LIMIT,
            cursor=cursor,
            fields=fields,
            action="export",
        )
        rows += page.data
        cursor = page.next_cursor
        if cursor is None or len(rows) >= MAX_ROWS:
            break
    order = ["id", *[f.name for f in obj.fields], "created_at", "updated_at"]
    if fields is not None:
        order = ["id", *[f for f in fields if f != "id"]]
    present = {name for row in rows for name in row}
    columns = [c for c in order if c in present] if rows else list(fields or ["id"])
    kinds = {name: reader.kind(name, obj) for name in columns}
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([safe_cell(row.get(c), kinds[c]) for c in columns])
    return out.getvalue()
