"""The clock every "now" and "today" comes from, so tests can move time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    """Wall-clock time (UTC, naive) unless frozen with :meth:`set`."""

    def __init__(self, source: Callable[[], datetime] | None = None) -> None:
        self._source = source
        self._frozen: datetime | None = None

    def now(self) -> datetime:
        if self._frozen is not None:
            return self._frozen
        if self._source is not None:
            return self._source()
        return datetime.now(UTC).replace(tzinfo=None)

    def set(self, when: datetime | None) -> None:
        self._frozen = when
