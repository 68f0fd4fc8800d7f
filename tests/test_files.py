"""Stored files on SQLite and PostgreSQL: uploads, attachment fields that take their ids,
downloads only for whom reads the record and the field, and the ``export`` effect that
writes a relation's rows as a CSV file onto the record, in the action's transaction."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.metadata.package import read_package_bytes
from runtime.metadata.validate import definition_issues
from runtime.storage.files import TABLE as FILES
from tests.auth_support import Caller, add_user, bearer, make_client, session_csrf, sign_in

EXPORT: dict[str, Any] = {
    "relation": "lines",
    "field": "file",
    "name": 'batch_no & ".csv"',
    "columns": [
        {"header": "batch_no", "value": "batch.batch_no"},
        {"header": "employee_no", "value": "employee_no"},
        {"header": "employee_name", "value": "name"},
        {"header": "amount", "value": "amount", "format": "0.00"},
        {"header": "note", "value": "note"},
    ],
    "where": "NOT(cancelled)",
    "sort": "employee_no",
}

PAY: dict[str, Any] = {
    "name": "pay",
    "version": "1.0.0",
    "title": {"en": "Pay"},
    "roles": [{"name": "payroll"}, {"name": "clerk"}, {"name": "stranger"}],
    "objects": [
        {
            "name": "batch",
            "fields": [
                {"name": "batch_no", "type": "text", "required": True},
                {"name": "file", "type": "attachment", "sensitivity": "compensation"},
                {"name": "papers", "type": "attachment", "multiple": True, "max_size_mb": 1},
                {"name": "scan", "type": "attachment", "accept": [".pdf", "image/*"]},
            ],
        },
        {
            "name": "line",
            "fields": [
                {
                    "name": "batch",
                    "type": "reference",
                    "to": "batch",
                    "related_name": "lines",
                    "required": True,
                },
                {"name": "employee_no", "type": "text"},
                {"name": "name", "type": "text"},
                {"name": "amount", "type": "decimal", "precision": 12, "scale": 2},
                {"name": "note", "type": "text"},
                {"name": "cancelled", "type": "boolean"},
            ],
        },
        {"name": "memo", "fields": [{"name": "text", "type": "text"}]},
    ],
    "workflows": [
        {
            "name": "batch_flow",
            "object": "batch",
            "states": [{"name": "draft"}, {"name": "exported"}],
            "transitions": [
                {"action": "export", "from": ["draft"], "to": "exported", "effects": []},
                {
                    "action": "spoil",
                    "from": ["draft"],
                    "to": "exported",
                    "effects": [
                        {"export": copy.deepcopy(EXPORT)},
                        {"create": {"object": "memo", "values": {"text": '"no"'}}},
                    ],
                },
            ],
        }
    ],
    "permissions": [
        {
            "role": "payroll",
            "object": "batch",
            "actions": ["read", "create", "update", "export", "spoil"],
            "sensitivity": ["compensation"],
        },
        {"role": "payroll", "object": "line", "actions": ["read", "create", "update"]},
        {"role": "payroll", "object": "memo", "actions": ["read"]},
        {"role": "clerk", "object": "batch", "actions": ["read"]},
        {"role": "stranger", "object": "batch", "actions": ["read"], "scope": 'batch_no = "-"'},
    ],
}
PAY["workflows"][0]["transitions"][0]["effects"] = [{"export": copy.deepcopy(EXPORT)}]


class Pay(Caller):
    def make(self, user: str, obj: str, **fields: Any) -> dict[str, Any]:
        made = self.call(user, "POST", f"/api/v1/apps/pay/objects/{obj}/records", json=fields)
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    def upload(self, user: str, name: str, data: bytes, kind: str = "text/plain") -> Any:
        return self.call(user, "POST", "/api/v1/files", files={"file": (name, data, kind)})

    def download(self, user: str, batch: int, field: str, file_id: str) -> Any:
        path = f"/api/v1/apps/pay/objects/batch/records/{batch}/files/{field}/{file_id}"
        return self.call(user, "GET", path)

    def stored(self) -> int:
        with self.client.app.state.engine.connect() as conn:  # type: ignore[attr-defined]
            return int(conn.execute(sa.select(sa.func.count()).select_from(FILES)).scalar_one())


@contextmanager
def _pay(db_url: str, **settings: Any) -> Iterator[Pay]:
    with make_client(db_url, **settings) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(PAY).encode(), "pay.json"), actor="t")
        for name in ("payroll", "clerk", "stranger"):
            add_user(client, name, roles=[f"pay.{name}"], password=None)
        yield Pay(client)


@pytest.fixture
def pay(db_url: str) -> Iterator[Pay]:
    with _pay(db_url) as found:
        yield found


def test_an_upload_attached_to_a_record_downloads_for_whom_reads_the_field(pay: Pay) -> None:
    sent = pay.upload("payroll", "工资单 2025.pdf", b"%PDF-1.4 salaries", "application/pdf")
    assert sent.status_code == 201, sent.text
    info = sent.json()
    assert (info["name"], info["size"], info["content_type"]) == (
        "工资单 2025.pdf",
        17,
        "application/pdf",
    )
    # the name sent with the id is not believed: the store's is kept
    batch = pay.make("payroll", "batch", batch_no="B1", file=[{"id": info["id"], "name": "x.exe"}])
    assert batch["file"] == [info]
    got = pay.download("payroll", batch["id"], "file", info["id"])
    assert got.status_code == 200, got.text
    assert got.content == b"%PDF-1.4 salaries"
    assert got.headers["content-type"] == "application/pdf"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["content-disposition"] == (
        "attachment; filename=\"___ 2025.pdf\"; filename*=UTF-8''"
        "%E5%B7%A5%E8%B5%84%E5%8D%95%202025.pdf"
    )
    # the clerk reads the batch but not its compensation field; the stranger not the batch
    seen = pay.call("clerk", "GET", f"/api/v1/apps/pay/objects/batch/records/{batch['id']}")
    assert seen.status_code == 200 and "file" not in seen.json()
    for user in ("clerk", "stranger"):
        refused = pay.download(user, batch["id"], "file", info["id"])
        assert refused.status_code == 404, (user, refused.text)
    # the file is only reached through a field that holds it
    other = pay.make("payroll", "batch", batch_no="B2")
    assert pay.download("payroll", other["id"], "file", info["id"]).status_code == 404
    assert pay.download("payroll", batch["id"], "papers", info["id"]).status_code == 404
    assert pay.download("payroll", batch["id"], "batch_no", info["id"]).status_code == 404


def test_a_raw_upload_takes_its_name_from_the_query(pay: Pay) -> None:
    pay.call("payroll", "GET", "/api/v1/health")  # the token, made once
    headers = {**bearer(pay.tokens["payroll"]), "content-type": "text/plain"}
    raw = pay.client.post("/api/v1/files?name=../../etc/notes.txt", content=b"hi", headers=headers)
    assert raw.status_code == 201, raw.text
    assert raw.json() == {
        "id": raw.json()["id"],
        "name": "notes.txt",
        "size": 2,
        "content_type": "text/plain",
    }
    nameless = pay.call("payroll", "POST", "/api/v1/files", content=b"hello")
    assert nameless.status_code == 400
    assert nameless.json()["error"]["code"] == "FILE_REQUIRED"


def test_attachment_values_are_checked_naming_the_field(pay: Pay) -> None:
    text = pay.upload("payroll", "a.txt", b"a").json()["id"]
    pdf = pay.upload("payroll", "b.PDF", b"b", "application/octet-stream").json()["id"]
    big = pay.upload("payroll", "big.bin", b"x" * ((1 << 20) + 1)).json()["id"]
    cases: list[tuple[dict[str, Any], str, str]] = [
        ({"file": ["no-such-file"]}, "/file", "NOT_FOUND"),
        ({"file": [text, pdf]}, "/file", "INVALID_VALUE"),  # not multiple
        ({"file": 12}, "/file", "INVALID_VALUE"),
        ({"papers": [big]}, "/papers", "INVALID_VALUE"),  # max_size_mb 1
        ({"scan": text}, "/scan", "INVALID_VALUE"),  # accept .pdf, image/*
    ]
    for fields, path, code in cases:
        refused = pay.call(
            "payroll",
            "POST",
            "/api/v1/apps/pay/objects/batch/records",
            json={"batch_no": "B", **fields},
        )
        assert refused.status_code == 422, (fields, refused.text)
        assert [(d["path"], d["code"]) for d in refused.json()["error"]["details"]] == [
            (path, code)
        ], fields
    made = pay.make("payroll", "batch", batch_no="B", papers=[text, pdf], scan=pdf)
    assert [p["name"] for p in made["papers"]] == ["a.txt", "b.PDF"]
    assert made["scan"][0]["id"] == pdf


def test_uploads_past_the_limit_are_refused(db_url: str) -> None:
    with _pay(db_url, max_upload_mb=1) as pay:
        refused = pay.upload("payroll", "big.bin", b"x" * ((1 << 20) + 1))
        assert refused.status_code == 413, refused.text
        assert refused.json()["error"]["code"] == "TOO_LARGE"
        assert pay.upload("payroll", "ok.bin", b"x" * (1 << 20)).status_code == 201
        assert pay.stored() == 1


def test_a_session_upload_needs_the_csrf_token(db_url: str) -> None:
    with _pay(db_url) as pay:
        add_user(pay.client, "sam", roles=["pay.payroll"])
        assert sign_in(pay.client, "sam").status_code == 303
        upload = {"file": ("a.txt", b"a", "text/plain")}
        refused = pay.client.post("/api/v1/files", files=upload)
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "CSRF_FAILED"
        token = session_csrf(pay.client)
        sent = pay.client.post("/api/v1/files", files=upload, headers={"X-CSRF-Token": token})
        assert sent.status_code == 201, sent.text
        assert pay.stored() == 1


def _batch_with_lines(pay: Pay) -> dict[str, Any]:
    batch = pay.make("payroll", "batch", batch_no="YEB2025-01")
    for no, name, amount, note, cancelled in (
        ("E1003", "Wang Fang", "0.1", "=HYPERLINK(1)", False),
        ("E1001", "张伟", "120732", None, False),
        ("E1000", "Gone", "5", None, True),
        ("E1002", "李娜", "-53659.06", "+ bonus, paid", False),
    ):
        pay.make(
            "payroll",
            "line",
            batch=batch["id"],
            employee_no=no,
            name=name,
            amount=amount,
            note=note,
            cancelled=cancelled,
        )
    return batch


def test_the_export_effect_writes_the_csv_onto_the_record(pay: Pay) -> None:
    batch = _batch_with_lines(pay)
    path = f"/api/v1/apps/pay/objects/batch/records/{batch['id']}/actions/export"
    done = pay.call("payroll", "POST", path, json={})
    assert done.status_code == 200, done.text
    [attached] = done.json()["file"]
    assert (attached["name"], attached["content_type"]) == (
        "YEB2025-01.csv",
        "text/csv; charset=utf-8",
    )
    got = pay.download("payroll", batch["id"], "file", attached["id"])
    assert got.status_code == 200, got.text
    expected = (
        "\ufeffbatch_no,employee_no,employee_name,amount,note\r\n"
        "YEB2025-01,E1001,张伟,120732.00,\r\n"
        'YEB2025-01,E1002,李娜,-53659.06,"\'+ bonus, paid"\r\n'
        "YEB2025-01,E1003,Wang Fang,0.10,'=HYPERLINK(1)\r\n"
    ).encode()
    assert got.content == expected
    assert got.content.startswith(b"\xef\xbb\xbf")
    assert attached["size"] == len(expected)
    history = pay.call(
        "payroll", "GET", f"/api/v1/apps/pay/objects/batch/records/{batch['id']}/history"
    )
    last = history.json()["data"][-1]
    assert last["on_behalf_of"].startswith("effect of action:export")
    assert pay.stored() == 1


def test_a_refused_action_leaves_no_file(pay: Pay) -> None:
    batch = _batch_with_lines(pay)
    path = f"/api/v1/apps/pay/objects/batch/records/{batch['id']}/actions/spoil"
    refused = pay.call("payroll", "POST", path, json={})  # payroll may not create memos
    assert refused.status_code == 403, refused.text
    after = pay.call("payroll", "GET", f"/api/v1/apps/pay/objects/batch/records/{batch['id']}")
    assert (after.json()["state"], after.json().get("file")) == ("draft", None)
    assert pay.stored() == 0


def test_the_export_options_encoding_sort_and_name() -> None:
    from runtime.services.export_file import csv_file

    class Formula:
        def __init__(self, text: str) -> None:
            self.text = text
            self.expr = type("E", (), {"type": type("T", (), {"kind": "number"})()})()

        def evaluator(self, env: Any) -> Any:
            return lambda row: row[self.text]

    rows = [
        {"id": 2, "n": 1, "v": Decimal("2.5")},
        {"id": 1, "n": 1, "v": None},
        {"id": 3, "n": None, "v": Decimal("-0.005")},
    ]
    spec = {
        "columns": [{"header": "v", "value": "v", "format": "0"}, {"header": "w", "value": "v"}],
        "sort": ["n"],
        "encoding": "utf-8",
    }

    def formula(text: str, where: str) -> Any:
        return Formula(text)

    data, media = csv_file(formula, rows, None, spec, dict)  # type: ignore[arg-type]
    # ties in the sort keep the id order; blanks sort last; 2.5 rounds half away from zero
    assert data == b"v,w\r\n,\r\n3,2.5\r\n0,-0.005\r\n"
    assert media == "text/csv; charset=utf-8"


def _issues(change: Any) -> list[tuple[str, str]]:
    app = copy.deepcopy(PAY)
    change(app["workflows"][0]["transitions"][0]["effects"][0]["export"])
    return [(i.path, i.code) for i in definition_issues(app, lambda name: None)]


def test_export_effects_are_validated() -> None:
    assert _issues(lambda e: None) == []
    base = "/workflows/0/transitions/0/effects/0/export"

    def broken(export: dict[str, Any]) -> None:
        export["field"] = "batch_no"
        export["columns"][0]["value"] = "batch.nope"
        export["columns"][1]["format"] = "0.00"  # on a text
        export["name"] = "1 + 1"
        export["sort"] = ["employee_no", "(("]

    found = _issues(broken)
    assert (f"{base}/field", "UNRESOLVED") in found
    assert (f"{base}/columns/1/format", "FORMULA_TYPE") in found
    assert (f"{base}/name", "FORMULA_TYPE") in found
    assert any(p == f"{base}/columns/0/value" for p, _ in found)
    assert any(p == f"{base}/sort/1" for p, _ in found)
    assert _issues(lambda e: e.update(relation="linez")) == [(f"{base}/relation", "UNRESOLVED")]
    assert _issues(lambda e: e.update(encoding="latin-1"))[0][0] == f"{base}/encoding"
    assert _issues(lambda e: e["columns"][3].update(format="#,##0.00"))[0][0] == (
        f"{base}/columns/3/format"
    )
