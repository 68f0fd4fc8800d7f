"""Rules that run only when a person edits the fields they guard (`on`), and rule
messages that name the record's values (`{field}`), on SQLite and PostgreSQL."""

from __future__ import annotations

import copy
import json
from typing import Any

from runtime.metadata.package import read_package_bytes
from runtime.metadata.validate import definition_issues
from tests.auth_support import add_user, bearer, direct_token, make_client

APP: dict[str, Any] = {
    "name": "ruleson",
    "version": "1.0.0",
    "title": {"en": "Rules on"},
    "objects": [
        {
            "name": "line",
            "fields": [
                {"name": "open", "type": "boolean", "default": True},
                {"name": "target", "type": "decimal", "scale": 2},
                {"name": "cap", "type": "formula", "returns": "decimal", "formula": "2 * target"},
                {"name": "amount", "type": "decimal", "scale": 2},
                {"name": "note", "type": "text"},
            ],
            "rules": [
                {
                    "when": "NOT(open)",
                    "on": ["amount"],
                    "code": "LINE_CLOSED",
                    "status": 409,
                    "message": {"en": "The line is closed"},
                },
                {
                    "when": "amount > cap",
                    "field": "amount",
                    "code": "OVER_CAP",
                    "message": {"en": "Amount cannot exceed {cap} ({note})"},
                },
            ],
        }
    ],
    "permissions": [
        {"role": "authenticated", "object": "line", "actions": ["read", "create", "update"]}
    ],
}


def test_a_rule_with_on_runs_only_when_its_fields_change(db_url: str) -> None:
    with make_client(db_url) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(APP).encode(), "r.json"), actor="t")
        add_user(client, "ann", password=None)
        auth = bearer(direct_token(client, "ann"))
        url = "/api/v1/apps/ruleson/objects/line/records"
        line = client.post(url, json={"target": "15123.29", "note": "x"}, headers=auth).json()

        def patch(**body: Any) -> Any:
            nonlocal line
            answer = client.patch(
                f"{url}/{line['id']}", json={**body, "version": line["version"]}, headers=auth
            )
            if answer.status_code == 200:
                line = answer.json()
            return answer

        over = patch(amount="31000")
        assert over.status_code == 422
        error = over.json()["error"]
        assert error["code"] == "OVER_CAP"
        assert error["details"][0]["message"] == "Amount cannot exceed 30,246.58 (x)"
        assert patch(amount="100").status_code == 200
        assert patch(open=False).status_code == 200  # closing does not touch amount
        assert patch(note="still editable").status_code == 200
        closed = patch(amount="200")
        assert closed.status_code == 409
        assert closed.json()["error"]["code"] == "LINE_CLOSED"
        made = client.post(url, json={"open": False, "amount": "1"}, headers=auth)
        assert made.status_code == 409  # a create that sends the field is checked
        assert client.post(url, json={"open": False}, headers=auth).status_code == 201


def test_rule_fields_must_exist() -> None:
    assert definition_issues(APP) == []
    app = copy.deepcopy(APP)
    app["objects"][0]["rules"][0]["on"] = ["amount", "amout"]
    app["objects"][0]["rules"][1]["message"] = {"en": "over {capp}", "zh": "超过 {cap}"}
    found = {(i.path, i.code) for i in definition_issues(app)}
    assert ("/objects/0/rules/0/on/1", "UNRESOLVED") in found
    assert ("/objects/0/rules/1/message", "UNRESOLVED") in found
