"""The one entry point that turns a package into a checked, immutable ``AppDef``."""

from __future__ import annotations

from typing import Any

from runtime.errors import Issue, ValidationFailed
from runtime.metadata.approval_checks import check_approvals
from runtime.metadata.dashboard_checks import check_dashboard_widgets
from runtime.metadata.formulas import check_formula_types
from runtime.metadata.model import AppDef
from runtime.metadata.package import Package
from runtime.metadata.schema import schema_issues
from runtime.metadata.sections import check_sections
from runtime.metadata.semantic import Checker, Resolver


def definition_issues(doc: Any, resolver: Resolver | None = None) -> list[Issue]:
    """Every problem of ``doc``: schema first, then the semantic checks, in document order."""
    issues = schema_issues(doc)
    if isinstance(doc, dict):
        checker = Checker(doc, resolver)
        checker.run()
        check_sections(checker)
        check_approvals(checker)
        check_dashboard_widgets(checker)
        check_formula_types(checker)
        known = {(i.path, i.message) for i in issues}
        issues += [i for i in checker.issues if (i.path, i.message) not in known]
    return sorted(issues, key=lambda i: _order(i.path))


def _order(path: str) -> list[tuple[int, int | str]]:
    return [(0, int(p)) if p.isdigit() else (1, p) for p in path.split("/") if p]


def check_package(package: Package, resolver: Resolver | None = None) -> AppDef:
    """Validate ``package`` and model it; raise ``ValidationFailed`` listing every problem."""
    issues = [package.locate(i) for i in definition_issues(package.definition, resolver)]
    if issues:
        name = package.definition.get("name", package.origin)
        raise ValidationFailed.from_issues(f"App {name} is not valid", issues)
    return AppDef.from_dict(package.definition)
