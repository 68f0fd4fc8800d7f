"""Who a rule names, on a record: approvers, to-do holders, the people a notice reaches.

Rules (``runtime.metadata.approvals.PersonRule``) are evaluated in order and their
people kept in that order, each once; only active users count. A formula that cannot be
evaluated on this record names nobody (the caller decides whether nobody is acceptable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled, Env
from runtime.metadata.approvals import PersonRule
from runtime.storage import notifications, tasks

Compile = Callable[[str, str], Compiled]


def _user_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    return None


def resolve(
    conn: Connection,
    env: Env,
    compile: Compile,
    qualified: str,
    rules: Iterable[PersonRule],
    record: Mapping[str, Any],
) -> list[int]:
    """The active users ``rules`` name on ``record``, in rule order, each once."""
    found: list[int] = []
    for rule in rules:
        if rule.field is not None:
            value = _user_id(record.get(rule.field))
            if value is not None:
                found.append(value)
        elif rule.role is not None:
            found += notifications.holders(conn, [rule.role])
        else:
            for text in rule.formulas():  # a walk up: the nearest level that has one
                try:
                    value = _user_id(compile(qualified, text).evaluate(dict(record), env))
                except FormulaError:
                    value = None
                if value is not None:
                    found.append(value)
                    break
    active = tasks.active_users(conn, found)
    return [i for i in dict.fromkeys(found) if i in active]
