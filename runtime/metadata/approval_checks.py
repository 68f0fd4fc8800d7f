"""Semantic checks of approvals, to-dos and the people they name (``people`` rules).

Structure (``check_approvals``): an approval needs ``approve`` and ``reject`` transitions
out of its state and cannot sit on the initial state (records start there without an
action, so nobody submitted anything); step and to-do names are unique; fields are user
fields; roles exist. Formulas (``approval_formulas``): who a ``user`` rule names is a
user, ``when`` is a condition, ``due`` a date, a date and time or a number of days.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.metadata.sections import _check_field, _check_role, _field_type, _local_object
from runtime.metadata.semantic import Checker, _dicts


def _people(c: Checker, path: str, rules: Any, obj: Mapping[str, Any] | None) -> None:
    for k, rule in _dicts(rules):
        where = f"{path}/{k}"
        if "role" in rule:
            _check_role(c, f"{where}/role", rule["role"])
        elif "field" in rule:
            _check_field(c, f"{where}/field", rule["field"], obj)
            kind = _field_type(obj, str(rule["field"]))
            if kind is not None and kind != "user":
                c.add(f"{where}/field", f"{rule['field']} is not a user field", "TYPE")


def _deadline(
    c: Checker, path: str, raw: Any, obj: Mapping[str, Any] | None, todo: bool = False
) -> None:
    if not isinstance(raw, dict):
        return
    escalate = raw.get("escalate")
    if isinstance(escalate, dict):
        does = escalate.get("do", "notify")
        if todo and does in ("approve", "reject"):
            message = f"a to-do decides nothing: its escalation can notify or transfer, not {does}"
            c.add(f"{path}/escalate/do", message, "INVALID")
        if does in ("notify", "transfer") and not escalate.get("to"):
            c.add(f"{path}/escalate", f"an escalation that does {does} needs to", "MISSING")
        _people(c, f"{path}/escalate/to", escalate.get("to"), obj)


def check_approvals(c: Checker) -> None:
    for i, flow in _dicts(c.doc.get("workflows")):
        base = f"/workflows/{i}"
        obj = _local_object(c, f"{base}/object", flow.get("object"))
        states = _dicts(flow.get("states"))
        initial = flow.get("initial") or (states[0][1].get("name") if states else None)
        transitions = [t for _, t in _dicts(flow.get("transitions"))]
        for s, state in states:
            where = f"{base}/states/{s}"
            todos = _dicts(state.get("todos"))
            c.unique_names(todos, f"{where}/todos", "to-do")
            for t, todo in todos:
                _people(c, f"{where}/todos/{t}/to", todo.get("to"), obj)
                _deadline(c, f"{where}/todos/{t}/deadline", todo.get("deadline"), obj, todo=True)
            approval = state.get("approval")
            if not isinstance(approval, dict):
                continue
            name = state.get("name")
            if name == initial:
                c.add(
                    f"{where}/approval",
                    f"{name!r} is the initial state: records start there without an action, "
                    "so nobody submits them for approval; put the approval on the state a "
                    "submit action leads to",
                    "INVALID",
                )
            for needed, done in (("approve", "approved"), ("reject", "rejected")):
                if not any(
                    t.get("action") == needed and name in (t.get("from") or []) for t in transitions
                ):
                    c.add(
                        f"{where}/approval",
                        f"an approval needs a {needed!r} transition out of {name!r}: it is "
                        f"taken when the approval is {done}",
                        "MISSING",
                    )
            steps = _dicts(approval.get("steps"))
            c.unique_names(steps, f"{where}/approval/steps", "step")
            for k, step in steps:
                sbase = f"{where}/approval/steps/{k}"
                _people(c, f"{sbase}/approvers", step.get("approvers"), obj)
                _people(c, f"{sbase}/cc", step.get("cc"), obj)
                _deadline(c, f"{sbase}/deadline", step.get("deadline"), obj)
            for key in ("fallback", "cc"):
                _people(c, f"{where}/approval/{key}", approval.get(key), obj)


def user_rules(f: Any, path: str, rules: Any, obj: str | None) -> None:
    for k, rule in _dicts(rules):
        if "user" not in rule:
            continue
        where = f"{path}/{k}/user"
        text = str(rule["user"])
        if rule.get("from") and rule.get("up"):  # the walk's first step stands for all
            text = f"{rule['from']}.{rule['up']}.{text}"
        tree = f.check(where, text, obj, condition=False, syntax=True)
        if tree is not None and tree.type.kind not in ("user", "blank"):
            f.c.add(where, f"gives {tree.type.kind}, not a user", "FORMULA_TYPE")


def _due(f: Any, path: str, raw: Any, obj: str | None) -> None:
    if not isinstance(raw, dict):
        return
    tree = f.check(f"{path}/due", raw.get("due"), obj, condition=False, syntax=True)
    if tree is not None and tree.type.kind not in ("date", "datetime", "number", "blank"):
        message = f"gives {tree.type.kind}, not a date, a date and time or a number of days"
        f.c.add(f"{path}/due", message, "FORMULA_TYPE")
    escalate = raw.get("escalate")
    if isinstance(escalate, dict):
        user_rules(f, f"{path}/escalate/to", escalate.get("to"), obj)


def approval_formulas(f: Any, base: str, flow: Mapping[str, Any], obj: str | None) -> None:
    """The formulas of the approvals, to-dos and notices of workflow ``flow`` (at
    ``base``); ``f`` is the formula checker of ``runtime.metadata.formulas``."""
    for t, transition in _dicts(flow.get("transitions")):
        for e, effect in _dicts(transition.get("effects")):
            notify = effect.get("notify")
            if isinstance(notify, dict):
                where = f"{base}/transitions/{t}/effects/{e}/notify/to"
                user_rules(f, where, notify.get("to"), obj)
    for s, state in _dicts(flow.get("states")):
        where = f"{base}/states/{s}"
        approval = state.get("approval")
        if isinstance(approval, dict):
            f.check(
                f"{where}/approval/summary",
                approval.get("summary"),
                obj,
                condition=False,
                syntax=True,
            )
            for key in ("fallback", "cc"):
                user_rules(f, f"{where}/approval/{key}", approval.get(key), obj)
            for k, step in _dicts(approval.get("steps")):
                sbase = f"{where}/approval/steps/{k}"
                f.check(f"{sbase}/when", step.get("when"), obj)
                user_rules(f, f"{sbase}/approvers", step.get("approvers"), obj)
                user_rules(f, f"{sbase}/cc", step.get("cc"), obj)
                _due(f, f"{sbase}/deadline", step.get("deadline"), obj)
        for t, todo in _dicts(state.get("todos")):
            tbase = f"{where}/todos/{t}"
            f.check(f"{tbase}/title", todo.get("title"), obj, condition=False, syntax=True)
            user_rules(f, f"{tbase}/to", todo.get("to"), obj)
            _due(f, f"{tbase}/deadline", todo.get("deadline"), obj)
