"""The read API as the signed-in caller: same answers as the read layer, over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.staff_api import BASE, Api, staff_api


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with staff_api(db_url) as api:
        yield api


def test_list_and_get_follow_the_callers_rules(api: Api) -> None:
    listed = api.get("mia", f"{BASE}/employee/records", sort="employee_no")
    assert listed.status_code == 200
    body = listed.json()
    assert [r["employee_no"] for r in body["data"]] == ["E2", "E4", "E5", "E8"]
    assert body["next_cursor"] is None
    assert [("base_salary" in r) for r in body["data"]] == [True, False, False, False]
    assert listed.headers["cache-control"] == "no-store"
    cora = api.staff.employees["E0"]
    hidden = api.get("mia", f"{BASE}/employee/records/{cora}")
    missing = api.get("mia", f"{BASE}/employee/records/999999")
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json()["error"]["code"] == missing.json()["error"]["code"] == "NOT_FOUND"
    own = api.get("mia", f"{BASE}/employee/records/{api.staff.employees['E2']}")
    assert own.json()["base_salary"] == "45000.00"


def test_paging_with_a_cursor(api: Api) -> None:
    first = api.get("hera", f"{BASE}/employee/records", sort="-name", limit=4).json()
    second = api.get(
        "hera", f"{BASE}/employee/records", sort="-name", limit=4, cursor=first["next_cursor"]
    ).json()
    third = api.get(
        "hera", f"{BASE}/employee/records", sort="-name", limit=4, cursor=second["next_cursor"]
    ).json()
    names = [r["name"] for page in (first, second, third) for r in page["data"]]
    assert names == sorted(names, reverse=True) and len(names) == 9
    assert third["next_cursor"] is None
    bad = api.get("hera", f"{BASE}/employee/records", cursor="not-a-cursor")
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "INVALID_CURSOR"


def test_filters_are_checked_and_never_reveal_hidden_values(api: Api) -> None:
    refused = api.get("mia", f"{BASE}/department/records", filter="budget > 0")
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "FIELD_NOT_READABLE"
    broken = api.get("mia", f"{BASE}/employee/records", filter="name = ")
    assert broken.status_code == 400
    detail = broken.json()["error"]["details"][0]
    assert detail["path"] == "filter" and "column" in detail["message"]
    unsortable = api.get("hera", f"{BASE}/department/records", sort="nope")
    assert unsortable.status_code == 400


def test_export_aggregate_history_and_explain(api: Api) -> None:
    csv = api.get("hera", f"{BASE}/employee/export.csv", sort="employee_no")
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    assert csv.content.startswith(b"\xef\xbb\xbf") and b"base_salary" not in csv.content
    refused = api.get("mia", f"{BASE}/review/export.csv")
    assert refused.status_code == 403
    totals = api.get("cole", f"{BASE}/employee/aggregate", measure="sum:base_salary").json()
    assert totals["data"] == [{"sum_base_salary": "397000.00"}]
    ann = api.staff.employees["E4"]
    assert api.get("sid", f"{BASE}/employee/records/{ann}/history").status_code == 404
    assert api.get("hera", f"{BASE}/employee/records/{ann}/history").json() == {"data": []}
    report = api.get(
        "sid",
        "/api/v1/admin/explain",
        user="mia",
        app="staff",
        object="employee",
        id=ann,
        action="update",
    )
    assert report.status_code == 200
    assert report.json()["allowed"] is True and report.json()["writable_fields"] == ["job_title"]
    assert (
        api.get(
            "mia", "/api/v1/admin/explain", user="mia", app="staff", object="employee", id=ann
        ).status_code
        == 403
    )


def test_reading_needs_a_signed_in_caller(api: Api) -> None:
    anonymous = api.client.get(f"{BASE}/employee/records")
    assert anonymous.status_code == 401
    in_query = api.client.get(f"{BASE}/employee/records", params={"access_token": "x"})
    assert in_query.status_code == 400
    assert api.get("mia", f"{BASE}/nothing/records").status_code == 404


def test_expand_nests_references_as_the_caller_reads_them(api: Api) -> None:
    mine = api.get("mia", f"{BASE}/employee/records", sort="employee_no", expand="manager")
    assert mine.status_code == 200, mine.text
    rows = {r["employee_no"]: r for r in mine.json()["data"]}
    ann = rows["E4"]
    assert ann["manager"]["employee_no"] == "E2"  # Mia's own record, readable to her
    assert ann["manager"]["base_salary"] == "45000.00"  # her own salary
    # Mia's own manager (Sam) is outside her scope: the id alone
    assert rows["E2"]["manager"] == {"id": api.staff.employees["E1"]}
    one = api.get(
        "mia", f"{BASE}/employee/records/{api.staff.employees['E4']}", expand="department"
    )
    assert one.json()["department"]["code"] == "ENG"
    refused = api.get("mia", f"{BASE}/employee/records", expand="name")
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "NOT_EXPANDABLE"


def test_totals_count_the_rows_the_caller_may_read(api: Api) -> None:
    counted = api.get("mia", f"{BASE}/employee/records", limit=2, count="true").json()
    assert counted["total"] == 4 and counted["total_capped"] is False
    assert len(counted["data"]) == 2 and counted["next_cursor"]
    filtered = api.get("hera", f"{BASE}/employee/records", filter='job_title = "x"', count="1")
    assert filtered.json()["total"] == 0
    plain = api.get("hera", f"{BASE}/employee/records").json()
    assert "total" not in plain
