"""Semantic checks of the sections that point into objects: forms, views, workflows,
automations, roles, permissions and dashboards. Names must resolve; roles must exist."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from croniter import croniter

from runtime.metadata.model import SYSTEM_COLUMNS
from runtime.metadata.semantic import (
    BUILTIN_ROLES,
    RECORD_ACTIONS,
    Checker,
    _dicts,
)
from runtime.suggest import suggest


def _field_names(obj: Mapping[str, Any] | None) -> set[str]:
    if obj is None:
        return set()
    return {str(f.get("name")) for _, f in _dicts(obj.get("fields"))}


def _field_type(obj: Mapping[str, Any] | None, name: str) -> str | None:
    for _, f in _dicts((obj or {}).get("fields")):
        if f.get("name") == name:
            return str(f.get("type"))
    return None


def _value_type(obj: Mapping[str, Any] | None, name: str) -> str | None:
    """The type of the values field ``name`` holds (what a formula field returns)."""
    for _, f in _dicts((obj or {}).get("fields")):
        if f.get("name") == name:
            return str(f.get("returns") or f.get("type"))
    return None


def _check_field(
    c: Checker, path: str, name: Any, obj: Mapping[str, Any] | None, extra: set[str] | None = None
) -> None:
    """``name`` may be a field, a path through references (``employee.name``) or a system column."""
    if obj is None or not isinstance(name, str):
        return
    head = name.lstrip("-").split(".", 1)[0]
    known = _field_names(obj) | (set(SYSTEM_COLUMNS) - {"version"})
    known |= extra or set()
    if head not in known:
        c.add(
            path,
            f"names field {head!r}, which object {obj.get('name')!r} does not have"
            f"{suggest(head, known)}",
            "UNRESOLVED",
        )


def _roles(c: Checker) -> set[str]:
    names = {str(r.get("name")) for _, r in _dicts(c.doc.get("roles"))}
    return names | BUILTIN_ROLES


def _check_role(c: Checker, path: str, role: Any) -> None:
    if not isinstance(role, str):
        return
    app, _, name = role.rpartition(".")
    if app and app != c.app:
        requires = c.doc.get("requires")
        if not isinstance(requires, dict) or app not in requires:
            c.add(path, f"names role {role!r}, but this app does not require {app!r}", "UNRESOLVED")
            return
        other = c.required_app(app)
        if other is not None:
            theirs = {str(r.get("name")) for _, r in _dicts(other.get("roles"))}
            if name not in theirs:
                c.add(
                    path,
                    f"names role {name!r}, which app {app!r} does not declare"
                    f"{suggest(name, theirs)}",
                    "UNRESOLVED",
                )
        return
    known = _roles(c)
    if name not in known:
        c.add(
            path,
            f"names role {name!r}, which this app does not declare{suggest(name, known)}",
            "UNRESOLVED",
        )


def _local_object(c: Checker, path: str, name: Any) -> Mapping[str, Any] | None:
    if not isinstance(name, str):
        return None
    if "." in name:
        c.add(path, "must name an object of this app (without an app prefix)")
        return None
    return c.check_object_ref(path, name)


def check_forms(c: Checker) -> None:
    forms = _dicts(c.doc.get("forms"))
    c.unique_names(forms, "/forms", "form")
    for i, form in forms:
        obj = _local_object(c, f"/forms/{i}/object", form.get("object"))
        relations = _relations_of(c, obj)
        for s, section in _dicts(form.get("sections")):
            base = f"/forms/{i}/sections/{s}"
            children = section.get("children")
            if isinstance(children, str) and obj is not None and children not in relations:
                c.add(
                    f"{base}/children",
                    f"{children!r} is not a relation of {obj.get('name')!r}"
                    f"{suggest(children, relations)}",
                    "UNRESOLVED",
                )
            for k, entry in enumerate(section.get("fields") or []):
                name = entry.get("field") if isinstance(entry, dict) else entry
                _check_field(c, f"{base}/fields/{k}", name, obj)


def _relations_of(c: Checker, obj: Mapping[str, Any] | None) -> set[str]:
    """The reverse relations (related_name) that point at ``obj`` from this app."""
    if obj is None:
        return set()
    target = f"{c.app}.{obj.get('name')}"
    out = set()
    for _, other in _dicts(c.doc.get("objects")):
        for _, f in _dicts(other.get("fields")):
            to = f.get("to")
            if (
                isinstance(to, str)
                and (to if "." in to else f"{c.app}.{to}") == target
                and isinstance(f.get("related_name"), str)
            ):
                out.add(str(f["related_name"]))
    return out


def check_views(c: Checker) -> None:
    views = _dicts(c.doc.get("views"))
    c.unique_names(views, "/views", "view")
    for i, view in views:
        base = f"/views/{i}"
        obj = _local_object(c, f"{base}/object", view.get("object"))
        for key in ("columns", "sort", "search"):
            for k, name in enumerate(view.get(key) or []):
                _check_field(c, f"{base}/{key}/{k}", name, obj, {"state"})
        for key in ("group_by", "field", "end_field", "rows", "cols"):
            if key in view:
                _check_field(c, f"{base}/{key}", view[key], obj, {"state"})
        kind = view.get("type")
        needs = {"board": ["field"], "calendar": ["field"], "matrix": ["rows", "cols"]}
        for key in needs.get(str(kind), []):
            if key not in view:
                c.add(base, f"a {kind} view needs {key!r}", "MISSING")
        if kind == "board" and isinstance(view.get("field"), str) and view["field"] != "state":
            ftype = _value_type(obj, view["field"])
            if ftype is not None and ftype != "select":
                c.add(
                    f"{base}/field",
                    f"a board's lanes are a select field's options or the workflow's states; "
                    f"{view['field']!r} is {ftype}",
                )
        if kind == "calendar" and isinstance(view.get("field"), str) and obj is not None:
            ftype = _value_type(obj, view["field"])
            if ftype is not None and ftype not in ("date", "datetime"):
                c.add(
                    f"{base}/field", f"a calendar needs a date field; {view['field']!r} is {ftype}"
                )


def check_workflows(c: Checker) -> None:
    flows = _dicts(c.doc.get("workflows"))
    c.unique_names(flows, "/workflows", "workflow")
    owners: dict[str, int] = {}
    for i, flow in flows:
        base = f"/workflows/{i}"
        obj = _local_object(c, f"{base}/object", flow.get("object"))
        target = flow.get("object")
        if isinstance(target, str):
            if target in owners:
                c.add(
                    f"{base}/object",
                    f"object {target!r} already has a workflow (/workflows/{owners[target]})",
                    "DUPLICATE",
                )
            owners.setdefault(target, i)
        states = _dicts(flow.get("states"))
        c.unique_names(states, f"{base}/states", "state")
        names = {str(s.get("name")) for _, s in states}
        _known(c, f"{base}/initial", flow.get("initial"), names, "state")
        for s, state in states:
            for key in ("editable_fields", "required_to_leave"):
                for k, name in enumerate(state.get(key) or []):
                    _check_field(c, f"{base}/states/{s}/{key}/{k}", name, obj)
        for t, tr in _dicts(flow.get("transitions")):
            tbase = f"{base}/transitions/{t}"
            for k, state in enumerate(tr.get("from") or []):
                _known(c, f"{tbase}/from/{k}", state, names, "state")
            _known(c, f"{tbase}/to", tr.get("to"), names, "state")
            for k, role in enumerate(tr.get("roles") or []):
                _check_role(c, f"{tbase}/roles/{k}", role)
            for k, name in enumerate(tr.get("required_fields") or []):
                _check_field(c, f"{tbase}/required_fields/{k}", name, obj)
            for e, effect in _dicts(tr.get("effects")):
                for name in effect.get("set") or {}:
                    where = f"{tbase}/effects/{e}/set/{name}"
                    _check_field(c, where, name, obj)
                    field = next(
                        (f for _, f in _dicts((obj or {}).get("fields")) if f.get("name") == name),
                        None,
                    )
                    if name in SYSTEM_COLUMNS or (field or {}).get("type") in ("formula", "rollup"):
                        c.add(
                            where,
                            f"{name} is computed or kept by Tenon: an effect cannot set it",
                            "READ_ONLY",
                        )
            for e, effect in _dicts(tr.get("effects")):
                notify = effect.get("notify")
                for k, target in _dicts((notify or {}).get("to")):
                    where = f"{tbase}/effects/{e}/notify/to/{k}"
                    if "role" in target:
                        _check_role(c, f"{where}/role", target["role"])
                    elif "field" in target:
                        _check_field(c, f"{where}/field", target["field"], obj)
                        fields = {f.get("name"): f for _, f in _dicts((obj or {}).get("fields"))}
                        found = fields.get(target["field"])
                        if found is not None and found.get("type") != "user":
                            message = f"{target['field']} is not a user field"
                            c.add(f"{where}/field", message, "TYPE")
        _check_timers(c, base, flow, names)


def _known(c: Checker, path: str, name: Any, names: set[str], what: str) -> None:
    """``name`` must be one of the workflow's ``names`` (its states or actions)."""
    if isinstance(name, str) and name not in names:
        message = f"names {what} {name!r}, which the workflow does not have"
        c.add(path, message + suggest(name, names), "UNRESOLVED")


