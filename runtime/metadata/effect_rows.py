"""Checks of the rows an ``each`` or ``act`` effect writes: its ``relation`` (of the
record, or ``ref.path.relation`` of a record it points to) and the formulas on the rows,
which may read the acting record as ``source.<path>`` (runtime/formula/binding.py).
``f`` is the formula checker of ``runtime.metadata.formulas``."""

from __future__ import annotations

import re
from typing import Any

from runtime.formula import ir
from runtime.formula.binding import SOURCE, bare_source, placeholder, source_refs, substitute
from runtime.formula.errors import FormulaError
from runtime.suggest import suggest

_PATH = re.compile(r"^[a-z](_?[a-z0-9])*(\.[a-z](_?[a-z0-9])*)*$")


def relation_child(f: Any, path: str, name: Any, obj: str) -> str | None:
    """The object whose rows ``name`` lists, from records of ``obj`` (None: reported)."""
    if not isinstance(name, str) or not _PATH.match(name):
        return None  # the schema says what is wrong with it
    pointer, _, relation = name.rpartition(".")
    owner: str | None = obj
    if pointer:
        tree = f.check(path, pointer, obj, condition=False, syntax=True)
        if tree is None:
            return None
        owner = tree.type.target if tree.type.kind == "record" else None
        if owner is None:
            f.c.add(path, f"{pointer} gives {tree.type}, not a record", "FORMULA_TYPE")
            return None
    relations = f.engine.catalog[owner].relations
    if relation not in relations:
        message = f"{owner} has no relation {relation!r}{suggest(relation, set(relations))}"
        f.c.add(path, message, "UNRESOLVED")
        return None
    return str(relations[relation].child)


class RowChecker:
    """``f`` for formulas on rows of another object, where ``source.<path>`` is a value of
    the acting record of ``source`` (checked there, then bound as a literal of its type)."""

    def __init__(self, f: Any, source: str) -> None:
        self.f, self.source = f, source
        self.c, self.engine = f.c, f.engine

    def check(self, path: str, text: Any, obj: str | None, **options: Any) -> ir.Expr | None:
        if not isinstance(text, str) or obj is None:
            return None
        plain: ir.Expr | None
        if SOURCE in self.engine.catalog[obj].fields:  # the row's own field wins
            plain = self.f.check(path, text, obj, **options)
            return plain
        try:
            refs = source_refs(text)
            bare = bare_source(text)
        except FormulaError:
            plain = self.f.check(path, text, obj, **options)  # reports the syntax error
            return plain
        if bare is not None:
            message = f"source (the acting record) needs a field: source.id (column {bare + 1})"
            self.c.add(path, message, "FORMULA_NAME")
            return None
        literals = []
        for ref in refs:
            try:
                tree = self.engine.check(ref.formula, self.source)
            except FormulaError as error:
                self.c.add(path, f"source.{ref.formula}: {error.message}", error.code)
                return None
            lit = placeholder(tree.type)
            if lit is None:
                message = (
                    f"source.{ref.formula} is a {tree.type}; a row formula reads a value of "
                    "the acting record (a number, text, true/false or date), such as "
                    f"source.{ref.formula}.id"
                )
                self.c.add(path, message, "FORMULA_TYPE")
                return None
            literals.append(lit)
        bound: ir.Expr | None = self.f.check(path, substitute(text, refs, literals), obj, **options)
        return bound
