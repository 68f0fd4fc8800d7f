"""The test clock, kept in the database so every worker of one server follows it.

Only with ``TENON_TEST_CLOCK=1``: each "now" is one primary-key read of
``tenon_settings`` (the frozen time, when there is one), so ``POST /api/v1/admin/clock``
answered by one worker moves time for all of them and for ``tenon jobs run-due``.
"""

from __future__ import annotations

from contextvars import ContextVar
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.clock import Clock
from runtime.storage.engine import read_connection, write_transaction
from runtime.storage.system import Setting

NAME = "test_clock"
TABLE: sa.Table = Setting.__table__  # type: ignore[assignment]


_UNREAD = object()
# the frozen time as read once for the current request (``pin``); a contextvar, so the
# request's threads see it and other requests do not
_PINNED: ContextVar[Any] = ContextVar("tenon_pinned_clock", default=_UNREAD)


class SharedClock(Clock):
    def __init__(self, engine: Engine) -> None:
        super().__init__()
        self.engine = engine

    def frozen(self) -> datetime | None:
        pinned = _PINNED.get()
        if pinned is not _UNREAD:
            return cast(datetime | None, pinned)
        return self.read()

    def read(self) -> datetime | None:
        """The frozen time in the database (None: real time)."""
        with read_connection(self.engine) as conn:
            raw = conn.execute(sa.select(TABLE.c.value).where(TABLE.c.name == NAME)).scalar()
        return datetime.fromisoformat(raw) if raw else None

    @staticmethod
    def pin(value: datetime | None) -> None:
        """Use ``value`` (from ``read``) for the rest of this request's context: a "now"
        inside a transaction then takes no second connection (twenty requests at once,
        each holding one while asking for another, would empty the pool)."""
        _PINNED.set(value)

    def now(self) -> datetime:
        return self.frozen() or super().now()

    def set(self, when: datetime | None) -> None:
        with write_transaction(self.engine) as conn:
            conn.execute(TABLE.delete().where(TABLE.c.name == NAME))
            if when is not None:
                conn.execute(TABLE.insert().values(name=NAME, value=when.isoformat()))
        if _PINNED.get() is not _UNREAD:
            _PINNED.set(when)
