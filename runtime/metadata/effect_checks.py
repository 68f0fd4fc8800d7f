"""Checks of the effects that write other records (``update``, ``create``, ``each``):
the record path points to a record, the relation exists, every field set exists on the
object written and can be set (not computed, not auto-numbered), and every formula
gives a value that fits its field. ``f`` is the formula checker of
``runtime.metadata.formulas`` (its engine knows the objects of required apps too)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.formula.types import fits
from runtime.metadata.approval_checks import user_rules
from runtime.metadata.effect_rows import RowChecker, relation_child
from runtime.metadata.model import unique_keys
from runtime.metadata.repeat_checks import check_repeat
from runtime.metadata.semantic import _dicts
from runtime.suggest import suggest


def _assignments(f: Any, path: str, formulas: Any, source: str, target: str | None) -> None:
    """``formulas`` (field → formula on ``source``) setting fields of ``target``."""
    if not isinstance(formulas, dict) or target is None:
        return
    info = f.engine.catalog.get(target)
    if info is None:
        return
    for name, text in formulas.items():
        where = f"{path}/{name}"
        field = info.fields.get(name)
        if field is None:
            message = f"{target} has no field {name!r}{suggest(name, set(info.fields))}"
            f.c.add(where, message, "UNRESOLVED")
            continue
        if field.computed or field.spec.get("type") == "auto_number":
            f.c.add(where, f"{name} is computed: an effect cannot set it", "READ_ONLY")
            continue
        tree = f.check(where, text, source, condition=False, syntax=True)
        kind = str(field.spec.get("type"))
        if kind == "reference" and tree is not None and tree.type.kind == "number":
            continue  # a record's id (``id``): references are ids
        if tree is not None and not fits(tree.type, kind):
            message = f"gives a {tree.type}, which does not fit {name} ({field.spec.get('type')})"
            f.c.add(where, message, "FORMULA_TYPE")


def _qualify(app: str, name: Any) -> str | None:
    if not isinstance(name, str):
        return None
    return name if "." in name else f"{app}.{name}"


def check_writes(f: Any, path: str, effect: Mapping[str, Any], obj: str | None) -> None:
    """One effect's ``update`` / ``create`` / ``each`` (at ``path``, on object ``obj``)."""
    if obj is None:
        return
    update = effect.get("update")
    if isinstance(update, dict):
        where = f"{path}/update/record"
        tree = f.check(where, update.get("record"), obj, condition=False, syntax=True)
        target = None
        if tree is not None:
            if tree.type.kind != "record":
                f.c.add(where, f"gives {tree.type}, not a record to update", "FORMULA_TYPE")
            target = tree.type.target
        _assignments(f, f"{path}/update/set", update.get("set"), obj, target)
    create = effect.get("create")
    if isinstance(create, dict):
        target = _qualify(f.c.app, create.get("object"))
        if target is not None and f.engine.catalog.get(target) is None:
            message = f"names object {target!r}, which neither this app nor a required one has"
            f.c.add(f"{path}/create/object", message, "UNRESOLVED")
        _assignments(f, f"{path}/create/values", create.get("values"), obj, target)
        each = create.get("for_each")
        if isinstance(each, dict) and target is not None and f.engine.catalog.get(target):
            _for_each(f, f"{path}/create/for_each", each, target)
        if target is not None and f.engine.catalog.get(target):
            check_repeat(f, f"{path}/create/repeat", create, obj, target)
            if create.get("skip_existing"):
                _skip_existing(f, f"{path}/create/skip_existing", create, target)
    each = effect.get("each")
    if isinstance(each, dict):
        child = relation_child(f, f"{path}/each/relation", each.get("relation"), obj)
        if child is None:
            return
        rows = RowChecker(f, obj)  # formulas on the rows, reading the record as source
        rows.check(f"{path}/each/where", each.get("where"), child)
        _assignments(rows, f"{path}/each/set", each.get("set"), child, child)
    act = effect.get("act")
    if isinstance(act, dict):
        _act(f, f"{path}/act", act, obj)
    export = effect.get("export")
    if isinstance(export, dict):
        _export(f, f"{path}/export", export, obj)
    hook = effect.get("webhook")
    if isinstance(hook, dict) and isinstance(hook.get("body"), dict):
        for name, text in hook["body"].items():
            f.check(f"{path}/webhook/body/{name}", text, obj, condition=False, syntax=True)


def _for_each(f: Any, path: str, each: Mapping[str, Any], target: str) -> None:
    """``field`` is a reference of the new record; ``where`` a condition on it."""
    field = f.engine.catalog[target].fields.get(str(each.get("field")))
    if field is None or field.spec.get("type") != "reference":
        message = f"{each.get('field')!r} is not a reference field of {target}"
        f.c.add(f"{path}/field", message, "UNRESOLVED")
        return
    f.check(f"{path}/where", each.get("where"), target)


