"""Type-check every formula of an app definition at validation time.

Each formula is checked against the object it is about: computed fields must give a value
that fits their ``returns``; defaults must fit their field; rules, form conditions,
workflow and automation conditions, permission scopes and filters must be conditions;
scopes and filters must also run inside the database. Errors name the JSON pointer, the
line and column in the formula, and show a caret under the culprit.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.formula import ir
from runtime.formula.analysis import dependencies, sql_problem
from runtime.formula.catalog import COMPUTED
from runtime.formula.engine import FormulaEngine
from runtime.formula.errors import FormulaError
from runtime.formula.types import fits, result_kind
from runtime.metadata.approval_checks import approval_formulas
from runtime.metadata.dashboard_checks import dashboard_formulas
from runtime.metadata.effect_checks import automation_formulas, effect_formulas
from runtime.metadata.model import qualify
from runtime.metadata.semantic import Checker, _dicts


def _issue(c: Checker, path: str, text: str, exc: FormulaError, syntax: bool = False) -> None:
    if exc.code == "FORMULA_SYNTAX" and not syntax:
        return  # reported once, where the formula is, by the syntax check
    c.add(path, f"formula error: {exc.describe(text)}", exc.code)


class _Formulas:
    def __init__(self, c: Checker) -> None:
        self.c = c
        docs: list[Mapping[str, Any]] = [c.doc]
        requires = c.doc.get("requires")
        for name in requires if isinstance(requires, dict) else {}:
            other = c.required_app(str(name))
            if other is not None:
                docs.append(other)
        self.engine = FormulaEngine(docs)

    def qualified(self, name: Any) -> str | None:
        if not isinstance(name, str):
            return None
        full = name if "." in name else f"{self.c.app}.{name}"
        return full if self.engine.catalog.get(full) is not None else None

    def check(
        self,
        path: str,
        text: Any,
        obj: str | None,
        *,
        condition: bool = True,
        sql: bool = False,
        stored: bool = False,
        syntax: bool = False,
    ) -> ir.Expr | None:
        """``text`` checked on ``obj``; ``syntax``: also report a syntax error (for the
        formulas the document-wide syntax check does not see: effects, timers)."""
        if obj is None or not isinstance(text, str):
            return None
        try:
            tree = self.engine.check(
                text, obj, expect="boolean" if condition else None, stored=stored
            )
            if sql:
                problem = sql_problem(tree)
                if problem:
                    raise FormulaError(problem[0], problem[1], "FORMULA_SQL")
        except FormulaError as exc:
            _issue(self.c, path, text, exc, syntax)
            return None
        return tree

    # -- objects ------------------------------------------------------------------------

    def objects(self) -> None:
        for i, obj in _dicts(self.c.doc.get("objects")):
            qualified = self.qualified(obj.get("name"))
            if qualified is None:
                continue
            for k, spec in _dicts(obj.get("fields")):
                self.field(f"/objects/{i}/fields/{k}", qualified, spec)
            for j, rule in _dicts(obj.get("rules")):
                self.check(f"/objects/{i}/rules/{j}/when", rule.get("when"), qualified)

    def lookup(self, path: str, obj: str, spec: Mapping[str, Any], keys: dict[str, Any]) -> None:
        """Each key formula of a lookup default gives a value of the target's field."""
        target = self.engine.catalog.get(qualify(obj.partition(".")[0], str(spec.get("to"))))
        for key, text in keys.items():
            field = target.fields.get(key) if target is not None else None
            if field is None or not isinstance(text, str):
                continue  # reported by the semantic check
            tree = self.check(f"{path}/{key}", text, obj, condition=False, syntax=True)
            kind = str(field.spec.get("type"))
            ok = tree is None or (
                fits(tree.type, kind) if kind != "system" else tree.type.kind == field.type.kind
            )
            if not ok and tree is not None:
                self.c.add(
                    f"{path}/{key}",
                    f"gives a {tree.type}, which does not fit the {kind} field {key}",
                    "FORMULA_TYPE",
                )

    def field(self, path: str, obj: str, spec: Mapping[str, Any]) -> None:
        default = spec.get("default")
        if isinstance(default, dict) and "formula" in default:
            tree = self.check(f"{path}/default/formula", default["formula"], obj, condition=False)
            if tree is not None and not fits(tree.type, str(spec.get("type"))):
                self.c.add(
                    f"{path}/default/formula",
                    f"the default formula gives a {tree.type}, which does not fit a "
                    f"{spec.get('type')} field",
                    "FORMULA_TYPE",
                )
        if isinstance(default, dict) and isinstance(default.get("lookup"), dict):
            self.lookup(f"{path}/default/lookup", obj, spec, default["lookup"])
        if spec.get("type") not in COMPUTED or not isinstance(spec.get("formula"), str):
            return
        text = str(spec["formula"])
        info = self.engine.catalog[obj]
        field = info.fields.get(str(spec.get("name")))
        if field is None:
            return
        try:
            tree = self.engine.checker.computed(info, field)
        except FormulaError as exc:
            _issue(self.c, f"{path}/formula", text, exc)
            return
        returns = spec.get("returns")
        if not isinstance(returns, str):
            self.c.add(
                path,
                f'a computed field needs "returns"; this formula gives a {tree.type}, so '
                f'"returns": "{result_kind(tree.type)}" would fit',
                "MISSING",
            )
            return
        if not fits(tree.type, returns):
            self.c.add(
                f"{path}/formula",
                f"the formula gives a {tree.type}, but the field returns {returns}",
                "FORMULA_TYPE",
            )
        if spec.get("type") == "rollup" and not any(
            isinstance(n, ir.Aggregate) for n in tree.walk()
        ):
            self.c.add(
                f"{path}/formula",
                "a rollup must aggregate related records (SUM, COUNT, AVERAGE, MIN or MAX); "
                'use type "formula" for other computed values',
                "FORMULA_TYPE",
            )

    # -- sections -----------------------------------------------------------------------

    def sections(self) -> None:
        doc = self.c.doc
        for i, form in _dicts(doc.get("forms")):
            obj = self.qualified(form.get("object"))
            for s, section in _dicts(form.get("sections")):
                base = f"/forms/{i}/sections/{s}"
                self.check(f"{base}/visible_when", section.get("visible_when"), obj)
                for k, entry in _dicts(section.get("fields")):
                    for key in ("visible_when", "required_when", "readonly_when"):
                        self.check(f"{base}/fields/{k}/{key}", entry.get(key), obj)
        for i, view in _dicts(doc.get("views")):
            obj = self.qualified(view.get("object"))
            self.check(f"/views/{i}/filter", view.get("filter"), obj, sql=True)
        for i, flow in _dicts(doc.get("workflows")):
            obj = self.qualified(flow.get("object"))
            for t, transition in _dicts(flow.get("transitions")):
                path = f"/workflows/{i}/transitions/{t}"
                self.check(f"{path}/condition", transition.get("condition"), obj)
                detail = transition.get("detail")
                self.check(f"{path}/detail", detail, obj, condition=False, syntax=True)
                for e, effect in _dicts(transition.get("effects")):
                    sets = effect.get("set")
                    for name, text in sets.items() if isinstance(sets, dict) else ():
                        where = f"{path}/effects/{e}/set/{name}"
                        self.check(where, text, obj, condition=False, syntax=True)
                    notify = effect.get("notify")
                    if isinstance(notify, dict):
                        where = f"{path}/effects/{e}/notify/message"
                        message = notify.get("message")
                        self.check(where, message, obj, condition=False, syntax=True)
            approval_formulas(self, f"/workflows/{i}", flow, obj)
            effect_formulas(self, f"/workflows/{i}", flow, obj)
            for t, timer in _dicts(flow.get("timers")):
                for key in ("at", "until"):
                    where = f"/workflows/{i}/timers/{t}/{key}"
                    tree = self.check(where, timer.get(key), obj, condition=False, syntax=True)
                    if tree is not None and tree.type.kind not in ("date", "datetime", "blank"):
                        message = f"gives {tree.type.kind}, not a date or a date and time"
                        self.c.add(where, message, "FORMULA_TYPE")
        automation_formulas(self)
        for i, auto in _dicts(doc.get("automations")):
            obj = self.qualified(auto.get("object"))
            trigger = auto.get("trigger")
            if isinstance(trigger, dict):
                path = f"/automations/{i}/trigger/condition"
                self.check(path, trigger.get("condition"), obj)
        for i, perm in _dicts(doc.get("permissions")):
            obj = self.qualified(perm.get("object"))
            self.check(f"/permissions/{i}/scope", perm.get("scope"), obj, sql=True)
        dashboard_formulas(self)

    # -- cycles across records ---------------------------------------------------------

    def cycles(self) -> None:
        """Stored formulas that read each other through other records in a circle (a pool
        summing its lines while each line reads the pool's total) never settle; refuse
        them. A field reading the same field of its parent (a department's level) is a
        hierarchy, not a circle."""
        graph: dict[tuple[str, str], set[tuple[str, str]]] = {}
        where: dict[tuple[str, str], str] = {}
        for (obj, name), tree in self.engine.checker.computed_trees().items():
            node = (obj, name)
            edges = graph.setdefault(node, set())
            for dep in dependencies(tree, obj):
                target = (dep.obj, dep.field)
                if not dep.via or (target == node and all(s[0] == "ref" for s in dep.via)):
                    continue
                info = self.engine.catalog.get(dep.obj)
                if (
                    info is not None
                    and dep.field in info.fields
                    and info.fields[dep.field].computed
                ):
                    edges.add(target)
        for i, spec in _dicts(self.c.doc.get("objects")):
            for k, fspec in _dicts(spec.get("fields")):
                where[(f"{self.c.app}.{spec.get('name')}", str(fspec.get("name")))] = (
                    f"/objects/{i}/fields/{k}/formula"
                )
        reported: set[tuple[str, str]] = set()
        for start in graph:
            cycle = _find_cycle(graph, start)
            if cycle is None or start in reported or start not in where:
                continue
            reported.update(cycle)
            names = " → ".join(f"{o.split('.', 1)[1]}.{f}" for o, f in [*cycle, cycle[0]])
            self.c.add(
                where[start],
                f"these formulas read each other through related records in a circle: {names}",
                "FORMULA_CYCLE",
            )


def _find_cycle(
    graph: Mapping[tuple[str, str], set[tuple[str, str]]], start: tuple[str, str]
) -> list[tuple[str, str]] | None:
    """A path from ``start`` back to itself, or None (depth-first, small graphs)."""
    stack: list[tuple[tuple[str, str], list[tuple[str, str]]]] = [(start, [start])]
    seen: set[tuple[str, str]] = set()
    while stack:
        node, path = stack.pop()
        for nxt in graph.get(node, ()):
            if nxt == start:
                return path
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, [*path, nxt]))
    return None


def check_formula_types(c: Checker) -> None:
    formulas = _Formulas(c)
    formulas.objects()
    formulas.sections()
    formulas.cycles()
