"""Tenon's formula functions. Importing this package registers every category module."""

from __future__ import annotations

from runtime.formula.library import dates, lists, logic, maths, text  # noqa: F401  (registers)
from runtime.formula.library.base import CATEGORIES, REGISTRY, EvalError, Function, Param

__all__ = ["CATEGORIES", "REGISTRY", "EvalError", "Function", "Param"]
