"""Splitting a record's stored formulas into stages.

A stored formula that reads another computed field of the same record has that field's
formula inlined (``ir.Inline``), so it works on the exact value, not the one rounded to
the column's scale. Inlined chains grow quickly: a bonus line's ``needs_justification``
repeats ``final_amount``'s formula, which repeats ``capped_amount``'s, and so on, and a
database computes every copy for every row.

``stages`` orders the formulas so each stage reads only the stored columns and the
fields of earlier stages; ``localized`` rewrites a formula to read an earlier stage's
field as a plain column (of a row that carries the exact values) instead of inlining it.
Only the record's own scope is rewritten: a related record's inlined fields stay inlined.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any

from runtime.formula import ir


def inlined(expr: ir.Expr, names: Collection[str]) -> set[str]:
    """The fields of ``names`` that ``expr`` inlines from its own record (not counting
    those inlined only inside another of ``names``)."""
    found: set[str] = set()

    def visit(node: ir.Expr) -> None:
        if isinstance(node, ir.Inline) and node.name in names:
            found.add(node.name)
            return
        for child in node.children():
            visit(child)

    visit(expr)
    return found


def stages(reads: Mapping[str, set[str]]) -> list[list[str]] | None:
    """``reads`` (field -> the fields it inlines) as stages, each field after those it
    reads; None when they read each other in a circle."""
    done: set[str] = set()
    out: list[list[str]] = []
    left = list(reads)
    while left:
        ready = [n for n in left if reads[n] <= done]
        if not ready:
            return None
        out.append(ready)
        done |= set(ready)
        left = [n for n in left if n not in done]
    return out


def localized(expr: ir.Expr, names: Collection[str]) -> ir.Expr:
    """``expr`` reading the fields of ``names`` as columns of its row where it inlined them."""
    if isinstance(expr, ir.Inline) and expr.name in names:
        return ir.Local(expr.type, expr.pos, expr.name)
    children = expr.children()
    if not children:
        return expr
    changes: dict[str, Any] = {}
    for f in dataclasses.fields(expr):
        value = getattr(expr, f.name)
        if isinstance(value, ir.Expr) and _among(value, children):
            new = localized(value, names)
            if new is not value:
                changes[f.name] = new
        elif isinstance(value, tuple) and value and all(_among(v, children) for v in value):
            items = tuple(localized(v, names) for v in value)
            if any(a is not b for a, b in zip(items, value, strict=True)):
                changes[f.name] = items
    return dataclasses.replace(expr, **changes) if changes else expr


def _among(value: object, children: tuple[ir.Expr, ...]) -> bool:
    return any(value is c for c in children)
