"""The probation part of the demo. Every hire on probation already has a case: the
probation app's automation opened it when core HR created them. Here the people move
some of them through the workflow on the demo's "today", as the API would have them:

- probations that ended before today were decided: confirmed through the HRBP's
  approval, or extended (skip manager, HRBP, then the employee's acknowledgement) — all
  but a few left undecided, which the ``auto_confirm`` timer confirms when the due jobs
  run;
- of those ending soon, the managers opened the reviews (the timer's job, done early);
  some employees and managers sent their parts and wait for the HRBP
  (``pending_approval``); a few terminations went through the skip manager and the HRBP
  (a core HR offboarding case opens); a few strong hires were confirmed early.

The rest stay active, their timers queued for the days to come."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy.engine import Connection

from runtime.demo.context import Demo, Person

CASE = "probation.probation_case"
SCORES = (
    "score_job_knowledge",
    "score_quality",
    "score_productivity",
    "score_teamwork",
    "score_values",
)


class _Case:
    def __init__(self, demo: Demo, conn: Connection, row: dict[str, Any]) -> None:
        self.demo, self.conn, self.row = demo, conn, row
        self.id = int(row["id"])
        self.person = demo.person_of(row["employee"])
        self.manager = demo.people[self.person.manager] if self.person.manager else self.person

    def by(self, person: Person, action: str, **body: Any) -> None:
        self.demo.act(self.conn, self.demo.actor(person.username), CASE, self.id, action, **body)

    def edit(self, person: Person, **fields: Any) -> None:
        self.demo.update(self.conn, self.demo.actor(person.username), CASE, self.id, fields)

    def hrbp(self) -> Person:
        return self.demo.person_of(self.demo.department_hrbp(self.person.department))

    def skip(self) -> Person:
        return self.demo.people[self.manager.manager] if self.manager.manager else self.manager

    def recommend(self, outcome: str, self_part: bool = True, **more: Any) -> None:
        """Review opened by the manager, the self-assessment (when asked), the scores and
        the recommendation, submitted."""
        spec = self.demo.data["probation"]
        self.by(self.manager, "open_review")
        if self_part:
            self.edit(self.person, self_assessment=spec["self_assessment"], self_rating=4)
            self.by(self.person, "submit_self")
        scores = dict(zip(SCORES, spec["scores"][outcome], strict=True))
        self.edit(self.manager, **scores, manager_recommendation=outcome, **more)
        self.by(self.manager, "submit_recommendation")


def decide(demo: Demo, conn: Connection) -> None:
    spec, today = demo.data["probation"], demo.today
    cases = [_Case(demo, conn, r) for r in demo.rows(conn, CASE, order=demo.table(CASE).c.end_date)]
    ended = [c for c in cases if c.row["end_date"] < today]
    ending = [c for c in cases if c.row["end_date"] >= today]
    # the latest-ending ones are extended (their new end lies ahead); a few left to the timer
    extended = ended[-spec["extended"] :]
    auto = demo.rng.sample(ended[: -spec["extended"]], spec["auto_confirmed"])
    for case in ended:
        if case in extended:
            case.recommend(
                "extend", self_part=False, requested_extension_months=spec["extension_months"]
            )
            case.by(case.skip(), "approve")
            case.by(case.hrbp(), "approve")
            case.by(case.person, "acknowledge_extension")
        elif case not in auto:
            case.recommend("confirm", self_part=False)
            case.by(case.hrbp(), "approve", comment="Welcome aboard")
    in_review = [c for c in ending if c.row["review_due_date"] <= today]
    later = [c for c in ending if c.row["review_due_date"] > today]
    pending = in_review[: spec["pending_approval"]]
    for case in pending:
        case.recommend("confirm")
    for case in in_review[spec["pending_approval"] :]:
        case.by(case.manager, "open_review")
    rest = demo.rng.sample(
        later, spec["terminated"] + spec["early_confirmed"] + spec["review_open_by_manager"]
    )
    for case in rest[: spec["terminated"]]:
        case.recommend("terminate", termination_last_day=case.row["end_date"].isoformat())
        case.by(case.skip(), "approve")
        case.by(case.hrbp(), "approve", comment="Probation not passed")
    strong = [c for c in later if (today - c.row["hire_date"]).days * 2 >= c.row["probation_days"]]
    for case in [c for c in strong if c not in rest][: spec["early_confirmed"]]:
        early = (today + timedelta(days=1)).isoformat()
        case.recommend("early_confirm", early_confirm_date=early)
        case.by(case.hrbp(), "approve", comment="Confirmed early")
    for case in rest[spec["terminated"] + spec["early_confirmed"] :]:
        case.by(case.manager, "open_review")
