"""Automations as the runtime uses them: a trigger on an object, and actions the system
takes when it fires.

Triggers (``trigger.on``): ``create``; ``update`` (optionally only when one of ``fields``
changed, and only when ``condition`` *becomes* true); ``transition`` (an ``action`` taken,
or a ``state`` entered); ``delete``; ``date`` (when the date ``at`` gives on the record comes,
re-planned whenever the record changes); ``schedule`` (a cron expression ``every``, running the
actions for each record that meets ``condition``). The object may belong to a required
app: an automation of the probation app can watch ``core_hr.employee``.

Actions are effects (``runtime.services.effects``): ``set`` (on the record), ``update``,
``create``, ``each``, ``act`` (take a workflow action), ``notify``, ``webhook`` and
``export`` (related rows as a CSV file on an attachment field).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

KINDS = ("set", "update", "create", "each", "act", "notify", "webhook", "export")


@dataclass(frozen=True)
class AutomationDef:
    app: str
    name: str
    object: str  # qualified
    on: str
    fields: tuple[str, ...] = ()
    condition: str | None = None
    action: str | None = None
    state: str | None = None
    every: str | None = None
    at: str | None = None  # ``date``: when, a date or date-time formula on the record
    actions: tuple[tuple[str, Mapping[str, Any]], ...] = ()

    @property
    def qualname(self) -> str:
        return f"{self.app}.{self.name}"

    def fires(self, operation: str, before: Mapping[str, Any], after: Mapping[str, Any]) -> bool:
        """Whether a write (``operation``: create, update, action:<name>, delete) is one
        this automation waits for, leaving its condition aside."""
        if self.on in ("create", "delete"):
            return operation == self.on
        if self.on == "transition":
            if not operation.startswith("action:"):
                return False
            if self.action is not None and operation != f"action:{self.action}":
                return False
            if self.state is not None:
                return after.get("state") == self.state and before.get("state") != self.state
            return True
        if self.on == "update":
            if operation in ("create", "delete"):
                return False
            return not self.fields or any(before.get(f) != after.get(f) for f in self.fields)
        return False


def qualify_effect(app: str, kind: str, spec: Mapping[str, Any]) -> Mapping[str, Any]:
    """Names the declaring app owns, qualified: a ``create``'s object and a ``notify``'s
    roles given by their short names belong to the app that declares the effect, not to
    the app of the object that fired it."""
    target = spec.get("object")
    if kind == "create" and isinstance(target, str) and "." not in target:
        return {**spec, "object": f"{app}.{target}"}
    if kind == "notify" and isinstance(spec.get("to"), list):
        to = [
            {**r, "role": f"{app}.{r['role']}"}
            if isinstance(r, dict)
            and "role" in r
            and "." not in str(r["role"])
            and r["role"] != "authenticated"
            else r
            for r in spec["to"]
        ]
        return {**spec, "to": to}
    return spec


def automations_of(app: str, raw: Mapping[str, Any]) -> list[AutomationDef]:
    out = []
    for spec in raw.get("automations") or []:
        if spec.get("enabled") is False:
            continue
        trigger = spec["trigger"]
        target = str(spec["object"])
        actions = tuple(
            (k, qualify_effect(app, k, a[k])) for a in spec["actions"] for k in KINDS if k in a
        )
        out.append(
            AutomationDef(
                app,
                str(spec["name"]),
                target if "." in target else f"{app}.{target}",
                str(trigger["on"]),
                tuple(trigger.get("fields") or ()),
                trigger.get("condition"),
                trigger.get("action"),
                trigger.get("state"),
                trigger.get("every"),
                trigger.get("at"),
                actions,
            )
        )
    return out


def by_object(apps: Iterable[tuple[str, Mapping[str, Any]]]) -> dict[str, list[AutomationDef]]:
    """Every enabled automation of ``apps`` (name, definition), by the object it watches."""
    out: dict[str, list[AutomationDef]] = {}
    for app, raw in apps:
        for auto in automations_of(app, raw):
            out.setdefault(auto.object, []).append(auto)
    return out
