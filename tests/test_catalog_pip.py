"""The pip catalog app on core_hr, through the API by the spec's names, with the test
clock, on SQLite and PostgreSQL: PIP-1 (dates, check-ins, pause and extension), PIP-2
(scoring and the recommendation), the rules at submit with their codes, the workflow from
draft to a closed plan (core HR's on_pip, an offboarding case for an unsuccessful plan,
the plan withdrawn when the employee leaves) and who sees what (§5.5)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from runtime.metadata.package import read_package
from runtime.resources import catalog_dir
from tests.auth_support import add_user, make_client
from tests.catalog_support import CatalogWorld

CORE = "/api/v1/apps/core_hr/objects"
PIP = "/api/v1/apps/pip/objects"
PLANS = f"{PIP}/pip_plan/records"

# (weight, critical) of three objectives; the results are set in the final review
OBJECTIVES = ((40, True), (30, False), (30, False))


class World(CatalogWorld):
    def make(self, obj: str, **fields: Any) -> dict[str, Any]:
        return self.create(f"{CORE}/{obj}", **fields)

    def employee(self, name: str, manager: str = "mgr", **fields: Any) -> int:
        common = {"job_level": self.ids["P3"], "hire_date": "2020-01-01"}
        common |= {"contract_type": "open_ended", "base_salary_monthly": "30000"}
        common |= {"department": self.ids["team"], "manager": self.ids[manager]}
        made = self.make(
            "employee",
            employee_no=f"E{len(self.ids):04d}",
            name=name.title(),
            user=name,
            **(common | fields),
        )
        self.ids[name] = made["id"]
        return int(made["id"])

    def draft(
        self,
        name: str,
        start: str = "2025-03-03",
        duration: str = "60",
        weights: tuple[tuple[int, bool], ...] = OBJECTIVES,
        by: str = "mgr",
        **fields: Any,
    ) -> dict[str, Any]:
        """A plan in draft, made by the manager, with its objectives."""
        body = {
            "employee": self.ids[name],
            "trigger": "manager_observation",
            "performance_gap": "Missed 3 of 4 release dates (Jan 10, Jan 24, Feb 7)",
            "expectations": "Releases on the agreed date",
            "support_provided": "Weekly coaching with the tech lead",
            "start_date": start,
            "duration_days": duration,
            "checkin_frequency": "weekly",
        }
        made = self.call(by, "POST", PLANS, json=body | fields)
        assert made.status_code == 201, made.text
        plan = made.json()
        for i, (weight, critical) in enumerate(weights):
            goal = {"pip": plan["id"], "title": f"Goal {i}", "success_criteria": "on time"}
            goal |= {"weight_pct": weight, "is_critical": critical}
            added = self.call(by, "POST", f"{PIP}/pip_objective/records", json=goal)
            assert added.status_code == 201, added.text
        return self.plan(plan["id"])

    def plan(self, plan_id: int, user: str = "admin") -> dict[str, Any]:
        found = self.call(user, "GET", f"{PLANS}/{plan_id}")
        assert found.status_code == 200, found.text
        return found.json()  # type: ignore[no-any-return]

    def act(self, user: str, plan: dict[str, Any], action: str, **body: Any) -> Any:
        return self.call(user, "POST", f"{PLANS}/{plan['id']}/actions/{action}", json=body)

    def step(self, user: str, plan: dict[str, Any], action: str, **body: Any) -> dict[str, Any]:
        done = self.act(user, plan, action, **body)
        assert done.status_code == 200, done.text
        return done.json()  # type: ignore[no-any-return]

    def activate(self, name: str, **draft: Any) -> dict[str, Any]:
        """Drafted, submitted, approved by the HRBP and acknowledged by the employee."""
        plan = self.draft(name, **draft)
        self.step("mgr", plan, "submit")
        self.step("hana", plan, "approve")
        return self.step(name, plan, "acknowledge")

    def rows(self, obj: str, plan: dict[str, Any], user: str = "admin") -> list[dict[str, Any]]:
        """The plan's objectives, check-ins or pauses that ``user`` reads (their own scope
        only: a filter through ``pip`` would apply the plan's rules as well)."""
        found = self.call(user, "GET", f"{PIP}/{obj}/records", params={"sort": "id", "limit": 100})
        assert found.status_code == 200, found.text
        return [r for r in found.json()["data"] if r["pip"] == plan["id"]]

    def checkins(self, plan: dict[str, Any], status: str = "scheduled") -> list[str]:
        return sorted(
            c["scheduled_date"] for c in self.rows("pip_checkin", plan) if c["status"] == status
        )

    def assess(
        self, plan: dict[str, Any], results: tuple[str, ...], decision: str, **fields: Any
    ) -> Any:
        """The manager's final results and decision, then submit_assessment."""
        for goal, result in zip(self.rows("pip_objective", plan), results, strict=True):
            body = {"final_result": result, "version": goal["version"]}
            done = self.call("mgr", "PATCH", f"{PIP}/pip_objective/records/{goal['id']}", json=body)
            assert done.status_code == 200, done.text
        now = self.plan(plan["id"])
        body = {"decision": decision, "version": now["version"], **fields}
        done = self.call("mgr", "PATCH", f"{PLANS}/{plan['id']}", json=body)
        assert done.status_code == 200, done.text
        return self.act("mgr", plan, "submit_assessment")

    def on_pip(self, name: str) -> Any:
        return self.call("admin", "GET", f"{CORE}/employee/records/{self.ids[name]}").json()[
            "on_pip"
        ]

    def codes(self, response: Any) -> list[str]:
        assert response.status_code == 422, response.text
        return [d["code"] for d in response.json()["error"]["details"]]


