"""An HR admin imports new hires into core_hr's employees from a CSV file in Chromium. The
first file has a problem in each of four rows: a missing name, a hire date that is not a
date, a salary that is not a number and an employee number given twice. "Check" lists
each problem by row and column and writes nothing; the error report downloads as a CSV
naming the same rows and problems; "Import" of that file writes none of its rows, not even
the good one. The corrected file checks clean, imports, and its people are in the list."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.browser.hr import CORE, ok
from tests.browser.live import LiveServer
from tests.browser.support import Shot, sign_in

HEADER = "Employee no.,Name,Department,Job level,Hire date,Contract type,Monthly base salary"
# (row, column, problem): the spreadsheet row (1 is the header) and the file's own header
PROBLEMS = [
    ("3", "Name", re.compile(r"\bname\b.* is required", re.IGNORECASE)),
    ("4", "Hire date", re.compile(r"not a date", re.IGNORECASE)),
    ("5", "Monthly base salary", re.compile(r"not a number", re.IGNORECASE)),
    ("6", "Employee no.", re.compile(r"already has|unique|duplicate", re.IGNORECASE)),
]


def hires(prefix: str, fixed: bool) -> str:
    """Five new hires; unless ``fixed``, rows 3 to 6 have one problem each."""
    rows = [
        ("1", "Ada Lovelace", "2025-04-01", "25000"),
        ("2", "Grace Hopper" if fixed else "", "2025-04-01", "26000"),
        ("3", "Alan Turing", "2025-04-15" if fixed else "2025-02-30", "27000"),
        ("4", "Edsger Dijkstra", "2025-05-01", "28000" if fixed else "28k"),
        ("5" if fixed else "1", "Barbara Liskov", "2025-05-01", "29000"),
    ]
    lines = [
        f"{prefix}-{no},{name},{prefix}-D,{prefix}-L,{hired},open_ended,{salary}"
        for no, name, hired, salary in rows
    ]
    return "\n".join([HEADER, *lines]) + "\n"


def listed(page: Page) -> list[list[str]]:
    """The problems table's rows (row, column, problem), once the report is shown."""
    table = page.get_by_role("main").get_by_role("table")
    expect(table).to_be_visible()
    rows = table.locator("tbody tr")
    return [[c.strip() for c in r.locator("td").all_inner_texts()] for r in rows.all()]


def filter_department(page: Page, code: str) -> None:
    """On the list page: only the employees of the department ``code`` (htmx swaps the
    rows in and puts the filter in the address)."""
    page.get_by_text("Filter", exact=True).click()
    page.get_by_label("Condition").fill(f'department.code = "{code}"')
    page.get_by_role("button", name="Apply").click()
    expect(page).to_have_url(re.compile(r"[?&]filter=department\.code"))


def assert_problems(found: list[list[str]]) -> None:
    assert {row for row, *_ in found} == {"3", "4", "5", "6"}, found  # row 2 is right
    for row, column, problem in PROBLEMS:
        assert any(f[0] == row and f[1] == column and problem.search(f[2]) for f in found), (
            f"row {row}, {column}: no {problem.pattern!r} in {found}"
        )


def test_a_file_with_errors_is_reported_and_the_fixed_file_imports(
    page: Page, live_server: LiveServer, shot: Shot, tmp_path: Path
) -> None:
    admin = live_server.add_user("core_hr.hr_admin")
    prefix = f"IMP{admin}"
    level = {"code": f"{prefix}-L", "track": "ic", "rank": 2, "target_bonus_months": "1"}
    ok(live_server.call(admin, "POST", f"{CORE}/job_level/records", json=level), 201)
    dept = {"code": f"{prefix}-D", "name": f"{prefix} Sales"}
    made = ok(live_server.call(admin, "POST", f"{CORE}/department/records", json=dept), 201)
    dept_id = made["id"]

    def written() -> list[str]:
        params = {"filter": f"department.id = {dept_id}"}
        found = live_server.call(admin, "GET", f"{CORE}/employee/records", params=params)
        return sorted(r["name"] for r in ok(found)["data"])

    bad, good = tmp_path / "hires.csv", tmp_path / "hires-fixed.csv"
    bad.write_text(hires(prefix, fixed=False), encoding="utf-8")
    good.write_text(hires(prefix, fixed=True), encoding="utf-8")
    file_box = page.get_by_label("CSV or XLSX file")

    sign_in(page, admin, next_path="/apps/core_hr/employee")
    page.get_by_role("link", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Import · Employees")).to_be_visible()

    # Check: every problem by row and column, nothing written
    file_box.set_input_files(bad)
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("heading", name="Check result")).to_be_visible()
    expect(page.get_by_role("alert")).to_contain_text("nothing is written until every row")
    assert_problems(listed(page))
    assert written() == []
    shot("checked")

    # the error report names the same rows and problems
    file_box.set_input_files(bad)
    with page.expect_download() as download:
        page.get_by_role("button", name="Download error report").click()
    assert download.value.suggested_filename.endswith(".csv")
    report = Path(download.value.path()).read_text(encoding="utf-8-sig")
    lines = list(csv.DictReader(report.splitlines()))
    assert_problems([[r["row"], r["column"], r["message"]] for r in lines])

    # Import anyway: all rows or none, so none, not even the good row 2
    file_box.set_input_files(bad)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Nothing was imported")).to_be_visible()
    assert_problems(listed(page))
    assert written() == []
    shot("refused")
    page.get_by_role("main").get_by_role("link", name="Employees").click()
    filter_department(page, f"{prefix}-D")
    expect(page.locator("#rows")).to_contain_text("No records.")

    # the fixed file checks clean and imports
    page.get_by_role("link", name="Import", exact=True).click()
    file_box.set_input_files(good)
    page.get_by_role("button", name="Check").click()
    expect(page.get_by_role("status")).to_have_text(re.compile(r"^No problems found"))
    assert written() == []
    file_box.set_input_files(good)
    page.get_by_role("button", name="Import", exact=True).click()
    expect(page.get_by_role("heading", name="Imported", exact=True)).to_be_visible()
    expect(page.get_by_role("main")).to_contain_text(re.compile(r"Rows read: 5 · created 5\b"))
    expect(page.get_by_role("main").get_by_role("table")).to_have_count(0)
    names = ["Ada Lovelace", "Alan Turing", "Barbara Liskov", "Edsger Dijkstra", "Grace Hopper"]
    assert written() == names
    shot("imported")

    page.get_by_role("main").get_by_role("link", name="Employees").click()
    filter_department(page, f"{prefix}-D")
    rows = page.locator("#rows")
    expect(rows).to_contain_text("5 records")
    for name in names:
        expect(rows.get_by_role("cell", name=name, exact=True)).to_be_visible()
    shot("listed")
