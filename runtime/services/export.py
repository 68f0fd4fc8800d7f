"""CSV and XLSX export of the records an actor may export, through the secured read layer.

Only rules granting ``export`` count: their scopes give the rows and their field grants
the columns. Both formats share the rows and columns (``export_table``), sorted stably.
The CSV file is UTF-8 with a byte-order mark (so spreadsheet programs read Chinese names
correctly). Both are safe to open: a text cell that a spreadsheet would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab, carriage return or NUL) gets a leading
apostrophe. Numbers are never touched, so ``-5`` stays a number; in XLSX, numbers, dates
and booleans are written as native cells.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
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
    if kind == "json":  # as JSON text, which import reads back as the same value
        value = json.dumps(value, ensure_ascii=False, sort_keys=True)
    elif isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, list):
        value = ", ".join(str(v) for v in value)
    text = str(value)
    if kind in TEXT_KINDS and text.startswith(_DANGEROUS):
        return "'" + text
    return text


def unguard_cell(text: str) -> str:
    """The text ``safe_cell`` guarded, without its apostrophe (for reading a file back)."""
    if text.startswith("'") and text[1:].startswith(_DANGEROUS):
        return text[1:]
    return text


@dataclass(frozen=True)
class ExportTable:
    """The rows an actor exports (JSON values, as the record API reads them), the columns
    in order, and each column's kind."""

    columns: list[str]
    kinds: dict[str, str]
    rows: list[dict[str, Any]]


def export_table(
    reader: Reader,
    conn: Connection,
    actor: Actor,
    qualified: str,
    *,
    filter: str | None = None,
    sort: str | None = None,
    fields: Sequence[str] | None = None,
) -> ExportTable:
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
    return ExportTable(columns, kinds, rows)


def export_csv(table: ExportTable) -> str:
    rows = ([safe_cell(row.get(c), table.kinds[c]) for c in table.columns] for row in table.rows)
    return csv_text(table.columns, rows)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]], bom: bool = True) -> str:
    """A CSV file as spreadsheet programs read it: a byte-order mark (unless ``bom`` is
    false), CRLF line ends."""
    out = io.StringIO()
    if bom:
        out.write("\ufeff")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def export_xlsx(table: ExportTable, qualified: str) -> bytes:
    """The same rows and columns as ``export_csv``, as a one-sheet workbook named after
    the object of ``qualified``."""
    # imported here, as only this export needs them (openpyxl takes a while to import)
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE  # type: ignore[import-untyped]

    def cells(values: Iterable[tuple[Any, str]]) -> list[Any]:
        out = [xlsx_cell(value, kind) for value, kind in values]
        return [ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in out]

    book = Workbook(write_only=True)
    sheet = book.create_sheet(qualified.partition(".")[2][:31] or "records")
    sheet.append(cells((c, "text") for c in table.columns))
    for row in table.rows:
        sheet.append(cells((row.get(c), table.kinds[c]) for c in table.columns))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def xlsx_cell(value: Any, kind: str) -> Any:
    """A JSON value of ``kind`` as an XLSX cell: numbers, dates and booleans native, the
    rest guarded text (any string starting with ``=`` would otherwise be a formula)."""
    if value is None:
        return None
    if kind == "boolean" and isinstance(value, bool):
        return value
    if kind in ("integer", "reference") and isinstance(value, int):
        return value
    try:
        if kind == "decimal":
            return Decimal(str(value))
        if kind == "date":
            return date.fromisoformat(str(value))
        if kind == "datetime":
            moment = datetime.fromisoformat(str(value))
            if moment.tzinfo is not None:  # Excel has no time zones: UTC, as stored
                moment = moment.astimezone(UTC).replace(tzinfo=None)
            return moment
    except (ValueError, ArithmeticError):
        pass  # not what the kind promised: written as text below
    return safe_cell(value, "text")
