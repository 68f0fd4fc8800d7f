"""Lists: multiple-choice values, related records (``lines``, ``lines.amount``) and lists
built by functions. Lists are evaluated in Python; in filters use the aggregates (SUM,
COUNT, …) or CONTAINS, which run in the database.

Shared rules: positions count from 1 and a negative position counts from the end (-1 is
the last item); a blank list gives blank (ARRAYLENGTH gives 0); items keep their order
(related records in creation order); blank items (blank or empty text) are kept unless a
function says otherwise; no function gives a list longer than 10,000 items.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.library.base import EvalError, fn, pg
from runtime.formula.operators import MAX_TEXT, text_of
from runtime.formula.types import BLANK, FType, list_of

MAX_ITEMS = 10_000


def _bounded(items: list[Any]) -> list[Any]:
    if len(items) > MAX_ITEMS:
        raise EvalError(f"the list would have more than {MAX_ITEMS:,} items")
    return items


def _blank(value: Any) -> bool:
    return value is None or value == ""


def _key(value: Any) -> tuple[int, Any]:
    """A sort and equality key that never fails: blanks are one value, dates and times
    compare as moments, and values of different kinds never compare equal."""
    if _blank(value):
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    if isinstance(value, int | Decimal):
        return (2, value)
    if isinstance(value, datetime):
        return (3, value)
    if isinstance(value, date):
        return (3, datetime(value.year, value.month, value.day))
    if isinstance(value, str):
        return (4, value)
    return (5, text_of(value))


def _position(values: list[Any], position: Any) -> int | None:
    """The 0-based index of a 1-based (or negative, from the end) position, if any."""
    if position is None:
        return None
    index = int(position)  # truncates toward zero, like Excel's INDEX
    if index > 0:
        index -= 1
    elif index < 0:
        index += len(values)
    else:
        return None
    return index if 0 <= index < len(values) else None


def _filtered(types: Sequence[FType], call: ir.Call) -> FType:
    """FILTER/LOOKUP: related records with a condition, or a list and a list of TRUE/FALSE."""
    name = call.function.name
    if isinstance(call.args[0], ir.Related) and len(call.args) == 1:
        return types[0]
    include = call.args[1]
    kind = include.type
    if kind.kind == "blank" or (kind.of is not None and kind.of.kind in ("boolean", "blank")):
        return types[0] if types[0].kind == "list" else list_of(BLANK)
    raise FormulaError(
        f"{name}() takes a condition only over related records, such as "
        f'{name}(relation, status = "open") or {name}(relation.amount, amount > 0); '
        f"for another list give a list of TRUE/FALSE values, one per item",
        include.pos,
        "FORMULA_TYPE",
    )


def _filter(values: Any, *include: Any) -> list[Any] | None:
    if not include:  # related records: the database has applied the condition
        return values if values is None else list(values)
    if values is None:
        return None
    keep = include[0] or []
    return [v for v, k in zip(values, keep, strict=False) if k is True]


_FILTER_NOTES = (
    "The condition names fields of the related records directly (Feishu Base writes "
    "CurrentValue.field) and is applied in the database. Any other list takes, as in "
    "Excel's FILTER, a list of TRUE/FALSE values, one per item: items without a TRUE are "
    "dropped, and a shorter list of TRUE/FALSE values drops the items past its end instead "
    "of giving an error."
)


@fn(
    "FILTER",
    "list",
    "values: list:T, condition: value",
    _filtered,
    "The related records (or their values) for which the condition is TRUE: "
    '`FILTER(lines, status = "open")`, `FILTER(lines.amount, amount > 100)`.',
    "FILTER(LIST(1, 2, 3), LIST(TRUE, FALSE, TRUE))",
    "[1, 3]",
    where_arg=1,
    notes=_FILTER_NOTES,
)
def _filter_fn(values: Any, *include: Any) -> list[Any] | None:
    return _filter(values, *include)


@fn(
    "LOOKUP",
    "list",
    "values: list:T, condition: value",
    _filtered,
    "The values of a field of the related records that meet the condition, as a list: "
    "`LOOKUP(lines.product, amount > 100)`.",
    'LOOKUP(LIST("Ana", "Bo"), LIST(FALSE, TRUE))',
    '["Bo"]',
    where_arg=1,
    notes="Works like FILTER (the Feishu Base form): the condition is about the related "
    "records, named without a prefix. Excel's LOOKUP(value, lookup_range, result_range) is "
    "a different function and is not supported.",
)
def _lookup(values: Any, *include: Any) -> list[Any] | None:
    return _filter(values, *include)


@fn(
    "LIST",
    "list",
    "value...: T",
    "list:T",
    "A list of the values, in order (blanks kept; lists given are spread out); all of one type.",
    "LIST(1, 2, 3)",
    "[1, 2, 3]",
)
def _list(*values: Any) -> list[Any]:
    out: list[Any] = []
    for value in values:
        if isinstance(value, list):
            out.extend(value)
        else:
            out.append(value)
    return _bounded(out)


@fn(
    "ARRAYCONCAT",
    "list",
    "values...: list:T",
    "list:T",
    "The items of the lists, one list after the other.",
    "ARRAYCONCAT(LIST(1, 2), LIST(3))",
    "[1, 2, 3]",
    min_args=1,
    notes="Blank lists are skipped. Lists cannot hold lists, so there is no ARRAYFLATTEN.",
)
def _arrayconcat(*lists: Any) -> list[Any]:
    out: list[Any] = []
    for values in lists:
        if values:
            out.extend(values)
            _bounded(out)
    return out


@fn(
    "FIRST",
    "list",
    "values: list:T",
    "T",
    "The first item (blank when the list is empty).",
    'FIRST(SPLIT("a,b,c", ","))',
    '"a"',
    notes="By position: when the first item is blank the result is blank; use "
    "FIRST(ARRAYCOMPACT(values)) for the first non-blank item. Related records come in "
    "creation order.",
)
def _first(values: Any) -> Any:
    return values[0] if values else None


@fn(
    "LAST",
    "list",
    "values: list:T",
    "T",
    "The last item (blank when the list is empty).",
    'LAST(SPLIT("a,b,c", ","))',
    '"c"',
    notes="By position, like FIRST: a blank last item gives blank.",
)
def _last(values: Any) -> Any:
    return values[-1] if values else None


@fn(
    "NTH",
    "list",
    "values: list:T, position: number",
    "T",
    "The item at `position` (1 is the first, -1 the last); blank when there is none.",
    "NTH(LIST(10, 20, 30), 2)",
    "20",
    notes="A position out of range (or 0) gives blank rather than an error; a fractional "
    "position is truncated, like Excel's INDEX.",
)
def _nth(values: Any, position: Any) -> Any:
    if not values:
        return None
    index = _position(values, position)
    return None if index is None else values[index]


@fn(
    "SLICE",
    "list",
    "values: list:T, start: number, count?: number",
    "list:T",
    "`count` items from position `start` (1 is the first, -1 the last); all the rest when "
    "`count` is left out or blank.",
    "SLICE(LIST(1, 2, 3, 4), 2, 2)",
    "[2, 3]",
    notes="The third argument is a count, not an end position as in Airtable's ARRAYSLICE. "
    "A negative start before the first item starts at the first; a start of 0 or past the "
    "end, or a count below 1, gives an empty list.",
)
def _slice(values: Any, start: Any, count: Any = None) -> list[Any] | None:
    if values is None or start is None:
        return None
    first = int(start)
    if first == 0 or first > len(values):
        return []
    index = first - 1 if first > 0 else max(0, len(values) + first)
    if count is None:
        return list(values[index:])
    return list(values[index : index + max(0, int(count))])


@fn(
    "ARRAYLENGTH",
    "list",
    "values: list",
    "integer",
    "How many items the list has, blanks included (0 for a blank list).",
    'ARRAYLENGTH(SPLIT("a,,c", ","))',
    "3",
    sql=pg(
        lambda c, a, call: sa.case(
            (
                sa.func.jsonb_typeof(sa.cast(a[0], postgresql.JSONB())) == "array",
                sa.func.jsonb_array_length(sa.cast(a[0], postgresql.JSONB())),
            ),
            else_=0,
        )
    ),
    notes="Counts blank items too, unlike COUNT. In filters it works on multiple-choice "
    "fields; for related records use COUNT(relation, condition), which runs in the database.",
)
def _arraylength(values: Any) -> int:
    return len(values) if values else 0


@fn(
    "ARRAYCOMPACT",
    "list",
    "values: list:T",
    "list:T",
    "The list without its blank items (blank values and empty text).",
    'ARRAYCOMPACT(LIST("a", "", BLANK(), "b"))',
    '["a", "b"]',
)
def _arraycompact(values: Any) -> list[Any] | None:
    return None if values is None else [v for v in values if not _blank(v)]


@fn(
    "UNIQUE",
    "list",
    "values: list:T",
    "list:T",
    "The list without repeats, each value where it first appears.",
    'UNIQUE(LIST("b", "a", "b"))',
    '["b", "a"]',
    notes='Text is compared exactly, so "A" and "a" are different (Excel\'s UNIQUE '
    "ignores case); 1 and 1.0 are the same number; blank and empty text count as one blank, "
    "which is kept.",
)
def _unique(values: Any) -> list[Any] | None:
    if values is None:
        return None
    seen: set[tuple[int, Any]] = set()
    out = []
    for value in values:
        key = _key(value)
        if key not in seen:
            seen.add(key)
            out.append(value)
    return out


@fn(
    "SORT",
    "list",
    "values: list:T, descending?: boolean",
    "list:T",
    "The list in ascending order, or descending when `descending` is TRUE; blanks last.",
    "SORT(LIST(3, 1, 2), TRUE)",
    "[3, 2, 1]",
    notes="Text sorts by character code, as text comparisons do (capitals before small "
    'letters: "B" before "a"); multiple-choice values sort as text, not in the order of '
    "the options. Equal items keep their order. Blank items go last in both directions.",
)
def _sort(values: Any, descending: Any = False) -> list[Any] | None:
    if values is None:
        return None
    filled = sorted((v for v in values if not _blank(v)), key=_key, reverse=descending is True)
    return filled + [v for v in values if _blank(v)]


@fn(
    "REVERSE",
    "list",
    "values: list:T",
    "list:T",
    "The list in reverse order.",
    "REVERSE(LIST(1, 2, 3))",
    "[3, 2, 1]",
)
def _reverse(values: Any) -> list[Any] | None:
    return None if values is None else values[::-1]


@fn(
    "ARRAYJOIN",
    "list",
    "values: list, separator?: text",
    "text",
    'The list\'s values as one text, separated by `separator` (default ", ").',
    'ARRAYJOIN(SPLIT("a b c", " "), "-")',
    '"a-b-c"',
)
def _arrayjoin(values: Any, separator: Any = ", ") -> str | None:
    if values is None:
        return None
    glue = text_of(separator)
    pieces = [text_of(v) for v in values[:MAX_ITEMS]]
    size = sum(map(len, pieces)) + len(glue) * max(len(pieces) - 1, 0)
    if size > MAX_TEXT:  # refuse before building it
        raise EvalError(f"the text would be longer than {MAX_TEXT:,} characters")
    return glue.join(pieces)


@fn(
    "SPLIT",
    "list",
    "text: text, separator: text",
    "list:text",
    "The pieces of the text between separators.",
    'SPLIT("a,b", ",")',
    '["a", "b"]',
    notes="More than 10,000 pieces is an error.",
)
def _split(text: Any, separator: Any) -> list[str] | None:
    if text is None:
        return None
    if not separator:
        return [str(text)]
    return _bounded(str(text).split(str(separator), MAX_ITEMS))
