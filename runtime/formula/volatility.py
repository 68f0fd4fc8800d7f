"""Which computed fields change with the clock (they use TODAY() or NOW(), directly or
through another computed field of the same record). Those are computed when read, not
stored: a stored "tenure" would be stale tomorrow."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from runtime.formula.errors import FormulaError
from runtime.formula.parser import Call, Name, Node, children, parse

CLOCK_FUNCTIONS = frozenset({"TODAY", "NOW"})
COMPUTED_TYPES = frozenset({"formula", "rollup"})


def _walk(node: Node) -> Iterable[Node]:
    stack = [node]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(children(item))


def volatile_fields(fields: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Names of the computed fields among ``fields`` (one object's) that read the clock."""
    direct: dict[str, bool] = {}
    local: dict[str, set[str]] = {}
    for spec in fields:
        if spec.get("type") not in COMPUTED_TYPES or not isinstance(spec.get("formula"), str):
            continue
        name = str(spec.get("name"))
        try:
            nodes = list(_walk(parse(spec["formula"])))
        except FormulaError:
            continue
        direct[name] = any(isinstance(n, Call) and n.name in CLOCK_FUNCTIONS for n in nodes)
        local[name] = {n.path[0] for n in nodes if isinstance(n, Name) and len(n.path) == 1}
    out = {name for name, is_direct in direct.items() if is_direct}
    changed = True
    while changed:
        changed = False
        for name, names in local.items():
            if name not in out and names & out:
                out.add(name)
                changed = True
    return frozenset(out)
