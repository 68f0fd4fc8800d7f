"""``source.``: the record an effect acts from, read by formulas that run on other rows.

An ``each`` effect runs its ``where`` and ``set`` formulas on the rows it writes; those
formulas may also read the record whose action (or automation) wrote them, as
``source.id``, ``source.scope_department.path``. Each ``source.<path>`` is a value of
that one record, the same for every row, so it is evaluated once on it and bound into
the row formula as a literal before the formula is checked and run:

    STARTS_WITH(department.path, source.scope_department.path)
    → STARTS_WITH(department.path, "/ROOT/RD/"                  )

A literal shorter than the text it replaces is padded with spaces, so positions in
error messages still point where the author wrote. Records, users and lists have no
literal: ``source.cycle`` is refused (``source.cycle.id`` gives the id).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from runtime.formula.parser import Binary, Call, Name, Node, Unary, parse
from runtime.formula.types import FType

SOURCE = "source"
BINDABLE = frozenset({"number", "text", "boolean", "date", "datetime", "blank"})


@dataclass(frozen=True)
class SourceRef:
    """``source.<path>`` at ``start``..``end`` of a formula's text."""

    start: int
    end: int
    path: tuple[str, ...]

    @property
    def formula(self) -> str:
        """The same value as a formula on the source record."""
        return ".".join(self.path)


def _names(node: Node) -> list[Name]:
    if isinstance(node, Name):
        return [node]
    if isinstance(node, Call):
        return [n for arg in node.args for n in _names(arg)]
    if isinstance(node, Binary):
        return _names(node.left) + _names(node.right)
    if isinstance(node, Unary):
        return _names(node.operand)
    return []


def source_refs(text: str) -> list[SourceRef]:
    """Every ``source.<path>`` of ``text``, in order (a syntax error raises, as parsing)."""
    found = []
    for name in _names(parse(text)):
        if name.path[0] != SOURCE or len(name.path) < 2:
            continue
        steps = r"\s*\.\s*\w+" * (len(name.path) - 1)
        match = re.compile(SOURCE + steps).match(text, name.pos)
        assert match is not None, "the parser found this name here"
        found.append(SourceRef(name.pos, match.end(), tuple(name.path[1:])))
    return sorted(found, key=lambda ref: ref.start)


def bare_source(text: str) -> int | None:
    """The position of a ``source`` without a path (which names no value), if any."""
    for name in _names(parse(text)):
        if name.path == (SOURCE,):
            return name.pos
    return None


def substitute(text: str, refs: list[SourceRef], literals: list[str]) -> str:
    """``text`` with each ref replaced by its literal (padded to the ref's length)."""
    out, at = [], 0
    for ref, lit in zip(refs, literals, strict=True):
        out += [text[at : ref.start], lit.ljust(ref.end - ref.start)]
        at = ref.end
    out.append(text[at:])
    return "".join(out)


def literal(value: Any) -> str:
    """A formula literal giving ``value`` (a number, text, true/false, date or blank)."""
    if value is None:
        return "BLANK()"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | Decimal):
        shown = format(Decimal(value), "f")
        return f"({shown})" if shown.startswith("-") else shown
    if isinstance(value, datetime):
        return f'DATETIMEVALUE("{value.isoformat(sep=" ")}")'
    if isinstance(value, date):
        return f"DATE({value.year}, {value.month}, {value.day})"
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    raise TypeError(f"no literal for {type(value).__name__}")


def placeholder(ftype: FType) -> str | None:
    """A literal of ``ftype`` to check a row formula with (None: it has no literal)."""
    if ftype.kind not in BINDABLE:
        return None
    if ftype.kind == "text" and ftype.options:
        return literal(ftype.options[0])  # a select is compared with its options
    samples: dict[str, Any] = {
        "number": Decimal(0),
        "text": "",
        "boolean": False,
        "date": date(2000, 1, 1),
        "datetime": datetime(2000, 1, 1),
        "blank": None,
    }
    return literal(samples[ftype.kind])
