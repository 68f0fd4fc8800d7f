"""The probation catalog app on core_hr, through the API by the spec's names, with the
test clock, on SQLite and PostgreSQL: PRB-1 (dates by rule D7), PRB-3 (scoring and the
suggested outcome), a review opened by its timer and confirmed through the HRBP's
approval, and a probation nobody decided confirmed automatically the day after it ends."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.metadata.package import read_package
from runtime.resources import catalog_dir
from tests.auth_support import add_user, make_client
from tests.catalog_support import CatalogWorld

CORE = "/api/v1/apps/core_hr/objects"
PRB = "/api/v1/apps/probation/objects/probation_case/records"


class World(CatalogWorld):
    def make(self, obj: str, **fields: Any) -> dict[str, Any]:
        return self.create(f"{CORE}/{obj}", **fields)

    def hire(self, name: str, hired: str, months: int, term: int = 36) -> dict[str, Any]:
        """A hire on probation: the probation app's automation opens their case."""
        made = self.make(
            "employee",
            employee_no=f"E{len(self.ids):04d}",
            name=name.title(),
            user=name,
            department=self.ids["team"],
            manager=self.ids["mgr"],
            job_level=self.ids["P3"],
            hire_date=hired,
            contract_type="fixed_term",
            contract_term_months=term,
            probation_months=months,
            base_salary_monthly="20000",
        )
        self.ids[name] = made["id"]
        return self.case(name)

    def case(self, name: str) -> dict[str, Any]:
        found = self.call("admin", "GET", PRB, params={"filter": f"employee.id = {self.ids[name]}"})
        (case,) = found.json()["data"]
        return case  # type: ignore[no-any-return]

    def act(self, user: str, case: dict[str, Any], action: str, **body: Any) -> Any:
        return self.call(user, "POST", f"{PRB}/{case['id']}/actions/{action}", json=body)


@pytest.fixture
def w(db_url: str) -> Iterator[World]:
    with make_client(db_url, test_clock=True, run_jobs=False) as client:
        state = client.app.state  # type: ignore[attr-defined]
        for name in ("core_hr", "probation"):
            state.apps.install(read_package(catalog_dir() / name), actor="t")
        add_user(client, "root", roles=["system_admin"], password=None)
        add_user(client, "admin", roles=["core_hr.hr_admin"], password=None)
        for name in ("ceo", "mgr", "hana"):
            add_user(client, name, password=None)
        for name in ("amy", "bob", "cai", "dan"):
            add_user(client, name, password=None)
        found = World(client)
        found.at("2025-03-01T09:00:00")
        found.ids["P3"] = found.make(
            "job_level", code="P3", track="ic", rank=3, target_bonus_months="2"
        )["id"]
        root = found.make("department", code="ROOT", name="Acme")
        found.ids["team"] = found.make("department", code="T", name="Team", parent=root["id"])["id"]
        common = {"job_level": found.ids["P3"], "hire_date": "2020-01-01"}
        common |= {"contract_type": "open_ended", "base_salary_monthly": "50000"}
        ceo = found.make(
            "employee", employee_no="C1", name="Ceo", user="ceo", department=root["id"], **common
        )
        hana = found.make(
            "employee",
            employee_no="H1",
            name="Hana",
            user="hana",
            department=root["id"],
            manager=ceo["id"],
            **common,
        )
        mgr = found.make(
            "employee",
            employee_no="M1",
            name="Mgr",
            user="mgr",
            department=found.ids["team"],
            manager=ceo["id"],
            **common,
        )
        found.ids |= {"ceo": ceo["id"], "hana": hana["id"], "mgr": mgr["id"], "root": root["id"]}
        version = found.call("admin", "GET", f"{CORE}/department/records/{root['id']}").json()[
            "version"
        ]
        found.call(
            "admin",
            "PATCH",
            f"{CORE}/department/records/{root['id']}",
            json={"hrbp": hana["id"], "version": version},
        )
        yield found


