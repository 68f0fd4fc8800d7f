"""The core_hr catalog app, installed from apps_catalog/ and driven through the API by
the names of the HR spec, on SQLite and PostgreSQL: the org's derived fields (paths,
nearest HRBP, manager chain, defaults), who reads what (own salary, a manager's subtree
without salaries, an HRBP's departments, payroll's few columns), and an offboarding case
that terminates the employee when it completes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from runtime.metadata.package import read_package
from runtime.metadata.validate import check_package
from runtime.resources import catalog_dir
from tests.auth_support import Caller, add_user, clock_of, make_client

BASE = "/api/v1/apps/core_hr/objects"


class HR(Caller):
    def call(self, user: str, method: str, path: str, **kw: Any) -> Any:
        return super().call(user, method, f"{BASE}/{path}", **kw)

    def make(self, obj: str, **fields: Any) -> dict[str, Any]:
        made = self.call("admin", "POST", f"{obj}/records", json=fields)
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    def get(self, user: str, obj: str, record_id: int) -> Any:
        return self.call(user, "GET", f"{obj}/records/{record_id}")

    def set(self, obj: str, record_id: int, **fields: Any) -> dict[str, Any]:
        version = self.get("admin", obj, record_id).json()["version"]
        done = self.call(
            "admin", "PATCH", f"{obj}/records/{record_id}", json={**fields, "version": version}
        )
        assert done.status_code == 200, done.text
        return done.json()  # type: ignore[no-any-return]


@pytest.fixture
def hr(db_url: str) -> Iterator[HR]:
    with make_client(db_url) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package(catalog_dir() / "core_hr"), actor="t")
        add_user(client, "admin", roles=["core_hr.hr_admin"], password=None)
        add_user(client, "payroll", roles=["core_hr.payroll_officer"], password=None)
        for name in ("ceo", "mgr", "emp", "hana"):
            add_user(client, name, password=None)
        found = HR(client)
        level = found.make("job_level", code="P5", track="ic", rank=5, target_bonus_months="3")
        root = found.make("department", code="ROOT", name="Acme")
        rd = found.make("department", code="BU-RD", name="R&D", parent=root["id"])
        plat = found.make("department", code="D-RD-PLAT", name="Platform", parent=rd["id"])
        found.ids |= {"P5": level["id"], "root": root["id"], "rd": rd["id"], "plat": plat["id"]}
        people = [
            ("ceo", None, "root", 0),
            ("hana", "ceo", "root", 0),
            ("mgr", "ceo", "plat", 0),
            ("emp", "mgr", "plat", 3),
        ]
        for i, (name, manager, dept, probation) in enumerate(people, 1):
            made = found.make(
                "employee",
                employee_no=f"E{i:04d}",
                name=name.title(),
                user=name,
                department=found.ids[dept],
                manager=found.ids[manager] if manager else None,
                job_level=level["id"],
                hire_date="2025-03-10",
                contract_type="fixed_term",
                contract_term_months=36,
                probation_months=probation,
                base_salary_monthly=str(20000 + i * 1000),
            )
            found.ids[name] = made["id"]
        found.set("department", root["id"], hrbp=found.ids["hana"])
        yield found


def test_the_package_is_valid_and_names_what_the_spec_names() -> None:
    app = check_package(read_package(catalog_dir() / "core_hr"))
    assert {o.name for o in app.objects} >= {
        "department",
        "job_level",
        "position",
        "employee",
        "performance_cycle",
        "performance_result",
        "offboarding_case",
    }
    employee = app.object("employee")
    assert employee.by_name["base_salary_monthly"].spec["sensitivity"] == "compensation"
    assert all("zh" in (f.spec.get("label") or {}) for o in app.objects for f in o.fields)


def test_the_org_derives_paths_the_nearest_hrbp_and_the_manager_chain(hr: HR) -> None:
    plat = hr.get("admin", "department", hr.ids["plat"]).json()
    assert (plat["path"], plat["level"]) == ("/ROOT/BU-RD/D-RD-PLAT/", 3)
    assert plat["effective_hrbp"] == hr.ids["hana"]  # inherited from the root
    emp = hr.get("admin", "employee", hr.ids["emp"]).json()
    assert emp["manager_path"] == f"/{hr.ids['ceo']}/{hr.ids['mgr']}/"
    assert emp["employment_status"] == "probation"  # the default, from probation_months
    assert emp["contract_start"] == "2025-03-10" and emp["contract_end"] == "2028-03-09"
    assert hr.get("admin", "department", hr.ids["plat"]).json()["headcount"] == 2
    assert hr.get("admin", "employee", hr.ids["mgr"]).json()["is_manager"] is True
    # moving the platform under the root moves its path and its employees' scopes
    hr.set("department", hr.ids["plat"], parent=hr.ids["root"])
    assert hr.get("admin", "department", hr.ids["plat"]).json()["path"] == "/ROOT/D-RD-PLAT/"


def test_a_department_cannot_be_its_own_parent(hr: HR) -> None:
    version = hr.get("admin", "department", hr.ids["rd"]).json()["version"]
    refused = hr.call(
        "admin",
        "PATCH",
        f"department/records/{hr.ids['rd']}",
        json={"parent": hr.ids["rd"], "version": version},
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"][0]["code"] == "DEPARTMENT_CYCLE"


def test_who_reads_which_employees_and_salaries(hr: HR) -> None:
    own = hr.get("emp", "employee", hr.ids["emp"]).json()
    assert own["base_salary_monthly"] == "24000.00"  # one's own salary
    assert hr.get("emp", "employee", hr.ids["mgr"]).status_code == 404  # not upward
    report = hr.get("mgr", "employee", hr.ids["emp"]).json()
    assert report["name"] == "Emp" and "base_salary_monthly" not in report
    assert hr.get("ceo", "employee", hr.ids["emp"]).status_code == 200  # the subtree
    assert hr.get("hana", "employee", hr.ids["emp"]).json()["base_salary_monthly"] == "24000.00"
    payroll = hr.get("payroll", "employee", hr.ids["emp"]).json()
    assert set(payroll) - {
        "id",
        "version",
        "created_at",
        "updated_at",
        "created_by",
        "updated_by",
    } == {
        "employee_no",
        "name",
        "department",
        "termination_date",
    }
    listed = hr.call("mgr", "GET", "employee/records").json()["data"]
    assert sorted(e["name"] for e in listed) == ["Emp", "Mgr"]


def test_an_offboarding_case_terminates_the_employee_when_it_completes(hr: HR) -> None:
    case = hr.make(
        "offboarding_case",
        employee=hr.ids["emp"],
        category="voluntary",
        source="manual",
        notice_date="2025-06-10",
        last_working_day="2025-07-10",
    )
    assert case["status"] == "open"
    path = f"offboarding_case/records/{case['id']}/actions"
    assert hr.call("admin", "POST", f"{path}/start", json={}).json()["status"] == "in_progress"
    early = hr.call("admin", "POST", f"{path}/complete", json={})
    assert early.status_code == 422 and early.json()["error"]["code"] == "LAST_DAY_NOT_REACHED"
    assert hr.get("admin", "employee", hr.ids["emp"]).json()["employment_status"] == "probation"
    assert hr.call("mgr", "GET", f"offboarding_case/records/{case['id']}").status_code == 200
    assert hr.call("emp", "GET", f"offboarding_case/records/{case['id']}").status_code == 404
    clock_of(hr.client).set(clock_of(hr.client).now().replace(month=7, day=10))
    hr.tokens.clear()  # a month on: the test tokens have expired
    done = hr.call("admin", "POST", f"{path}/complete", json={})
    assert done.status_code == 200 and done.json()["status"] == "completed"
    emp = hr.get("admin", "employee", hr.ids["emp"]).json()
    assert (emp["employment_status"], emp["termination_date"], emp["termination_reason"]) == (
        "terminated",
        "2025-07-10",
        "voluntary",
    )
    history = hr.call("admin", "GET", f"employee/records/{hr.ids['emp']}/history").json()["data"]
    assert history[-1]["on_behalf_of"].startswith("effect of action:complete on offboarding_case")
    assert hr.get("admin", "department", hr.ids["plat"]).json()["headcount"] == 1


def test_start_rating_creates_one_result_per_employee_of_the_period(hr: HR) -> None:
    late = hr.make(
        "employee",
        employee_no="E0099",
        name="Late",
        department=hr.ids["plat"],
        job_level=hr.ids["P5"],
        hire_date="2026-01-05",  # after the period: no result
        contract_type="open_ended",
        base_salary_monthly="10000",
    )
    cycle = hr.make(
        "performance_cycle",
        name="FY2025 Annual",
        year=2025,
        period_start="2025-01-01",
        period_end="2025-12-31",
        rating_cutoff_date="2025-09-30",
    )
    started = hr.call(
        "admin", "POST", f"performance_cycle/records/{cycle['id']}/actions/start_rating", json={}
    )
    assert started.status_code == 200 and started.json()["status"] == "rating"
    results = hr.call("admin", "GET", "performance_result/records", params={"limit": 50}).json()[
        "data"
    ]
    assert sorted(r["employee"] for r in results) == sorted(
        hr.ids[n] for n in ("ceo", "hana", "mgr", "emp")
    )
    assert late["id"] not in {r["employee"] for r in results}
    emp = next(r for r in results if r["employee"] == hr.ids["emp"])
    assert (emp["cycle"], emp["department"], emp["manager"], emp["rating_status"]) == (
        cycle["id"],
        hr.ids["plat"],
        hr.ids["mgr"],
        "missing",
    )
    # the manager proposes for a direct report while the cycle is in rating
    path = f"performance_result/records/{emp['id']}"
    proposed = hr.call(
        "mgr", "PATCH", path, json={"proposed_rating": "A", "version": emp["version"]}
    )
    assert proposed.status_code == 200 and proposed.json()["final_rating"] == "A"
    assert hr.call("emp", "GET", path).status_code == 404  # not before publication


def test_the_hr_overview_dashboard_counts_as_each_caller(hr: HR) -> None:
    url = "/api/v1/apps/core_hr/dashboards/hr_overview"

    def widgets(user: str) -> dict[str, Any]:
        found = Caller.call(hr, user, "GET", url)
        assert found.status_code == 200, found.text
        return {w["name"]: w for w in found.json()["widgets"]}

    admin = widgets("admin")
    assert all("error" not in w for w in admin.values()), admin
    assert admin["headcount"]["data"] == {"value": 4}
    cells = admin["headcount_by_department"]["data"]["cells"]
    assert {(c["row"], c["column"], c["value"]) for c in cells} == {
        (hr.ids["root"], "regular", 2),
        (hr.ids["plat"], "regular", 1),
        (hr.ids["plat"], "probation", 1),
    }
    assert admin["ratings_by_department"]["data"]["cells"] == []  # no cycle rated yet
    assert widgets("mgr")["headcount"]["data"] == {"value": 2}  # themselves and their report
