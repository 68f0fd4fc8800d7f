"""Text: joining, cutting, searching and converting text. Positions count from 1 as in
Excel; text built by a formula is limited to 100,000 characters."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from runtime.formula.library.base import fn, pg
from runtime.formula.operators import bounded, text_of


@fn(
    "CONCAT",
    "text",
    "value...: value",
    "text",
    "Joins the values as text (blank is empty).",
    'CONCAT("P", 4, "-", TRUE)',
    '"P4-TRUE"',
    min_args=1,
    sql=lambda c, a, call: _concat_sql(c, a, call),
)
def _concat(*values: Any) -> str:
    return bounded("".join(text_of(v) for v in values))


def _concat_sql(c: Any, a: list[Any], call: Any) -> Any:
    out = None
    for arg, expr in zip(a, call.args, strict=True):
        piece = c.text(arg, expr.type)
        out = piece if out is None else out + piece
    return out


@fn(
    "CONTAINS",
    "text",
    "within: value, find: any",
    "boolean",
    "For text: TRUE when `find` occurs in it (case-sensitive). For a multiple choice or "
    "other list: TRUE when `find` is one of its values.",
    'CONTAINS("Shenzhen R&D", "R&D")',
    "TRUE",
    sql=pg(lambda c, a, call: _contains_pg(c, a, call)),
)
def _contains(within: Any, find: Any) -> bool:
    if within is None or find is None:
        return False
    if isinstance(within, list):
        return any(v == find for v in within)
    return text_of(find) in text_of(within)


def _contains_pg(c: Any, a: list[Any], call: Any) -> Any:
    if call.args[0].type.kind == "list":
        wanted = sa.func.jsonb_build_array(a[1])
        return sa.func.coalesce(
            sa.cast(a[0], sa.dialects.postgresql.JSONB()).op("@>")(wanted), sa.false()
        )
    return sa.func.coalesce(sa.func.strpos(a[0], c.text(a[1], call.args[1].type)) > 0, sa.false())


@fn(
    "STARTS_WITH",
    "text",
    "text: text, prefix: text",
    "boolean",
    "TRUE when the text begins with `prefix` (case-sensitive); for hierarchy paths such as "
    '`STARTS_WITH(department.path, "/1/4/")`.',
    'STARTS_WITH("/1/4/9/", "/1/4/")',
    "TRUE",
    sql=pg(
        lambda c, a, call: sa.func.coalesce(
            sa.func.left(a[0], sa.func.length(a[1])) == a[1], sa.false()
        )
    ),
)
def _starts_with(text: Any, prefix: Any) -> bool:
    if text is None or prefix is None:
        return False
    return str(text).startswith(str(prefix))


@fn(
    "LEN",
    "text",
    "text: text",
    "integer",
    "The number of characters.",
    'LEN("Tenon")',
    "5",
    sql=lambda c, a, call: sa.func.length(a[0]),
)
def _len(text: Any) -> int | None:
    return None if text is None else len(text)


@fn(
    "UPPER",
    "text",
    "text: text",
    "text",
    "The text in capitals.",
    'UPPER("hr")',
    '"HR"',
    sql=pg(lambda c, a, call: sa.func.upper(a[0])),
)
def _upper(text: Any) -> str | None:
    return None if text is None else str(text).upper()


@fn(
    "LOWER",
    "text",
    "text: text",
    "text",
    "The text in small letters.",
    'LOWER("HR")',
    '"hr"',
    sql=pg(lambda c, a, call: sa.func.lower(a[0])),
)
def _lower(text: Any) -> str | None:
    return None if text is None else str(text).lower()
