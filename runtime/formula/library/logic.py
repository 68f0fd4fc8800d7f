"""Logic: IF, IFS, SWITCH, AND, OR, NOT, blank tests. Blank counts as FALSE in a condition;
IF, IFS, SWITCH, AND, OR, COALESCE, IFBLANK and IFERROR evaluate only what they need."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from runtime.formula.errors import FormulaError
from runtime.formula.library.base import EvalError, Function, Thunk, fn, parse_params, register
from runtime.formula.types import BLANK, FType, common


def is_blank(value: Any) -> bool:
    return value is None or value == "" or (isinstance(value, list) and not value)


def _shared(types: Sequence[FType]) -> FType:
    out = BLANK
    for t in types:
        out = common(out, t) or out
    return out


def _if(args: Sequence[Thunk]) -> Any:
    if args[0]() is True:
        return args[1]()
    return args[2]() if len(args) > 2 else None


def _ifs(args: Sequence[Thunk]) -> Any:
    for i in range(0, len(args) - 1, 2):
        if args[i]() is True:
            return args[i + 1]()
    return None


def _switch(args: Sequence[Thunk]) -> Any:
    subject = args[0]()
    pairs = len(args) - 1
    for i in range(1, pairs - pairs % 2 + 1, 2):
        if subject is not None and args[i]() == subject:
            return args[i + 1]()
    return args[-1]() if pairs % 2 else None


def _and(args: Sequence[Thunk]) -> bool:
    return all(a() is True for a in args)


def _or(args: Sequence[Thunk]) -> bool:
    return any(a() is True for a in args)


def _coalesce(args: Sequence[Thunk]) -> Any:
    for a in args:
        value = a()
        if not is_blank(value):
            return value
    return None


def _iferror(args: Sequence[Thunk]) -> Any:
    try:
        value = args[0]()
    except EvalError:
        return args[1]()
    except FormulaError as exc:
        if exc.code not in ("FORMULA_LIMIT", "FORMULA_EVAL"):
            raise
        return args[1]()
    return args[1]() if is_blank(value) else value


def _lazy(
    name: str,
    params: str,
    returns: Any,
    summary: str,
    example: str,
    result: str,
    lazy: Any,
    sql: Any,
    **kw: Any,
) -> None:
    register(
        Function(
            name,
            "logic",
            parse_params(params),
            returns,
            summary,
            example,
            result,
            lazy=lazy,
            sql=sql,
            **kw,
        )
    )


def _coalesce_sql(c: Any, args: list[Any], call: Any) -> Any:
    values = [c.nonempty(x, e.type) for x, e in zip(args, call.args, strict=True)]
    return values[0] if len(values) == 1 else sa.func.coalesce(*values)


def _case_sql(c: Any, args: list[Any], call: Any) -> Any:
    whens = [(c.cond(args[i], call.args[i]), args[i + 1]) for i in range(0, len(args) - 1, 2)]
    tail = args[-1] if len(args) % 2 else None
    return sa.case(*whens, else_=tail if tail is not None else sa.null())


def _switch_sql(c: Any, args: list[Any], call: Any) -> Any:
    subject, rest = args[0], args[1:]
    whens = [(subject == rest[i], rest[i + 1]) for i in range(0, len(rest) - 1, 2)]
    tail = rest[-1] if len(rest) % 2 else sa.null()
    return sa.case(*whens, else_=tail)


_lazy(
    "IF",
    "condition: condition, then: T, otherwise?: T",
    "T",
    "`then` when the condition is true, otherwise `otherwise` (blank if left out).",
    'IF(2 > 1, "yes", "no")',
    '"yes"',
    _if,
    lambda c, a, call: sa.case(
        (c.cond(a[0], call.args[0]), a[1]), else_=a[2] if len(a) > 2 else sa.null()
    ),
    notes="Without `otherwise`, a false condition gives blank (Excel gives FALSE).",
)
_lazy(
    "IFS",
    "condition...: condition, value...: T",
    "T",
    "The value after the first true condition; blank when none is true.",
    'IFS(1 > 2, "a", 2 > 1, "b", TRUE, "c")',
    '"b"',
    _ifs,
    _case_sql,
    min_args=2,
)
_lazy(
    "SWITCH",
    "expression: any, case...: any, result...: T",
    "T",
    "Compares `expression` with each case and gives the matching result; an odd last "
    "argument is the default.",
    'SWITCH("B", "A", 4, "B", 3, 0)',
    "3",
    _switch,
    _switch_sql,
    min_args=3,
)
_lazy(
    "AND",
    "condition...: condition",
    "boolean",
    "TRUE when every condition is true (blank counts as false).",
    "AND(1 < 2, 2 < 3)",
    "TRUE",
    _and,
    lambda c, a, call: sa.and_(*[c.cond(x, e) for x, e in zip(a, call.args, strict=True)]),
    min_args=1,
)
_lazy(
    "OR",
    "condition...: condition",
    "boolean",
    "TRUE when at least one condition is true.",
    "OR(1 > 2, 2 < 3)",
    "TRUE",
    _or,
    lambda c, a, call: sa.or_(*[c.cond(x, e) for x, e in zip(a, call.args, strict=True)]),
    min_args=1,
)
_lazy(
    "COALESCE",
    "value...: T",
    "T",
    "The first value that is not blank.",
    'COALESCE(BLANK(), "", "B", "A")',
    '"B"',
    _coalesce,
    _coalesce_sql,
    min_args=1,
)
_lazy(
    "IFBLANK",
    "value: T, fallback: T",
    "T",
    "`value`, or `fallback` when value is blank.",
    "IFBLANK(BLANK(), 0)",
    "0",
    _coalesce,
    _coalesce_sql,
)
_lazy(
    "IFERROR",
    "value: T, fallback: T",
    "T",
    "`value`, or `fallback` when value has no answer (such as a division by zero).",
    "IFERROR(1 / 0, 0)",
    "0",
    _iferror,
    _coalesce_sql,
    notes="A calculation with no answer gives blank in Tenon, never an error value such as "
    "#DIV/0!; IFERROR therefore also replaces a blank.",
)


@fn(
    "NOT",
    "logic",
    "condition: condition",
    "boolean",
    "The opposite of a condition (blank counts as false).",
    "NOT(1 > 2)",
    "TRUE",
    sql=lambda c, a, call: sa.not_(c.cond(a[0], call.args[0])),
)
def _not(value: Any) -> bool:
    return value is not True


@fn(
    "XOR",
    "logic",
    "condition...: condition",
    "boolean",
    "TRUE when an odd number of the conditions are true.",
    "XOR(TRUE, TRUE, TRUE)",
    "TRUE",
    min_args=1,
)
def _xor(*values: Any) -> bool:
    return sum(1 for v in values if v is True) % 2 == 1


@fn(
    "ISBLANK",
    "logic",
    "value: value",
    "boolean",
    "TRUE when the value is blank (empty text and empty lists count as blank).",
    'ISBLANK("")',
    "TRUE",
    sql=lambda c, a, call: c.is_blank(a[0], call.args[0].type),
)
def _isblank(value: Any) -> bool:
    return is_blank(value)


@fn(
    "ISNOTBLANK",
    "logic",
    "value: value",
    "boolean",
    "TRUE when the value is not blank.",
    'ISNOTBLANK("x")',
    "TRUE",
    sql=lambda c, a, call: sa.not_(c.is_blank(a[0], call.args[0].type)),
)
def _isnotblank(value: Any) -> bool:
    return not is_blank(value)


@fn(
    "BLANK",
    "logic",
    "",
    "blank",
    "The blank value.",
    "ISBLANK(BLANK())",
    "TRUE",
    sql=lambda c, a, call: sa.null(),
)
def _blank() -> None:
    return None


@fn(
    "TRUE",
    "logic",
    "",
    "boolean",
    "The value TRUE (the same as writing TRUE).",
    "TRUE()",
    "TRUE",
    sql=lambda c, a, call: sa.true(),
)
def _true() -> bool:
    return True


@fn(
    "FALSE",
    "logic",
    "",
    "boolean",
    "The value FALSE.",
    "FALSE()",
    "FALSE",
    sql=lambda c, a, call: sa.false(),
)
def _false() -> bool:
    return False


def _kind_test(kind: str) -> Any:
    def sql(c: Any, a: list[Any], call: Any) -> Any:
        if call.args[0].type.kind != kind:
            return sa.false()
        return sa.not_(c.is_blank(a[0], call.args[0].type))

    return sql


def _type_is(kind: str, value: Any) -> bool:
    if value is None or isinstance(value, bool):
        return kind == "boolean" and value is not None
    if kind == "number":
        return isinstance(value, int | Decimal)
    return kind == "text" and isinstance(value, str)


for _name, _kind, _what, _example in (
    ("ISNUMBER", "number", "a number", "ISNUMBER(3)"),
    ("ISTEXT", "text", "text", 'ISTEXT("a")'),
    ("ISLOGICAL", "boolean", "TRUE or FALSE", "ISLOGICAL(FALSE)"),
):
    register(
        Function(
            _name,
            "logic",
            parse_params("value: value"),
            "boolean",
            f"TRUE when the value is {_what} (not blank).",
            _example,
            "TRUE",
            impl=lambda value, _k=_kind: _type_is(_k, value),
            sql=_kind_test(_kind),
        )
    )
