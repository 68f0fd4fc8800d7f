"""``POST …/records/bulk/actions/{action}``: one workflow action on many records in one
transaction, all or nothing, on SQLite and PostgreSQL — permission rules, states,
required fields and conditions checked for every record, the ``set`` and record effects
written, notifications and the audit per record; a state with an approval is still
entered record by record."""

from __future__ import annotations

import json
from typing import Any

from runtime.metadata.package import read_package_bytes
from tests.auth_support import Caller, add_user, make_client

BUMP = "IF(ISBLANK(team.submitted), 1, team.submitted + 1)"

APP: dict[str, Any] = {
    "name": "rev",
    "version": "1.0.0",
    "title": {"en": "Reviews"},
    "roles": [{"name": "reviewer"}, {"name": "lead"}, {"name": "admin"}],
    "objects": [
        {
            "name": "team",
            "fields": [
                {"name": "name", "type": "text", "required": True},
                {"name": "submitted", "type": "integer", "system": True},
            ],
        },
        {
            "name": "review",
            "fields": [
                {"name": "team", "type": "reference", "to": "team", "required": True},
                {"name": "owner", "type": "user"},
                {"name": "score", "type": "integer"},
                {"name": "approved", "type": "boolean"},
                {"name": "submitted_on", "type": "date", "system": True},
            ],
        },
    ],
    "workflows": [
        {
            "name": "review_flow",
            "object": "review",
            "states": [
                {"name": "draft"},
                {"name": "submitted"},
                {
                    "name": "signed",
                    "approval": {
                        "summary": '"sign " & id',
                        "steps": [{"name": "lead", "approvers": [{"role": "lead"}]}],
                    },
                },
                {"name": "done", "terminal": True},
            ],
            "transitions": [
                {
                    "action": "submit",
                    "from": ["draft"],
                    "to": "submitted",
                    "required_fields": ["score"],
                    "condition": "score <= 5",
                    "code": "SCORE_TOO_HIGH",
                    "message": {"en": "Scores go up to 5"},
                    "effects": [
                        {"set": {"submitted_on": "TODAY()"}},
                        {
                            "update": {
                                "record": "team",
                                "as": "system",
                                "set": {"submitted": BUMP},
                            }
                        },
                        {"notify": {"to": [{"user": "owner"}], "message": '"submitted " & id'}},
                    ],
                },
                {"action": "sign", "from": ["submitted"], "to": "signed"},
                {"action": "approve", "from": ["signed"], "to": "done"},
                {"action": "reject", "from": ["signed"], "to": "submitted"},
            ],
        }
    ],
    "permissions": [
        {"role": "reviewer", "object": "team", "actions": ["read"]},
        {
            "role": "reviewer",
            "object": "review",
            "actions": ["read", "update", "submit", "sign"],
            "scope": "owner = @me",
        },
        {"role": "lead", "object": "review", "actions": ["read", "approve"]},
        {"role": "admin", "object": "team", "actions": ["read", "create"]},
        {"role": "admin", "object": "review", "actions": ["read", "create"]},
    ],
}


class World:
    def __init__(self, client: Any) -> None:
        self.client = client
        state = self.client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(APP).encode(), "rev.json"), actor="t")
        add_user(self.client, "ann", roles=["rev.reviewer"], password=None)
        add_user(self.client, "bob", roles=["rev.reviewer"], password=None)
        add_user(self.client, "lee", roles=["rev.lead"], password=None)
        add_user(self.client, "root", roles=["system_admin", "rev.admin"], password=None)
        self.caller = Caller(self.client)
        base = "/api/v1/apps/rev/objects"
        self.base = base
        team = self.call("root", "POST", f"{base}/team/records", json={"name": "T"})
        assert team.status_code == 201, team.text
        self.team = team.json()["id"]

    def call(self, user: str, method: str, path: str, **kw: Any) -> Any:
        return self.caller.call(user, method, path, **kw)

    def reviews(self, owner: str, scores: list[int | None]) -> list[int]:
        rows = [{"team": self.team, "owner": owner, "score": s} for s in scores]
        made = self.call("root", "POST", f"{self.base}/review/records/bulk", json={"records": rows})
        assert made.status_code == 201, made.text
        return [r["id"] for r in made.json()["data"]]

    def bulk(self, user: str, action: str, ids: Any, **more: Any) -> Any:
        path = f"{self.base}/review/records/bulk/actions/{action}"
        return self.call(user, "POST", path, json={"ids": ids, **more})

    def get(self, obj: str, record_id: int) -> dict[str, Any]:
        found: dict[str, Any] = self.call(
            "root", "GET", f"{self.base}/{obj}/records/{record_id}"
        ).json()
        return found


