"""Catalog data for the browser tests, made through the API as an HR admin: a small
company in core_hr (a department with its HRBP, a team, a manager) and hires on probation,
whose probation cases the probation app's automation opens. Every name is made unique with
a prefix: the tests of a worker share one live server and its database."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tests.browser.live import LiveServer

CORE = "/api/v1/apps/core_hr/objects"
PRB = "/api/v1/apps/probation/objects/probation_case/records"
TR = "/api/v1/apps/talent_review/objects"

# the dates of tests/test_catalog_probation.py: a hire of 10 March 2025 on three months'
# probation ends on 9 June; the self-assessment is due on 30 May, so on 1 June the manager
# may recommend without it
HIRED = "2025-03-10"
SET_UP_AT = datetime(2025, 3, 1, 9, 0)
REVIEW_AT = datetime(2025, 6, 1, 9, 0)
REVIEWED_AT = datetime(2025, 11, 3, 9, 0)  # the talent review's nominations are open
SCORES = {  # a total of 3.60: the suggested outcome is "confirm"
    "score_job_knowledge": 4,
    "score_quality": 3,
    "score_productivity": 4,
    "score_teamwork": 3,
    "score_values": 4,
}

_numbers = itertools.count(1)


def ok(response: Any, status: int = 200) -> dict[str, Any]:
    """The JSON body of an API answer that must be ``status``."""
    assert response.status_code == status, response.text
    return response.json()  # type: ignore[no-any-return]


@dataclass
class Company:
    """A root department (its HRBP ``hrbp``) with the ``boss``, a team under it managed by
    ``manager`` (all usernames; their employee records are named by their usernames), and
    the ids of what was made, by name."""

    server: LiveServer
    prefix: str
    admin: str
    hrbp: str
    manager: str
    boss: str
    ids: dict[str, int] = field(default_factory=dict)

    def api(self, method: str, path: str, status: int = 200, **kwargs: Any) -> dict[str, Any]:
        """The answer to an API request of the HR admin, which must be ``status``."""
        return ok(self.server.call(self.admin, method, path, **kwargs), status)

    def make(self, obj: str, **fields: Any) -> dict[str, Any]:
        return self.api("POST", f"{CORE}/{obj}/records", 201, json=fields)

    def employee(self, username: str | None, name: str, dept: str, **fields: Any) -> int:
        common = {
            "job_level": self.ids["level"],
            "hire_date": "2020-01-01",
            "contract_type": "open_ended",
            "base_salary_monthly": "30000",
        }
        made = self.make(
            "employee",
            employee_no=f"{self.prefix}-{next(_numbers):04d}",
            name=name,
            user=username,
            department=self.ids[dept],
            **(common | fields),
        )
        self.ids[name] = int(made["id"])
        return int(made["id"])

    def hire(self, name: str, months: int = 3) -> dict[str, Any]:
        """A new hire in the team, on probation, signing in as a user of their own; their
        probation case (opened by the probation app's automation)."""
        username = self.server.add_user(display_name=name)
        self.employee(
            username,
            name,
            "team",
            manager=self.ids[self.manager],
            hire_date=HIRED,
            contract_type="fixed_term",
            contract_term_months=36,
            probation_months=months,
            base_salary_monthly="20000",
        )
        return self.case(name)

    def case(self, name: str) -> dict[str, Any]:
        found = self.api("GET", PRB, params={"filter": f"employee.id = {self.ids[name]}"})
        (case,) = found["data"]
        return case  # type: ignore[no-any-return]

    def recommend(self, name: str, recommendation: str = "confirm") -> dict[str, Any]:
        """The manager opens the review, scores the case and submits the recommendation
        (the clock must be past the self-assessment's due date); the case, now waiting for
        approval."""
        case = self.case(name)
        if case["status"] == "active":  # the review opens on its date (no job runner here)
            self.act(self.manager, case, "open_review")
            case = self.case(name)
        body = {**SCORES, "manager_recommendation": recommendation, "version": case["version"]}
        ok(self.server.call(self.manager, "PATCH", f"{PRB}/{case['id']}", json=body))
        return self.act(self.manager, case, "submit_recommendation")

    def act(self, user: str, case: dict[str, Any], action: str) -> dict[str, Any]:
        path = f"{PRB}/{case['id']}/actions/{action}"
        return ok(self.server.call(user, "POST", path, json={}))


def company(server: LiveServer, prefix: str) -> Company:
    """A new company on the live server, made as of ``SET_UP_AT`` (the clock is left
    there: the caller moves it on). ``prefix`` names its departments and job level: one
    per test module."""
    server.at(SET_UP_AT)
    hrbp, manager, boss = (server.add_user() for _ in range(3))
    admin = server.add_user("core_hr.hr_admin")
    found = Company(server, prefix, admin, hrbp, manager, boss)
    level = found.make(
        "job_level", code=f"{prefix}-P3", track="ic", rank=3, target_bonus_months="2"
    )
    found.ids["level"] = int(level["id"])
    root = found.make("department", code=f"{prefix}-ROOT", name=f"{prefix} Company")
    found.ids["root"] = int(root["id"])
    team = found.make("department", code=f"{prefix}-T", name=f"{prefix} Team", parent=root["id"])
    found.ids["team"] = int(team["id"])
    found.employee(boss, boss, "root")
    found.employee(hrbp, hrbp, "root", manager=found.ids[boss])
    found.employee(manager, manager, "team", manager=found.ids[boss])
    path = f"{CORE}/department/records/{root['id']}"
    version = found.api("GET", path)["version"]
    found.api("PATCH", path, json={"hrbp": found.ids[hrbp], "version": version})
    return found


def nine_box(server: LiveServer, prefix: str, people: dict[str, tuple[str, int]]) -> Company:
    """A company whose team of ``people`` (name: (proposed rating, the manager's answer to
    each of the three potential questions)) is in a launched talent review, each with an
    assessment holding the answers: so each is in a box of the 9-box. The clock is left
    at ``REVIEWED_AT``."""
    found = company(server, prefix)
    server.at(REVIEWED_AT)
    for name in people:
        found.employee(None, name, "team", manager=found.ids[found.manager])
    perf = found.make(
        "performance_cycle",
        name=f"{prefix} FY2025",
        year=2025,
        period_start="2025-01-01",
        period_end="2025-12-31",
        rating_cutoff_date="2025-09-30",
    )
    found.api(
        "POST", f"{CORE}/performance_cycle/records/{perf['id']}/actions/start_rating", json={}
    )
    results = found.api(
        "GET",
        f"{CORE}/performance_result/records",
        params={"filter": f"cycle.id = {perf['id']}", "limit": 500},
    )["data"]
    ratings = {found.ids[name]: rating for name, (rating, _) in people.items()}
    rated = [
        {"id": r["id"], "version": r["version"], "proposed_rating": ratings[r["employee"]]}
        for r in results
        if r["employee"] in ratings
    ]
    found.api("PATCH", f"{CORE}/performance_result/records/bulk", json={"records": rated})
    cycle = found.api(
        "POST",
        f"{TR}/talent_review_cycle/records",
        201,
        json={
            "name": f"{prefix} talent review",
            "performance_cycle": perf["id"],
            "scope_department": found.ids["root"],
            "nomination_due": "2025-11-20",
            "calibration_due": "2025-12-15",
        },
    )
    found.api("POST", f"{TR}/talent_review_cycle/records/{cycle['id']}/actions/launch", json={})
    assessments = found.api(
        "GET",
        f"{TR}/talent_assessment/records",
        params={"filter": f"cycle.id = {cycle['id']}", "limit": 500},
    )["data"]
    answers = {found.ids[name]: q for name, (_, q) in people.items()}
    answered = [
        {"id": a["id"], "version": a["version"], "flight_risk": "low"}
        | {f"q_{k}": answers[a["employee"]] for k in ("ability", "aspiration", "engagement")}
        for a in assessments
        if a["employee"] in answers
    ]
    found.api("PATCH", f"{TR}/talent_assessment/records/bulk", json={"records": answered})
    return found
