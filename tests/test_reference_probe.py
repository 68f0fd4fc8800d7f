"""A reference to a record the writer cannot read is refused exactly like a reference to
no record, on SQLite and PostgreSQL: writing cannot be used to learn what exists."""

from __future__ import annotations

import json
from typing import Any

from runtime.metadata.package import read_package_bytes
from tests.auth_support import add_user, bearer, direct_token, make_client

APP: dict[str, Any] = {
    "name": "probe",
    "version": "1.0.0",
    "title": {"en": "Probe"},
    "roles": [{"name": "boss"}],
    "objects": [
        {"name": "secret", "fields": [{"name": "title", "type": "text"}]},
        {
            "name": "note",
            "fields": [
                {"name": "text", "type": "text"},
                {"name": "about", "type": "reference", "to": "secret"},
            ],
        },
    ],
    "permissions": [
        {"role": "boss", "object": "secret", "actions": ["read", "create"]},
        {"role": "authenticated", "object": "note", "actions": ["read", "create", "update"]},
    ],
}


def test_an_unreadable_record_cannot_be_referenced_nor_told_from_a_missing_one(
    db_url: str,
) -> None:
    with make_client(db_url) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(APP).encode(), "probe.json"), actor="t")
        add_user(client, "boss", roles=["probe.boss"], password=None)
        add_user(client, "ann", password=None)
        boss, ann = (bearer(direct_token(client, n)) for n in ("boss", "ann"))
        base = "/api/v1/apps/probe/objects"
        secret = client.post(f"{base}/secret/records", json={"title": "x"}, headers=boss).json()

        def refusal(record_id: int) -> Any:
            answer = client.post(
                f"{base}/note/records", json={"text": "t", "about": record_id}, headers=ann
            )
            assert answer.status_code == 422, answer.text
            detail = answer.json()["error"]["details"][0]
            return detail["code"], detail["message"].replace(str(record_id), "N")

        assert refusal(secret["id"]) == refusal(secret["id"] + 1000)
        assert refusal(secret["id"])[0] == "NOT_FOUND"
        mine = client.post(f"{base}/note/records", json={"text": "t"}, headers=ann).json()
        patched = client.patch(
            f"{base}/note/records/{mine['id']}",
            json={"about": secret["id"], "version": mine["version"]},
            headers=ann,
        )
        assert patched.status_code == 422
        made = client.post(
            f"{base}/note/records", json={"text": "t", "about": secret["id"]}, headers=boss
        )
        assert made.status_code == 201, made.text  # the boss reads it, so may point at it
