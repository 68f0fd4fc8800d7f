"""Checking a function call: the function exists, the argument count and types fit its
signature, and conditions over related records are checked in the related object."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runtime.formula import ir
from runtime.formula.analysis import sql_problem
from runtime.formula.errors import FormulaError
from runtime.formula.library import REGISTRY, Function
from runtime.formula.parser import Call, Node
from runtime.formula.types import (
    ANY,
    BLANK,
    BOOLEAN,
    DATE,
    DATETIME,
    JSON,
    MAX_SCALE,
    TEXT,
    USER,
    FType,
    common,
    list_of,
    number,
)
from runtime.suggest import suggest

if TYPE_CHECKING:
    from runtime.formula.checker import Checker, Scope

_NAMED = {
    "number": number(MAX_SCALE),
    "integer": number(0),
    "text": TEXT,
    "boolean": BOOLEAN,
    "condition": BOOLEAN,
    "date": DATE,
    "datetime": DATETIME,
    "user": USER,
    "json": JSON,
    "any": ANY,
    "blank": BLANK,
}


def check_call(checker: Checker, node: Call, scope: Scope) -> ir.Expr:
    from runtime.formula.checker import Scope, date_literal

    fn = REGISTRY.get(node.name)
    if fn is None:
        raise FormulaError(
            f"unknown function {node.name}(){suggest(node.name, list(REGISTRY))}",
            node.pos,
            "FORMULA_FUNCTION",
        )
    if fn.name == "BLANK" and not node.args:
        return ir.Const(BLANK, node.pos, None)  # the blank literal, written as a call
    if fn.volatile and not scope.allow_clock:
        raise FormulaError(
            f"{fn.name}() changes with the clock and cannot be used here",
            node.pos,
            "FORMULA_CONTEXT",
        )
    low, high = fn.arity()
    count = len(node.args)
    if count < low or (high is not None and count > high):
        expected = (
            f"{low}"
            if low == high
            else f"{low} to {high}"
            if high is not None
            else f"at least {low}"
        )
        raise FormulaError(
            f"{fn.name}() takes {expected} argument{'s' if (high or low) != 1 else ''} "
            f"({fn.signature}), but {count} {'was' if count == 1 else 'were'} given",
            node.pos,
            "FORMULA_ARGUMENTS",
        )
    args: list[ir.Expr] = []
    rows: ir.Related | None = None
    for i, source in enumerate(node.args):
        if i == fn.where_arg and rows is not None:
            child = checker.catalog[rows.child]
            inner = Scope(child, "local", scope.allow_me, scope.allow_clock)  # see Scope
            where = checker.node(source, inner)
            _expect(fn, i, where, "condition")
            problem = sql_problem(where)
            if problem:
                raise FormulaError(
                    "a condition over related records runs inside the database: "
                    + problem[0].split(", so", 1)[0],
                    problem[1],
                    "FORMULA_SQL",
                )
            rows = ir.Related(
                rows.type, rows.pos, rows.base, rows.child, rows.fk, rows.value, where
            )
            continue
        checked = checker.node(source, scope)
        if i == 0 and fn.where_arg is not None and isinstance(checked, ir.Related):
            rows = checked
            continue
        args.append(checked)
    if rows is not None:
        if fn.aggregate:
            if len(node.args) > 2:
                raise FormulaError(
                    f"{fn.name}() over related records takes the records and one condition, "
                    f"but {len(node.args)} arguments were given",
                    node.args[2].pos,
                    "FORMULA_ARGUMENTS",
                )
            return _aggregate(fn, rows, node)
        args.insert(0, rows)
    if fn.name == "SWITCH":
        return _switch(fn, args, node)
    bound: dict[str, FType] = {}
    for i, arg in enumerate(args):
        skipped = rows is not None and fn.where_arg is not None and i >= fn.where_arg
        index = i + 1 if skipped else i
        kind = fn.param_for(index).type
        if kind in ("date", "datetime"):
            args[i] = arg = date_literal(arg)
        _expect(fn, index, arg, kind, bound)
    result = _returns(fn, args, bound, node)
    return ir.Call(result, node.pos, fn, tuple(args))


def _switch(fn: Function, args: list[ir.Expr], node: Call) -> ir.Expr:
    """SWITCH(subject, case, result, …, [default]): cases compare with the subject; the
    results and the default share one type."""
    from runtime.formula.checker import date_literal

    subject, rest = args[0], list(args[1:])
    has_default = len(rest) % 2 == 1
    results = rest[1::2] + ([rest[-1]] if has_default else [])
    for i in range(0, len(rest) - (1 if has_default else 0), 2):
        case = rest[i] = date_literal(rest[i]) if subject.type.kind == "date" else rest[i]
        shared = common(subject.type, case.type)
        if shared is None or shared.kind == "list":
            raise FormulaError(
                f"SWITCH() compares its cases with a {subject.type}, but this case is a "
                f"{case.type}",
                case.pos,
                "FORMULA_TYPE",
            )
    result: FType = BLANK
    for value in results:
        shared = common(result, value.type)
        if shared is None:
            raise FormulaError(
                f"SWITCH() results must be of one type: a {result} and a {value.type}",
                value.pos,
                "FORMULA_TYPE",
            )
        result = shared
    return ir.Call(result, node.pos, fn, (subject, *rest))


def _aggregate(fn: Function, rows: ir.Related, node: Node) -> ir.Expr:
    func = fn.aggregate or fn.name
    value = rows.value
    if func != "COUNT" and value is None:
        raise FormulaError(
            f"{fn.name}() needs a field of the related records, such as {fn.name}(relation.amount)",
            node.pos,
            "FORMULA_ARGUMENTS",
        )
    if (
        func in ("SUM", "AVERAGE")
        and value is not None
        and value.type.kind not in ("number", "blank")
    ):
        raise FormulaError(
            f"{fn.name}() adds numbers, but these are {value.type.plural}",
            value.pos,
            "FORMULA_TYPE",
        )
    if func == "COUNT":
        result = number(0)
    elif func == "AVERAGE":
        result = number(MAX_SCALE)
    else:
        assert value is not None
        result = value.type
    return ir.Aggregate(result, node.pos, func, rows)


def _accepts(kind: str, got: FType, bound: dict[str, FType], spread: bool = False) -> bool:
    """Does an argument of type ``got`` fit parameter type ``kind``? A repeating parameter
    (``spread``) also takes a list of such values, as a spreadsheet range."""
    if got.kind in ("blank", "any"):
        return True
    if spread and got.kind == "list" and got.of is not None and not kind.startswith("list"):
        return _accepts(kind, got.of, bound)
    if kind == "any":
        return got.kind != "list"
    if kind == "value":
        return True
    if kind == "T":
        shared = common(bound.get("T", BLANK), got)
        if shared is None:
            return False
        bound["T"] = shared
        return True
    if kind.startswith("list"):
        if got.kind != "list":
            return False
        inner = kind.partition(":")[2]
        if not inner:
            return True
        assert got.of is not None
        return _accepts(inner, got.of, bound)
    if kind == "condition":
        return got.kind == "boolean"
    if kind in ("date", "datetime"):
        return got.kind in ("date", "datetime")
    if kind == "record":
        return got.kind == "record"
    return got.kind == kind


def _expect(
    fn: Function, index: int, arg: ir.Expr, kind: str, bound: dict[str, FType] | None = None
) -> None:
    param = fn.param_for(index)
    spread = param.repeat and (fn.where_arg is not None or fn.category in ("math", "list"))
    if _accepts(kind, arg.type, {} if bound is None else bound, spread):
        return
    wanted = {
        "T": "a value of the same type as the others",
        "any": "a single value",
        "condition": "a condition (true or false)",
        "list": "a list",
    }.get(kind)
    if wanted is None and kind.startswith("list:"):
        wanted = f"a list of {_NAMED.get(kind[5:], ANY).plural}"
    if wanted is None:
        wanted = f"a {_NAMED.get(kind, ANY)}"
    raise FormulaError(
        f"{fn.name}() expects {wanted} for {param.name!r}, but got a {arg.type}",
        arg.pos,
        "FORMULA_TYPE",
    )


def _returns(fn: Function, args: list[ir.Expr], bound: dict[str, FType], node: Call) -> FType:
    if callable(fn.returns):
        return fn.returns([a.type for a in args], ir.Call(ANY, node.pos, fn, tuple(args)))
    text = fn.returns
    if text == "T":  # the shared type of the T arguments, else the first argument's
        return bound.get("T") or (args[0].type if args else BLANK)
    if text.startswith("list:"):
        inner = text[5:]
        return list_of(bound.get("T", BLANK) if inner == "T" else _NAMED.get(inner, ANY))
    if text == "list":
        return list_of(ANY)
    return _NAMED[text]
