"""A bulk write fires a record automation once per record; when its actions are creates
and updates they are written together (one create, one update per target object), with
the same outcome as record by record: on SQLite and PostgreSQL, through the API."""

from __future__ import annotations

import json
from typing import Any

from runtime.metadata.package import read_package_bytes
from tests.auth_support import add_user, bearer, direct_token, make_client

APP: dict[str, Any] = {
    "name": "hire",
    "version": "1.0.0",
    "title": {"en": "Hires"},
    "objects": [
        {
            "name": "person",
            "fields": [
                {"name": "name", "type": "text", "required": True},
                {"name": "months", "type": "integer"},
                {"name": "start", "type": "date"},
                {"name": "case_end", "type": "date", "system": True},
            ],
        },
        {
            "name": "case",
            "fields": [
                {"name": "person", "type": "reference", "to": "person", "required": True},
                {"name": "label", "type": "text", "required": True},
                {"name": "end", "type": "date"},
            ],
        },
    ],
    "automations": [
        {
            "name": "open_case",
            "object": "person",
            "trigger": {"on": "create", "condition": "months > 0"},
            "actions": [
                {
                    "create": {
                        "object": "case",
                        "values": {
                            "person": "id",
                            "label": 'IF(name = "nobody", BLANK(), "case of " & name)',
                            "end": "EDATE(start, months) - 1",
                        },
                    }
                }
            ],
        },
        {
            "name": "end_to_person",
            "object": "case",
            "trigger": {"on": "create"},
            "actions": [{"update": {"record": "person", "set": {"case_end": "end"}}}],
        },
    ],
    "permissions": [
        {"role": "authenticated", "object": o, "actions": ["read", "create", "update"]}
        for o in ("person", "case")
    ],
}


BASE = "/api/v1/apps/hire/objects"


def _installed(client: Any) -> dict[str, str]:
    """The app installed and a user's headers."""
    state = client.app.state
    state.apps.install(read_package_bytes(json.dumps(APP).encode(), "hire.json"), actor="t")
    add_user(client, "ann", password=None)
    return bearer(direct_token(client, "ann"))


def test_bulk_created_records_fire_their_automations_together(db_url: str) -> None:
    with make_client(db_url) as client:
        auth = _installed(client)
        people = [
            {"name": f"P{i}", "months": (0, 3, 6)[i % 3], "start": f"2025-0{1 + i % 9}-15"}
            for i in range(30)
        ]
        made = client.post(f"{BASE}/person/records/bulk", json={"records": people}, headers=auth)
        assert made.status_code == 201, made.text
        ids = [r["id"] for r in made.json()["data"]]
        cases = client.get(f"{BASE}/case/records?limit=100", headers=auth).json()["data"]
        assert len(cases) == 20
        by_person = {c["person"]: c for c in cases}
        for person_id, sent in zip(ids, people, strict=True):
            person = client.get(f"{BASE}/person/records/{person_id}", headers=auth).json()
            if sent["months"] == 0:
                assert person_id not in by_person and person["case_end"] is None
                continue
            case = by_person[person_id]
            assert case["label"] == f"case of {sent['name']}"
            # the case's own automation wrote its end date back to the person
            assert person["case_end"] == case["end"]
        p1 = client.get(f"{BASE}/person/records/{ids[1]}", headers=auth).json()
        assert (p1["start"], p1["case_end"]) == ("2025-02-15", "2025-05-14")


def test_a_batch_that_fails_for_one_record_saves_nothing(db_url: str) -> None:
    with make_client(db_url) as client:
        auth = _installed(client)
        people = [{"name": n, "months": 3, "start": "2025-01-01"} for n in ("a", "nobody", "c")]
        refused = client.post(f"{BASE}/person/records/bulk", json={"records": people}, headers=auth)
        assert refused.status_code == 422, refused.text
        error = refused.json()["error"]
        assert "open_case" in error["message"]
        assert any(d["path"].endswith("/rows/1/label") for d in error["details"])
        for obj in ("person", "case"):
            assert client.get(f"{BASE}/{obj}/records", headers=auth).json()["data"] == []
