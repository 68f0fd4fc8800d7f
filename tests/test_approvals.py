"""Approvals through the API, on SQLite and PostgreSQL: approvers resolved from a
three-level org, the route chosen by the data, each mode and action, the rules on
self-approval and duplicates, and who may act (everyone else changes nothing)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from tests.approvals_support import Org, org, variant


@pytest.fixture
def exp(db_url: str) -> Iterator[Org]:
    with org(db_url) as found:
        yield found


def _steps(exp: Org, record: dict[str, object]) -> list[tuple[str, list[tuple[str, str]]]]:
    trail = exp.trail(record).json()["approvals"][0]
    return [(s["name"], [(t["assignee"], t["status"]) for t in s["tasks"]]) for s in trail["steps"]]


def test_the_route_follows_the_data_and_the_org(exp: Org) -> None:
    record = exp.expense(amount="5000", kind="big")
    submitted = exp.act("emp", record, "submit")
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["state"] == "pending"
    # the manager is asked; the submitter has nothing to do
    inbox = exp.tasks("mgr")
    assert [(t["record_id"], t["step"], t["kind"]) for t in inbox] == [
        (record["id"], "manager", "approval")
    ]
    assert inbox[0]["title"] == "Taxi (Emp)" and inbox[0]["submitter"] == "emp"
    assert set(inbox[0]["actions"]) >= {"approve", "reject", "return", "transfer", "add_signer"}
    assert exp.tasks("emp") == [] and "Approval needed: Taxi (Emp)" in exp.notes("mgr")

    assert exp.act("mgr", record, "approve", comment="fine").status_code == 200
    # the HRBP of team → bu → root: the nearest one that has one is root's (hana)
    assert [t["step"] for t in exp.tasks("hana")] == ["hrbp"]
    assert exp.get(record)["state"] == "pending"
    assert exp.act("hana", record, "approve").status_code == 200
    # the manager two levels up (emp → mgr → vp)
    assert [t["step"] for t in exp.tasks("vp")] == ["skip"]
    done = exp.act("vp", record, "approve", comment="ok")
    assert done.status_code == 200 and done.json()["state"] == "approved"
    assert done.json()["approved_on"] == "2025-06-10"  # the approve transition's effect
    assert _steps(exp, record) == [
        ("manager", [("mgr", "approved")]),
        ("hrbp", [("hana", "approved")]),
        ("skip", [("vp", "approved")]),
    ]  # the board step was not on the route (5,000 is not over 50,000)
    history = exp.history(record)
    decisions = [(h["operation"], h["actor"], h["comment"]) for h in history[1:]]
    assert decisions == [
        ("action:submit", "emp", None),
        ("action:approve", "mgr", "fine"),
        ("action:approve", "hana", None),
        ("action:approve", "vp", "ok"),
    ]
    assert exp.tasks("vp") == [] and exp.tasks("vp", status="closed")[0]["status"] == "approved"
    assert "Taxi (Emp) was approved" in exp.notes("emp")


def test_a_nearer_hrbp_takes_over_and_a_small_amount_skips_the_step(exp: Org) -> None:
    exp.set("department", exp.ids["bu"], hrbp=exp.ids["hugo"])
    record = exp.expense(amount="2000")
    exp.act("emp", record, "submit")
    exp.act("mgr", record, "approve")
    assert [t["step"] for t in exp.tasks("hugo")] == ["hrbp"] and exp.tasks("hana") == []
    small = exp.expense(amount="10")
    exp.act("emp", small, "submit")
    assert exp.act("mgr", small, "approve").json()["state"] == "approved"


def test_only_the_people_asked_decide_and_others_change_nothing(exp: Org) -> None:
    record = exp.act("emp", exp.expense(), "submit").json()
    for user, status, code in [
        ("out", 403, "NOT_YOUR_TASK"),  # can read the expense, holds no task
        ("hana", 403, "NOT_YOUR_TASK"),  # asked later on other routes, not now
        ("emp", 403, "NOT_YOUR_TASK"),  # the submitter
        ("nobody", 403, "FORBIDDEN"),  # may read no expense at all
    ]:
        for action in ("approve", "reject", "return", "transfer"):
            answer = exp.act(user, record, action, to="vp")
            assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
    assert exp.get(record)["version"] == record["version"]
    assert len(exp.history(record)) == 2
    assert exp.act("mgr", record, "approve").json()["state"] == "approved"
    again = exp.act("mgr", record, "approve")  # the approval is over
    assert again.status_code == 409 and again.json()["error"]["code"] == "TASK_CLOSED"
    assert exp.act("out", record, "approve").status_code == 403  # never had a part


def test_reject_ends_the_approval_and_tells_the_submitter(exp: Org) -> None:
    record = exp.act("emp", exp.expense(amount="2000"), "submit").json()
    exp.act("mgr", record, "approve")
    rejected = exp.act("hana", record, "reject", comment="no receipt")
    assert rejected.status_code == 200 and rejected.json()["state"] == "rejected"
    trail = exp.trail(record).json()["approvals"][0]
    assert trail["status"] == "rejected" and trail["current_step"] is None
    assert trail["steps"][1]["tasks"][0]["comment"] == "no receipt"
    assert "Taxi (Emp) was rejected" in exp.notes("emp")


def test_return_to_the_submitter_and_to_an_earlier_step(exp: Org) -> None:
    record = exp.act("emp", exp.expense(amount="2000"), "submit").json()
    exp.act("mgr", record, "approve")
    # back to the manager's step: the manager is asked again, the state stays
    back = exp.act("hana", record, "return", to_step="manager", comment="check it")
    assert back.status_code == 200 and back.json()["state"] == "pending"
    assert [t["step"] for t in exp.tasks("mgr")] == ["manager"] and exp.tasks("hana") == []
    wrong = exp.act("mgr", record, "return", to_step="board")
    assert wrong.status_code == 422 and wrong.json()["error"]["details"][0]["path"] == "/to_step"
    # back to the submitter: the record returns to draft, and a new submit starts over
    assert exp.act("mgr", record, "return", comment="redo").json()["state"] == "draft"
    assert "Taxi (Emp) was returned" in exp.notes("emp")
    exp.act("emp", record, "submit")
    trail = exp.trail(record).json()["approvals"]
    assert [a["status"] for a in trail] == ["running", "returned"]
    assert exp.tasks("mgr")[0]["step"] == "manager"


def test_transfer_hands_the_task_over(exp: Org) -> None:
    record = exp.act("emp", exp.expense(), "submit").json()
    for to, code in [
        ("emp", "SELF_APPROVAL"),
        ("ghost", "UNKNOWN_USER"),
        ("mgr", "DUPLICATE_APPROVER"),
    ]:
        refused = exp.act("mgr", record, "transfer", to=to)
        assert refused.status_code == 422 and refused.json()["error"]["code"] == code
    moved = exp.act("mgr", record, "transfer", to="hugo", comment="on leave")
    assert moved.status_code == 200 and moved.json()["state"] == "pending"
    assert exp.tasks("mgr") == [] and [t["origin"] for t in exp.tasks("hugo")] == ["transfer"]
    closed = exp.act("mgr", record, "approve")
    assert closed.status_code == 409 and closed.json()["error"]["code"] == "TASK_CLOSED"
    assert exp.act("hugo", record, "approve").json()["state"] == "approved"
    assert _steps(exp, record) == [("manager", [("mgr", "transferred"), ("hugo", "approved")])]


def test_a_signer_added_before_is_asked_first(exp: Org) -> None:
    record = exp.act("emp", exp.expense(), "submit").json()
    added = exp.act("mgr", record, "add_signer", user="hugo", position="before")
    assert added.status_code == 200, added.text
    early = exp.act("mgr", record, "approve")
    assert early.status_code == 409 and early.json()["error"]["code"] == "NOT_YOUR_TURN"
    assert exp.act("hugo", record, "approve").json()["state"] == "pending"
    assert exp.act("mgr", record, "approve").json()["state"] == "approved"
    assert _steps(exp, record) == [("manager", [("hugo", "approved"), ("mgr", "approved")])]


def test_a_signer_added_after_is_asked_next(exp: Org) -> None:
    record = exp.act("emp", exp.expense(), "submit").json()
    assert exp.act("mgr", record, "add_signer", user="hugo").status_code == 200
    assert exp.tasks("hugo") == [] and exp.tasks("hugo", status="waiting")[0]["step"] == "manager"
    assert exp.act("mgr", record, "approve").json()["state"] == "pending"
    assert exp.act("hugo", record, "approve").json()["state"] == "approved"
    bad = exp.act("hugo", exp.act("emp", exp.expense(), "submit").json(), "add_signer", user="x")
    assert bad.status_code == 403


def test_the_submitter_withdraws_until_the_first_decision(exp: Org) -> None:
    record = exp.act("emp", exp.expense(), "submit").json()
    back = exp.act("emp", record, "withdraw", comment="wrong amount")
    assert back.status_code == 200 and back.json()["state"] == "draft"
    assert (
        exp.tasks("mgr") == [] and exp.trail(record).json()["approvals"][0]["status"] == "withdrawn"
    )
    other = exp.act("out", exp.act("emp", record, "submit").json(), "withdraw")
    assert other.status_code == 403  # not the submitter, and no rule grants it
    late = exp.act("emp", exp.act("emp", exp.expense(amount="2000"), "submit").json(), "submit")
    assert late.status_code == 409
    decided = exp.act("emp", exp.expense(amount="2000"), "submit").json()
    exp.act("mgr", decided, "approve")
    refused = exp.act("emp", decided, "withdraw")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "ALREADY_DECIDED"


def test_all_mode_needs_everyone(exp: Org) -> None:
    record = exp.act("emp", exp.expense(amount="60000"), "submit").json()
    exp.act("mgr", record, "approve")
    exp.act("hana", record, "approve")
    assert (
        [t["step"] for t in exp.tasks("bo1")] == ["board"] == [t["step"] for t in exp.tasks("bo2")]
    )
    assert exp.act("bo2", record, "approve").json()["state"] == "pending"
    assert exp.act("bo1", record, "approve").json()["state"] == "approved"


def test_sequential_mode_asks_one_after_the_other(db_url: str) -> None:
    steps = [{"name": "board", "approvers": [{"role": "board"}], "mode": "sequential"}]
    with org(db_url, variant(steps=steps)) as exp:
        record = exp.act("emp", exp.expense(), "submit").json()
        assert len(exp.tasks("bo1")) == 1 and exp.tasks("bo2") == []
        early = exp.act("bo2", record, "approve")
        assert early.status_code == 409 and early.json()["error"]["code"] == "NOT_YOUR_TURN"
        exp.act("bo1", record, "approve")
        assert len(exp.tasks("bo2")) == 1
        assert exp.act("bo2", record, "approve").json()["state"] == "approved"


def test_any_mode_takes_the_first_decision(db_url: str) -> None:
    steps = [{"name": "board", "approvers": [{"role": "board"}]}]
    with org(db_url, variant(steps=steps)) as exp:
        record = exp.act("emp", exp.expense(), "submit").json()
        assert exp.act("bo2", record, "approve").json()["state"] == "approved"
        assert (
            exp.tasks("bo1") == [] and exp.tasks("bo1", status="closed")[0]["status"] == "cancelled"
        )


def test_the_submitter_is_not_asked_to_approve_their_own_request(exp: Org) -> None:
    # mgr files an expense for emp: the manager step would ask mgr, the submitter
    mine = exp.expense(owner="mgr")
    refused = exp.act("mgr", mine, "submit")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "NO_APPROVER"
    assert exp.get(mine)["state"] == "draft" and exp.get(mine)["version"] == 1
    assert exp.tasks("mgr") == [] and exp.trail(mine).json()["approvals"] == []


def test_a_fallback_is_asked_when_a_step_names_nobody_else(db_url: str) -> None:
    with org(db_url, variant(fallback=[{"role": "admin"}])) as exp:
        mine = exp.expense(owner="mgr")
        assert exp.act("mgr", mine, "submit").status_code == 200
        assert exp.tasks("mgr") == [] and len(exp.tasks("adm")) == 1


def test_self_approval_when_the_app_allows_it(db_url: str) -> None:
    with org(db_url, variant(self_approval="allow")) as exp:
        mine = exp.act("mgr", exp.expense(owner="mgr"), "submit").json()
        assert exp.act("mgr", mine, "approve").json()["state"] == "approved"


DOUBLE = [
    {"name": "first", "approvers": [{"user": "employee.manager.user"}]},
    {
        "name": "second",
        "approvers": [{"user": "employee.manager.user"}, {"role": "board"}],
        "mode": "all",
    },
]


def test_someone_who_approved_already_is_asked_once_with_dedupe(db_url: str) -> None:
    with org(db_url, variant(steps=DOUBLE, dedupe=True)) as exp:
        record = exp.act("emp", exp.expense(), "submit").json()
        exp.act("mgr", record, "approve")
        assert exp.tasks("mgr") == []  # approved at the first step: not asked again
        exp.act("bo1", record, "approve")
        assert exp.act("bo2", record, "approve").json()["state"] == "approved"
        second = _steps(exp, record)[1][1]
        assert ("mgr", "approved") in second


def test_without_dedupe_someone_named_twice_is_asked_twice(db_url: str) -> None:
    with org(db_url, variant(steps=DOUBLE)) as exp:
        record = exp.act("emp", exp.expense(), "submit").json()
        exp.act("mgr", record, "approve")
        assert [t["step"] for t in exp.tasks("mgr")] == ["second"]


def test_cc_tells_people_and_the_trail_shows_it(exp: Org) -> None:
    record = exp.act("emp", exp.expense(), "submit").json()
    copied = exp.act("emp", record, "cc", users=["hugo"], comment="fyi")
    assert copied.status_code == 200, copied.text
    assert any("emp copied you in" in n for n in exp.notes("hugo"))
    assert exp.tasks("hugo", kind="cc", status="all")[0]["kind"] == "cc"
    assert exp.act("out", record, "cc", users=["hugo"]).status_code == 403
    bad = exp.act("emp", record, "cc", users=[])
    assert bad.status_code == 422 and bad.json()["error"]["details"][0]["path"] == "/users"


def test_the_trail_is_for_readers_and_the_people_asked(exp: Org) -> None:
    record = exp.act("emp", exp.expense(), "submit").json()
    assert exp.trail(record, "out").status_code == 200
    assert exp.trail(record, "nobody").status_code == 403  # may read no expense
    assert exp.trail(record, "mgr").json()["approvals"][0]["current_step"] == "manager"


def test_deleting_a_record_closes_its_tasks(db_url: str) -> None:
    app = variant()
    app["permissions"].append({"role": "admin", "object": "expense", "actions": ["delete"]})
    with org(db_url, app) as exp:
        record = exp.act("emp", exp.expense(), "submit").json()
        gone = exp.call("adm", "DELETE", f"/api/v1/apps/exp/objects/expense/records/{record['id']}")
        assert gone.status_code == 204
        assert exp.tasks("mgr") == []


def test_the_inbox_pages_and_filters(exp: Org) -> None:
    records = [exp.act("emp", exp.expense(title=f"T{i}"), "submit").json() for i in range(5)]
    first = exp.call("mgr", "GET", "/api/v1/tasks", params={"limit": 2}).json()
    assert len(first["data"]) == 2 and first["next_cursor"]
    rest = exp.call("mgr", "GET", "/api/v1/tasks", params={"cursor": first["next_cursor"]}).json()
    assert [t["title"] for t in first["data"] + rest["data"]] == [f"T{i} (Emp)" for i in range(5)]
    assert rest["next_cursor"] is None
    exp.act("mgr", records[0], "approve")
    assert len(exp.tasks("mgr")) == 4 and len(exp.tasks("mgr", status="all")) == 5
    for bad in ({"status": "x"}, {"kind": "x"}, {"cursor": "abc"}, {"limit": "0"}):
        assert exp.call("mgr", "GET", "/api/v1/tasks", params=bad).status_code in (400, 422)


RACE = [{"name": "board", "approvers": [{"role": "board"}]}]


def _race(exp: Org, mixed: bool) -> None:
    for name in ("bo3", "bo4"):
        exp.client.app.state.users.create(  # type: ignore[attr-defined]
            name, None, roles=["exp.staff", "exp.board"]
        )
    deciders = ["bo1", "bo2", "bo3", "bo4"] * 5  # 20 calls on one step
    for name in set(deciders):
        exp.tasks(name)  # tokens exist before the race
    record = exp.act("emp", exp.expense(), "submit").json()
    barrier = threading.Barrier(len(deciders))
    answers: list[int] = []

    def decide(i: int, user: str) -> None:
        barrier.wait()
        action = "reject" if mixed and i % 2 else "approve"
        answers.append(exp.act(user, record, action, comment=f"{action} {i}").status_code)

    threads = [threading.Thread(target=decide, args=(i, u)) for i, u in enumerate(deciders)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers.count(200) == 1 and set(answers) <= {200, 409}, answers
    final = exp.get(record)
    decisions = [
        h for h in exp.history(record) if h["operation"] in ("action:approve", "action:reject")
    ]
    assert len(decisions) == 1
    assert decisions[0]["changes"]["state"]["after"] == final["state"]
    assert final["version"] == record["version"] + 1
    steps = _steps(exp, record)[0][1]
    decided = [s for _, s in steps if s in ("approved", "rejected")]
    assert decided == [{"approved": "approved", "rejected": "rejected"}[final["state"]]]
    told = [n for n in exp.notes("emp") if n.startswith("Taxi (Emp) was")]
    assert told == [f"Taxi (Emp) was {final['state']}"]


def test_twenty_approvals_at_once_make_one_transition(db_url: str) -> None:
    with org(db_url, variant(steps=RACE)) as exp:
        _race(exp, mixed=False)


def test_approve_and_reject_at_once_one_wins_and_the_audit_agrees(db_url: str) -> None:
    with org(db_url, variant(steps=RACE)) as exp:
        _race(exp, mixed=True)


def test_the_openapi_document_lists_the_approval_actions_and_the_inbox(exp: Org) -> None:
    doc = exp.call("emp", "GET", "/api/v1/openapi.json").json()
    base = "/api/v1/apps/exp/objects/expense/records/{id}"
    body = doc["paths"][f"{base}/actions/transfer"]["post"]["requestBody"]
    assert "to" in body["content"]["application/json"]["schema"]["properties"]
    assert f"{base}/approvals" in doc["paths"] and "/api/v1/tasks" in doc["paths"]
    assert "/api/v1/apps/exp/objects/employee/records/{id}/approvals" not in doc["paths"]


def test_the_submitter_sees_where_their_requests_stand(exp: Org) -> None:
    first = exp.act("emp", exp.expense(title="A", amount="2000"), "submit").json()
    second = exp.act("emp", exp.expense(title="B"), "submit").json()
    exp.act("mgr", first, "approve")
    exp.act("mgr", second, "approve")
    mine = exp.call("emp", "GET", "/api/v1/approvals").json()
    assert [
        (a["record_id"], a["status"], a["current_step"], a["waiting_for"]) for a in mine["data"]
    ] == [
        (second["id"], "approved", None, []),
        (first["id"], "running", "hrbp", ["hana"]),
    ]
    running = exp.call("emp", "GET", "/api/v1/approvals", params={"status": "running"}).json()
    assert [a["record_id"] for a in running["data"]] == [first["id"]]
    assert exp.call("mgr", "GET", "/api/v1/approvals").json()["data"] == []  # not theirs
    trail = exp.trail(first).json()["approvals"][0]
    assert (trail["current_step"], trail["waiting_for"]) == ("hrbp", ["hana"])
