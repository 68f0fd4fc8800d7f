"""Helpers shared by the date modules dates_calendar.py and dates_workdays.py."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa


def _ordered(x: Any, y: Any) -> tuple[Any, Any]:
    """The smaller and the larger of two values; both NULL when either is (PostgreSQL's
    LEAST and GREATEST would skip the NULL)."""
    return sa.case((x <= y, x), (y < x, y)), sa.case((x <= y, y), (y < x, x))
