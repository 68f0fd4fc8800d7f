"""Run a formula function inside SQLite: the same Python implementation the evaluator
uses, registered as ``tenon_call(key, …)``, with SQLite's values converted to the
function's argument types and the result converted back."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from runtime.decimals import to_decimal
from runtime.formula import ir
from runtime.formula.types import FType
from runtime.storage import sqlite_functions


def from_sqlite(value: Any, ftype: FType) -> Any:
    """A SQLite value (as stored, or as a Tenon SQL function returns it) in Python form."""
    if value is None:
        return None
    kind = ftype.kind
    if kind == "number":
        return (
            value if isinstance(value, int) and not isinstance(value, bool) else to_decimal(value)
        )
    if kind == "boolean":
        return bool(value)
    if kind == "date":
        text = str(value)
        return datetime.fromisoformat(text).date() if len(text) > 10 else date.fromisoformat(text)
    if kind == "datetime":
        return datetime.fromisoformat(str(value))
    if kind == "list":
        items = json.loads(value) if isinstance(value, str) else value
        inner = ftype.of or FType("any")
        return [from_sqlite(v, inner) for v in items] if isinstance(items, list) else None
    if kind in ("record", "user"):
        return int(value)
    return value


def to_sqlite(value: Any) -> Any:
    kind = type(value)
    if kind is Decimal:
        return str(value)  # exact; SQLite makes it a number where a column needs one
    if kind is int and not -(2**63) <= value < 2**63:
        return str(value)  # wider than SQLite's integers: exact as text
    if value is None or kind in (str, int, float, bytes):
        return value
    if kind is bool:
        return int(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return json.dumps([_jsonable(v) for v in value], ensure_ascii=False)
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def key_for(call: ir.Call) -> str:
    """Register (once) and return the ``tenon_call`` key for this call's argument types."""
    kinds = [a.type for a in call.args]
    key = f"{call.function.name}({','.join(str(k) for k in kinds)})"
    impl = call.function.impl
    if impl is None:
        raise ValueError(f"{call.function.name} has no eager implementation")
    sqlite_functions.provide(key, _adapter(impl, kinds))
    return key


def _adapter(impl: Callable[..., Any], kinds: list[FType]) -> Callable[..., Any]:
    def run(*raw: Any) -> Any:
        values = [
            from_sqlite(v, kinds[i] if i < len(kinds) else kinds[-1]) for i, v in enumerate(raw)
        ]
        return to_sqlite(impl(*values))

    return run
