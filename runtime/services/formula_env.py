"""The environment a formula runs in on one record, inside a write's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from runtime.clock import Clock
from runtime.formula.evaluator import Env
from runtime.formula.lookups import SqlLookups
from runtime.formula.sqlcompile import SqlCompiler, SqlEnv


def record_env(conn: Connection, tables: Any, qualified: str, clock: Clock, me: int | None) -> Env:
    """Today and now from ``clock``, ``@me`` as the user id ``me`` (None for the system),
    and related records read through ``conn``."""
    now = clock.now()
    compiler = SqlCompiler(conn.dialect.name, tables, SqlEnv(now.date(), now, me))
    return Env(now.date(), now, me, SqlLookups(conn, compiler, tables(qualified)))