@pytest.fixture
def w(db_url: str) -> Iterator[World]:
    with make_client(db_url, test_clock=True, run_jobs=False) as client:
        state = client.app.state  # type: ignore[attr-defined]
        for name in ("core_hr", "pip"):
            state.apps.install(read_package(catalog_dir() / name), actor="t")
        add_user(client, "root", roles=["system_admin"], password=None)
        add_user(client, "admin", roles=["core_hr.hr_admin"], password=None)
        add_user(client, "comp", roles=["core_hr.comp_admin"], password=None)
        for name in ("ceo", "hana", "mgr", "other", "amy", "bob", "cai", "dan", "eve"):
            add_user(client, name, password=None)
        found = World(client)
        found.at("2025-02-24T09:00:00")
        found.ids["P3"] = found.make(
            "job_level", code="P3", track="ic", rank=3, target_bonus_months="2"
        )["id"]
        root = found.make("department", code="ROOT", name="Acme")
        found.ids["root"] = root["id"]
        found.ids["team"] = found.make("department", code="T", name="Team", parent=root["id"])["id"]
        found.ids["ceo"] = found.make(
            "employee",
            employee_no="C1",
            name="Ceo",
            user="ceo",
            department=root["id"],
            job_level=found.ids["P3"],
            hire_date="2015-01-01",
            contract_type="open_ended",
            base_salary_monthly="90000",
        )["id"]
        found.employee("hana", manager="ceo", department=root["id"])
        found.employee("mgr", manager="ceo")
        found.employee("other", manager="ceo")  # a manager outside amy's line
        for name in ("amy", "bob", "cai", "dan"):
            found.employee(name)
        version = found.call("admin", "GET", f"{CORE}/department/records/{root['id']}").json()[
            "version"
        ]
        patched = found.call(
            "admin",
            "PATCH",
            f"{CORE}/department/records/{root['id']}",
            json={"hrbp": found.ids["hana"], "version": version},
        )
        assert patched.status_code == 200, patched.text
        yield found