def test_a_bulk_action_acts_on_every_record(db_url: str) -> None:
    with make_client(db_url) as client:
        w = World(client)
        ids = w.reviews("ann", [3, 4, 5, 1])
        done = w.bulk("ann", "submit", ids, comment="all in")
        assert done.status_code == 200, done.text
        assert [d["id"] for d in done.json()["data"]] == ids
        for record_id in ids:
            review = w.get("review", record_id)
            assert review["state"] == "submitted"
            assert review["submitted_on"] is not None
        assert w.get("team", w.team)["submitted"] == 4  # each record's update effect
        history = w.call("root", "GET", f"{w.base}/review/records/{ids[0]}/history").json()
        entries = [e for e in history["data"] if e["operation"] == "action:submit"]
        assert len(entries) == 1 and entries[0]["comment"] == "all in"
        inbox = w.call("ann", "GET", "/api/v1/notifications").json()["data"]
        assert {n["message"] for n in inbox} >= {f"submitted {i}" for i in ids}
        # into a state with an approval: each record enters it, with its approval
        signed = w.bulk("ann", "sign", ids[:2])
        assert signed.status_code == 200, signed.text
        approvals = w.call("lee", "GET", f"{w.base}/review/records/{ids[0]}/approvals")
        assert approvals.status_code == 200, approvals.text
        assert w.get("review", ids[0])["state"] == "signed"


def test_one_refused_record_refuses_them_all(db_url: str) -> None:
    with make_client(db_url) as client:
        w = World(client)
        ann = w.reviews("ann", [3, 4, 9, None])
        bobs = w.reviews("bob", [2])

        def states() -> list[str]:
            return [w.get("review", i)["state"] for i in ann + bobs]

        too_high = w.bulk("ann", "submit", ann[:3])
        assert too_high.status_code == 422, too_high.text
        assert too_high.json()["error"]["code"] == "SCORE_TOO_HIGH"
        missing = w.bulk("ann", "submit", [ann[0], ann[3]])
        assert missing.status_code == 422
        assert [d["path"] for d in missing.json()["error"]["details"]] == ["/score"]
        strangers = w.bulk("ann", "submit", [ann[0], bobs[0]])  # bob's is not hers to read
        assert strangers.status_code == 404, strangers.text
        assert w.bulk("lee", "submit", ann[:2]).status_code in (403, 404)
        assert states() == ["draft"] * 5
        assert w.get("team", w.team)["submitted"] is None
        assert w.bulk("ann", "submit", ann[:2]).status_code == 200
        again = w.bulk("ann", "submit", ann[:2])
        assert again.status_code == 409 and again.json()["error"]["code"] == "INVALID_TRANSITION"
        assert w.get("team", w.team)["submitted"] == 2


def test_a_bulk_action_checks_its_body(db_url: str) -> None:
    with make_client(db_url) as client:
        w = World(client)
        (one,) = w.reviews("ann", [3])
        for ids, path in (
            ([], "/ids"),
            ([one, "x"], "/ids/1"),
            ("1", "/ids"),
            ([0], "/ids/0"),
            ([one, 2**63], "/ids/1"),
        ):
            bad = w.bulk("ann", "submit", ids)
            assert bad.status_code == 422, (ids, bad.text)
            assert bad.json()["error"]["details"][0]["path"] == path
        assert w.bulk("ann", "submit", list(range(1, 1002))).status_code == 422
        unknown = w.bulk("ann", "fly", [one])
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "UNKNOWN_ACTION"
        extra = w.call(
            "ann",
            "POST",
            f"{w.base}/review/records/bulk/actions/submit",
            json={"ids": [one], "score": 2},
        )
        assert extra.status_code == 422
        assert w.get("review", one)["state"] == "draft"
