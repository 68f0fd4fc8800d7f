"""The checked tree: what the type checker produces and the evaluator and SQL compiler read.

Every node knows its type and its position in the source (for error messages). Field
reads are resolved: ``Local`` is a column of the record itself, ``Inline`` is another
computed field of the same record (its checked formula, so intermediates stay exact),
``Ref`` follows a reference to another record, ``Related`` lists the records pointing at
one, ``Aggregate`` folds them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runtime.formula.types import FType

if TYPE_CHECKING:
    from runtime.formula.library.base import Function


@dataclass(frozen=True, eq=False)
class Expr:
    type: FType
    pos: int

    def children(self) -> tuple[Expr, ...]:
        return ()

    def walk(self) -> Iterator[Expr]:
        yield self
        for child in self.children():
            yield from child.walk()


@dataclass(frozen=True, eq=False)
class Const(Expr):
    value: Any


@dataclass(frozen=True, eq=False)
class Me(Expr):
    """The signed-in user (``@me``)."""


@dataclass(frozen=True, eq=False)
class MeRecord(Expr):
    """``@me.employee``: the record of ``obj`` whose unique user field ``field`` is the
    signed-in user (blank when there is none)."""

    obj: str
    field: str


@dataclass(frozen=True, eq=False)
class Local(Expr):
    """A stored field (or system column) of the record the formula is about."""

    name: str


@dataclass(frozen=True, eq=False)
class Inline(Expr):
    """A computed field of the same record, replaced by its own checked formula."""

    name: str
    body: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.body,)


@dataclass(frozen=True, eq=False)
class Ref(Expr):
    """``base.name`` where ``base`` is a record of ``target``; ``body`` is set when the field
    is computed on the fly (not stored) and must be evaluated in that record's scope."""

    base: Expr
    target: str
    name: str
    body: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return (self.base,)


@dataclass(frozen=True, eq=False)
class Related(Expr):
    """The records of ``child`` whose reference ``fk`` points at ``base`` (a list), each
    mapped to ``value`` (None: the records themselves)."""

    base: Expr | None  # None: the record the formula is about
    child: str
    fk: str
    value: Expr | None = None
    where: Expr | None = None

    def children(self) -> tuple[Expr, ...]:
        return () if self.base is None else (self.base,)


@dataclass(frozen=True, eq=False)
class Aggregate(Expr):
    """``func`` (SUM, COUNT, AVERAGE, MIN, MAX) over ``rows``' values, in the database."""

    func: str
    rows: Related

    def children(self) -> tuple[Expr, ...]:
        return (self.rows,)


@dataclass(frozen=True, eq=False)
class Binary(Expr):
    """Arithmetic (+ - * /), comparison (= <> < <= > >=) or text joining (&)."""

    op: str
    left: Expr
    right: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.left, self.right)


@dataclass(frozen=True, eq=False)
class Negate(Expr):
    operand: Expr

    def children(self) -> tuple[Expr, ...]:
        return (self.operand,)


@dataclass(frozen=True, eq=False)
class Call(Expr):
    function: Function
    args: tuple[Expr, ...] = field(default=())

    def children(self) -> tuple[Expr, ...]:
        return self.args


def is_external(expr: Expr) -> bool:
    """Does reading ``expr`` need another record (a lookup) rather than the row itself?"""
    return isinstance(expr, Ref | Related | Aggregate | MeRecord)
