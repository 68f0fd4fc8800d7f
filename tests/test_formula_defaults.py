"""Formula defaults are filled on create from the values sent, in field order, on
SQLite and PostgreSQL; a sent value wins; a default that cannot be computed leaves the
field blank, so a required one is reported missing."""

from __future__ import annotations

import json
from typing import Any

from runtime.metadata.package import read_package_bytes
from tests.auth_support import add_user, bearer, direct_token, make_client

APP: dict[str, Any] = {
    "name": "dflt",
    "version": "1.0.0",
    "title": {"en": "Defaults"},
    "objects": [
        {"name": "team", "fields": [{"name": "code", "type": "text", "required": True}]},
        {
            "name": "item",
            "fields": [
                {"name": "qty", "type": "integer"},
                {"name": "team", "type": "reference", "to": "team"},
                {"name": "start", "type": "date"},
                {"name": "double", "type": "integer", "default": {"formula": "qty * 2"}},
                {"name": "quad", "type": "integer", "default": {"formula": "double * 2"}},
                {"name": "label", "type": "text", "default": {"formula": 'team.code & "-" & qty'}},
                {
                    "name": "until",
                    "type": "date",
                    "required": True,
                    "default": {"formula": "start + 30"},
                },
            ],
        },
    ],
    "permissions": [
        {"role": "authenticated", "object": "item", "actions": ["read", "create"]},
        {"role": "authenticated", "object": "team", "actions": ["read", "create"]},
    ],
}


def test_formula_defaults_fill_what_was_not_sent(db_url: str) -> None:
    with make_client(db_url) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(APP).encode(), "dflt.json"), actor="t")
        add_user(client, "ann", password=None)
        auth = bearer(direct_token(client, "ann"))
        base = "/api/v1/apps/dflt/objects"
        team = client.post(f"{base}/team/records", json={"code": "T1"}, headers=auth).json()
        body = {"qty": 3, "team": team["id"], "start": "2025-06-10"}
        made = client.post(f"{base}/item/records", json=body, headers=auth)
        assert made.status_code == 201, made.text
        item = made.json()
        assert (item["double"], item["quad"], item["label"], item["until"]) == (
            6,
            12,
            "T1-3",
            "2025-07-10",
        )
        sent = client.post(f"{base}/item/records", json={**body, "double": 1}, headers=auth)
        assert (sent.json()["double"], sent.json()["quad"]) == (1, 2)  # a sent value wins
        missing = client.post(f"{base}/item/records", json={"qty": 1}, headers=auth)
        assert missing.status_code == 422
        assert [d["path"] for d in missing.json()["error"]["details"]] == ["/until"]


def test_a_singleton_default_needs_a_singleton_object() -> None:
    import copy

    from runtime.metadata.validate import definition_issues

    app = copy.deepcopy(APP)
    app["objects"][1]["fields"].append(
        {"name": "settings", "type": "reference", "to": "team", "default": {"singleton": True}}
    )
    found = [(i.path, i.code) for i in definition_issues(app)]
    assert ("/objects/1/fields/7/default", "BAD_DEFAULT") in found
    app["objects"][0]["singleton"] = True
    assert definition_issues(app) == []


LOOKUP_APP: dict[str, Any] = {
    "name": "look",
    "version": "1.0.0",
    "title": {"en": "Lookups"},
    "objects": [
        {"name": "team", "fields": [{"name": "code", "type": "text", "required": True}]},
        {
            "name": "pool",
            "delete": "soft",
            "fields": [
                {"name": "year", "type": "integer", "required": True},
                {"name": "team", "type": "reference", "to": "team", "required": True},
            ],
        },
        {
            "name": "line",
            "fields": [
                {"name": "year", "type": "integer"},
                {"name": "team", "type": "reference", "to": "team"},
                {
                    "name": "pool",
                    "type": "reference",
                    "to": "pool",
                    "required": True,
                    "default": {"lookup": {"year": "year", "team": "team"}},
                },
            ],
        },
    ],
    "permissions": [
        {"role": "authenticated", "object": o, "actions": ["read", "create", "delete"]}
        for o in ("team", "pool", "line")
    ],
}


