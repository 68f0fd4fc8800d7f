"""The CSV file of the ``export`` effect: the rows of a relation, one line each, with the
columns the effect declares (a header and a formula on the row each).

Rows are sorted stably by the ``sort`` formulas (blanks last), then by id. Cells are
written as the record export writes them (``runtime.services.export.safe_cell``: a text a
spreadsheet would run as a formula gets a leading apostrophe), numbers with the
``format``'s decimal places (``"0.00"``: rounded half away from zero, no thousands
separator) or as exact as they are, dates in ISO 8601, users by username. The file is
UTF-8 with a byte-order mark (``utf-8-sig``, the default: spreadsheet programs then read
Chinese names correctly), plain ``utf-8``, or ``gb18030``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from runtime.decimals import CONTEXT
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled, Env
from runtime.services.export import csv_text, safe_cell

Formula = Callable[[str, str], Compiled]  # (text, path) -> a formula on the rows
Usernames = Callable[[list[int]], Mapping[int, str]]

ENCODINGS = {"utf-8-sig": ("utf-8", True), "utf-8": ("utf-8", False), "gb18030": ("gb18030", False)}
DEFAULT_ENCODING = "utf-8-sig"
FORMAT = re.compile(r"^0(?:\.(0{1,18}))?$")


class CellError(Exception):
    """A formula of the export that failed on a row: where (below the effect's path) and
    why."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where
        self.message = message


def places(fmt: Any) -> int | None:
    """The decimal places of a number ``format`` (``"0"``, ``"0.00"``); None: none
    declared (or not one of these, which validation refuses)."""
    found = FORMAT.match(fmt) if isinstance(fmt, str) else None
    if found is None:
        return None
    return len(found.group(1) or "")


def sort_formulas(spec: Mapping[str, Any]) -> list[str]:
    """The effect's ``sort``: one formula or a list of them."""
    sort = spec.get("sort")
    if isinstance(sort, str):
        return [sort]
    return [str(s) for s in sort or []]


@dataclass(frozen=True)
class _Column:
    header: str
    value: Callable[[Mapping[str, Any]], Any]
    kind: str
    places: int | None


def csv_file(
    formula: Formula,
    rows: Sequence[Mapping[str, Any]],
    env: Env,
    spec: Mapping[str, Any],
    usernames: Usernames,
) -> tuple[bytes, str]:
    """The file's bytes and its media type: ``rows`` as the effect ``spec`` declares.
    Each formula is compiled once (by ``formula``) and run on every row."""
    columns = []
    for i, col in enumerate(spec["columns"]):
        compiled = formula(str(col["value"]), f"/columns/{i}/value")
        kind = compiled.expr.type.kind
        columns.append(
            _Column(str(col["header"]), compiled.evaluator(env), kind, places(col.get("format")))
        )
    keys = [formula(text, "/sort").evaluator(env) for text in sort_formulas(spec)]
    lines: list[tuple[tuple[Any, ...], list[Any]]] = []
    for row in rows:
        order: list[Any] = []
        for k, key in enumerate(keys):
            value = _run(key, row, f"/sort/{k}" if len(keys) > 1 else "/sort")
            order.append((value is None, value if value is not None else 0))
        order.append(int(row["id"]))
        values = [_run(c.value, row, f"/columns/{i}/value") for i, c in enumerate(columns)]
        lines.append((tuple(order), values))
    try:
        lines.sort(key=lambda line: line[0])
    except TypeError:  # values of different kinds in one sort key
        raise CellError("/sort", "the sort gives values that cannot be ordered together") from None
    users = [
        v for _, values in lines for c, v in zip(columns, values, strict=True) if c.kind == "user"
    ]
    names = usernames([v for v in users if isinstance(v, int)]) if users else {}
    body = (
        [_cell(v, c, names) for c, v in zip(columns, values, strict=True)] for _, values in lines
    )
    codec, bom = ENCODINGS[str(spec.get("encoding") or DEFAULT_ENCODING)]
    text = csv_text([c.header for c in columns], body, bom=bom)
    return text.encode(codec), f"text/csv; charset={codec}"


def _run(formula: Callable[[Mapping[str, Any]], Any], row: Mapping[str, Any], where: str) -> Any:
    try:
        return formula(row)
    except FormulaError as error:
        raise CellError(where, f"row {row['id']}: {error}") from None


def _cell(value: Any, column: _Column, users: Mapping[int, str]) -> str:
    if value is None:
        return ""
    if column.kind == "user" and isinstance(value, int):
        return users.get(value, str(value))
    if isinstance(value, bool):
        return safe_cell(value, "boolean")
    if isinstance(value, int | Decimal):
        number = Decimal(value)
        if column.places is not None:
            quantum = Decimal(1).scaleb(-column.places)
            number = number.quantize(quantum, rounding=ROUND_HALF_UP, context=CONTEXT)
        if not number:
            number = abs(number)  # -0.001 to no places: 0, never "-0"
        return format(number, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list):
        return safe_cell([_cell(v, column, users) for v in value], "text")
    return safe_cell(value, "text")
