"""Installing and reading app definitions over the JSON API."""

from __future__ import annotations

import copy
import json

from tests.apps import PEOPLE_V1
from tests.auth_support import PASSWORD, bearer, issue_token, make_client, users_of


def test_install_list_get_and_dry_run(db_url: str) -> None:
    with make_client(db_url) as client:
        users = users_of(client)
        users.create("root", PASSWORD, roles=["system_admin"])
        users.create("pat", PASSWORD)
        root = bearer(issue_token(client, "root"))
        pat = bearer(issue_token(client, "pat"))
        body = json.dumps(PEOPLE_V1).encode()
        json_type = {"content-type": "application/json"}
        refused = client.post("/api/v1/apps", content=body, headers={**pat, **json_type})
        assert refused.status_code == 403
        dry = client.post(
            "/api/v1/apps", params={"dry_run": "true"}, content=body, headers={**root, **json_type}
        )
        assert dry.status_code == 200 and dry.json()["status"] == "dry_run"
        assert client.get("/api/v1/apps", headers=pat).json() == {"data": []}
        made = client.post("/api/v1/apps", content=body, headers={**root, **json_type})
        assert made.status_code == 201 and made.json()["status"] == "installed"
        listed = client.get("/api/v1/apps", headers=pat).json()["data"]
        assert [(a["name"], a["version"]) for a in listed] == [("people", "1.0.0")]
        definition = client.get("/api/v1/apps/people", headers=pat).json()
        assert definition["name"] == "people" and definition["objects"]
        assert client.get("/api/v1/apps/nothing", headers=pat).status_code == 404
        broken = copy.deepcopy(PEOPLE_V1)
        broken["objects"][0]["fields"][0]["type"] = "texty"
        bad = client.post(
            "/api/v1/apps", content=json.dumps(broken).encode(), headers={**root, **json_type}
        )
        assert bad.status_code == 422 and bad.json()["error"]["details"]
        not_json = client.post("/api/v1/apps", content=b"{nope", headers={**root, **json_type})
        assert 400 <= not_json.status_code < 500
        assert client.get("/api/v1/apps").status_code == 401