def test_prb1_dates_follow_rule_d7(w: World) -> None:
    rows = [
        (
            "amy",
            "2025-03-10",
            3,
            ("2025-06-09", "2025-05-26", "2025-05-30", "2025-06-02", "2025-06-06"),
        ),
        (
            "bob",
            "2025-03-01",
            3,
            ("2025-05-31", "2025-05-17", "2025-05-21", "2025-05-24", "2025-05-28"),
        ),
        (
            "cai",
            "2025-01-31",
            1,
            ("2025-02-28", "2025-02-14", "2025-02-18", "2025-02-21", "2025-02-25"),
        ),
    ]
    for name, hired, months, dates in rows:
        case = w.hire(name, hired, months)
        got = tuple(
            case[k]
            for k in (
                "end_date",
                "review_due_date",
                "self_due_date",
                "manager_due_date",
                "decision_due_date",
            )
        )
        assert got == dates, name
        assert case["status"] == "active" and case["code"].startswith("PRB-2025-")
        employee = w.call("admin", "GET", f"{CORE}/employee/records/{w.ids[name]}").json()
        assert employee["probation_end_date"] == dates[0]


def test_prb3_scores_and_the_suggested_outcome(w: World) -> None:
    scores = {
        "A": ((4, 3, 4, 3, 4), "3.60", "confirm"),
        "B": ((3, 2, 3, 3, 2), "2.65", "extend"),
        "C": ((2, 2, 2, 3, 2), "2.15", "terminate"),
    }
    names = {"A": "amy", "B": "bob", "C": "cai"}
    keys = (
        "score_job_knowledge",
        "score_quality",
        "score_productivity",
        "score_teamwork",
        "score_values",
    )
    for label, (values, total, suggested) in scores.items():
        case = w.hire(names[label], "2025-03-10", 3)
        body = dict(zip(keys, values, strict=True)) | {"version": case["version"]}
        scored = w.call("mgr", "PATCH", f"{PRB}/{case['id']}", json=body)
        assert scored.status_code == 200, scored.text
        assert (scored.json()["total_score"], scored.json()["suggested_outcome"]) == (
            total,
            suggested,
        ), label
        assert scored.json()["can_extend"] is True


def test_a_review_opens_on_time_and_the_hrbp_confirms(w: World) -> None:
    case = w.hire("amy", "2025-03-10", 3)
    w.at("2025-05-26T08:00:00")
    w.run_due()
    case = w.case("amy")
    assert case["status"] == "review_open"
    todos = w.call("amy", "GET", "/api/v1/tasks").json()["data"]
    assert [t["step"] for t in todos] == ["self_assessment"]
    assert w.act("amy", case, "submit_self").status_code == 422  # the self-assessment first
    patched = w.call(
        "amy",
        "PATCH",
        f"{PRB}/{case['id']}",
        json={"self_assessment": "Learned a lot", "version": case["version"]},
    )
    assert patched.status_code == 200, patched.text
    assert w.act("amy", case, "submit_self").json()["status"] == "self_submitted"
    scores = {
        "score_job_knowledge": 4,
        "score_quality": 3,
        "score_productivity": 4,
        "score_teamwork": 3,
        "score_values": 4,
    }
    scores |= {"manager_recommendation": "confirm"}
    now = w.case("amy")
    assert (
        w.call(
            "mgr", "PATCH", f"{PRB}/{case['id']}", json={**scores, "version": now["version"]}
        ).status_code
        == 200
    )
    sent = w.act("mgr", case, "submit_recommendation")
    assert sent.status_code == 200 and sent.json()["status"] == "pending_approval", sent.text
    assert [t["step"] for t in w.call("hana", "GET", "/api/v1/tasks").json()["data"]] == ["hrbp"]
    done = w.act("hana", case, "approve", comment="welcome aboard")
    assert done.status_code == 200, done.text
    final = w.case("amy")
    assert (final["status"], final["decision"], final["confirmation_date"]) == (
        "confirmed",
        "confirmed",
        "2025-06-10",
    )
    employee = w.call("admin", "GET", f"{CORE}/employee/records/{w.ids['amy']}").json()
    assert (employee["employment_status"], employee["confirmation_date"]) == (
        "regular",
        "2025-06-10",
    )
    w.at("2025-06-11T08:00:00")
    assert [
        j
        for j in w.run_due()
        if j["kind"] == "timer" and j["status"] == "done" and "action" in (j["result"] or {})
    ] == []


