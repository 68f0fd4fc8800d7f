"""Importing from the browser: a check lists every problem by row and column and writes
nothing; an import with problems writes nothing; a clean file is imported; a background
import shows its progress."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from tests.approvals_support import BASE, Org
from tests.pages_support import PAGE, Browser, ui_org


@pytest.fixture
def o(db_url: str) -> Iterator[Org]:
    with ui_org(db_url) as found:
        yield found


def titles(o: Org) -> list[str]:
    found = o.call("emp", "GET", f"{BASE}/expense/records", params={"sort": "id"})
    return [r["title"] for r in found.json()["data"]]


def upload(b: Browser, text: str, **fields: str) -> object:
    files = {"file": ("expenses.csv", text.encode("utf-8"), "text/csv")}
    return b.post("emp", PAGE + "/import", data=fields, files=files)


def problems(html: str) -> list[tuple[str, str]]:
    body = html.split('<table class="grid errors">', 1)[-1].split("</table>", 1)[0]
    rows = re.findall(r"<tr><td[^>]*>(\d+)</td><td[^>]*>([^<]*)</td><td[^>]*>([^<]*)</td>", body)
    return [(row, column) for row, column, _ in rows]


def test_a_check_reports_each_problem_and_writes_nothing(o: Org) -> None:
    b = Browser(o)
    form = b.get("emp", PAGE + "/import")
    assert form.status_code == 200 and 'type="file"' in form.text
    emp = o.ids["emp"]
    csv = f"title,employee,amount,owner\nTaxi,{emp},12.50,emp\n,{emp},5,emp\nHotel,{emp},lots,emp\n"
    checked = upload(b, csv, dry_run="true")
    assert checked.status_code == 200
    assert problems(checked.text) == [("3", "title"), ("4", "amount")]
    assert "2 problems found" in checked.text
    assert titles(o) == []
    refused = upload(b, csv, dry_run="false")
    assert refused.status_code == 422 and "Nothing was imported" in refused.text
    assert titles(o) == []
    clean = "\n".join(csv.splitlines()[:2]) + "\n"
    done = upload(b, clean, dry_run="false")
    assert done.status_code == 200 and "Imported" in done.text
    assert titles(o) == ["Taxi"]


def test_a_file_that_is_not_a_table_is_explained(o: Org) -> None:
    b = Browser(o)
    files = {"file": ("x.xlsx", b"not a workbook", "application/octet-stream")}
    answer = b.post("emp", PAGE + "/import", data={"dry_run": "true"}, files=files)
    assert 400 <= answer.status_code < 500 and 'role="alert"' in answer.text


def test_a_background_import_shows_its_progress(o: Org) -> None:
    b = Browser(o)
    emp = o.ids["emp"]
    queued = upload(
        b, f"title,employee,owner\nTaxi,{emp},emp\n", background="true", dry_run="false"
    )
    assert queued.status_code == 202 and "<progress" in queued.text
    job = re.search(r'hx-get="/imports/jobs/(\d+)"', queued.text)
    assert job is not None
    progress = b.get("emp", f"/imports/jobs/{job.group(1)}", htmx=True)
    assert progress.status_code == 200 and 'id="job"' in progress.text
    assert b.get("out", f"/imports/jobs/{job.group(1)}").status_code == 404
