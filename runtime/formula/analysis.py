"""Questions about a checked formula: can it run inside the database, which fields of
which objects does it read (for recomputation when they change)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from runtime.formula import ir


def deep_walk(expr: ir.Expr) -> Iterator[ir.Expr]:
    """Every node, including the parts evaluated in another record's scope."""
    stack = [expr]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children())
        if isinstance(node, ir.Ref) and node.body is not None:
            stack.append(node.body)
        if isinstance(node, ir.Related):
            stack.extend(e for e in (node.value, node.where) if e is not None)
        if isinstance(node, ir.Aggregate):
            pass  # rows is a child already


def spread_list(call: ir.Call) -> bool:
    """A folding function (SUM, MAX, COUNT, …) given a list of values: Python only."""
    fn = call.function
    return fn.where_arg is not None and any(a.type.kind == "list" for a in call.args)


MAX_SQL_DEPTH = 96  # nesting SQLAlchemy compiles without exhausting Python's stack
MAX_SQL_CONDITIONALS = 16  # nested IF/IFS/SWITCH: SQLite's parser stack ends near 20
_CONDITIONALS = frozenset({"IF", "IFS", "SWITCH", "IFERROR", "IFBLANK", "COALESCE"})


def _depths(expr: ir.Expr) -> tuple[int, int]:
    """(deepest nesting, deepest nesting of conditionals) of ``expr``, iteratively."""
    deepest = conditionals = 0
    stack: list[tuple[ir.Expr, int, int]] = [(expr, 1, 0)]
    while stack:
        node, depth, cond = stack.pop()
        if isinstance(node, ir.Call) and node.function.name in _CONDITIONALS:
            cond += 1
        deepest, conditionals = max(deepest, depth), max(conditionals, cond)
        children = list(node.children())
        if isinstance(node, ir.Ref) and node.body is not None:
            children.append(node.body)
        if isinstance(node, ir.Related):
            children += [e for e in (node.value, node.where) if e is not None]
        stack.extend((child, depth + 1, cond) for child in children)
    return deepest, conditionals


def sql_depth_problem(expr: ir.Expr) -> tuple[str, int] | None:
    deepest, conditionals = _depths(expr)
    if deepest > MAX_SQL_DEPTH or conditionals > MAX_SQL_CONDITIONALS:
        return (
            "the formula nests too deeply to run inside the database "
            f"(at most {MAX_SQL_CONDITIONALS} IFs inside each other); IFS or SWITCH can list "
            "the cases side by side",
            expr.pos,
        )
    return None


def sql_problem(expr: ir.Expr) -> tuple[str, int] | None:
    """Why ``expr`` cannot be compiled to SQL (message, position), or None."""
    deep = sql_depth_problem(expr)
    if deep:
        return deep
    inside_aggregates = {id(a.rows) for a in deep_walk(expr) if isinstance(a, ir.Aggregate)}
    for node in deep_walk(expr):
        if isinstance(node, ir.Call) and spread_list(node):
            return (
                f"{node.function.name}() over a list of values cannot run inside the database; "
                "over related records write it as "
                f"{node.function.name}(relation.field, condition)",
                node.pos,
            )
        if isinstance(node, ir.Call) and node.function.sql is None:
            return (
                f"{node.function.name}() cannot run inside the database, so it cannot be used "
                "in a filter, a permission scope or a dashboard",
                node.pos,
            )
        if isinstance(node, ir.Related) and id(node) not in inside_aggregates:
            return (
                "a list of related records cannot be used here; wrap it in SUM, COUNT, "
                "AVERAGE, MIN or MAX",
                node.pos,
            )
    return None


@dataclass(frozen=True)
class Dependency:
    """The formula reads ``field`` of ``obj`` records; ``via`` says how they are reached
    from the formula's record: () for the record itself, or a chain of steps, each
    ``("ref", object, field)`` (follow a reference) or ``("rel", child, fk)`` (records
    pointing back)."""

    obj: str
    field: str
    via: tuple[tuple[str, str, str], ...]


def dependencies(expr: ir.Expr, obj: str) -> set[Dependency]:
    out: set[Dependency] = set()
    _collect(expr, obj, (), out)
    return out


Via = tuple[tuple[str, str, str], ...]


def _collect(expr: ir.Expr, obj: str, via: Via, out: set[Dependency]) -> None:
    if isinstance(expr, ir.Local):
        out.add(Dependency(obj, expr.name, via))
        return
    if isinstance(expr, ir.Inline):
        out.add(Dependency(obj, expr.name, via))
        _collect(expr.body, obj, via, out)
        return
    if isinstance(expr, ir.Ref):
        _collect(expr.base, obj, via, out)
        chain = _path(expr.base, obj, via)
        out.add(Dependency(expr.target, expr.name, chain))
        if expr.body is not None:
            _collect(expr.body, expr.target, chain, out)
        return
    if isinstance(expr, ir.Related):
        parent = via
        if expr.base is not None:
            _collect(expr.base, obj, via, out)
            parent = _path(expr.base, obj, via)
        chain = (*parent, ("rel", expr.child, expr.fk))
        out.add(Dependency(expr.child, expr.fk, chain))
        for inner in (expr.value, expr.where):
            if inner is not None:
                _collect(inner, expr.child, chain, out)
        return
    for child in expr.children():
        _collect(child, obj, via, out)


def _path(expr: ir.Expr, obj: str, via: Via) -> Via:
    """The steps from the formula's record to the record that ``expr`` (a reference) names."""
    if isinstance(expr, ir.Local | ir.Inline):
        return (*via, ("ref", obj, expr.name))
    if isinstance(expr, ir.Ref):
        return (*_path(expr.base, obj, via), ("ref", expr.target, expr.name))
    return (*via, ("ref", obj, "?"))
