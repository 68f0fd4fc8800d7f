"""Reading an uploaded table: CSV (UTF-8, with or without BOM, comma or semicolon) or
XLSX (the first sheet), with limits on size, rows, columns and unpacked size. A file that
cannot be read is a 400 ``INVALID_FILE`` with the reason, never a server error.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from runtime.errors import TenonError

MAX_BYTES = 20 << 20
MAX_ROWS = 50_000
MAX_COLUMNS = 500
MAX_UNPACKED = 256 << 20  # an XLSX file's parts, uncompressed


@dataclass(frozen=True)
class Sheet:
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells); blank rows left out


def _bad(message: str) -> TenonError:
    return TenonError(message, code="INVALID_FILE", status=400)


def read_sheet(data: bytes, filename: str = "") -> Sheet:
    """The first sheet of an XLSX workbook, or a CSV file (UTF-8, ``,`` ``;`` or tab)."""
    if len(data) > MAX_BYTES:
        message = f"the file is larger than {MAX_BYTES >> 20} MB"
        raise TenonError(message, code="TOO_LARGE", status=413)
    name = filename.lower()
    if data.startswith(b"PK\x03\x04") or name.endswith((".xlsx", ".xlsm")):
        return _read_xlsx(data)
    if data.startswith(b"\xd0\xcf\x11\xe0") or name.endswith(".xls"):
        raise _bad("old .xls workbooks cannot be read: save the file as .xlsx or as CSV UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise _bad(
            f"the file is not UTF-8 text (byte {error.start} is not valid): "
            "save it as CSV UTF-8 or as .xlsx"
        ) from None
    try:
        sample = "\n".join(text[:65536].splitlines()[:20])
        delimiter = csv.Sniffer().sniff(sample, delimiters=",;\t").delimiter
    except csv.Error:
        delimiter = ","
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        return _collect(rows)
    except csv.Error as error:
        raise _bad(f"the CSV file could not be read at line {rows.line_num}: {error}") from None


def _read_xlsx(data: bytes) -> Sheet:
    # imported here, as only XLSX files need it (openpyxl takes a while to import)
    from openpyxl import load_workbook  # type: ignore[import-untyped]

    unreadable = _bad("the file is not a readable XLSX workbook")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError):
        raise unreadable from None
    if unpacked > MAX_UNPACKED:
        raise _bad(f"the workbook unpacks to more than {MAX_UNPACKED >> 20} MB")
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # a corrupt workbook fails in many ways inside openpyxl
        raise unreadable from None
    try:
        if not book.worksheets:
            raise _bad("the workbook has no worksheet")
        return _collect(book.worksheets[0].iter_rows(values_only=True))
    except TenonError:
        raise
    except Exception:
        raise _bad("the first sheet of the workbook could not be read") from None
    finally:
        book.close()


def blank_cell(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _collect(rows: Iterable[Sequence[Any]]) -> Sheet:
    headers: list[str] | None = None
    out: list[tuple[int, list[Any]]] = []
    for number, row in enumerate(rows, start=1):
        cells = list(row)
        while cells and blank_cell(cells[-1]):
            cells.pop()
        if len(cells) > MAX_COLUMNS:
            raise _bad(f"row {number} has more than {MAX_COLUMNS} columns")
        if headers is None:
            if not cells:
                raise _bad("row 1 is blank: it must name the columns")
            headers = ["" if c is None else str(c).strip() for c in cells]
        elif cells and len(out) >= MAX_ROWS:
            message = f"the file has more than {MAX_ROWS} rows: split it"
            raise TenonError(message, code="TOO_MANY_ROWS", status=413)
        elif cells:
            out.append((number, cells))
    if headers is None:
        raise _bad("the file is empty: row 1 must name the columns")
    return Sheet(headers, out)
