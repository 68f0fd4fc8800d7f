"""Import (CSV, XLSX) and XLSX export of records, on SQLite and PostgreSQL.

Every imported row goes through the record service, all in one transaction: a
file with any bad row writes nothing and names each problem by row, column and field.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

import openpyxl
import pytest

from tests import staff_api as staff_api_module
from tests.auth_support import bearer
from tests.staff import definition
from tests.staff_api import BASE, Api, staff_api

HEADER = ["employee_no", "name", "department", "hire_date"]


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    with staff_api(db_url) as api:
        yield api


def _csv(rows: list[list[Any]], header: list[str] = HEADER, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _xlsx(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _import(api: Api, user: str, data: bytes, name: str = "people.csv", **form: Any) -> Any:
    return api.call(
        user,
        "POST",
        f"{BASE}/employee/import",
        files={"file": (name, data)},
        data={k: json.dumps(v) if k == "mapping" else v for k, v in form.items()},
    )


def _count(api: Api) -> int:
    return int(api.get("hera", f"{BASE}/employee/aggregate").json()["data"][0]["count"])


def _employees(api: Api) -> dict[str, dict[str, Any]]:
    found = api.get("hera", f"{BASE}/employee/records", limit=500).json()["data"]
    return {r["employee_no"]: r for r in found}


def _people(count: int) -> list[list[Any]]:
    return [[f"N{i:04d}", f"Person {i}", "ENG", "2025-01-01"] for i in range(count)]


def test_a_bad_row_refuses_the_whole_file_and_the_fixed_file_imports(api: Api) -> None:
    before = _count(api)
    rows = _people(1000)
    rows[300][3] = "2025-13-01"  # spreadsheet row 302
    rows[700][2] = "NOPE"  # spreadsheet row 702: no department with this code
    header = ["Employee No", "Name", "Department", "Hire Date"]  # names, spelled freely
    refused = _import(api, "hera", _csv(rows, header))
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"]["code"] == "VALIDATION_FAILED"
    paths = {d["path"]: d for d in body["error"]["details"]}
    assert set(paths) == {"/rows/302/hire_date", "/rows/702/department"}
    assert "row 702, column 'Department'" in paths["/rows/702/department"]["message"]
    report = body["report"]
    assert report["rows"] == 1000 and report["created"] == 0 and not report["committed"]
    assert [(e["row"], e["column"], e["field"], e["code"]) for e in report["errors"]] == [
        (302, "Hire Date", "hire_date", "INVALID_VALUE"),
        (702, "Department", "department", "NOT_FOUND"),
    ]
    assert _count(api) == before  # nothing was written

    rows[300][3], rows[700][2] = "2025-01-01", "PLAT"
    done = _import(api, "hera", _csv(rows, header))
    assert done.status_code == 200, done.text
    assert done.json() == {
        "dry_run": False,
        "committed": True,
        "rows": 1000,
        "created": 1000,
        "updated": 0,
        "columns": dict(zip(header, HEADER, strict=True)),
        "ignored_columns": [],
        "error_count": 0,
        "errors": [],
    }
    assert _count(api) == before + 1000


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(api: Api) -> None:
    before = _count(api)
    rows = [
        ["E1", "Sam", "ENG", "2020-01-01"],  # row 2: Sam's record, updated
        ["N1", "Neo", "HR", ""],  # row 3: created
        ["N2", "", "HR", ""],  # row 4: no name
        ["E1", "Sam", "ENG", ""],  # row 5: Sam again
    ]
    data = _csv(rows, delimiter=";")  # a spreadsheet's semicolon CSV, with its BOM
    trial = _import(api, "hera", data, dry_run="true", key="employee_no")
    assert trial.status_code == 200, trial.text
    report = trial.json()
    assert report["dry_run"] and not report["committed"]
    assert (report["rows"], report["created"], report["updated"]) == (4, 1, 1)
    assert [(e["row"], e["field"], e["code"]) for e in report["errors"]] == [
        (4, "name", "REQUIRED"),
        (5, "employee_no", "DUPLICATE_KEY"),
    ]
    assert _count(api) == before
    # the same problems as a CSV file to download
    errors = api.call(
        "hera",
        "POST",
        f"{BASE}/employee/import/errors.csv",
        files={"file": ("people.csv", data)},
        data={"key": "employee_no"},
    )
    assert errors.status_code == 200 and errors.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert lines[0] == ["row", "column", "field", "code", "message"]
    assert lines[1][:4] == ["4", "name", "name", "REQUIRED"]
    assert _count(api) == before


def _labelled() -> dict[str, Any]:
    """The staff app with labels on the employee's fields and named departments."""
    defn = definition()
    objects = {o["name"]: o for o in defn["objects"]}
    objects["department"]["label_field"] = "name"
    labels = {
        "employee_no": {"en": "Employee number", "zh": "工号"},
        "name": {"en": "Full name", "zh": "姓名"},
        "department": {"en": "Department", "zh": "部门"},
        "hire_date": "Hire date",
    }
    for fdef in objects["employee"]["fields"]:
        if fdef["name"] in labels:
            fdef["label"] = labels[fdef["name"]]
    return defn


