"""Lists: multiple-choice values, related records (``lines``, ``lines.amount``) and lists
built by functions. Lists are evaluated in Python; in filters use the aggregates (SUM,
COUNT, …) or CONTAINS, which run in the database."""

from __future__ import annotations

from typing import Any

from runtime.formula.library.base import fn
from runtime.formula.operators import bounded, text_of

MAX_ITEMS = 10_000


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
    return bounded(text_of(separator).join(text_of(v) for v in values[:MAX_ITEMS]))


@fn(
    "SPLIT",
    "list",
    "text: text, separator: text",
    "list:text",
    "The pieces of the text between separators.",
    'SPLIT("a,b", ",")',
    '["a", "b"]',
)
def _split(text: Any, separator: Any) -> list[str] | None:
    if text is None:
        return None
    if not separator:
        return [str(text)]
    return str(text).split(str(separator), MAX_ITEMS - 1)
