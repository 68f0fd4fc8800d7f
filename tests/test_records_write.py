"""The write API and the record service, on SQLite and PostgreSQL.

Every write goes through one path: permission, input, version, write, computed fields,
rules, the permission again on the result, audit; any problem rolls back everything.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.errors import TenonError
from runtime.metadata.package import read_package_bytes
from runtime.services.reading import Reader
from runtime.services.records import Records
from runtime.storage.engine import write_transaction
from tests.auth_support import session_csrf, sign_in
from tests.staff_api import BASE, Api, staff_api


def employee(api: Api, number: str) -> dict[str, Any]:
    found = api.get("hera", f"{BASE}/employee/records", limit=500)
    return next(r for r in found.json()["data"] if r["employee_no"] == number)


def count(api: Api, obj: str) -> int:
    return int(api.get("hera", f"{BASE}/{obj}/aggregate").json()["data"][0]["count"])


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with staff_api(db_url) as api:
        yield api


def _error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"])
    assert body["error"]["code"] == code, body
    return dict(body["error"])


def _new(**extra: Any) -> dict[str, Any]:
    return {
        "employee_no": "E9",
        "name": "Zoe",
        "department": 1,
        "job_title": "Engineer",
        "hire_date": "2025-06-01",
        **extra,
    }


def test_create_returns_the_record_and_audits_it(api: Api) -> None:
    dept = api.staff.departments["ENG"]
    mia = employee(api, "E2")
    new = _new(department=dept, manager=mia["id"])
    made = api.call("hera", "POST", f"{BASE}/employee/records", json=new)
    assert made.status_code == 201, made.text
    record = made.json()
    assert record["version"] == 1 and record["name"] == "Zoe" and record["department"] == dept
    assert record["manager_path"] == f"{mia['manager_path']}{mia['id']}/"  # computed in the write
    assert "base_salary" not in record  # hr_admin does not read compensation
    history = api.call("hera", "GET", f"{BASE}/employee/records/{record['id']}/history")
    entries = history.json()["data"]
    assert [e["operation"] for e in entries] == ["create"]
    assert entries[0]["changes"]["name"] == {"before": None, "after": "Zoe"}
    assert entries[0]["actor"] == "hera" or entries[0].get("actor_name") == "hera"


def test_every_problem_of_a_record_comes_back_together(api: Api) -> None:
    before = count(api, "employee")
    bad = {
        "employee_no": "E9",
        "department": 999999,
        "hire_date": "2025-13-45",
        "shoe_size": 42,
        "manager_path": "/x/",
    }
    error = _error(
        api.call("hera", "POST", f"{BASE}/employee/records", json=bad), 422, "VALIDATION_FAILED"
    )
    found = {(d["path"], d["code"]) for d in error["details"]}
    assert found == {
        ("/department", "NOT_FOUND"),
        ("/hire_date", "INVALID_VALUE"),
        ("/shoe_size", "UNKNOWN_FIELD"),
        ("/manager_path", "FIELD_READ_ONLY"),
        ("/name", "REQUIRED"),
    }
    assert count(api, "employee") == before


def test_unique_values_and_rules_are_reported_on_their_fields(api: Api) -> None:
    dept = api.staff.departments["ENG"]
    taken = _new(employee_no="E1", department=dept)
    error = _error(
        api.call("hera", "POST", f"{BASE}/employee/records", json=taken), 422, "VALIDATION_FAILED"
    )
    assert [(d["path"], d["code"]) for d in error["details"]] == [("/employee_no", "NOT_UNIQUE")]
    ann = employee(api, "E4")
    early = {"hire_date": "1980-01-01", "version": ann["version"]}
    path = f"{BASE}/employee/records/{ann['id']}"
    error = _error(api.call("hera", "PATCH", path, json=early), 422, "HIRED_BEFORE_BIRTH")
    assert error["details"][0]["path"] == "/hire_date"
    negative = {"base_salary": "-1", "version": ann["version"]}
    error = _error(api.call("cole", "PATCH", path, json=negative), 422, "SALARY_NEGATIVE")
    assert error["details"][0]["message"] == "The salary cannot be negative"
    assert employee(api, "E4")["version"] == ann["version"]  # nothing was written


def test_update_needs_the_current_version_and_names_who_changed_it(api: Api) -> None:
    ann = employee(api, "E4")
    path = f"{BASE}/employee/records/{ann['id']}"
    _error(api.call("hera", "PATCH", path, json={"job_title": "Lead"}), 400, "VERSION_REQUIRED")
    first = api.call("hera", "PATCH", path, json={"job_title": "Lead", "version": ann["version"]})
    assert first.status_code == 200 and first.json()["version"] == ann["version"] + 1
    assert first.json()["job_title"] == "Lead"
    stale = {"job_title": "Staff", "version": ann["version"]}
    error = _error(api.call("hera", "PATCH", path, json=stale), 409, "VERSION_CONFLICT")
    assert "hera" in error["message"]
    assert employee(api, "E4")["job_title"] == "Lead"


def test_rules_decide_what_a_manager_may_change(api: Api) -> None:
    ann = employee(api, "E4")  # reports to Mia
    path = f"{BASE}/employee/records/{ann['id']}"
    ok = api.call("mia", "PATCH", path, json={"job_title": "Senior", "version": ann["version"]})
    assert ok.status_code == 200, ok.text
    salary = {"base_salary": "1", "version": ok.json()["version"]}
    error = _error(api.call("mia", "PATCH", path, json=salary), 403, "FIELD_NOT_WRITABLE")
    assert error["details"][0]["path"] == "/base_salary"
    cora = employee(api, "E0")  # not Mia's report
    far = {"job_title": "x", "version": cora["version"]}
    _error(
        api.call("mia", "PATCH", f"{BASE}/employee/records/{cora['id']}", json=far),
        404,
        "NOT_FOUND",
    )
    _error(api.call("sid", "POST", f"{BASE}/employee/records", json=_new()), 403, "FORBIDDEN")


def test_delete_refuses_referenced_records_and_checks_the_version(api: Api) -> None:
    mia = employee(api, "E2")  # manager of others: restricted
    path = f"{BASE}/employee/records/{mia['id']}"
    _error(api.call("hera", "DELETE", path), 409, "REFERENCED")
    review = api.call("hera", "GET", f"{BASE}/review/records", params={"limit": 1}).json()["data"][
        0
    ]
    rpath = f"{BASE}/review/records/{review['id']}"
    stale = api.call("hera", "DELETE", rpath, params={"version": review["version"] + 5})
    _error(stale, 409, "VERSION_CONFLICT")
    assert (
        api.call("hera", "DELETE", rpath, params={"version": review["version"]}).status_code == 204
    )
    _error(api.call("hera", "GET", rpath), 404, "NOT_FOUND")  # soft-deleted: gone from reads
    history = api.call("hera", "GET", f"{BASE}/review/records", params={"limit": 500}).json()
    assert review["id"] not in {r["id"] for r in history["data"]}


def test_bulk_create_is_all_or_nothing_with_every_rows_problems(api: Api) -> None:
    dept = api.staff.departments["ENG"]
    rows = [
        _new(employee_no="B1", department=dept),
        _new(employee_no="B2", department=dept, hire_date="nope"),
        _new(employee_no="B1", department=dept),  # duplicate of the first row
    ]
    before = count(api, "employee")
    response = api.call("hera", "POST", f"{BASE}/employee/records/bulk", json={"records": rows})
    error = _error(response, 422, "VALIDATION_FAILED")
    assert {(d["path"], d["code"]) for d in error["details"]} == {
        ("/rows/1/hire_date", "INVALID_VALUE"),
        ("/rows/2/employee_no", "NOT_UNIQUE"),
    }
    assert count(api, "employee") == before
    rows[1]["hire_date"] = "2025-01-01"
    rows[2]["employee_no"] = "B3"
    done = api.call("hera", "POST", f"{BASE}/employee/records/bulk", json={"records": rows})
    assert done.status_code == 201 and len(done.json()["data"]) == 3
    assert count(api, "employee") == before + 3
    updates = [{"id": d["id"], "version": 1, "job_title": "Bulk"} for d in done.json()["data"]]
    changed = api.call("hera", "PATCH", f"{BASE}/employee/records/bulk", json={"records": updates})
    assert changed.status_code == 200 and {d["version"] for d in changed.json()["data"]} == {2}


def test_two_writers_with_one_version_exactly_one_wins(api: Api) -> None:
    state = api.client.app.state  # type: ignore[attr-defined]
    reader = Reader({"staff": state.apps.get("staff")}, state.clock)
    records = Records(reader)
    hera = api.staff.actor("hera")
    ann = employee(api, "E4")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def write(title: str) -> None:
        barrier.wait()
        try:
            with write_transaction(state.engine) as conn:
                records.update(
                    conn, hera, "staff.employee", ann["id"], {"job_title": title}, ann["version"]
                )
            outcomes.append("ok")
        except TenonError as error:
            outcomes.append(error.code)

    threads = [threading.Thread(target=write, args=(t,)) for t in ("One", "Two")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["VERSION_CONFLICT", "ok"]
    with state.engine.connect() as conn:
        table = reader.table("staff.employee")
        version = conn.execute(sa.select(table.c.version).where(table.c.id == ann["id"])).scalar()
    assert version == ann["version"] + 1


def test_a_signed_in_browser_writes_only_with_the_csrf_token(api: Api) -> None:
    client = api.client
    assert sign_in(client, "hera").status_code == 303
    dept = api.staff.departments["ENG"]
    path = f"{BASE}/employee/records"
    refused = client.post(path, json=_new(department=dept, employee_no="C1"))
    assert refused.status_code == 403
    token = session_csrf(client)
    made = client.post(
        path, json=_new(department=dept, employee_no="C1"), headers={"X-CSRF-Token": token}
    )
    assert made.status_code == 201, made.text
    client.cookies.clear()
    anonymous = client.post(path, json=_new(department=dept, employee_no="C2"))
    assert anonymous.status_code in (401, 403)
    assert count(api, "employee") == len(api.staff.employees) + 1


TICKETS = {
    "name": "desk",
    "version": "1.0.0",
    "title": {"en": "Desk"},
    "objects": [
        {
            "name": "ticket",
            "fields": [
                {"name": "number", "type": "auto_number", "pattern": "TCK-{YYYY}-{###}"},
                {"name": "subject", "type": "text", "required": True},
            ],
        }
    ],
    "permissions": [{"role": "authenticated", "object": "ticket", "actions": ["read", "create"]}],
}


def test_auto_numbers_count_up_per_year_also_within_a_batch(api: Api) -> None:
    state = api.client.app.state  # type: ignore[attr-defined]
    state.apps.install(
        read_package_bytes(json.dumps(TICKETS).encode(), "desk.json"), actor="tester"
    )
    path = "/api/v1/apps/desk/objects/ticket/records"
    one = api.call("ann", "POST", path, json={"subject": "Laptop"})
    assert one.status_code == 201, one.text
    year = state.clock.now().year
    assert one.json()["number"] == f"TCK-{year}-001"
    many = api.call(
        "ann", "POST", f"{path}/bulk", json={"records": [{"subject": "a"}, {"subject": "b"}]}
    )
    assert many.status_code == 201
    listed = api.get("ann", path, sort="number").json()["data"]
    assert [r["number"] for r in listed] == [f"TCK-{year}-00{i}" for i in (1, 2, 3)]
    given = api.call("ann", "POST", path, json={"subject": "x", "number": "TCK-1"})
    error = _error(given, 422, "VALIDATION_FAILED")
    assert [(d["path"], d["code"]) for d in error["details"]] == [("/number", "FIELD_READ_ONLY")]


def test_text_with_a_nul_character_is_refused_on_its_field(api: Api) -> None:
    ann = employee(api, "E4")
    path = f"{BASE}/employee/records/{ann['id']}"
    bad = {"job_title": "a\x00b", "version": ann["version"]}
    error = _error(api.call("hera", "PATCH", path, json=bad), 422, "VALIDATION_FAILED")
    assert [(d["path"], d["code"]) for d in error["details"]] == [("/job_title", "INVALID_VALUE")]


def test_pages_stay_stable_while_records_are_added(api: Api) -> None:
    path = f"{BASE}/employee/records"
    first = api.get("hera", path, sort="employee_no", limit=3).json()
    dept = api.staff.departments["ENG"]
    for number in ("A0", "E00", "Z9"):  # before, between and after the first page
        made = api.call("hera", "POST", path, json=_new(employee_no=number, department=dept))
        assert made.status_code == 201
    seen = [r["employee_no"] for r in first["data"]]
    cursor = first["next_cursor"]
    while cursor:
        page = api.get("hera", path, sort="employee_no", limit=3, cursor=cursor).json()
        seen += [r["employee_no"] for r in page["data"]]
        cursor = page["next_cursor"]
    assert len(seen) == len(set(seen))  # nothing twice
    original = sorted(api.staff.employees)
    assert set(original) <= set(seen)  # nothing that was there is skipped
    assert "A0" not in seen and "Z9" in seen  # behind the cursor: not shown; ahead: shown


def test_a_forms_required_when_holds_for_every_write(api: Api) -> None:
    desk = json.loads(json.dumps(TICKETS))
    desk["objects"][0]["fields"] += [
        {"name": "kind", "type": "select", "options": [{"value": "bug"}, {"value": "question"}]},
        {"name": "steps", "type": "long_text"},
    ]
    desk["forms"] = [
        {
            "name": "ticket_form",
            "object": "ticket",
            "sections": [
                {"fields": ["subject", "kind", {"field": "steps", "required_when": 'kind = "bug"'}]}
            ],
        }
    ]
    state = api.client.app.state  # type: ignore[attr-defined]
    state.apps.install(read_package_bytes(json.dumps(desk).encode(), "desk.json"), actor="tester")
    path = "/api/v1/apps/desk/objects/ticket/records"
    bug = api.call("ann", "POST", path, json={"subject": "Crash", "kind": "bug"})
    error = _error(bug, 422, "REQUIRED")
    assert [(d["path"], d["code"]) for d in error["details"]] == [("/steps", "REQUIRED")]
    question = api.call("ann", "POST", path, json={"subject": "How?", "kind": "question"})
    assert question.status_code == 201
    described = {"subject": "Crash", "kind": "bug", "steps": "Open it twice"}
    assert api.call("ann", "POST", path, json=described).status_code == 201


def test_a_reader_builds_one_table_per_object_even_when_asked_at_once(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two tables of one name in one statement make a cartesian product: a request that
    raced another one to build the table once failed that way."""
    from runtime.services import computed, reading

    for module in (reading, computed):
        build = module.build_table

        def slow(*args: Any, build: Any = build) -> Any:
            time.sleep(0.02)  # every asker arrives while the first one builds
            return build(*args)

        monkeypatch.setattr(module, "build_table", slow)
    state = api.client.app.state  # type: ignore[attr-defined]
    reader = Reader({"staff": state.apps.get("staff")}, state.clock)
    records = Records(reader)
    barrier = threading.Barrier(6)
    seen: dict[str, set[int]] = {"reader": set(), "computed": set()}

    def ask(kind: str, which: Any) -> None:
        barrier.wait()
        seen[kind].add(id(which("staff.employee")))

    askers = [("reader", reader.table), ("computed", records.computed.table)] * 3
    threads = [threading.Thread(target=ask, args=a) for a in askers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen["reader"] == {id(reader.table("staff.employee"))}
    assert seen["computed"] == {id(records.computed.table("staff.employee"))}


def test_auto_numbers_given_at_once_are_all_different(api: Api) -> None:
    import threading

    state = api.client.app.state  # type: ignore[attr-defined]
    state.apps.install(
        read_package_bytes(json.dumps(TICKETS).encode(), "desk.json"), actor="tester"
    )
    path = "/api/v1/apps/desk/objects/ticket/records"
    api.call("ann", "POST", path, json={"subject": "warm"})  # the token exists before
    barrier = threading.Barrier(12)
    answers: list[Any] = []

    def create(i: int) -> None:
        barrier.wait()
        answers.append(api.call("ann", "POST", path, json={"subject": f"s{i}"}))

    threads = [threading.Thread(target=create, args=(i,)) for i in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [a.status_code for a in answers] == [201] * 12, [a.text for a in answers]
    numbers = [a.json()["number"] for a in answers]
    assert len(set(numbers)) == 12