def test_pip1_dates_checkins_pause_and_extension(w: World) -> None:
    plan = w.draft("amy")
    assert (plan["end_date"], plan["final_review_due"], plan["status"]) == (
        "2025-05-01",
        "2025-05-06",
        "draft",
    )
    assert plan["code"].startswith("PIP-2025-")
    plan = w.activate("amy")
    assert (plan["status"], plan["acknowledgement_status"]) == ("active", "acknowledged")
    assert w.on_pip("amy") is True
    weekly = ["03-10", "03-17", "03-24", "03-31", "04-07", "04-14", "04-21", "04-28"]
    assert w.checkins(plan) == [f"2025-{d}" for d in weekly]

    w.at("2025-04-01T09:00:00")
    paused = w.step("hana", plan, "pause", pause_reason="medical")
    assert paused["status"] == "on_hold"
    assert w.checkins(plan, "cancelled") == [f"2025-{d}" for d in weekly[4:]]
    w.at("2025-04-11T09:00:00")  # back: paused 2025-04-01..2025-04-10
    resumed = w.step("hana", plan, "resume")
    (pause,) = w.rows("pip_pause", plan)
    assert (pause["from_date"], pause["to_date"], pause["days"], pause["reason"]) == (
        "2025-04-01",
        "2025-04-10",
        10,
        "medical",
    )
    assert (resumed["status"], resumed["paused_days"], resumed["end_date"]) == (
        "active",
        10,
        "2025-05-11",
    )
    # the cadence goes on, shifted by the days paused, up to the new end date
    assert w.checkins(plan)[-4:] == ["2025-04-17", "2025-04-24", "2025-05-01", "2025-05-08"]

    w.at("2025-05-11T09:00:00")
    w.run_due()
    assert w.plan(plan["id"])["status"] == "active"  # the period ends with the day
    w.at("2025-05-12T09:00:00")
    w.run_due()
    plan = w.plan(plan["id"])
    assert plan["status"] == "final_review"
    todos = w.call("mgr", "GET", "/api/v1/tasks").json()["data"]
    assert [(t["step"], t["due"][:10]) for t in todos] == [("final_assessment", "2025-05-16")]

    sent = w.assess(
        plan, ("partially_met", "met", "partially_met"), "extend", extension_request_days="30"
    )
    assert sent.status_code == 200 and sent.json()["status"] == "decision_pending", sent.text
    extended = w.step("hana", plan, "approve")
    assert (extended["status"], extended["extension_days"], extended["extension_count"]) == (
        "active",
        30,
        1,
    )
    assert (extended["end_date"], extended["total_days"]) == ("2025-06-10", 100)
    assert w.checkins(plan)[-4:] == ["2025-05-15", "2025-05-22", "2025-05-29", "2025-06-05"]

    w.at("2025-06-11T09:00:00")
    w.run_due()
    again = w.assess(
        w.plan(plan["id"]),
        ("partially_met", "met", "partially_met"),
        "extend",
        extension_request_days="15",
        decision_comment="one more try",
    )
    assert w.codes(again) == ["PIP_EXTENSION_NOT_ALLOWED"]  # once only
    assert w.plan(plan["id"])["status"] == "final_review"


def test_a_90_day_plan_paused_10_days_cannot_take_30_more(w: World) -> None:
    plan = w.activate("bob", duration="90")
    assert plan["end_date"] == "2025-05-31"
    w.at("2025-03-10T09:00:00")
    w.step("hana", plan, "pause")
    w.at("2025-03-20T09:00:00")
    assert w.step("hana", plan, "resume")["end_date"] == "2025-06-10"
    w.at("2025-06-11T09:00:00")
    w.run_due()
    asked = w.assess(
        w.plan(plan["id"]),
        ("partially_met", "met", "partially_met"),
        "extend",
        extension_request_days="30",
    )
    assert w.codes(asked) == ["PIP_EXTENSION_NOT_ALLOWED"]  # 90 + 10 + 30 = 130 > 120
    now = w.plan(plan["id"])
    body = {"extension_request_days": "15", "version": now["version"]}
    assert w.call("mgr", "PATCH", f"{PLANS}/{plan['id']}", json=body).status_code == 200
    sent = w.act("mgr", plan, "submit_assessment")
    assert sent.status_code == 200 and sent.json()["status"] == "decision_pending", sent.text


PIP2 = {
    "a": (OBJECTIVES, ("met", "met", "partially_met"), "0.85", 0, "successful"),
    "b": (OBJECTIVES, ("partially_met", "met", "partially_met"), "0.65", 1, "extend"),
    "d": (
        ((50, True), (25, False), (25, False)),
        ("not_met", "met", "partially_met"),
        "0.375",
        1,
        "unsuccessful",
    ),
}