def _export(f: Any, path: str, spec: Mapping[str, Any], obj: str) -> None:
    """The relation exists, ``field`` is an attachment field of the record, the name is
    a text, every column and sort formula checks on the rows, ``format`` is on numbers."""
    field = f.engine.catalog[obj].fields.get(str(spec.get("field")))
    if field is None or field.spec.get("type") != "attachment":
        message = f"{spec.get('field')!r} is not an attachment field of {obj}"
        f.c.add(f"{path}/field", message, "UNRESOLVED")
    name = f.check(f"{path}/name", spec.get("name"), obj, condition=False, syntax=True)
    if name is not None and name.type.kind not in ("text", "blank", "any"):
        f.c.add(f"{path}/name", f"gives {name.type}, not a text (the file's name)", "FORMULA_TYPE")
    child = relation_child(f, f"{path}/relation", spec.get("relation"), obj)
    if child is None:
        return
    rows = RowChecker(f, obj)  # formulas on the rows, reading the record as source
    rows.check(f"{path}/where", spec.get("where"), child)
    for i, column in _dicts(spec.get("columns")):
        where = f"{path}/columns/{i}"
        tree = rows.check(
            f"{where}/value", column.get("value"), child, condition=False, syntax=True
        )
        if tree is None:
            continue
        if not tree.type.scalar:
            message = f"gives a {tree.type}, not one value per cell"
            f.c.add(f"{where}/value", message, "FORMULA_TYPE")
        elif "format" in column and tree.type.kind not in ("number", "blank", "any"):
            message = f"gives a {tree.type}: a format applies to numbers"
            f.c.add(f"{where}/format", message, "FORMULA_TYPE")
    sort = spec.get("sort")
    for k, text in enumerate(sort if isinstance(sort, list) else [sort]):
        where = f"{path}/sort/{k}" if isinstance(sort, list) else f"{path}/sort"
        tree = rows.check(where, text, child, condition=False, syntax=True)
        if tree is not None and not tree.type.scalar:
            f.c.add(where, f"gives a {tree.type}, which does not sort", "FORMULA_TYPE")


def _skip_existing(f: Any, path: str, create: Mapping[str, Any], target: str) -> None:
    """Skipping existing records needs a unique key the effect fills in full."""
    given = set(create.get("values") or {})
    for part in ("for_each", "repeat"):
        if isinstance(create.get(part), dict):
            given.add(create[part].get("field"))
    keys = unique_keys(f.engine.catalog[target].spec)
    if not any(set(key) <= given for key in keys):
        shown = ", ".join("(" + ", ".join(k) + ")" for k in keys) or "none"
        message = f"needs a unique key of {target} that the values set in full (its keys: {shown})"
        f.c.add(path, message, "UNRESOLVED")


def _act(f: Any, path: str, act: Mapping[str, Any], obj: str) -> None:
    """The action exists on the workflow of the record (or of the related rows)."""
    target = obj
    if act.get("relation") is not None and act.get("record") is not None:
        f.c.add(f"{path}/record", "names either a relation or a record, not both", "INVALID")
        return
    if act.get("relation") is not None:
        child = relation_child(f, f"{path}/relation", act.get("relation"), obj)
        if child is None:
            return
        target = child
        RowChecker(f, obj).check(f"{path}/where", act.get("where"), target)
    elif act.get("record") is not None:
        where = f"{path}/record"
        tree = f.check(where, act.get("record"), obj, condition=False, syntax=True)
        if tree is None:
            return
        if tree.type.kind != "record" or not tree.type.target:
            f.c.add(where, f"gives {tree.type}, not a record to act on", "FORMULA_TYPE")
            return
        target = tree.type.target
        f.check(f"{path}/where", act.get("where"), target, syntax=True)
    actions = _workflow_actions(f, target)
    if actions is not None and act.get("action") not in actions:
        message = (
            f"{target} has no workflow action {act.get('action')!r}"
            f"{suggest(str(act.get('action')), actions)}"
        )
        f.c.add(f"{path}/action", message, "UNRESOLVED")


def _workflow_actions(f: Any, qualified: str) -> set[str] | None:
    """The actions of ``qualified``'s workflow (None: the object is unknown here)."""
    app, _, name = qualified.partition(".")
    doc = f.c.doc if app == f.c.app else f.c.required_app(app)
    if not isinstance(doc, dict):
        return None
    out: set[str] = set()
    for _, flow in _dicts(doc.get("workflows")):
        if flow.get("object") == name:
            out |= {str(t.get("action")) for _, t in _dicts(flow.get("transitions"))}
            for _, state in _dicts(flow.get("states")):
                if isinstance(state.get("approval"), dict):
                    out |= {"approve", "reject", "return", "transfer", "add_signer", "cc"}
    return out


def automation_formulas(f: Any) -> None:
    """The formulas of every automation: its condition and its actions, on the object
    it watches (which may belong to a required app)."""
    for i, auto in _dicts(f.c.doc.get("automations")):
        obj = _qualify(f.c.app, auto.get("object"))
        if obj is None or f.engine.catalog.get(obj) is None:
            continue
        trigger = auto.get("trigger")
        if isinstance(trigger, dict) and trigger.get("at") is not None:
            where = f"/automations/{i}/trigger/at"
            tree = f.check(where, trigger["at"], obj, condition=False, syntax=True)
            if tree is not None and tree.type.kind not in ("date", "datetime", "blank"):
                f.c.add(
                    where, f"gives {tree.type.kind}, not a date or a date and time", "FORMULA_TYPE"
                )
        for k, effect in _dicts(auto.get("actions")):
            path = f"/automations/{i}/actions/{k}"
            _assignments(f, f"{path}/set", effect.get("set"), obj, obj)
            notify = effect.get("notify")
            if isinstance(notify, dict):
                message = notify.get("message")
                f.check(f"{path}/notify/message", message, obj, condition=False, syntax=True)
                user_rules(f, f"{path}/notify/to", notify.get("to"), obj)
            check_writes(f, path, effect, obj)


def effect_formulas(f: Any, base: str, flow: Mapping[str, Any], obj: str | None) -> None:
    for t, transition in _dicts(flow.get("transitions")):
        for e, effect in _dicts(transition.get("effects")):
            check_writes(f, f"{base}/transitions/{t}/effects/{e}", effect, obj)
