"""The function registry documents itself: docs/formulas.md is generated from it, and every
documented example evaluates to its documented result — in Python and in the database."""

from __future__ import annotations

from pathlib import Path

import pytest

from runtime.formula import docs
from runtime.formula.display import display
from runtime.formula.errors import FormulaError
from runtime.formula.library import REGISTRY
from tests.formulas import Fx

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = sorted(REGISTRY)


def test_docs_file_is_generated_from_the_registry() -> None:
    current = (ROOT / "docs" / "formulas.md").read_text(encoding="utf-8")
    assert current == docs.render(), (
        "docs/formulas.md is stale: run python -m runtime.formula.docs > docs/formulas.md"
    )


def test_the_library_has_at_least_109_functions() -> None:
    assert len(REGISTRY) >= 109


@pytest.mark.parametrize("name", FUNCTIONS)
def test_entry_is_documented(name: str) -> None:
    fn = REGISTRY[name]
    assert fn.summary.strip() and "\n" not in fn.summary, f"{name}: one-line summary"
    assert fn.example.strip() and fn.result.strip(), f"{name}: example and result"
    assert fn.category in docs.CATEGORIES, f"{name}: unknown category {fn.category!r}"


@pytest.mark.parametrize("name", FUNCTIONS)
def test_example_gives_documented_result(fx: Fx, name: str) -> None:
    fn = REGISTRY[name]
    assert display(fx.py(fn.example)) == fn.result, f"{name}: {fn.example}"
    try:
        in_database = fx.sql(fn.example)
    except FormulaError as exc:
        assert exc.code == "FORMULA_SQL", f"{name}: {exc}"
        return
    assert display(in_database) == fn.result, f"{name} in {fx.dialect}: {fn.example}"