def test_pip2_scoring_and_the_recommendation(w: World) -> None:
    for name, (weights, results, score, unmet, recommended) in zip(
        ("amy", "bob", "cai"), PIP2.values(), strict=True
    ):
        plan = w.draft(name, weights=weights)
        for goal, result in zip(w.rows("pip_objective", plan), results, strict=True):
            body = {"final_result": result, "version": goal["version"]}
            path = f"{PIP}/pip_objective/records/{goal['id']}"
            assert w.call("admin", "PATCH", path, json=body).status_code == 200
        plan = w.plan(plan["id"])
        assert Decimal(plan["score"]) == Decimal(score), name
        assert (plan["critical_unmet"], plan["extension_count"], plan["recommendation"]) == (
            unmet,
            0,
            recommended,
        ), name


def test_submit_checks_the_employee_the_weights_the_open_plan_and_the_manager(w: World) -> None:
    w.employee("eve", probation_months=3)  # still on probation: the probation app's case
    refused = w.act("mgr", w.draft("eve"), "submit")
    assert w.codes(refused) == ["PIP_EMPLOYEE_NOT_REGULAR"]
    assert refused.json()["error"]["code"] == "PIP_EMPLOYEE_NOT_REGULAR"

    uneven = w.draft("bob", weights=((40, True), (30, False), (20, False)))
    assert w.codes(w.act("mgr", uneven, "submit")) == ["PIP_WEIGHTS"]
    late = w.draft("bob", start="2025-02-20")
    assert w.codes(w.act("mgr", late, "submit")) == ["PIP_START_IN_PAST"]
    assert w.plan(uneven["id"])["status"] == "draft"

    first, second = w.draft("cai"), w.draft("cai")  # two drafts are allowed
    w.step("mgr", first, "submit")
    taken = w.act("mgr", second, "submit")
    assert w.codes(taken) == ["PIP_ALREADY_OPEN"]
    assert taken.json()["error"]["details"][0]["path"] == "/employee"
    assert w.step("hana", first, "return", comment="be more specific")["status"] == "draft"
    assert w.step("mgr", second, "submit")["status"] == "hrbp_review"  # the first is a draft
    # only the line manager or the skip manager runs a plan
    by_skip = w.draft("amy", by="ceo", manager=w.ids["ceo"])
    assert by_skip["manager"] == w.ids["ceo"]
    made = w.call("other", "POST", PLANS, json={"employee": w.ids["amy"]})
    assert made.status_code in (403, 422), made.text  # not their report, not their plan
    body = {
        "employee": w.ids["amy"],
        "manager": w.ids["other"],
        "trigger": "other",
        "performance_gap": "x",
        "expectations": "y",
        "start_date": "2025-03-03",
        "duration_days": "30",
        "checkin_frequency": "biweekly",
    }
    assert w.codes(w.call("admin", "POST", PLANS, json=body)) == ["PIP_MANAGER_NOT_IN_LINE"]


def _closed_period(w: World, name: str) -> dict[str, Any]:
    """An active 30-day plan (from 2025-03-03) whose period ended: in final review."""
    plan = w.activate(name, duration="30")
    assert plan["end_date"] == "2025-04-01"
    w.at("2025-04-02T09:00:00")
    w.run_due()
    plan = w.plan(plan["id"])
    assert plan["status"] == "final_review"
    return plan


