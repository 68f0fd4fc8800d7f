"""An object's rules, run on a record as written.

A rule is a condition in the formula language that must not hold (``base_salary < 0``),
with a stable code, the field it is about, a message, and 422 or 409. Rules run after
the row is written and its computed fields recomputed, so they see the record exactly as
it will be stored; they are evaluated by the formula evaluator (every function works),
reading related records through the transaction's connection.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Mapping
from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from runtime.clock import Clock
from runtime.errors import Issue, ValidationFailed
from runtime.formula.display import display
from runtime.formula.engine import FormulaEngine
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled
from runtime.metadata.model import PLACEHOLDER, ObjectDef
from runtime.security.actor import Actor
from runtime.services.formula_env import record_env

TableFor = Any


class Rules:
    """``forms(qualified)`` gives the forms declared for an object: a form field's
    ``required_when`` (while the field and its section are visible) is a rule too, so a
    record is held to it whichever way it is written, not only through the form."""

    def __init__(
        self,
        engine: FormulaEngine,
        tables: TableFor,
        clock: Clock,
        forms: Callable[[str], list[Mapping[str, Any]]] | None = None,
    ) -> None:
        self.engine = engine
        self.tables = tables
        self.clock = clock
        self.forms = forms or (lambda qualified: [])
        self._rules: dict[str, list[tuple[Mapping[str, Any], Compiled]]] = {}

    def check(
        self,
        conn: Connection,
        actor: Actor,
        obj: ObjectDef,
        qualified: str,
        row: Any,
        changed: Collection[str] | None = None,
    ) -> None:
        """The object's rules on the record as written: each ``when`` that holds is a
        problem with the rule's code, on the rule's field. A rule with ``on`` runs only
        when the write changed (or the create sent) one of those fields."""
        issues, status = self.issues(conn, actor, obj, qualified, row, "", changed)
        if issues:
            refused = ValidationFailed.from_issues(f"the {obj.name} was not saved", issues)
            refused.status = status
            refused.code = issues[0].code if len(issues) == 1 else "VALIDATION_FAILED"
            raise refused

    def issues(
        self,
        conn: Connection,
        actor: Actor,
        obj: ObjectDef,
        qualified: str,
        row: Any,
        where: str,
        changed: Collection[str] | None = None,
    ) -> tuple[list[Issue], int]:
        rules = [
            (spec, formula)
            for spec, formula in self._compiled(obj, qualified)
            if changed is None or not spec.get("on") or set(spec["on"]) & set(changed)
        ]
        if not rules:
            return [], 422
        env = record_env(conn, self.tables, qualified, self.clock, actor.stored_id)
        issues: list[Issue] = []
        status = 422
        # a create carries only the fields it sent: the others are blank, not unknown
        record = {f.name: None for f in obj.stored_fields} | dict(row)
        for spec, formula in rules:
            try:
                hit = formula.evaluate(record, env)
            except FormulaError as error:
                hit, spec = True, {**spec, "message": {"en": f"the rule could not run: {error}"}}
            if hit is True:
                message = spec.get("message") or {}
                text = message.get("en") if isinstance(message, Mapping) else str(message)
                text = _filled(str(text or ""), row)
                field = spec.get("field")
                code = str(spec.get("code") or "RULE_FAILED")
                issues.append(
                    Issue(
                        where + (f"/{field}" if field else ""), str(text or "a rule failed"), code
                    )
                )
                if spec.get("status") == 409:
                    status = 409
        return issues, status

    def _compiled(self, obj: ObjectDef, qualified: str) -> list[tuple[Mapping[str, Any], Compiled]]:
        if qualified not in self._rules:
            specs = [*(obj.spec.get("rules") or []), *required_when(self.forms(qualified))]
            self._rules[qualified] = [
                (spec, self.engine.compile(str(spec["when"]), qualified, expect="boolean"))
                for spec in specs
            ]
        return self._rules[qualified]


def _filled(text: str, row: Mapping[str, Any]) -> str:
    """``{field}`` in a rule's message replaced by the record's value (numbers with
    thousands separators and no trailing zeros: "cannot exceed 200 % of prorated target
    ({cap})" reads "(30,246)")."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in row:
            return match.group(0)
        found = row[name]
        if isinstance(found, bool) or found is None:
            return display(found)
        if isinstance(found, int):
            return f"{found:,}"
        if isinstance(found, Decimal):  # without trailing zeros: 30,246.58 and 30,246
            text = f"{found:,f}"
            return text.rstrip("0").rstrip(".") if "." in text else text
        return str(found)

    return PLACEHOLDER.sub(value, text)


def required_when(forms: list[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """The conditional required fields of ``forms`` as rules: ``AND(<visible>,
    <required_when>, ISBLANK(<field>))`` fails with REQUIRED on the field."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for form in forms:
        for section in form.get("sections") or []:
            for item in section.get("fields") or []:
                if not isinstance(item, Mapping) or not item.get("required_when"):
                    continue
                name = str(item["field"])
                parts = [
                    f"({c})" for c in (section.get("visible_when"), item.get("visible_when")) if c
                ]
                parts += [f"({item['required_when']})", f"ISBLANK({name})"]
                when = f"AND({', '.join(parts)})"
                out.setdefault(
                    (name, when),
                    {
                        "when": when,
                        "field": name,
                        "code": "REQUIRED",
                        "message": {"en": f"{name} is required here"},
                    },
                )
    return list(out.values())
