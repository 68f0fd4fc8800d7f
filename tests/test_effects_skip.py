"""A create effect with `skip_existing` fills in what is missing: records whose unique
key is taken are left out instead of refusing the action (SQLite and PostgreSQL)."""

from __future__ import annotations

import copy
import json
from typing import Any

from runtime.metadata.package import read_package_bytes
from runtime.metadata.validate import definition_issues
from tests.auth_support import add_user, bearer, direct_token, make_client

CREATE = {
    "create": {
        "object": "pool",
        "values": {"plan": "id"},
        "for_each": {"field": "team", "where": "team.active"},
        "skip_existing": True,
    }
}
APP: dict[str, Any] = {
    "name": "skipex",
    "version": "1.0.0",
    "title": {"en": "Skip existing"},
    "objects": [
        {
            "name": "team",
            "fields": [
                {"name": "code", "type": "text", "required": True},
                {"name": "active", "type": "boolean", "default": True},
            ],
        },
        {"name": "plan", "fields": [{"name": "year", "type": "integer", "required": True}]},
        {
            "name": "pool",
            "fields": [
                {"name": "plan", "type": "reference", "to": "plan", "related_name": "pools"},
                {"name": "team", "type": "reference", "to": "team"},
                {"name": "factor", "type": "decimal", "default": "1"},
            ],
            "constraints": [{"name": "one_per_team", "type": "unique", "fields": ["plan", "team"]}],
        },
    ],
    "workflows": [
        {
            "name": "plan_flow",
            "object": "plan",
            "initial": "draft",
            "states": [{"name": "draft"}, {"name": "open"}],
            "transitions": [
                {"action": "open", "from": ["draft"], "to": "open", "effects": [CREATE]}
            ],
        }
    ],
    "permissions": [
        *(
            {"role": "authenticated", "object": o, "actions": ["read", "create", "update"]}
            for o in ("team", "plan", "pool")
        ),
        {"role": "authenticated", "object": "plan", "actions": ["open"]},
    ],
}


def test_existing_records_are_kept_and_the_missing_ones_made(db_url: str) -> None:
    with make_client(db_url) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(APP).encode(), "s.json"), actor="t")
        add_user(client, "ann", password=None)
        auth = bearer(direct_token(client, "ann"))
        base = "/api/v1/apps/skipex/objects"

        def make(obj: str, **body: Any) -> dict[str, Any]:
            made = client.post(f"{base}/{obj}/records", json=body, headers=auth)
            assert made.status_code == 201, made.text
            return made.json()  # type: ignore[no-any-return]

        teams = [make("team", code=c)["id"] for c in ("A", "B", "C")]
        make("team", code="D", active=False)
        plan = make("plan", year=2025)
        other = make("plan", year=2024)
        make("pool", plan=other["id"], team=teams[0])  # another plan's pool: no collision
        kept = make("pool", plan=plan["id"], team=teams[1], factor="0.8")
        opened = client.post(f"{base}/plan/records/{plan['id']}/actions/open", headers=auth)
        assert opened.status_code == 200, opened.text
        pools = client.get(
            f"{base}/pool/records", params={"filter": f"plan.id = {plan['id']}"}, headers=auth
        ).json()["data"]
        assert sorted(p["team"] for p in pools) == teams
        (same,) = (p for p in pools if p["team"] == teams[1])
        assert (same["id"], same["factor"]) == (kept["id"], "0.8000")


def test_skipping_needs_a_key_the_values_fill() -> None:
    assert definition_issues(APP) == []
    app = copy.deepcopy(APP)
    app["objects"][2]["constraints"] = []
    found = {(i.path, i.code) for i in definition_issues(app)}
    path = "/workflows/0/transitions/0/effects/0/create/skip_existing"
    assert (path, "UNRESOLVED") in found
