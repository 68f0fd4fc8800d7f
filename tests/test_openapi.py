"""The OpenAPI document: valid OpenAPI 3.1, true to the definitions, and a fuzzing run
(schemathesis, against the live app) that finds no server error."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate

from runtime.metadata.package import read_package_bytes
from tests.staff_api import BASE, Api, staff_api
from tests.test_workflow_states import APP as LEAVE


@pytest.fixture
def api(db_url: str) -> Iterator[Api]:
    """The staff app, and the leave app's workflow (its actions are operations too)."""
    with staff_api(db_url) as api:
        state = api.client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(LEAVE).encode(), "l.json"), actor="t")
        for role in ("leave.member", "leave.approver"):
            state.users.grant_role("hera", role)
        yield api


def test_the_document_is_valid_and_follows_the_definitions(api: Api) -> None:
    response = api.get("hera", "/api/v1/openapi.json")
    assert response.status_code == 200
    doc = response.json()
    validate(doc)
    assert doc["openapi"] == "3.1.0"
    employee = doc["components"]["schemas"]["staff.employee"]
    assert set(employee["properties"]) >= {"id", "version", "employee_no", "manager_path"}
    assert employee["properties"]["manager_path"]["readOnly"] is True
    create = doc["components"]["schemas"]["staff.employee.create"]
    assert set(create["required"]) == {"employee_no", "name", "department"}
    assert "manager_path" not in create["properties"]  # computed: not writable
    review = doc["components"]["schemas"]["staff.review.create"]["properties"]
    rating = review["rating"]["anyOf"][0]
    assert rating["enum"] == ["S", "A", "B", "C", "D"]
    update = doc["components"]["schemas"]["staff.employee.update"]
    assert update["required"] == ["version"]
    paths = doc["paths"]
    assert {"get", "post"} <= set(paths[f"{BASE}/employee/records"])
    assert {"get", "patch", "delete"} <= set(paths[f"{BASE}/employee/records/{{id}}"])
    leave = doc["components"]["schemas"]["leave.request"]
    assert leave["properties"]["state"]["enum"] == ["draft", "submitted", "approved", "rejected"]
    assert leave["x-tenon-actions"] == ["approve", "recall", "reject", "submit"]
    reject = paths["/api/v1/apps/leave/objects/request/records/{id}/actions/reject"]["post"]
    inputs = reject["requestBody"]["content"]["application/json"]["schema"]["properties"]
    assert set(inputs) == {"comment", "version", "decision_note"}
    assert api.client.get("/api/v1/openapi.json").status_code == 401


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_fuzzing_the_api_finds_no_server_error(api: Api) -> None:
    """Every operation, with requests generated from the document (valid and not), as
    an HR admin: no answer may be a 5xx."""
    doc = api.get("hera", "/api/v1/openapi.json").json()
    headers = {"Authorization": f"Bearer {api.tokens['hera']}"}
    schema = schemathesis.openapi.from_dict(doc)
    schema.app = api.client.app
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(
            max_examples=40, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        @given(case=operation.as_strategy())
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path} {case.body!r:.200}")

        run()
    assert not failures, failures[:10]
