"""An object's workflow as the runtime uses it: states, transitions and their effects.

A workflow gives its object a ``state`` column. A new record starts in the ``initial``
state (the first one listed when none is named); the state then changes only through a
transition: an action name, the states it leaves from, the state it goes to, who may take
it (the permission rules must grant the action; ``roles`` narrows it further), a
condition in the formula language, the fields that must be filled, and effects written
in the same transaction (``{"set": {"field": "formula"}}`` on the record).

A state may hold an approval or to-dos (``runtime.metadata.approvals``); the same
action may be declared more than once from a state, with conditions: the first whose
condition holds is taken. ``withdraw`` out of an approval is the submitter's.

A state may list ``editable_fields``: in that state only those fields may change (a
``terminal`` state without such a list is read-only). ``required_to_leave`` lists fields
that must be filled before any transition out of it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from runtime.metadata.approvals import (
    ApprovalDef,
    TodoDef,
    approval_of,
    people_of,
    qualified_role,
    todos_of,
)
from runtime.metadata.automations import qualify_effect

STATE_COLUMN = "state"
WRITES = ("update", "create", "each", "act", "webhook", "export")  # runtime.services.effects


@dataclass(frozen=True)
class StateDef:
    name: str
    terminal: bool
    editable: frozenset[str] | None  # None: every field (unless terminal)
    required_to_leave: tuple[str, ...]
    approval: ApprovalDef | None = None
    todos: tuple[TodoDef, ...] = ()
    title: Any = None  # the declared label ({"en": …, "zh": …}), if any

    def locked(self, name: str) -> bool:
        """Whether field ``name`` may not change while a record is in this state."""
        if self.editable is not None:
            return name not in self.editable
        return self.terminal


@dataclass(frozen=True)
class TransitionDef:
    action: str
    sources: tuple[str, ...]
    target: str
    roles: tuple[str, ...]  # qualified app roles; empty: the permission rules decide
    condition: str | None
    required: tuple[str, ...]
    sets: tuple[tuple[str, str], ...]  # (field, formula), in order
    spec: Mapping[str, Any]
    notices: tuple[Mapping[str, Any], ...] = ()  # {"to": [...], "message": formula}
    writes: tuple[tuple[str, Mapping[str, Any]], ...] = ()  # update/create/each effects

    @property
    def message(self) -> str | None:
        """What a refused condition says, when the transition declares it."""
        message = self.spec.get("message")
        if isinstance(message, Mapping):
            return str(message.get("en") or next(iter(message.values()), "")) or None
        return str(message) if message else None

    @property
    def code(self) -> str:
        return str(self.spec.get("code") or "CONDITION_FAILED")


@dataclass(frozen=True)
class TimerDef:
    """``action`` taken by the system at the time ``at`` (a formula on the record) gives,
    while the record is in one of ``states``."""

    name: str
    at: str
    states: frozenset[str]
    action: str
    every: int | None = None  # days between occurrences, from ``at``
    until: str | None = None  # the last day (a formula), for a repeating timer


@dataclass(frozen=True)
class WorkflowDef:
    name: str
    object: str
    initial: str
    states: Mapping[str, StateDef]
    transitions: tuple[TransitionDef, ...]
    timers: tuple[TimerDef, ...] = ()

    @property
    def actions(self) -> list[str]:
        """Every action name: the transitions', and the built-in approval actions where
        a state holds an approval."""
        return sorted({t.action for t in self.transitions} | self.approval_verbs)

    @property
    def approval_verbs(self) -> set[str]:
        """The built-in actions of the approvals its states hold (approve, reject …)."""
        verbs: set[str] = set()
        for state in self.states.values():
            if state.approval is not None:
                verbs.update(state.approval.verbs())
        return verbs

    def approval(self, state: str | None) -> ApprovalDef | None:
        found = self.states.get(state or "")
        return found.approval if found is not None else None

    def locked(self, state: str | None, names: Iterable[str]) -> list[str]:
        """Of the fields ``names``, those that may not change in ``state``."""
        found = self.states.get(state or "")
        return [n for n in names if found is not None and found.locked(n)]

    def find(self, action: str, state: str | None) -> TransitionDef | None:
        """The first transition ``action`` takes from ``state`` (None when there is none)."""
        found = self.candidates(action, state)
        return found[0] if found else None

    def candidates(self, action: str, state: str | None) -> list[TransitionDef]:
        """The transitions ``action`` may take from ``state``, in declared order: the
        first whose condition holds is taken (a route chosen by the record's data)."""
        return [t for t in self.transitions if t.action == action and state in t.sources]


def workflow_of(app: str, spec: Mapping[str, Any]) -> WorkflowDef:
    """Model one workflow of a definition that already passed validation."""
    states = {
        str(s["name"]): StateDef(
            str(s["name"]),
            bool(s.get("terminal")),
            frozenset(s["editable_fields"]) if "editable_fields" in s else None,
            tuple(s.get("required_to_leave") or ()),
            approval_of(app, s.get("approval")),
            todos_of(app, s.get("todos")),
            s.get("title"),
        )
        for s in spec["states"]
    }
    transitions = []
    for t in spec.get("transitions") or []:
        sets: list[tuple[str, str]] = []
        notices = []
        writes = [
            (k, qualify_effect(app, k, e[k]))
            for e in t.get("effects") or []
            for k in WRITES
            if k in e
        ]
        for effect in t.get("effects") or []:
            sets += [(str(k), str(v)) for k, v in (effect.get("set") or {}).items()]
            if effect.get("notify"):
                notice = dict(effect["notify"])
                notice["to"] = people_of(app, notice["to"])
                notices.append(notice)
        transitions.append(
            TransitionDef(
                str(t["action"]),
                tuple(t["from"]),
                str(t["to"]),
                tuple(qualified_role(app, r) for r in t.get("roles") or ()),
                t.get("condition"),
                tuple(t.get("required_fields") or ()),
                tuple(sets),
                t,
                tuple(notices),
                tuple(writes),
            )
        )
    initial = str(spec.get("initial") or spec["states"][0]["name"])
    timers = []
    for t in spec.get("timers") or []:
        action = str(t["action"])
        waits = t.get("states") or [
            s for tr in transitions if tr.action == action for s in tr.sources
        ]
        every = int(t["every"]) if t.get("every") else None
        timer = TimerDef(
            str(t["name"]), str(t["at"]), frozenset(waits), action, every, t.get("until")
        )
        timers.append(timer)
    return WorkflowDef(
        str(spec["name"]), str(spec["object"]), initial, states, tuple(transitions), tuple(timers)
    )
