"""The PIP part of the demo: 45 improvement plans of 2025 and early 2026, each played on
its own dates (the clock moved to each step and back to the demo's "today" after), so
the audit trail, the acknowledgement and review deadlines and the check-ins fall where
they would have:

- the manager writes the plan (gap, expectations, support, three weighted objectives)
  and submits it; the HRBP approves it; the employee acknowledges it (two refused to
  sign: the HRBP recorded it with a witness); check-ins are created by the app every 7
  or 14 days and the manager holds them (a few active plans have one missed, marked by
  the app's timer when the due jobs run);
- when a period ends, the app's timer closes it (taken as the system on its day); the
  manager scores the objectives and submits the assessment with a decision; the HRBP
  approves, then for an unsuccessful outcome the skip manager (a terminate outcome
  opens a core HR offboarding case: the app's effect);
- as of today: 20 active (2 on hold since a medical leave; 6 started from the talent
  review's box 1 or the FY2025 C/D rating, to begin on Monday), 3 in final review, 2
  waiting for their decision, 12 closed successful (2 after one extension), 6 closed
  unsuccessful (4 terminate, 2 reassign; one of them paused and resumed on the way), 2
  withdrawn by the HRBP.

Employees are regular, rated C or D in FY2025 (box 1 for the talent-review ones), hired
before 2025, not managers and not HR staff, with a skip manager."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.demo.context import SYSTEM, Demo, Person, day
from runtime.demo.population import MANAGEMENT
from runtime.security.actor import Actor

PLAN = "pip.pip_plan"
OBJECTIVE = "pip.pip_objective"
CHECKIN = "pip.pip_checkin"
DECISION = {"closed_successful": "successful"}  # a group's goal -> the manager's decision


def plans(demo: Demo, conn: Connection) -> None:
    spec = demo.data["pip"]
    pools = _Pools(demo, conn, spec)
    timeline = _Timeline()
    for group in spec["groups"]:
        for index in range(group["count"]):
            _Plan(demo, conn, spec, group, pools.take(group["trigger"]), index).schedule(timeline)
    now = demo.clock.now()
    try:
        timeline.run(demo, now)
    finally:
        demo.clock.set(now)


class _Timeline:
    """Every plan's steps, taken in the order of their times with the clock there."""

    def __init__(self) -> None:
        self.steps: list[tuple[datetime, int, Callable[[], None]]] = []

    def at(self, when: datetime, step: Callable[[], None]) -> None:
        self.steps.append((when, len(self.steps), step))

    def run(self, demo: Demo, now: datetime) -> None:
        for when, _, step in sorted(self.steps, key=lambda s: (s[0], s[1])):
            if when > now:
                raise ValueError(f"demo: a PIP step at {when} is after the demo's today")
            demo.clock.set(when)
            step()


class _Pools:
    """The employees plans are for: regular, hired before the cut-off, no managers or
    HR staff, with a skip manager; rated C or D in FY2025, or in the talent review's
    box 1. Each is taken once."""

    def __init__(self, demo: Demo, conn: Connection, spec: dict[str, Any]) -> None:
        self.demo = demo
        hired_before = day(spec["hired_before"])
        eligible = {
            p.id: p
            for p in demo.people.values()
            if p.status == "regular"
            and p.termination is None
            and p.depth >= 3
            and p.level not in MANAGEMENT
            and not p.roles
            and p.no not in demo.hrbps
            and p.hire_date <= hired_before
        }
        results = demo.table("core_hr.performance_result")
        fy2025 = sa.and_(
            results.c.cycle == demo.ids["cycle"], results.c.final_rating.in_(["C", "D"])
        )
        low = demo.rows(conn, "core_hr.performance_result", fy2025)
        self.results = {r["employee"]: r["id"] for r in low if r["employee"] in eligible}
        self.low = sorted(self.results)
        demo.rng.shuffle(self.low)
        boxes = demo.table("talent_review.talent_assessment")
        box_one = demo.rows(conn, "talent_review.talent_assessment", boxes.c.nine_box == 1)
        self.box_one = sorted({r["employee"] for r in box_one if r["employee"] in eligible})
        demo.rng.shuffle(self.box_one)
        self.taken: set[int] = set()

    def take(self, trigger: str) -> tuple[Person, int | None]:
        """An employee for a plan of ``trigger``, and their FY2025 result for a low rating."""
        pool = self.box_one if trigger == "talent_review_box1" else self.low
        employee = next(e for e in pool if e not in self.taken)
        self.taken.add(employee)
        source = self.results.get(employee) if trigger == "low_rating" else None
        return self.demo.person_of(employee), source