def test_a_successful_plan_closes_and_clears_on_pip(w: World) -> None:
    plan = _closed_period(w, "amy")
    assert w.codes(w.act("mgr", plan, "submit_assessment")) == ["REQUIRED"]  # no decision
    differs = w.assess(plan, ("partially_met", "met", "partially_met"), "successful")
    assert w.codes(differs) == ["PIP_DECISION_COMMENT_REQUIRED"]  # recommended: extend
    now = w.plan(plan["id"])
    body = {"decision_comment": "the last month was good", "version": now["version"]}
    assert w.call("mgr", "PATCH", f"{PLANS}/{plan['id']}", json=body).status_code == 200
    assert w.step("mgr", plan, "submit_assessment")["status"] == "decision_pending"
    assert [t["step"] for t in w.call("hana", "GET", "/api/v1/tasks").json()["data"]] == ["hrbp"]
    closed = w.step("hana", plan, "approve")
    assert (closed["status"], closed["decision"], closed["decided_by"]) == (
        "closed_successful",
        "successful",
        "hana",
    )
    assert w.on_pip("amy") is False
    mine = w.plan(plan["id"], user="amy")
    assert (mine["status"], mine["decision"]) == ("closed_successful", "successful")
    assert "decision_comment" not in mine and "recommendation" not in mine


def test_unsuccessful_terminate_goes_to_the_hrbp_then_the_skip_manager(w: World) -> None:
    plan = _closed_period(w, "bob")
    sent = w.assess(plan, ("not_met", "met", "partially_met"), "unsuccessful_terminate")
    assert sent.status_code == 200, sent.text  # recommended: unsuccessful, no comment needed
    assert w.act("ceo", plan, "approve").status_code == 403  # the HRBP comes first
    assert w.step("hana", plan, "approve")["status"] == "decision_pending"
    done = w.step("ceo", plan, "approve")
    assert done["status"] == "closed_unsuccessful"
    assert w.on_pip("bob") is False
    (case,) = w.call("admin", "GET", f"{CORE}/offboarding_case/records").json()["data"]
    assert (case["employee"], case["category"], case["source"]) == (
        w.ids["bob"],
        "involuntary_performance",
        f"pip:{plan['code']}",
    )
    assert (case["notice_date"], case["last_working_day"]) == ("2025-04-02", "2025-05-02")
    employee = f"{CORE}/employee/records/{w.ids['bob']}"
    assert w.call("admin", "GET", employee).json()["employment_status"] == "regular"
    offboarding = f"{CORE}/offboarding_case/records/{case['id']}/actions"
    assert w.call("admin", "POST", f"{offboarding}/start").status_code == 200
    w.at("2025-05-02T09:00:00")
    finished = w.call("admin", "POST", f"{offboarding}/complete")
    assert finished.status_code == 200, finished.text
    left = w.call("admin", "GET", employee).json()
    assert (left["employment_status"], left["termination_reason"]) == (
        "terminated",
        "involuntary_performance",
    )
    assert w.plan(plan["id"])["status"] == "closed_unsuccessful"  # closed stays closed


def test_an_open_plan_is_withdrawn_when_the_employee_leaves(w: World) -> None:
    plan = w.activate("cai")
    assert w.on_pip("cai") is True
    employee = w.call("admin", "GET", f"{CORE}/employee/records/{w.ids['cai']}").json()
    body = {
        "employment_status": "terminated",
        "termination_date": "2025-02-28",
        "termination_reason": "voluntary",
        "version": employee["version"],
    }
    left = w.call("admin", "PATCH", f"{CORE}/employee/records/{w.ids['cai']}", json=body)
    assert left.status_code == 200, left.text
    gone = w.plan(plan["id"])
    assert (gone["status"], gone["decision"]) == ("withdrawn", "withdrawn")
    assert w.on_pip("cai") is False
    assert w.checkins(gone) == []  # the check-ins still to come are cancelled
    history = w.call("admin", "GET", f"{PLANS}/{plan['id']}/history").json()["data"]
    assert history[-1]["comment"] == "employee left"


def _visible(w: World, user: str) -> list[int]:
    found = w.call(user, "GET", PLANS, params={"limit": 100})
    assert found.status_code == 200, found.text
    return [p["id"] for p in found.json()["data"]]


