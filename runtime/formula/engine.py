"""The formula engine's front door: check a formula once, then evaluate it in Python or
compile it to SQL, as often as needed.

    engine = FormulaEngine(definitions)           # the installed apps (plain dicts)
    tree = engine.check('IF(ISBLANK(rating), 0, base * 2)', "bonus.line")
    Compiled(tree).evaluate(record, env)          # one record, in Python
    SqlCompiler(dialect, tables, sql_env).value(tree, table)   # inside the database
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from typing import Any

from runtime.formula import ir
from runtime.formula.catalog import Catalog
from runtime.formula.checker import Checker
from runtime.formula.evaluator import Compiled, Env


class FormulaEngine:
    def __init__(self, definitions: Iterable[Mapping[str, Any]], cache_size: int = 512) -> None:
        self.catalog = Catalog(definitions)
        self.checker = Checker(self.catalog)
        self._cache: OrderedDict[tuple[Any, ...], ir.Expr] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def check(
        self,
        text: str,
        obj: str,
        *,
        expect: str | None = None,
        stored: bool = False,
        inline: bool | None = None,
    ) -> ir.Expr:
        """The checked tree of ``text`` about records of ``obj`` (``app.object``).

        ``expect="boolean"`` for conditions; ``stored=True`` for values kept in a column
        (no ``@me``, no clock); ``inline`` reads computed fields of the record through their
        formulas (exact) rather than their stored columns (the default for stored values).
        """
        key = (text, obj, expect, stored, inline)
        with self._lock:
            tree = self._cache.get(key)
            if tree is not None:
                self._cache.move_to_end(key)
                return tree
        tree = self.checker.check(
            text,
            obj,
            expect=expect,
            inline=stored if inline is None else inline,
            allow_me=not stored,
            allow_clock=not stored,
        )
        with self._lock:  # checked trees are immutable: parse once, use many times
            self._cache[key] = tree
            if len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return tree

    def compile(self, text: str, obj: str, **options: Any) -> Compiled:
        return Compiled(self.check(text, obj, **options))


__all__ = ["Compiled", "Env", "FormulaEngine"]
