"""The function registry: one entry per function, with its signature, its Python
implementation, its SQL translation (when it has one) and its documentation.

A parameter's ``type`` is one of:

* a value kind: ``number``, ``text``, ``boolean``, ``date``, ``datetime``, ``user``;
* ``any`` (any single value), ``value`` (anything, lists too) or ``T`` (any value; every
  ``T`` argument must share one type, and a result ``T`` has that type);
* ``list`` (any list), ``list:number``, ``list:text``, … (a list of that kind),
  ``list:T`` (a list whose element type is ``T``);
* ``condition`` (true/false, checked like ``boolean``).

``impl`` receives evaluated Python values (``None`` is blank; numbers are ``Decimal`` or
``int``; dates ``date``; lists ``list``) and returns one. ``lazy`` is for functions that
must not evaluate every argument (IF, AND, …): it receives zero-argument callables.
``sql`` receives the compiler and the compiled arguments and returns a SQLAlchemy
expression; a function without ``sql`` cannot be used where SQL is needed (filters,
scopes, stored computed fields) and the checker says so.

``example`` is a formula using only literals; ``result`` is how Tenon displays its value
(numbers without trailing zeros, text in double quotes, TRUE/FALSE, dates as
YYYY-MM-DD, ``(blank)``, lists as ``[a, b]``). docs/formulas.md is generated from these
entries and a test evaluates every example.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from runtime.formula.errors import EvalError
from runtime.formula.types import FType

__all__ = ["EvalError", "Function", "Param", "flatten", "fn", "pg", "register"]

if TYPE_CHECKING:
    from runtime.formula.ir import Call
    from runtime.formula.sqlcompile import SqlCompiler

CATEGORIES = {
    "logic": "Logic",
    "math": "Numbers",
    "text": "Text",
    "date": "Dates",
    "list": "Lists and related records",
}

Thunk = Callable[[], Any]
Returns = str | Callable[[Sequence[FType], "Call"], FType]
SqlFn = Callable[["SqlCompiler", list[Any], "Call"], Any]


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    optional: bool = False
    repeat: bool = False  # may be given any number of times (the last parameters)


@dataclass(frozen=True)
class Function:
    name: str
    category: str
    params: tuple[Param, ...]
    returns: Returns
    summary: str
    example: str
    result: str
    impl: Callable[..., Any] | None = None
    lazy: Callable[[Sequence[Thunk]], Any] | None = None
    sql: SqlFn | None = None
    volatile: bool = False  # depends on the clock (TODAY, NOW)
    notes: str = ""  # where Tenon differs from Excel / Feishu Base
    min_args: int | None = None  # for repeating groups (IFS needs 2)
    where_arg: int | None = None  # this argument filters the related records of argument 0
    aggregate: str | None = None  # over related records this runs as SQL's SUM, COUNT, …

    @property
    def signature(self) -> str:
        parts = []
        for p in self.params:
            text = f"{p.name}…" if p.repeat else p.name
            parts.append(f"[{text}]" if p.optional else text)
        return f"{self.name}({', '.join(parts)})"

    def arity(self) -> tuple[int, int | None]:
        required = sum(1 for p in self.params if not p.optional and not p.repeat)
        if self.min_args is not None:
            required = self.min_args
        repeats = any(p.repeat for p in self.params)
        return required, None if repeats else len(self.params)

    def param_for(self, index: int) -> Param:
        """The parameter argument ``index`` binds to (repeating groups cycle)."""
        if index < len(self.params):
            return self.params[index]
        group = [p for p in self.params if p.repeat] or [self.params[-1]]
        first = self.params.index(group[0])
        return group[(index - first) % len(group)]


REGISTRY: dict[str, Function] = {}


def register(fn: Function) -> Function:
    if fn.name in REGISTRY:
        raise ValueError(f"function {fn.name} is registered twice")
    if fn.impl is None and fn.lazy is None:
        raise ValueError(f"function {fn.name} has no implementation")
    REGISTRY[fn.name] = fn
    return fn


def fn(
    name: str,
    category: str,
    params: str,
    returns: Returns,
    summary: str,
    example: str,
    result: str,
    **options: Any,
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator registering an eager function: ``@fn("ABS", "math", "number: number", …)``.

    ``params`` is a comma-separated list of ``name: type``; ``name?`` marks an optional
    parameter and ``name...`` a repeating one.
    """

    def decorate(impl: Callable[..., Any]) -> Callable[..., Any]:
        register(
            Function(
                name,
                category,
                parse_params(params),
                returns,
                summary,
                example,
                result,
                impl=impl,
                **options,
            )
        )
        return impl

    return decorate


def parse_params(text: str) -> tuple[Param, ...]:
    out = []
    for part in (p.strip() for p in text.split(",") if p.strip()):
        name, _, kind = (s.strip() for s in part.partition(":"))
        optional = name.endswith("?")
        repeat = name.endswith("...")
        name = name.rstrip("?").rstrip(".")
        out.append(Param(name, kind or "any", optional=optional, repeat=repeat))
    return tuple(out)


def pg(translate: SqlFn) -> SqlFn:
    """A translation written for PostgreSQL; SQLite runs the Python implementation."""

    def sql(c: SqlCompiler, args: list[Any], call: Call) -> Any:
        return c.python(call, args) if c.sqlite else translate(c, args, call)

    return sql


def flatten(values: Sequence[Any]) -> list[Any]:
    """Arguments with lists spread out and blanks dropped (SUM(a, b, list) …)."""
    out: list[Any] = []
    for value in values:
        if isinstance(value, list):
            out.extend(v for v in value if v is not None)
        elif value is not None:
            out.append(value)
    return out
