"""The environment a formula runs in on one record, inside a write's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from runtime.clock import Clock
from runtime.formula.evaluator import Env
from runtime.formula.lookups import SqlLookups
from runtime.formula.sqlcompile import SqlCompiler, SqlEnv


def record_env(
    conn: Connection,
    tables: Any,
    qualified: str,
    clock: Clock,
    me: int | None,
    remember: bool = False,
) -> Env:
    """Today and now from ``clock``, ``@me`` as the user id ``me`` (None for the system),
    and related records read through ``conn`` (``remember``: each answer read once, for
    a pass over many rows that writes nothing meanwhile)."""
    now = clock.now()
    compiler = SqlCompiler(conn.dialect.name, tables, SqlEnv(now.date(), now, me))
    lookups = SqlLookups(conn, compiler, tables(qualified), remember)
    return Env(now.date(), now, me, lookups)