def test_a_probation_nobody_decided_is_confirmed_the_day_after_it_ends(w: World) -> None:
    w.hire("bob", "2025-03-01", 3)
    w.at("2025-06-01T00:30:00")
    w.run_due()
    case = w.case("bob")
    assert (case["status"], case["decision"], case["auto_confirmed"]) == (
        "confirmed",
        "auto_confirmed",
        True,
    )
    assert case["confirmation_date"] == "2025-06-01"
    employee = w.call("admin", "GET", f"{CORE}/employee/records/{w.ids['bob']}").json()
    assert employee["employment_status"] == "regular"
    history = w.call("admin", "GET", f"{PRB}/{case['id']}/history").json()["data"]
    assert history[-1]["on_behalf_of"] == "timer auto_confirm"


SCORES_C = {
    "score_job_knowledge": 2,
    "score_quality": 2,
    "score_productivity": 2,
    "score_teamwork": 3,
    "score_values": 2,
}
SCORES_B = {**SCORES_C, "score_job_knowledge": 3, "score_productivity": 3}


def _recommend(w: World, name: str, **fields: Any) -> dict[str, Any]:
    case = w.case(name)
    done = w.call(
        "mgr", "PATCH", f"{PRB}/{case['id']}", json={**fields, "version": case["version"]}
    )
    assert done.status_code == 200, done.text
    sent = w.act("mgr", case, "submit_recommendation")
    assert sent.status_code == 200, sent.text
    return sent.json()  # type: ignore[no-any-return]


def test_a_termination_goes_through_the_skip_manager_then_the_hrbp(w: World) -> None:
    w.hire("cai", "2025-03-10", 3)
    w.at("2025-06-01T09:00:00")  # past the self-assessment due date: no need to wait
    w.run_due()
    case = _recommend(
        w, "cai", **SCORES_C, manager_recommendation="terminate", termination_last_day="2025-06-09"
    )
    assert case["status"] == "pending_approval"
    assert w.act("hana", case, "approve").status_code == 403  # the skip manager comes first
    assert w.act("ceo", case, "approve").json()["status"] == "pending_approval"
    done = w.act("hana", case, "approve")
    assert done.status_code == 200 and done.json()["status"] == "terminated", done.text
    offboarding = w.call("admin", "GET", f"{CORE}/offboarding_case/records").json()["data"]
    assert [
        (o["employee"], o["category"], o["last_working_day"], o["source"]) for o in offboarding
    ] == [(w.ids["cai"], "probation_failure", "2025-06-09", f"probation:{case['code']}")]
    employee = w.call("admin", "GET", f"{CORE}/employee/records/{w.ids['cai']}").json()
    assert employee["employment_status"] == "probation"  # until the offboarding completes


def test_an_extension_needs_the_employee_and_moves_the_end_date(w: World) -> None:
    w.hire("dan", "2025-03-10", 3)
    w.at("2025-06-01T09:00:00")
    w.run_due()
    case = _recommend(
        w,
        "dan",
        **SCORES_B,
        manager_recommendation="extend",
        requested_extension_months=2,
    )
    w.act("ceo", case, "approve")
    waiting = w.act("hana", case, "approve").json()
    assert waiting["status"] == "pending_employee_ack"
    assert [t["step"] for t in w.call("dan", "GET", "/api/v1/tasks").json()["data"]] == [
        "acknowledge_extension"
    ]
    agreed = w.act("dan", case, "acknowledge_extension")
    assert agreed.status_code == 200, agreed.text
    after = w.case("dan")
    assert (
        after["status"],
        after["total_months"],
        after["end_date"],
        after["extension_count"],
    ) == (
        "active",
        5,
        "2025-08-09",
        1,
    )
    employee = w.call("admin", "GET", f"{CORE}/employee/records/{w.ids['dan']}").json()
    assert employee["probation_end_date"] == "2025-08-09"
    assert w.case("dan")["can_extend"] is False  # once


