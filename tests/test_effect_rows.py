"""``each`` and ``act`` over a relation of a record the acting one points to
(``season.members``), with row formulas that read the acting record as ``source``, on
SQLite and PostgreSQL; and the validation of those paths and formulas."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from runtime.formula.binding import literal, source_refs, substitute
from runtime.metadata.package import read_package_bytes
from runtime.metadata.validate import definition_issues
from tests.auth_support import Caller, add_user, make_client

CLUB: dict[str, Any] = {
    "name": "club",
    "version": "1.0.0",
    "title": {"en": "Club"},
    "roles": [{"name": "coach"}],
    "objects": [
        {"name": "season", "fields": [{"name": "name", "type": "text", "required": True}]},
        {
            "name": "team",
            "fields": [
                {"name": "name", "type": "text", "required": True},
                {"name": "season", "type": "reference", "to": "season", "related_name": "teams"},
                {"name": "prefix", "type": "text"},
                {"name": "kickoff", "type": "date"},
                {"name": "bonus", "type": "decimal", "precision": 6, "scale": 2},
            ],
        },
        {
            "name": "member",
            "fields": [
                {"name": "name", "type": "text", "required": True},
                {
                    "name": "season",
                    "type": "reference",
                    "to": "season",
                    "related_name": "members",
                    "required": True,
                },
                {"name": "team", "type": "reference", "to": "team", "related_name": "roster"},
                {"name": "group_path", "type": "text"},
                {"name": "note", "type": "text"},
                {"name": "joined_on", "type": "date"},
                {"name": "points", "type": "decimal", "precision": 6, "scale": 2},
            ],
        },
    ],
    "workflows": [
        {
            "name": "team_flow",
            "object": "team",
            "states": [{"name": "setup"}, {"name": "playing"}],
            "transitions": [
                {
                    "action": "start",
                    "from": ["setup"],
                    "to": "playing",
                    "condition": "NOT(ISBLANK(prefix))",
                    "code": "PREFIX_MISSING",
                    "message": {"en": "a team needs a prefix"},
                    "detail": 'name & " has none"',
                    "effects": [
                        {
                            "each": {
                                "relation": "season.members",
                                "where": "AND(STARTS_WITH(group_path, source.prefix), "
                                "OR(ISBLANK(team), team.id = source.id))",
                                "set": {
                                    "team": "source.id",
                                    "note": '"joined " & source.name',
                                    "joined_on": "source.kickoff + 1",
                                    "points": "COALESCE(points, 0) + source.bonus",
                                },
                            }
                        },
                        {"act": {"relation": "roster", "action": "enrol"}},
                    ],
                },
                {
                    "action": "stop",
                    "from": ["playing"],
                    "to": "setup",
                    "effects": [
                        {
                            "act": {
                                "relation": "season.members",
                                "where": "team.id = source.id",
                                "action": "leave",
                            }
                        }
                    ],
                },
            ],
        },
        {
            "name": "member_flow",
            "object": "member",
            "states": [{"name": "free"}, {"name": "enrolled"}],
            "transitions": [
                {"action": "enrol", "from": ["free"], "to": "enrolled"},
                {"action": "leave", "from": ["enrolled"], "to": "free"},
            ],
        },
    ],
    "permissions": [
        {"role": "coach", "object": "season", "actions": ["read", "create"]},
        {"role": "coach", "object": "team", "actions": ["read", "create", "start", "stop"]},
        {
            "role": "coach",
            "object": "member",
            "actions": ["read", "create", "update", "enrol", "leave"],
        },
    ],
}


class Club(Caller):
    def make(self, obj: str, **fields: Any) -> dict[str, Any]:
        made = self.call("kim", "POST", f"/api/v1/apps/club/objects/{obj}/records", json=fields)
        assert made.status_code == 201, made.text
        return made.json()  # type: ignore[no-any-return]

    def member(self, member_id: int) -> dict[str, Any]:
        path = f"/api/v1/apps/club/objects/member/records/{member_id}"
        return self.call("kim", "GET", path).json()  # type: ignore[no-any-return]

    def act(self, team: dict[str, Any], action: str) -> Any:
        path = f"/api/v1/apps/club/objects/team/records/{team['id']}/actions/{action}"
        return self.call("kim", "POST", path, json={})


@pytest.fixture
def club(db_url: str) -> Iterator[Club]:
    with make_client(db_url) as client:
        state = client.app.state  # type: ignore[attr-defined]
        state.apps.install(read_package_bytes(json.dumps(CLUB).encode(), "club.json"), actor="t")
        add_user(client, "kim", roles=["club.coach"], password=None)
        yield Club(client)


def test_each_writes_the_rows_of_a_related_record_with_the_acting_record_bound(
    club: Club,
) -> None:
    season = club.make("season", name="2025")
    other = club.make("season", name="2024")
    team = club.make(
        "team",
        name='The "Reds"',
        season=season["id"],
        prefix="/north/",
        kickoff="2025-03-01",
        bonus="1.5",
    )
    rival = club.make("team", name="Blues", season=season["id"], prefix="/north/")
    ids = {
        name: club.make("member", name=name, season=s["id"], group_path=g, **extra)["id"]
        for name, s, g, extra in (
            ("ann", season, "/north/a/", {"points": "2"}),
            ("bea", season, "/north/b/", {}),
            ("cal", season, "/south/", {}),  # outside the prefix
            ("dov", other, "/north/a/", {}),  # another season's member
            ("eli", season, "/north/c/", {"team": rival["id"]}),  # in another team already
        )
    }
    started = club.act(team, "start")
    assert started.status_code == 200, started.text
    rows = {name: club.member(i) for name, i in ids.items()}
    for name in ("ann", "bea"):
        assert rows[name]["team"] == team["id"]
        assert rows[name]["note"] == 'joined The "Reds"'
        assert rows[name]["joined_on"] == "2025-03-02"
        assert rows[name]["state"] == "enrolled"  # act over the roster the each just made
    assert (rows["ann"]["points"], rows["bea"]["points"]) == ("3.50", "1.50")
    for name in ("cal", "dov"):
        assert rows[name]["team"] is None and rows[name]["state"] == "free"
    assert rows["eli"]["team"] == rival["id"] and rows["eli"]["state"] == "free"

    stopped = club.act(team, "stop")  # act over the path, where reads source
    assert stopped.status_code == 200, stopped.text
    assert [club.member(ids[n])["state"] for n in ("ann", "bea")] == ["free", "free"]


def test_a_blank_reference_on_the_path_writes_no_rows(club: Club) -> None:
    season = club.make("season", name="2025")
    member = club.make("member", name="ann", season=season["id"], group_path="/x/")
    team = club.make("team", name="Loners", prefix="/")  # no season
    assert club.act(team, "start").status_code == 200
    assert club.member(member["id"])["team"] is None


def test_a_refusal_says_why_with_the_detail_formula(club: Club) -> None:
    team = club.make("team", name="Greens")
    refused = club.act(team, "start")
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "PREFIX_MISSING"
    assert error["details"][0]["message"] == "a team needs a prefix: Greens has none"


def _issues(app: dict[str, Any]) -> list[tuple[str, str]]:
    return [(i.path, i.code) for i in definition_issues(app)]


def _with_start(**each: Any) -> dict[str, Any]:
    app = copy.deepcopy(CLUB)
    effects = app["workflows"][0]["transitions"][0]["effects"]
    effects[0]["each"] = {**effects[0]["each"], **each}
    return app


EACH = "/workflows/0/transitions/0/effects/0/each"


def test_the_valid_app_validates() -> None:
    assert _issues(CLUB) == []


@pytest.mark.parametrize(
    ("each", "expected"),
    [
        ({"relation": "season.players"}, (f"{EACH}/relation", "UNRESOLVED")),
        ({"relation": "name.members"}, (f"{EACH}/relation", "FORMULA_TYPE")),
        ({"relation": "sesaon.members"}, (f"{EACH}/relation", "FORMULA_NAME")),
        ({"relation": "Season..members"}, (f"{EACH}/relation", "SCHEMA")),
        ({"set": {"team": "source.season"}}, (f"{EACH}/set/team", "FORMULA_TYPE")),
        ({"set": {"note": "source.nickname"}}, (f"{EACH}/set/note", "FORMULA_NAME")),
        ({"where": "source = 1"}, (f"{EACH}/where", "FORMULA_NAME")),
        ({"set": {"joined_on": "source.name"}}, (f"{EACH}/set/joined_on", "FORMULA_TYPE")),
    ],
)
def test_paths_and_source_formulas_are_checked(
    each: dict[str, Any], expected: tuple[str, str]
) -> None:
    found = _issues(_with_start(**each))
    assert expected in found, found


def test_a_detail_is_a_checked_formula() -> None:
    app = copy.deepcopy(CLUB)
    app["workflows"][0]["transitions"][0]["detail"] = "nmae &"
    assert ("/workflows/0/transitions/0/detail", "FORMULA_SYNTAX") in _issues(app)
    app["workflows"][0]["transitions"][0]["detail"] = "nmae"
    assert ("/workflows/0/transitions/0/detail", "FORMULA_NAME") in _issues(app)


def test_a_row_field_named_source_keeps_its_meaning() -> None:
    app = _with_start(set={"note": "source.name"})
    member = app["objects"][2]
    member["fields"].append({"name": "source", "type": "reference", "to": "team"})
    assert _issues(app) == []  # source.name: the member's own source team's name


def test_literals_bind_values_where_the_author_wrote_them() -> None:
    text = "AND(x = source.a, y = source . b.c)"
    refs = source_refs(text)
    assert [r.path for r in refs] == [("a",), ("b", "c")]
    bound = substitute(text, refs, [literal('say "hi"'), literal(None)])
    assert bound == 'AND(x = "say ""hi""", y = BLANK()     )'
    assert literal(-2) == "(-2)" and literal(True) == "TRUE"