def _check_timers(c: Checker, base: str, flow: Mapping[str, Any], names: set[str]) -> None:
    actions = {str(t.get("action")) for _, t in _dicts(flow.get("transitions"))}
    timers = _dicts(flow.get("timers"))
    c.unique_names(timers, f"{base}/timers", "timer")
    for t, timer in timers:
        _known(c, f"{base}/timers/{t}/action", timer.get("action"), actions, "action")
        for k, state in enumerate(timer.get("states") or []):
            _known(c, f"{base}/timers/{t}/states/{k}", state, names, "state")


def check_automations(c: Checker) -> None:
    autos = _dicts(c.doc.get("automations"))
    c.unique_names(autos, "/automations", "automation")
    for i, auto in autos:
        obj = c.check_object_ref(f"/automations/{i}/object", auto.get("object"))
        trigger = auto.get("trigger")
        if not isinstance(trigger, dict):
            continue
        base = f"/automations/{i}/trigger"
        for k, name in enumerate(trigger.get("fields") or []):
            _check_field(c, f"{base}/fields/{k}", name, obj)
        on = trigger.get("on")
        every = trigger.get("every")
        if on == "schedule":
            if not isinstance(every, str) or not croniter.is_valid(every):
                message = 'a schedule needs "every": a cron expression such as "0 9 * * 1-5"'
                c.add(f"{base}/every", message, "INVALID")
        elif every is not None:
            c.add(f"{base}/every", '"every" is for "on": "schedule"', "INVALID")
        for key in ("action", "state"):
            if key in trigger and on != "transition":
                c.add(f"{base}/{key}", f'"{key}" is for "on": "transition"', "INVALID")
        if (on == "date") != ("at" in trigger):
            message = 'a "date" trigger needs "at" (a date formula), and only it takes one'
            c.add(f"{base}/at", message, "INVALID")


