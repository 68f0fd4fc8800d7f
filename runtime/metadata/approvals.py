"""Approvals and to-dos of a workflow state, as the runtime uses them.

A state may hold an **approval**: while a record is in it, the people its steps name
decide. ``approve``, ``reject`` and ``return`` are then *task actions* (only the holder
of an open task of the current step may take them); ``transfer``, ``add_signer`` and
``cc`` are built in; ``withdraw`` belongs to the submitter until the first decision.
When the last step is approved the record takes the state's ``approve`` transition.

A state may also hold **to-dos**: tasks for people (acknowledge, assess) that close when
the record leaves the state.

People are named by rules (``people``): a user field of the record, the holders of a
role, a formula on the record giving a user (``employee.manager.user``), or a walk up a
hierarchy (``{"from": "employee.department", "up": "parent", "user": "hrbp.user"}``: the
nearest department that has one; with ``levels``: exactly that many steps up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

TASK_ACTIONS = ("approve", "reject", "return")
BUILT_IN = ("transfer", "add_signer", "cc")
WITHDRAW = "withdraw"
MODES = ("any", "all", "sequential")
MAX_REPEATS = 60  # reminders after the due time, at most
MAX_WALK = 12  # how far up a hierarchy a nearest-ancestor rule looks


@dataclass(frozen=True)
class PersonRule:
    """One way of naming people. Exactly one of the forms is set."""

    field: str | None = None
    role: str | None = None
    user: str | None = None  # a formula giving a user (on the record, or on ``start``)
    start: str | None = None  # the reference path the walk starts from
    up: str | None = None  # the reference field it climbs
    levels: int | None = None  # exact steps up (None: the nearest that has a user)

    def formulas(self) -> list[str]:
        """The formula texts (on the record) this rule evaluates, in order of trial."""
        if self.user is None:
            return []
        if self.start is None or self.up is None:
            return [self.user]
        if self.levels is not None:
            return [".".join([self.start, *[self.up] * self.levels, self.user])]
        return [".".join([self.start, *[self.up] * n, self.user]) for n in range(MAX_WALK)]

    def as_dict(self) -> dict[str, Any]:
        out = {
            "field": self.field,
            "role": self.role,
            "user": self.user,
            "from": self.start,
            "up": self.up,
            "levels": self.levels,
        }
        return {k: v for k, v in out.items() if v is not None}


def qualified_role(app: str, role: str) -> str:
    return role if "." in role or role == "authenticated" else f"{app}.{role}"


def people_of(app: str, raw: Any) -> tuple[PersonRule, ...]:
    out = []
    for r in raw or ():
        if "role" in r:
            out.append(PersonRule(role=qualified_role(app, str(r["role"]))))
        elif "field" in r:
            out.append(PersonRule(field=str(r["field"])))
        else:
            levels = r.get("levels")
            out.append(
                PersonRule(
                    user=str(r["user"]),
                    start=r.get("from"),
                    up=r.get("up"),
                    levels=int(levels) if levels is not None else None,
                )
            )
    return tuple(out)


@dataclass(frozen=True)
class Deadline:
    """``due``: a formula giving a date, a date and time, or a number of days from the
    moment the task opens. ``remind``: days before the due time (0: at it);
    ``repeat``: after the due time, a reminder every so many days;
    ``escalate``: ``after`` days past due, ``do`` notify / transfer / approve / reject,
    ``to`` the people it goes to."""

    due: str
    remind: tuple[float, ...] = ()
    repeat: float | None = None
    escalate_after: float | None = None
    escalate_do: str = "notify"
    escalate_to: tuple[PersonRule, ...] = ()

    def events(self, due_at: datetime) -> list[tuple[datetime, str]]:
        """The reminders and the escalation of a task due at ``due_at``, in time order."""
        out = [(due_at - timedelta(days=n), "remind") for n in self.remind]
        if self.repeat:
            step = timedelta(days=self.repeat)
            out += [(due_at + step * k, "remind") for k in range(1, MAX_REPEATS + 1)]
        if self.escalate_after is not None:
            out.append((due_at + timedelta(days=self.escalate_after), "escalate"))
        return sorted(out)

    def next_event(self, due_at: datetime, since: datetime) -> datetime | None:
        """The first reminder or escalation after ``since`` (None: none is left)."""
        return next((at for at, _ in self.events(due_at) if at > since), None)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"due": self.due, "remind": list(self.remind)}
        if self.repeat is not None:
            out["repeat"] = self.repeat
        if self.escalate_after is not None:
            out["escalate"] = {
                "after": self.escalate_after,
                "do": self.escalate_do,
                "to": [p.as_dict() for p in self.escalate_to],
            }
        return out


def deadline_of(app: str, raw: Mapping[str, Any] | None) -> Deadline | None:
    if not raw:
        return None
    escalate = raw.get("escalate") or {}
    return Deadline(
        str(raw["due"]),
        tuple(float(x) for x in raw.get("remind") or ()),
        float(raw["repeat"]) if raw.get("repeat") else None,
        float(escalate.get("after", 0)) if escalate else None,
        str(escalate.get("do") or "notify"),
        people_of(app, escalate.get("to")),
    )


@dataclass(frozen=True)
class StepDef:
    name: str
    approvers: tuple[PersonRule, ...]
    mode: str = "any"
    when: str | None = None
    cc: tuple[PersonRule, ...] = ()
    deadline: Deadline | None = None
    title: Any = None

    def as_dict(self) -> dict[str, Any]:
        """What a running approval keeps of its step (an upgrade does not change it)."""
        return {
            "name": self.name,
            "title": self.title,
            "approvers": [p.as_dict() for p in self.approvers],
            "mode": self.mode,
            "cc": [p.as_dict() for p in self.cc],
            "deadline": self.deadline.as_dict() if self.deadline else None,
        }


def step_from_dict(app: str, raw: Mapping[str, Any]) -> StepDef:
    return StepDef(
        str(raw["name"]),
        people_of(app, raw.get("approvers")),
        str(raw.get("mode") or "any"),
        raw.get("when"),
        people_of(app, raw.get("cc")),
        deadline_of(app, raw.get("deadline")),
        raw.get("title"),
    )


@dataclass(frozen=True)
class ApprovalDef:
    steps: tuple[StepDef, ...]
    summary: str | None = None  # a text formula shown on tasks and notifications
    self_approval: str = "exclude"  # or "allow"
    dedupe: bool = False  # who approved an earlier step is not asked again
    fallback: tuple[PersonRule, ...] = ()  # when a step names nobody
    cc: tuple[PersonRule, ...] = ()  # told the outcome
    transfer: bool = True
    add_signer: bool = True

    def verbs(self) -> tuple[str, ...]:
        flags = {"transfer": self.transfer, "add_signer": self.add_signer}
        return (*TASK_ACTIONS, *[v for v in BUILT_IN if flags.get(v, True)])


def approval_of(app: str, raw: Mapping[str, Any] | None) -> ApprovalDef | None:
    if not raw:
        return None
    return ApprovalDef(
        tuple(step_from_dict(app, s) for s in raw["steps"]),
        raw.get("summary"),
        str(raw.get("self_approval") or "exclude"),
        bool(raw.get("dedupe")),
        people_of(app, raw.get("fallback")),
        people_of(app, raw.get("cc")),
        bool(raw.get("transfer", True)),
        bool(raw.get("add_signer", True)),
    )


@dataclass(frozen=True)
class TodoDef:
    name: str
    to: tuple[PersonRule, ...]
    title: str | None = None  # a text formula
    deadline: Deadline | None = None


def todos_of(app: str, raw: Any) -> tuple[TodoDef, ...]:
    return tuple(
        TodoDef(
            str(t["name"]),
            people_of(app, t["to"]),
            t.get("title"),
            deadline_of(app, t.get("deadline")),
        )
        for t in raw or ()
    )
