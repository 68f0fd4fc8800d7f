"""An `act` effect on the record a reference path points to is checked at validation:
the path must give a record, its `where` is a condition on that record, and `relation`
and `record` exclude each other. (Its behaviour runs in the bonus catalog tests: a
confirmed payout batch marks its plan paid once every line is paid.)"""

from __future__ import annotations

import copy
from typing import Any

from runtime.metadata.validate import definition_issues
from tests.test_effects_skip import APP


def _issues(act: dict[str, Any]) -> set[tuple[str, str]]:
    app = copy.deepcopy(APP)
    flows = app["workflows"] + [
        {
            "name": "pool_flow",
            "object": "pool",
            "initial": "new",
            "states": [{"name": "new"}, {"name": "done"}],
            "transitions": [
                {"action": "finish", "from": ["new"], "to": "done", "effects": [{"act": act}]}
            ],
        }
    ]
    app["workflows"] = flows
    app["permissions"].append({"role": "authenticated", "object": "pool", "actions": ["finish"]})
    return {(i.path, i.code) for i in definition_issues(app)}


def test_act_on_a_pointed_record_is_checked() -> None:
    base = "/workflows/1/transitions/0/effects/0/act"
    assert _issues({"record": "plan", "action": "open", "where": "year > 2000"}) == set()
    assert (f"{base}/record", "FORMULA_TYPE") in _issues({"record": "factor", "action": "open"})
    assert (f"{base}/action", "UNRESOLVED") in _issues({"record": "plan", "action": "shut"})
    found = _issues({"record": "plan", "action": "open", "where": "colour = 1"})
    assert any(path == f"{base}/where" for path, _ in found)
    both = _issues({"record": "plan", "relation": "pools", "action": "open"})
    assert (f"{base}/record", "INVALID") in both
