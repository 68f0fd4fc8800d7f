"""The rows an ``each`` or ``act`` effect writes, and the formulas it runs on them.

``relation`` names a relation of the record (``lines``) or of a record a reference path
of it points to (``cycle.assessments``: every assessment of the session's cycle). The
``where`` and ``set`` formulas run on each row and may read the acting record as
``source`` (``source.id``, ``source.scope_department.path``): those values are read once
on the acting record and bound into the formula (``runtime.formula.binding``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

from runtime.errors import Issue, ValidationFailed
from runtime.formula.binding import SOURCE, literal, source_refs, substitute
from runtime.formula.engine import FormulaEngine
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled, Env

Compile = Callable[[str, str], Compiled]


def failed(path: str, message: str) -> ValidationFailed:
    return ValidationFailed.from_issues(
        "an effect could not be written", [Issue(path, message, "EFFECT_FAILED")]
    )


class Relation(NamedTuple):
    """The rows to write: those of ``child`` whose ``fk`` is ``parent`` (None: none)."""

    child: str
    fk: str
    parent: int | None
    name: str


def relation_of(
    engine: FormulaEngine,
    compile: Compile,
    qualified: str,
    record: Mapping[str, Any],
    env: Env,
    name: str,
    path: str,
) -> Relation:
    """``name`` (``lines`` or ``ref.path.lines``) resolved on ``record``; a blank
    reference on the way gives no parent, hence no rows."""
    owner, parent = qualified, record.get("id")
    pointer, _, relation_name = name.rpartition(".")
    if pointer:
        compiled = compile(qualified, pointer)
        try:
            found = compiled.evaluate(dict(record), env)
        except FormulaError as error:
            raise failed(f"{path}/relation", f"{pointer}: {error}") from None
        target = compiled.expr.type.target
        assert target is not None, "validation checks the path gives a record"
        owner, parent = target, found
    relation = engine.catalog[owner].relations[relation_name]
    return Relation(relation.child, relation.fk, None if parent is None else int(parent), name)


class RowFormulas:
    """Formulas on the rows of ``child``, with ``source.`` bound to the acting record
    (compiled through the engine's bounded cache: the bound text differs per source)."""

    def __init__(
        self,
        engine: FormulaEngine,
        compile: Compile,
        qualified: str,
        record: Mapping[str, Any],
        env: Env,
        child: str,
    ) -> None:
        self.engine, self.compile = engine, compile
        self.qualified, self.record, self.env, self.child = qualified, record, env, child
        # a row object with a field of its own named ``source`` keeps its meaning
        self.binds = SOURCE not in engine.catalog[child].fields
        self._bound: dict[str, Compiled] = {}

    def __call__(self, text: str, path: str) -> Compiled:
        found = self._bound.get(text)
        if found is None:
            found = self._bound[text] = self._compile(text, path)
        return found

    def _compile(self, text: str, path: str) -> Compiled:
        refs = source_refs(text) if self.binds else []
        if not refs:
            return self.compile(self.child, text)
        literals = []
        for ref in refs:
            try:
                value = self.compile(self.qualified, ref.formula).evaluate(
                    dict(self.record), self.env
                )
                literals.append(literal(value))
            except (FormulaError, TypeError) as error:
                raise failed(path, f"source.{ref.formula}: {error}") from None
        return self.engine.compile(substitute(text, refs, literals), self.child)