def _workflow_actions(c: Checker, obj_name: str) -> set[str]:
    out = set()
    for _, flow in _dicts(c.doc.get("workflows")):
        if flow.get("object") == obj_name:
            out |= {str(t.get("action")) for _, t in _dicts(flow.get("transitions"))}
    return out


def check_permissions(c: Checker) -> None:
    roles = _dicts(c.doc.get("roles"))
    c.unique_names(roles, "/roles", "role")
    for i, role in roles:
        if role.get("name") in BUILTIN_ROLES:
            c.add(
                f"/roles/{i}/name",
                f"{role['name']!r} is a built-in role; do not declare it",
                "RESERVED",
            )
    for i, perm in _dicts(c.doc.get("permissions")):
        base = f"/permissions/{i}"
        _check_role(c, f"{base}/role", perm.get("role"))
        obj = c.check_object_ref(f"{base}/object", perm.get("object"))
        ref = perm.get("object")
        local = isinstance(ref, str) and ("." not in ref or ref.startswith(c.app + "."))
        actions = RECORD_ACTIONS | (
            _workflow_actions(c, str(ref).split(".")[-1]) if local else set()
        )
        for k, action in enumerate(perm.get("actions") or []):
            if isinstance(action, str) and local and action not in actions:
                c.add(
                    f"{base}/actions/{k}",
                    f"{action!r} is neither a record action "
                    f"({', '.join(sorted(RECORD_ACTIONS))}) nor a workflow action of this object"
                    f"{suggest(action, actions)}",
                    "UNRESOLVED",
                )
        fields = perm.get("fields")
        if isinstance(fields, dict):
            for key in ("read", "write"):
                for k, name in enumerate(fields.get(key) or []):
                    _check_field(c, f"{base}/fields/{key}/{k}", name, obj)


def check_dashboards(c: Checker) -> None:
    boards = _dicts(c.doc.get("dashboards"))
    c.unique_names(boards, "/dashboards", "dashboard")
    for i, board in boards:
        for k, role in enumerate(board.get("roles") or []):
            _check_role(c, f"/dashboards/{i}/roles/{k}", role)
        for w, widget in _dicts(board.get("widgets")):
            c.check_object_ref(f"/dashboards/{i}/widgets/{w}/object", widget.get("object"))


def check_sections(c: Checker) -> list[Any]:
    for check in (
        check_forms,
        check_views,
        check_workflows,
        check_automations,
        check_permissions,
        check_dashboards,
    ):
        check(c)
    return c.issues