def _at(on: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(on, time(hour, minute))


class _Plan:
    """One plan's steps on the timeline, from the manager's draft to its goal."""

    def __init__(
        self,
        demo: Demo,
        conn: Connection,
        spec: dict[str, Any],
        group: dict[str, Any],
        chosen: tuple[Person, int | None],
        index: int,
    ) -> None:
        """``index``: the plan's place in its group (the first ones are refused, miss a
        check-in, as the group says)."""
        self.demo, self.conn, self.spec, self.group = demo, conn, spec, group
        self.index = index
        self.person, self.source = chosen
        self.manager = demo.people[str(self.person.manager)]
        self.skip = demo.people[str(self.manager.manager)]
        self.hrbp = demo.person_of(demo.department_hrbp(self.person.department))
        self.duration = demo.rng.choice(group["durations"])
        days = int(self.duration)
        if "end" in group:
            end = _between(demo, *group["end"])
            self.start = end - timedelta(days=days - 1)
        else:
            self.start = _between(demo, *group["start"])
        self.planned_end = self.start + timedelta(days=days - 1)
        self.end = self.planned_end  # moved by a pause or an extension
        self.id = 0
        self.objectives: list[int] = []

    # -- the steps, as the people take them ---------------------------------------------

    def schedule(self, timeline: _Timeline) -> None:
        group, start = self.group, self.start
        written = day(group["submitted"]) if "submitted" in group else start - timedelta(days=5)
        refused = self.index < group.get("refused", 0)
        timeline.at(_at(written, 10), self.write)
        timeline.at(_at(written + timedelta(days=1), 15), self.approve)
        timeline.at(_at(written + timedelta(days=2), 11), self.refuse if refused else self.sign)
        goal = group["goal"]
        if "pause" in group:
            after, length = group["pause"]
            paused = start + timedelta(days=after)
            timeline.at(_at(paused, 9), lambda: self.hrbp_acts("pause", pause_reason="leave"))
            timeline.at(_at(paused + timedelta(days=length), 9), lambda: self.hrbp_acts("resume"))
            self.end += timedelta(days=length)
        if goal == "on_hold":
            on = day(group["pause_on"])
            timeline.at(_at(on, 9, 30), lambda: self.hold_checkins(on))
            reason = group["pause_reason"]
            timeline.at(_at(on, 10), lambda: self.hrbp_acts("pause", pause_reason=reason))
        elif goal == "withdrawn":
            on = start + timedelta(days=group["withdraw_after"])
            timeline.at(_at(on, 9, 30), lambda: self.hold_checkins(on))
            text = self.spec["texts"]["withdraw"]
            timeline.at(_at(on, 10), lambda: self.hrbp_acts("withdraw", comment=text))
        elif goal == "active":
            today = self.demo.today
            missed = 1 if self.index < group.get("missed", 0) else 0
            timeline.at(_at(today, 8), lambda: self.hold_checkins(today, missed))
        else:
            self._review(timeline, goal)

    def _review(self, timeline: _Timeline, goal: str) -> None:
        """The period closed by the timer, then the assessment and its approvals."""
        end = self.end
        if "extend" in self.group:
            self._close(timeline, end, "extend")
            timeline.at(_at(end + timedelta(days=3), 15), lambda: self.hrbp_acts("approve"))
            end += timedelta(days=int(self.group["extend"]))
        if goal == "final_review":
            self._close(timeline, end, None)
            return
        decision = self.group.get("decision") or DECISION.get(goal, goal)
        self._close(timeline, end, decision)
        if goal == "decision_pending" and decision == "successful":
            return  # waits for the HRBP
        timeline.at(_at(end + timedelta(days=3), 15), lambda: self.hrbp_acts("approve"))
        if decision.startswith("unsuccessful") and goal != "decision_pending":
            skip = self.skip
            timeline.at(_at(end + timedelta(days=4), 11), lambda: self.by(skip, "approve"))

    def _close(self, timeline: _Timeline, end: date, decision: str | None) -> None:
        after = end + timedelta(days=1)
        timeline.at(_at(after, 0, 5), lambda: self.hold_checkins(after))
        timeline.at(_at(after, 0, 10), lambda: self.demo_act(SYSTEM, "close_period"))
        if decision is not None:
            timeline.at(_at(end + timedelta(days=2), 16), lambda: self.assess(decision))

    def write(self) -> None:
        texts, demo = self.spec["texts"], self.demo
        row: dict[str, Any] = {
            "employee": self.person.id,
            "manager": self.manager.id,
            "trigger": self.group["trigger"],
            "source_performance_result": self.source,
            "start_date": self.start.isoformat(),
            "duration_days": self.duration,
            "checkin_frequency": "weekly" if self.duration == "60" else "biweekly",
        }
        row |= {k: texts[k] for k in ("performance_gap", "expectations", "support_provided")}
        by = demo.actor(self.manager.username)
        (self.id,) = demo.create(self.conn, PLAN, [row], by)
        objectives = [
            {**o, "pip": self.id, "due_date": self.planned_end.isoformat()}
            for o in self.spec["objectives"]
        ]
        self.objectives = demo.create(self.conn, OBJECTIVE, objectives, by)
        self.by(self.manager, "submit")

    def approve(self) -> None:
        self.hrbp_acts("approve", comment=self.spec["texts"]["approve"])

    def sign(self) -> None:
        self.by(self.person, "acknowledge")

    def refuse(self) -> None:
        note = self.spec["texts"]["refusal_note"]
        self.hrbp_acts("record_refusal", refusal_note=note, refusal_witness=self.skip.id)

    def hold_checkins(self, until: date, missed: int = 0) -> None:
        """The manager's record of the check-ins held before ``until``; the last
        ``missed`` of those already overdue are left for the app's timer to mark."""
        table = self.demo.table(CHECKIN)
        rows = self.demo.rows(
            self.conn,
            CHECKIN,
            sa.and_(
                table.c.pip == self.id,
                table.c.status == "scheduled",
                table.c.scheduled_date < until,
            ),
            order=table.c.scheduled_date,
        )
        overdue = [r for r in rows if r["scheduled_date"] <= until - timedelta(days=3)]
        skipped = {r["id"] for r in overdue[len(overdue) - missed :]} if missed else set()
        texts = self.spec["texts"]
        changes = {
            r["id"]: {
                "status": "held",
                "held_date": r["scheduled_date"],
                "overall_progress": "on_track" if i % 3 else "at_risk",
                "manager_notes": texts["manager_notes"],
                "next_steps": texts["next_steps"],
                "hrbp_attended": i == 0,
            }
            for i, r in enumerate(rows)
            if r["id"] not in skipped
        }
        self.demo.write(self.conn, CHECKIN, changes, self.demo.actor(self.manager.username))

    def assess(self, decision: str) -> None:
        """The objectives scored and the decision set by the manager, then submitted."""
        outcome = decision if decision in ("successful", "extend") else "unsuccessful"
        results = self.spec["results"][outcome]
        by = self.demo.actor(self.manager.username)
        scored = {
            oid: {
                "final_result": result,
                "progress_status": "on_track" if result == "met" else "off_track",
            }
            for oid, result in zip(self.objectives, results, strict=True)
        }
        self.demo.write(self.conn, OBJECTIVE, scored, by)
        fields: dict[str, Any] = {"decision": decision}
        if decision == "extend":
            fields["extension_request_days"] = self.group["extend"]
        if decision.startswith("unsuccessful"):
            fields["decision_comment"] = self.spec["texts"]["decision_comment"]
        self.demo.update(self.conn, by, PLAN, self.id, fields)
        self.by(self.manager, "submit_assessment")

    def hrbp_acts(self, action: str, **body: Any) -> None:
        self.by(self.hrbp, action, **body)

    def by(self, person: Person, action: str, **body: Any) -> None:
        self.demo_act(self.demo.actor(person.username), action, **body)

    def demo_act(self, actor: Actor, action: str, **body: Any) -> None:
        self.demo.act(self.conn, actor, PLAN, self.id, action, **body)


def _between(demo: Demo, first: str, last: str) -> date:
    start, end = day(first), day(last)
    return start + timedelta(days=demo.rng.randint(0, (end - start).days))