def test_a_lookup_default_finds_the_record_by_its_fields(db_url: str) -> None:
    with make_client(db_url) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(
            read_package_bytes(json.dumps(LOOKUP_APP).encode(), "look.json"), actor="t"
        )
        add_user(client, "ann", password=None)
        auth = bearer(direct_token(client, "ann"))
        base = "/api/v1/apps/look/objects"

        def make(obj: str, **body: Any) -> Any:
            return client.post(f"{base}/{obj}/records", json=body, headers=auth)

        a, b = (make("team", code=c).json()["id"] for c in ("A", "B"))
        gone = make("pool", year=2025, team=a).json()["id"]
        assert client.delete(f"{base}/pool/records/{gone}", headers=auth).status_code == 204
        pools = {
            (y, t): make("pool", year=y, team=t).json()["id"] for y in (2024, 2025) for t in (a, b)
        }
        line = make("line", year=2025, team=b)
        assert line.status_code == 201, line.text
        assert line.json()["pool"] == pools[(2025, b)]
        assert make("line", year=2024, team=a).json()["pool"] == pools[(2024, a)]
        sent = make("line", year=2024, team=a, pool=pools[(2025, b)])
        assert sent.json()["pool"] == pools[(2025, b)]  # a sent value wins
        none = make("line", year=2023, team=a)  # no pool: blank, so the required field is missing
        assert none.status_code == 422
        assert [d["path"] for d in none.json()["error"]["details"]] == ["/pool"]
        assert make("line", team=a).status_code == 422  # a blank key finds nothing


def test_lookup_defaults_are_checked() -> None:
    import copy

    from runtime.metadata.validate import definition_issues

    assert definition_issues(LOOKUP_APP) == []
    app = copy.deepcopy(LOOKUP_APP)
    app["objects"][2]["fields"][2]["default"] = {
        "lookup": {"year": "team", "colour": "1", "team": "nope +"}
    }
    found = {(i.path, i.code) for i in definition_issues(app)}
    base = "/objects/2/fields/2/default/lookup"
    assert (f"{base}/colour", "UNKNOWN_FIELD") in found
    assert (f"{base}/year", "FORMULA_TYPE") in found
    assert any(p == f"{base}/team" for p, _ in found)
    app["objects"][2]["fields"][0]["default"] = {"lookup": {"year": "1"}}
    found = {(i.path, i.code) for i in definition_issues(app)}
    assert ("/objects/2/fields/0/default", "BAD_DEFAULT") in found


def test_a_bulk_create_fills_the_same_defaults_as_single_creates(db_url: str) -> None:
    """From a handful of rows the database computes the defaults (one prepared SELECT per
    row); the values must be those the evaluator gives one record at a time: chained
    formulas, a lookup through another record, a blank key, a sent value, a default that
    cannot be computed leaving a required field missing."""
    app = json.loads(json.dumps(LOOKUP_APP))
    app["name"] = "lookb"
    item = json.loads(json.dumps(APP["objects"][1]["fields"]))
    app["objects"][2]["fields"] += [f for f in item if f["name"] not in ("team",)]
    app["objects"][2]["fields"].append(
        {"name": "tlabel", "type": "text", "default": {"formula": 'team.code & "/" & pool.year'}}
    )
    with make_client(db_url) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(app).encode(), "lookb.json"), actor="t")
        add_user(client, "ann", password=None)
        auth = bearer(direct_token(client, "ann"))
        base = "/api/v1/apps/lookb/objects"

        def make(obj: str, **body: Any) -> Any:
            return client.post(f"{base}/{obj}/records", json=body, headers=auth)

        a, b = (make("team", code=c).json()["id"] for c in ("A", "B"))
        for y in (2024, 2025):
            for t in (a, b):
                assert make("pool", year=y, team=t).status_code == 201
        rows: list[dict[str, Any]] = [
            {"year": 2024 + i % 2, "team": (a, b)[i % 3 % 2], "qty": i, "start": "2025-06-10"}
            for i in range(10)
        ]
        rows[3]["double"] = 100  # a sent value wins, and the next default reads it
        rows[4]["qty"] = None  # blank in, blank out
        single = [make("line", **r).json() for r in rows]
        bulk = client.post(f"{base}/line/records/bulk", json={"records": rows}, headers=auth)
        assert bulk.status_code == 201, bulk.text
        ids = [r["id"] for r in bulk.json()["data"]]
        made = [client.get(f"{base}/line/records/{i}", headers=auth).json() for i in ids]
        fields = ("pool", "double", "quad", "label", "until", "tlabel")
        assert [[m[f] for f in fields] for m in made] == [[s[f] for f in fields] for s in single]
        assert made[3]["quad"] == 200 and made[4]["double"] is None
        assert made[1]["tlabel"] == "B/2025"
        missing = [dict(r, year=2023) for r in rows]  # no such pool: the required one is missing
        refused = client.post(f"{base}/line/records/bulk", json={"records": missing}, headers=auth)
        assert refused.status_code == 422
        assert {d["path"] for d in refused.json()["error"]["details"]} == {
            f"/rows/{i}/pool" for i in range(10)
        }