def test_who_sees_a_plan(w: World) -> None:
    w.employee("eve", manager="other")  # other's report: outside mgr's team
    plan = w.draft("amy")
    elsewhere = w.draft("eve", by="other")
    everyone = ("amy", "bob", "mgr", "ceo", "hana", "admin", "comp", "other", "root")
    seen = {u: _visible(w, u) for u in everyone}
    assert seen == {
        "amy": [],  # a draft is not shown to the employee
        "bob": [],  # a peer
        "mgr": [plan["id"]],
        "ceo": [plan["id"], elsewhere["id"]],  # the subtree
        "hana": [plan["id"], elsewhere["id"]],  # the departments the HRBP covers
        "admin": [plan["id"], elsewhere["id"]],
        "comp": [],
        "other": [elsewhere["id"]],
        "root": [],
    }
    assert w.call("amy", "GET", f"{PLANS}/{plan['id']}").status_code == 404
    w.step("mgr", plan, "submit")
    assert _visible(w, "amy") == []  # nor one under HR review
    w.step("hana", plan, "approve")
    assert _visible(w, "amy") == [plan["id"]]
    mine = w.plan(plan["id"], user="amy")
    assert mine["status"] == "pending_acknowledgement"
    for hidden in ("recommendation", "score", "decision", "decision_comment", "hrbp_notes"):
        assert hidden not in mine
    assert [t["step"] for t in w.call("amy", "GET", "/api/v1/tasks").json()["data"]] == [
        "acknowledge"
    ]
    goals = w.rows("pip_objective", plan, user="amy")
    assert len(goals) == 3
    assert w.rows("pip_objective", plan, user="bob") == []
    # the manager edits in draft and final review only; the employee never edits the plan
    now = w.plan(plan["id"])
    edit = {"expectations": "changed", "version": now["version"]}
    assert w.call("mgr", "PATCH", f"{PLANS}/{plan['id']}", json=edit).status_code == 403
    assert w.call("amy", "PATCH", f"{PLANS}/{plan['id']}", json=edit).status_code == 403
    assert w.act("bob", plan, "acknowledge").status_code == 404
    w.step("amy", plan, "acknowledge")
    (first, *_) = w.rows("pip_checkin", plan, user="amy")
    comment = {"employee_comments": "agreed", "version": first["version"]}
    said = w.call("amy", "PATCH", f"{PIP}/pip_checkin/records/{first['id']}", json=comment)
    assert said.status_code == 200, said.text
    notes = {"manager_notes": "mine", "version": said.json()["version"]}
    refused = w.call("amy", "PATCH", f"{PIP}/pip_checkin/records/{first['id']}", json=notes)
    assert refused.status_code == 403


def test_the_pip_dashboard_counts_plans_as_each_caller(w: World) -> None:
    w.activate("amy")
    w.draft("bob")
    url = "/api/v1/apps/pip/dashboards/pip_overview"
    found = w.call("admin", "GET", url)
    assert found.status_code == 200, found.text
    widgets = {x["name"]: x for x in found.json()["widgets"]}
    assert all("error" not in x for x in widgets.values()), widgets
    assert widgets["active"]["data"] == {"value": 1}
    statuses = {g["key"]: g["value"] for g in widgets["by_status"]["data"]["groups"]}
    assert (statuses["active"], statuses["draft"]) == (1, 1)
    triggers = {g["key"]: g["value"] for g in widgets["triggers"]["data"]["groups"]}
    assert triggers["manager_observation"] == 2
    (team,) = widgets["active_by_department"]["data"]["rows"]
    averages = ("AVERAGE(days_remaining)", "AVERAGE(checkin_compliance)")
    assert [team["cells"][c] for c in ("COUNT()", *averages)] == [1, "66.00", None]
    mine = {x["name"]: x for x in w.call("mgr", "GET", url).json()["widgets"]}
    (team,) = mine["active_by_department"]["data"]["rows"]  # a manager's own plans
    assert [team["cells"][c] for c in averages] == ["66.00", None]
    # a records filter on the same computed field, as the manager: one value per row
    soon = w.call(
        "mgr", "GET", PLANS, params={"filter": "AND(days_remaining > 0, days_remaining < 70)"}
    )
    assert soon.status_code == 200, soon.text
    assert sorted(p["status"] for p in soon.json()["data"]) == ["active", "draft"]
    peer = {x["name"]: x for x in w.call("cai", "GET", url).json()["widgets"]}
    assert all("error" not in x for x in peer.values()), peer
    assert peer["active"]["data"] == {"value": 0}  # a peer sees no plan