def test_labels_map_to_fields_and_references_resolve_by_natural_key(
    db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(staff_api_module, "definition", _labelled)
    with staff_api(db_url) as api:
        header = ["工号", "FULL  NAME", "hire date", "部门", "Notes"]
        rows = [
            ["L1", "Lin", "2025-03-01", "ENG", "by code"],
            ["L2", "Lou", "2025-03-02", "Plat", "by name (the label field)"],
            ["L3", "Lee", "", str(api.staff.departments["SALES"]), "by id"],
        ]
        done = _import(api, "hera", _csv(rows, header), mapping={"Notes": None})
        assert done.status_code == 200, done.text
        report = done.json()
        assert report["columns"] == {
            "工号": "employee_no",
            "FULL  NAME": "name",
            "hire date": "hire_date",
            "部门": "department",
        }
        assert report["ignored_columns"] == ["Notes"]
        made = _employees(api)
        departments = api.staff.departments
        assert made["L1"]["department"] == departments["ENG"]
        assert made["L2"]["department"] == departments["PLAT"]
        assert made["L3"]["department"] == departments["SALES"]
        assert made["L1"]["hire_date"] == "2025-03-01" and made["L2"]["name"] == "Lou"

        # a second department named "Eng": the name no longer names one record
        new = {"code": "QA", "name": "Eng"}
        assert api.call("hera", "POST", f"{BASE}/department/records", json=new).status_code == 201
        rows = [["L4", "Liv", "", "Eng", ""], ["L5", "Lux", "", "Nowhere", ""]]
        refused = _import(api, "hera", _csv(rows, [*header[:4], "Shoe size"]))
        assert refused.status_code == 422
        errors = [(e["row"], e["column"], e["code"]) for e in refused.json()["report"]["errors"]]
        assert errors == [
            (1, "Shoe size", "UNKNOWN_COLUMN"),
            (2, "部门", "AMBIGUOUS_REFERENCE"),
            (3, "部门", "NOT_FOUND"),
        ]
        paths = [d["path"] for d in refused.json()["error"]["details"]]
        assert paths == ["/columns/Shoe size", "/rows/2/department", "/rows/3/department"]


def test_exported_csv_imports_back_as_updates_or_as_new_records(api: Api) -> None:
    exported = api.get("hera", f"{BASE}/employee/export.csv", sort="employee_no")
    table = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig"))))
    header, rows = table[0], table[1:]
    title, number = header.index("job_title"), header.index("employee_no")
    for row in rows:
        row[title] = "Staff engineer"
    updated = _import(api, "hera", _csv(rows, header), key="employee_no")
    assert updated.status_code == 200, updated.text
    report = updated.json()
    assert (report["created"], report["updated"]) == (0, len(rows))
    assert {"id", "manager_path", "created_at", "updated_at"} <= set(report["ignored_columns"])
    after = _employees(api)
    assert {r["job_title"] for r in after.values()} == {"Staff engineer"}
    assert all(r["version"] == 2 for r in after.values())

    for row in rows:
        row[number] = "C" + row[number]
    copied = _import(api, "hera", _csv(rows, header), mapping={"user": None})
    assert copied.status_code == 200, copied.text
    assert copied.json()["created"] == len(rows)
    assert _count(api) == 2 * len(rows)
    copy = _employees(api)["CE2"]
    assert copy["manager"] == api.staff.employees["E1"] and copy.get("user") is None


def test_xlsx_export_is_native_and_guarded_and_xlsx_files_import(api: Api) -> None:
    odd = {"employee_no": "E9", "name": '=HYPERLINK("http://x")', "department": 1}
    made = api.call("hera", "POST", f"{BASE}/employee/records", json=odd | {"job_title": "@x"})
    assert made.status_code == 201, made.text
    response = api.get("hera", f"{BASE}/employee/export.xlsx", sort="employee_no")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    sheet = book.worksheets[0]
    header = [c.value for c in sheet[1]]
    last = dict(zip(header, sheet[sheet.max_row], strict=True))
    assert last["name"].value == '\'=HYPERLINK("http://x")' and last["name"].data_type == "s"
    assert last["job_title"].value == "'@x"
    first = {h: c.value for h, c in zip(header, sheet[2], strict=True)}
    assert isinstance(first["id"], int) and isinstance(first["department"], int)
    assert first["hire_date"] == datetime(2020, 1, 1)  # a date cell, not text
    assert sheet.max_row == 11  # the header and ten employees

    again = _import(api, "hera", response.content, name="x.xlsx", key="employee_no")
    assert again.status_code == 200, again.text
    assert again.json()["updated"] == 10
    assert _employees(api)["E9"]["name"] == '=HYPERLINK("http://x")'  # unchanged

    # a workbook made by hand: native numbers and dates, references by natural key
    header = [*HEADER, "manager", "job_title"]
    rows = [
        [1001, "Xia", "PLAT", datetime(2025, 2, 3), "E2", 42],
        ["X2", "Yu", "SALES", date(2025, 2, 4), None, "'=1+1"],
    ]
    done = _import(api, "hera", _xlsx(rows, header), name="people.xlsx")
    assert done.status_code == 200, done.text
    assert done.json()["created"] == 2
    made = _employees(api)
    assert made["1001"]["hire_date"] == "2025-02-03" and made["1001"]["job_title"] == "42"
    assert made["1001"]["manager"] == api.staff.employees["E2"]
    assert made["1001"]["department"] == api.staff.departments["PLAT"]
    assert made["X2"]["hire_date"] == "2025-02-04" and made["X2"]["manager"] is None
    assert made["X2"]["job_title"] == "=1+1"  # export's guard apostrophe taken off


BAD_FILES = [
    ("people.xlsx", b"PK\x03\x04 this is not a workbook", "XLSX"),
    ("people.xlsx", b"not a zip at all", "XLSX"),
    ("people.csv", "工号,姓名\nE1,张三\n".encode("gbk"), "UTF-8"),
    ("people.csv", b"", "empty"),
    ("people.csv", b"\n\nemployee_no\nE1\n", "row 1"),
    ("people.xls", b"\xd0\xcf\x11\xe0 old", ".xls"),
]


def _raw(api: Api, content: bytes, content_type: str) -> Any:
    api.get("hera", "/api/v1/health")  # signs in
    headers = {**bearer(api.tokens["hera"]), "content-type": content_type}
    return api.client.post(f"{BASE}/employee/import", content=content, headers=headers)


def test_bad_files_bad_requests_and_callers_without_a_rule_get_4xx(api: Api) -> None:
    for name, data, says in BAD_FILES:
        response = _import(api, "hera", data, name=name)
        assert response.status_code == 400, (name, response.text)
        error = response.json()["error"]
        assert error["code"] == "INVALID_FILE" and says in error["message"], error
    data = _csv(_people(1))
    no_file = api.call("hera", "POST", f"{BASE}/employee/import", data={"dry_run": "true"})
    assert no_file.status_code == 400 and no_file.json()["error"]["code"] == "FILE_REQUIRED"
    assert _import(api, "hera", data, dry_run="maybe").status_code == 422
    bad_key = _import(api, "hera", data, key="name")
    assert bad_key.status_code == 422 and bad_key.json()["error"]["details"][0]["path"] == "/key"
    bad_map = _import(api, "hera", data, mapping={"name": "nickname"})
    assert bad_map.status_code == 422
    assert bad_map.json()["error"]["details"][0]["code"] == "UNKNOWN_FIELD"
    form = "multipart/form-data; boundary=x"
    assert _raw(api, b"--x\r\nnonsense", form).status_code == 400
    assert _raw(api, b"x" * (21 << 20), form).status_code == 413
    # callers without an import rule
    for user in ("mia", "sid"):
        refused = _import(api, user, data)
        assert refused.status_code == 403, refused.text
        assert refused.json()["error"]["code"] == "FORBIDDEN"
    # hr_admin may import employees but not reviews (no import in that rule)
    review = api.call(
        "hera",
        "POST",
        f"{BASE}/review/import",
        files={"file": ("r.csv", b"employee,rating\nE1,A\n")},
    )
    assert review.status_code == 403


@pytest.mark.parametrize(
    "value", [{"b": [1, "x"], "a": None}, [1, 2], "123", "=1+1", 7, True, "plain"]
)
def test_a_json_value_exports_as_json_text_and_imports_back(value: Any) -> None:
    from runtime.metadata.model import FieldDef
    from runtime.services.export import safe_cell
    from runtime.services.importing import cell_value

    fdef = FieldDef("extra", "json", {"name": "extra", "type": "json"})
    cell = safe_cell(value, "json")
    assert cell_value(fdef, cell) == value
