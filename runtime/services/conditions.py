"""Compile the conditions of an app's conditional unique constraints for one database."""

from __future__ import annotations

from runtime.formula.sql import condition_sql
from runtime.metadata.model import AppDef
from runtime.metadata.workflows import STATE_COLUMN


def compile_conditions(app: AppDef, dialect: str) -> dict[str, dict[str, str]]:
    """object name → constraint name → SQL condition (validation already checked them)."""
    out: dict[str, dict[str, str]] = {}
    for obj in app.objects:
        columns = {f.name: str(f.storage) for f in obj.stored_fields}
        if obj.workflow is not None:
            columns.setdefault(STATE_COLUMN, "text")
        for constraint in obj.constraints:
            if constraint.where is not None:
                out.setdefault(obj.name, {})[constraint.name] = condition_sql(
                    constraint.where, columns, dialect
                )
    return out
