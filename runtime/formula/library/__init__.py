"""Tenon's formula functions. Importing this package registers every category module."""

from __future__ import annotations

from runtime.formula.library import (  # noqa: F401
    dates,
    dates_more,
    lists,
    logic,
    maths,
    maths_more,
    text,
    text_more,
)
from runtime.formula.library.base import CATEGORIES, REGISTRY, EvalError, Function, Param

__all__ = ["CATEGORIES", "REGISTRY", "EvalError", "Function", "Param"]