def test_the_policy_is_one_record_that_every_case_reads(w: World) -> None:
    base = "/api/v1/apps/probation/objects/probation_policy/records"
    made = w.call("admin", "POST", base, json={"review_lead_days": 20, "weight_values": 30})
    assert made.status_code == 201, made.text
    again = w.call("admin", "POST", base, json={})
    assert again.status_code == 409 and again.json()["error"]["code"] == "SINGLETON_EXISTS"
    case = w.hire("amy", "2025-03-10", 3)
    assert (case["review_due_date"], case["self_due_date"]) == ("2025-05-20", "2025-05-30")
    # weights 30/25/20/15/30 of 120: (120+75+80+45+120)/120 = 3.67
    keys = (
        "score_job_knowledge",
        "score_quality",
        "score_productivity",
        "score_teamwork",
        "score_values",
    )
    body = dict(zip(keys, (4, 3, 4, 3, 4), strict=True)) | {"version": case["version"]}
    scored = w.call("mgr", "PATCH", f"{PRB}/{case['id']}", json=body).json()
    assert scored["total_score"] == "3.67"
    policy = made.json()
    w.call(
        "admin",
        "PATCH",
        f"{base}/{policy['id']}",
        json={"review_lead_days": 14, "version": policy["version"]},
    )
    assert w.case("amy")["review_due_date"] == "2025-05-26"  # the cases follow the policy


def test_the_statutory_limits_apply_in_china_only(w: World) -> None:
    refused = w.call(
        "admin",
        "POST",
        f"{CORE}/employee/records",
        json={
            "employee_no": "S1",
            "name": "Short",
            "department": w.ids["team"],
            "job_level": w.ids["P3"],
            "hire_date": "2025-03-10",
            "contract_type": "fixed_term",
            "contract_term_months": 2,  # under 3 months: no probation allowed in China
            "probation_months": 1,
            "base_salary_monthly": "9000",
        },
    )
    assert refused.status_code == 422, refused.text
    body = refused.json()["error"]
    assert body["message"].startswith("automation probation.open_case_on_hire")
    assert "PROBATION_NOT_ALLOWED" in [d["code"] for d in body["details"]]
    base = "/api/v1/apps/probation/objects/probation_policy/records"
    assert w.call("admin", "POST", base, json={"jurisdiction": "other"}).status_code == 201
    case = w.hire("amy", "2025-03-10", 3, term=2)
    assert (case["statutory_max_months"], case["can_extend"], case["end_date"]) == (
        None,
        True,
        "2025-06-09",
    )


def test_the_probation_dashboard_shows_open_cases_and_overdue_reviews(w: World) -> None:
    w.hire("amy", "2025-03-10", 3)  # ends 9 June, the manager's assessment due 2 June
    w.hire("bob", "2025-03-01", 3)  # ends 31 May: confirmed automatically on 1 June
    w.at("2025-06-03T08:00:00")
    w.run_due()
    found = w.call("admin", "GET", "/api/v1/apps/probation/dashboards/probation_overview")
    assert found.status_code == 200, found.text
    widgets = {x["name"]: x for x in found.json()["widgets"]}
    assert all("error" not in x for x in widgets.values()), widgets
    assert widgets["reviews_overdue"]["data"] == {"value": 1}
    assert widgets["auto_confirmed"]["data"] == {"value": 1}
    statuses = {g["key"]: g["value"] for g in widgets["open_by_status"]["data"]["groups"]}
    assert statuses["review_open"] == 1
    ending = widgets["ending_soon"]["data"]["rows"]
    assert [r["cells"]["end_date"] for r in ending] == ["2025-06-09"]
    outcomes = {g["key"]: g["value"] for g in widgets["outcomes"]["data"]["groups"]}
    assert outcomes["auto_confirmed"] == 1
    mine = w.call("bob", "GET", "/api/v1/apps/probation/dashboards/probation_overview")
    assert {x["name"]: x for x in mine.json()["widgets"]}["reviews_overdue"]["data"] == {"value": 0}
