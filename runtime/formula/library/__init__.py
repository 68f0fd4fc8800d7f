"""Tenon's formula functions. Importing this package registers every category module."""

from __future__ import annotations

from runtime.formula.library import (  # noqa: F401
    dates,
    dates_calendar,
    dates_workdays,
    lists,
    logic,
    maths,
    maths_powers,
    maths_stats,
    text,
    text_format,
    text_search,
)
from runtime.formula.library.base import CATEGORIES, REGISTRY, EvalError, Function, Param

__all__ = ["CATEGORIES", "REGISTRY", "EvalError", "Function", "Param"]
