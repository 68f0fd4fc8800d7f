"""The talent_review catalog app on core_hr, through the API by the spec's names, with
the test clock, on SQLite and PostgreSQL: TR-1 (placing people in the 9-box), TR-2 (the
distribution guideline, enforced and advisory), launch, session membership, write-back
of calibrated ratings to core HR, and who may see and change what (§3.6, §8)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from html import unescape
from typing import Any

import pytest

from runtime.metadata.package import read_package
from runtime.resources import catalog_dir
from tests.auth_support import add_user, make_client
from tests.catalog_support import CatalogWorld

CORE = "/api/v1/apps/core_hr/objects"
TR = "/api/v1/apps/talent_review/objects"
ASSESS = f"{TR}/talent_assessment/records"
SESSION = f"{TR}/calibration_session/records"
CYCLE = f"{TR}/talent_review_cycle/records"
TALENT = ("q_ability", "potential_score", "nine_box", "box_label", "flight_risk", "change_reason")


class World(CatalogWorld):
    def make(self, path: str, **fields: Any) -> dict[str, Any]:
        return self.create(path, **fields)

    def rows(self, path: str, user: str = "admin", **params: Any) -> list[dict[str, Any]]:
        found = self.call(user, "GET", path, params={"limit": 500, **params})
        assert found.status_code == 200, found.text
        return found.json()["data"]  # type: ignore[no-any-return]

    def one(self, path: str, user: str = "admin") -> dict[str, Any]:
        found = self.call(user, "GET", path)
        assert found.status_code == 200, found.text
        return found.json()  # type: ignore[no-any-return]

    def act(self, user: str, path: str, action: str, **body: Any) -> Any:
        return self.call(user, "POST", f"{path}/actions/{action}", json=body)

    def patch(self, user: str, path: str, **fields: Any) -> Any:
        version = self.one(path)["version"]
        return self.call(user, "PATCH", path, json={**fields, "version": version})

    def people(self, dept: str, manager: str, hired: str, n: int, prefix: str) -> list[int]:
        """``n`` employees without logins, made in one bulk request."""
        records = [
            {
                "employee_no": f"{prefix}{i:03d}",
                "name": f"{prefix} {i}",
                "department": self.ids[dept],
                "manager": self.ids[manager],
                **self.common(hired),
            }
            for i in range(n)
        ]
        path = f"{CORE}/employee/records/bulk"
        done = self.call("admin", "POST", path, json={"records": records})
        assert done.status_code == 201, done.text
        return [r["id"] for r in done.json()["data"]]

    def person(self, user: str, dept: str, manager: str | None, hired: str = "2020-01-01") -> int:
        made = self.make(
            f"{CORE}/employee",
            employee_no=f"E-{user}",
            name=user.title(),
            user=user,
            department=self.ids[dept],
            manager=self.ids[manager] if manager else None,
            **self.common(hired),
        )
        self.ids[user] = made["id"]
        return int(made["id"])

    def common(self, hired: str) -> dict[str, Any]:
        return {
            "job_level": self.ids["P3"],
            "hire_date": hired,
            "contract_type": "open_ended",
            "base_salary_monthly": "30000",
        }

    def rate(self, ratings: Mapping[int, str | None]) -> None:
        """Proposed ratings in core HR, by employee id (one bulk request)."""
        results = {
            r["employee"]: r
            for r in self.rows(f"{CORE}/performance_result/records")
            if r["employee"] in ratings
        }
        records = [
            {"id": results[e]["id"], "version": results[e]["version"], "proposed_rating": rating}
            for e, rating in ratings.items()
        ]
        done = self.call(
            "admin", "PATCH", f"{CORE}/performance_result/records/bulk", json={"records": records}
        )
        assert done.status_code == 200, done.text

    def assessment(self, employee: int, user: str = "admin") -> dict[str, Any]:
        (row,) = self.rows(ASSESS, user, filter=f"employee.id = {employee}")
        return row

    def path(self, employee: int) -> str:
        return f"{ASSESS}/{self.assessment(employee)['id']}"

    def assess(self, employee: int, q: tuple[int, int, int], user: str = "mgr", **more: Any) -> Any:
        """The manager's answers (and ``more`` fields) on the employee's assessment."""
        fields = dict(zip(("q_ability", "q_aspiration", "q_engagement"), q, strict=True))
        return self.patch(user, self.path(employee), flight_risk="low", **fields, **more)

    def cycle(self, **fields: Any) -> dict[str, Any]:
        made = self.make(
            f"{TR}/talent_review_cycle",
            name="FY2025 Talent Review",
            performance_cycle=self.ids["perf"],
            scope_department=self.ids["root"],
            nomination_due="2025-11-20",
            calibration_due="2025-12-15",
            **fields,
        )
        self.ids["cycle"] = made["id"]
        return made

    def session(self, name: str, dept: str, owner: str, facilitator: str, *others: str) -> str:
        made = self.make(
            f"{TR}/calibration_session",
            cycle=self.ids["cycle"],
            name=name,
            scope_department=self.ids[dept],
            owner=self.ids[owner],
        )
        for who, role in ((facilitator, "facilitator"), *((o, "participant") for o in others)):
            member = {"session": made["id"], "employee": self.ids[who], "role": role}
            self.make(f"{TR}/calibration_member", **member)
        return f"{SESSION}/{made['id']}"


@pytest.fixture
def w(db_url: str) -> Iterator[World]:
    with make_client(db_url, test_clock=True, run_jobs=False) as client:
        state = client.app.state  # type: ignore[attr-defined]
        for name in ("core_hr", "talent_review"):
            state.apps.install(read_package(catalog_dir() / name), actor="t")
        add_user(client, "root", roles=["system_admin"], password=None)
        add_user(client, "admin", roles=["core_hr.hr_admin"], password=None)
        add_user(client, "comp", roles=["core_hr.comp_admin"], password=None)
        for name in ("ceo", "hana", "mgr", "zhang", "li", "zhou", "xu", "he", "chen", "ma", "gone"):
            add_user(client, name, password=None)
        found = World(client)
        found.at("2025-11-03T09:00:00")
        found.ids["P3"] = found.make(
            f"{CORE}/job_level", code="P3", track="ic", rank=3, target_bonus_months="2"
        )["id"]
        found.ids["root"] = found.make(f"{CORE}/department", code="ROOT", name="Acme")["id"]
        team = found.make(f"{CORE}/department", code="T", name="Team", parent=found.ids["root"])
        found.ids["team"] = team["id"]
        found.person("ceo", "root", None)
        found.person("hana", "root", "ceo")
        found.person("mgr", "team", "ceo")
        root = f"{CORE}/department/records/{found.ids['root']}"
        found.patch("admin", root, hrbp=found.ids["hana"])
        yield found


def _tr1_people(w: World) -> dict[str, int]:
    for name in ("zhang", "li", "zhou", "xu", "he", "ma"):
        w.person(name, "team", "mgr")
    w.person("chen", "team", "mgr", hired="2025-10-20")  # after the cut-off
    return {n: w.ids[n] for n in ("zhang", "li", "zhou", "xu", "he", "ma", "chen")}


def _perf_cycle(w: World, ratings: Mapping[int, str | None]) -> None:
    perf = w.make(
        f"{CORE}/performance_cycle",
        name="FY2025 Annual",
        year=2025,
        period_start="2025-01-01",
        period_end="2025-12-31",
        rating_cutoff_date="2025-09-30",
    )
    w.ids["perf"] = perf["id"]
    started = w.act("admin", f"{CORE}/performance_cycle/records/{perf['id']}", "start_rating")
    assert started.status_code == 200, started.text
    w.rate(ratings)


def _launched(w: World, **cycle: Any) -> str:
    made = w.cycle(**cycle)
    path = f"{CYCLE}/{made['id']}"
    launched = w.act("admin", path, "launch")
    assert launched.status_code == 200, launched.text
    return path


def test_tr1_places_people_in_the_nine_box(w: World) -> None:
    ids = _tr1_people(w)
    rated = {"zhang": "A", "li": "B", "zhou": "C", "xu": "D", "he": "B", "ma": None}
    _perf_cycle(w, {ids[n]: r for n, r in rated.items()})
    _launched(w)
    rows: list[tuple[str, tuple[int, int, int], dict[str, Any], str, int, int, int, str]] = [
        ("zhang", (3, 3, 2), {}, "2.6667", 3, 3, 9, "star"),
        ("li", (2, 2, 1), {}, "1.6667", 1, 2, 2, "effective_performer"),
        ("zhou", (3, 2, 3), {}, "2.6667", 3, 1, 7, "enigma"),
        ("xu", (2, 2, 2), {}, "2.0000", 2, 1, 4, "inconsistent_player"),
        (
            "he",
            (3, 1, 1),
            {"potential_override": 2, "potential_override_reason": "acting lead"},
            "1.6667",
            1,
            2,
            5,
            "core_player",
        ),
    ]
    for name, q, more, score, proposed, band, box, label in rows:
        done = w.assess(ids[name], q, **more)
        assert done.status_code == 200, done.text
        got = done.json()
        assert (got["potential_score"], got["proposed_potential"]) == (score, proposed), name
        assert (got["performance_band"], got["nine_box"], got["box_label"]) == (band, box, label)
        assert got["status"] == "draft"  # the first save opened it
        submitted = w.act("mgr", w.path(ids[name]), "submit")
        assert submitted.status_code == 200 and submitted.json()["status"] == "submitted", name
    assert w.assessment(ids["he"])["final_potential"] == 2
    assert w.assessment(ids["zhang"])["key_talent_suggested"] is True
    assert w.assessment(ids["li"])["key_talent_suggested"] is False

    chen = w.assessment(ids["chen"])
    assert (chen["too_new_to_rate"], chen["nine_box"], chen["status"]) == (True, None, "excluded")

    missing = w.assess(ids["ma"], (3, 3, 3)).json()
    assert (missing["proposed_rating"], missing["nine_box"]) == (None, None)
    refused = w.act("mgr", w.path(ids["ma"]), "submit")
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "RATING_MISSING"
    assert "Ma has no proposed rating" in refused.text

    locked = w.patch("mgr", w.path(ids["li"]), potential_override=3)
    assert locked.status_code == 422
    assert locked.json()["error"]["details"][0]["code"] == "FIELD_LOCKED"
    he = w.path(ids["he"])
    recalled = w.act("mgr", he, "recall")
    assert recalled.status_code == 200, recalled.text
    cleared = w.patch("mgr", he, potential_override_reason="")
    assert cleared.status_code == 422
    assert cleared.json()["error"]["code"] == "POTENTIAL_OVERRIDE_REASON_REQUIRED"


def test_launch_creates_one_assessment_per_employee_in_scope(w: World) -> None:
    ids = _tr1_people(w)
    w.person("gone", "team", "mgr")
    w.patch(
        "admin",
        f"{CORE}/employee/records/{w.ids['gone']}",
        employment_status="terminated",
        termination_date="2025-06-30",
        termination_reason="voluntary",
    )
    _perf_cycle(w, {ids["zhang"]: "A"})
    refused = w.cycle()  # the performance cycle is in rating: launch works; draft cycles refuse
    path = f"{CYCLE}/{refused['id']}"
    assert w.act("admin", path, "launch").status_code == 200
    rows = w.rows(ASSESS)
    names = {r["employee"] for r in rows}
    expected = {w.ids[n] for n in ("ceo", "hana", "mgr", *ids)}
    assert names == expected  # the leaver is not assessed
    zhang = w.assessment(ids["zhang"])
    assert (zhang["manager"], zhang["department"], zhang["status"]) == (
        w.ids["mgr"],
        w.ids["team"],
        "not_started",
    )
    cycle = w.one(path)
    assert (cycle["status"], cycle["assessment_count"], cycle["excluded_count"]) == (
        "nomination",
        len(expected),
        1,
    )
    early = w.act("admin", path, "start_calibration")
    assert early.status_code == 422
    assert early.json()["error"]["code"] == "ASSESSMENTS_NOT_SUBMITTED"
    forced = w.act("admin", path, "start_calibration", force_reason="board meets early")
    assert forced.status_code == 200 and forced.json()["status"] == "calibration"


def test_launch_needs_the_performance_cycle_in_rating(w: World) -> None:
    perf = w.make(
        f"{CORE}/performance_cycle",
        name="FY2025 Annual",
        year=2025,
        period_start="2025-01-01",
        period_end="2025-12-31",
        rating_cutoff_date="2025-09-30",
    )
    w.ids["perf"] = perf["id"]
    made = w.cycle()
    refused = w.act("admin", f"{CYCLE}/{made['id']}", "launch")
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "PERFORMANCE_CYCLE_NOT_RATING"
    assert "it is draft" in refused.text


def _submit_all(w: World, employees: list[int]) -> None:
    records = []
    for row in w.rows(ASSESS, filter='state = "not_started"'):
        if row["employee"] in employees:
            records.append(
                {
                    "id": row["id"],
                    "version": row["version"],
                    "q_ability": 2,
                    "q_aspiration": 2,
                    "q_engagement": 2,
                    "flight_risk": "low",
                }
            )
    done = w.call("admin", "PATCH", f"{ASSESS}/bulk", json={"records": records})
    assert done.status_code == 200, done.text
    for record in records:
        sent = w.act("admin", f"{ASSESS}/{record['id']}", "submit")
        assert sent.status_code == 200, sent.text


def _by_rating(w: World, employees: list[int], counts: dict[str, int]) -> dict[int, str]:
    ratings: dict[int, str] = {}
    it = iter(employees)
    for rating, n in counts.items():
        for _ in range(n):
            ratings[next(it)] = rating
    return ratings


def test_tr2_the_distribution_guideline_enforced_and_advisory(w: World) -> None:
    big = w.make(f"{CORE}/department", code="BIG", name="Big", parent=w.ids["team"])
    small = w.make(f"{CORE}/department", code="SMALL", name="Small", parent=w.ids["root"])
    w.ids |= {"big": big["id"], "small": small["id"]}
    w.person("li", "root", "ceo")  # the small team's manager (in the root), a participant
    many = w.people("big", "mgr", "2020-01-01", 47, "B")
    newcomer = w.people("big", "mgr", "2025-10-20", 1, "N")
    few = w.people("small", "li", "2021-01-01", 8, "S")
    ratings = _by_rating(w, many, {"S": 7, "A": 12, "B": 22, "C": 5, "D": 1})
    ratings |= _by_rating(w, few, {"S": 3, "A": 2, "B": 3})
    _perf_cycle(w, ratings)
    cycle = _launched(w, enforce_distribution=True, min_population=20)
    _submit_all(w, many + few)
    assert w.one(cycle)["open_count"] == 4  # ceo, hana, mgr and li were not assessed here
    forced = w.act("admin", cycle, "start_calibration", force_reason="leaders later")
    assert forced.status_code == 200, forced.text

    session = w.session("R&D calibration", "big", "ceo", "hana", "mgr")
    started = w.act("hana", session, "activate")
    assert started.status_code == 200, started.text
    got = started.json()
    assert (got["subject_count"], got["rated_count"]) == (48, 47)  # the newcomer is not in N
    assert [got[f"count_{r}"] for r in "sabcd"] == [7, 12, 22, 5, 1]
    assert (got["s_max_allowed"], got["sa_max_allowed"], got["cd_min_required"]) == (5, 14, 5)
    assert (got["guideline_ok"], got["guideline_enforced"]) == (False, True)
    assert w.assessment(newcomer[0])["status"] == "excluded"
    assert w.assessment(many[0])["status"] == "in_calibration"

    refused = w.act("hana", session, "finalize")
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "DISTRIBUTION_GUIDELINE"
    assert "S: 7 > 5 allowed; S+A: 19 > 14 allowed" in error["details"][0]["message"]

    s_people = [e for e, r in ratings.items() if r == "S" and e in many]
    a_people = [e for e, r in ratings.items() if r == "A" and e in many]
    moves = [(e, "A") for e in s_people[:2]] + [(e, "B") for e in a_people[:5]]
    for employee, rating in moves:
        moved = w.patch(
            "hana", w.path(employee), calibrated_rating=rating, change_reason="calibrated"
        )
        assert moved.status_code == 200, moved.text
    unexplained = w.path(a_people[5])
    assert w.patch("hana", unexplained, calibrated_potential=3).status_code == 200
    no_reason = w.act("hana", session, "finalize")
    assert no_reason.status_code == 422, no_reason.text
    assert no_reason.json()["error"]["code"] == "CHANGE_REASON_REQUIRED"
    assert w.patch("hana", unexplained, calibrated_potential="").status_code == 200

    now = w.one(session)
    assert [now[f"count_{r}"] for r in "sabcd"] == [5, 9, 27, 5, 1]
    assert (now["guideline_ok"], now["moved_count"], now["moved_down_count"]) == (True, 7, 7)
    done = w.act("hana", session, "finalize")
    assert done.status_code == 200 and done.json()["status"] == "finalized", done.text
    assert w.assessment(many[0])["status"] == "calibrated"

    approved = w.act("ceo", session, "approve")
    assert approved.status_code == 200, approved.text
    moved_result = w.rows(
        f"{CORE}/performance_result/records", filter=f"employee.id = {s_people[0]}"
    )[0]
    assert (moved_result["calibrated_rating"], moved_result["final_rating"]) == ("A", "A")
    kept = w.rows(f"{CORE}/performance_result/records", filter=f"employee.id = {many[-1]}")[0]
    assert (kept["calibrated_rating"], kept["final_rating"]) == (None, "D")
    assert w.assessment(s_people[0])["status"] == "approved"

    small_session = w.session("Small team", "small", "ceo", "hana", "li")
    assert w.act("admin", small_session, "activate").status_code == 200
    advisory = w.one(small_session)
    assert (advisory["rated_count"], advisory["guideline_enforced"]) == (8, False)
    assert (advisory["s_max_allowed"], advisory["sa_max_allowed"]) == (1, 2)
    assert advisory["cd_min_required"] == 1 and advisory["guideline_ok"] is False
    assert w.act("hana", small_session, "finalize").status_code == 200  # advisory only
    notes = w.call("ceo", "GET", "/api/v1/notifications").json()["data"]
    assert any("outside the advisory guideline: S: 3 > 1 allowed" in n["message"] for n in notes)

    early = w.act("admin", cycle, "finalize")
    assert early.status_code == 422 and early.json()["error"]["code"] == "SESSIONS_NOT_APPROVED"
    assert w.act("ceo", small_session, "approve").status_code == 200
    assert w.act("admin", cycle, "finalize").status_code == 200


def test_activate_takes_in_the_subtree_and_deactivate_gives_it_back(w: World) -> None:
    ids = _tr1_people(w)
    other = w.make(f"{CORE}/department", code="O", name="Other", parent=w.ids["root"])
    w.ids["other"] = other["id"]
    team = [w.ids["mgr"], *(ids[n] for n in ("zhang", "li", "zhou", "xu", "he", "ma"))]
    _perf_cycle(w, dict.fromkeys(team, "B"))
    cycle = _launched(w)
    _submit_all(w, team)
    forced = w.act("admin", cycle, "start_calibration", force_reason="leaders later")
    assert forced.status_code == 200, forced.text
    session = w.session("Team", "team", "ceo", "hana", "mgr")
    not_ready = w.session("Root", "root", "ceo", "hana")
    refused = w.act("hana", not_ready, "activate")  # ceo, hana, mgr are not submitted
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "SUBJECT_NOT_SUBMITTED"
    assert w.assessment(w.ids["ceo"])["session"] is None  # nothing was written

    activated = w.act("hana", session, "activate")
    assert activated.status_code == 200, activated.text
    subjects = w.rows(ASSESS, filter=f"session.id = {session.rsplit('/', 1)[1]}")
    assert sorted(r["employee"] for r in subjects) == sorted([*ids.values(), w.ids["mgr"]])
    assert {r["status"] for r in subjects} == {"in_calibration", "excluded"}
    assert w.assessment(w.ids["hana"])["session"] is None  # outside the subtree

    back = w.act("hana", session, "deactivate")
    assert back.status_code == 200 and back.json()["status"] == "setup"
    assert w.assessment(ids["zhang"])["status"] == "submitted"
    assert w.assessment(ids["zhang"])["session"] is not None  # membership kept


def test_who_sees_and_changes_what(w: World) -> None:
    ids = _tr1_people(w)
    _perf_cycle(w, {ids[n]: r for n, r in (("zhang", "A"), ("li", "B"))})
    cycle = _launched(w)
    zhang = w.path(ids["zhang"])

    # an employee never sees their own assessment; the HRBP's own is hidden from her too
    assert w.rows(ASSESS, "zhang") == []
    assert w.call("zhang", "GET", zhang).status_code == 404
    assert w.call("hana", "GET", w.path(w.ids["hana"])).status_code == 404
    assert all(r["employee"] != w.ids["hana"] for r in w.rows(ASSESS, "hana"))

    # the manager reads and writes direct reports while nominating
    mine = w.rows(ASSESS, "mgr")
    assert sorted(r["employee"] for r in mine) == sorted(ids.values())
    assert w.assess(ids["zhang"], (3, 3, 2)).status_code == 200
    assert "nine_box" in w.one(zhang, "mgr")
    # the skip manager reads the subtree but does not edit; HRBP and comp_admin read
    assert w.one(zhang, "ceo")["nine_box"] == 9
    assert w.call("ceo", "PATCH", zhang, json={"q_ability": 1}).status_code == 403
    assert w.one(zhang, "hana")["q_ability"] == 3
    assert w.one(zhang, "comp")["nine_box"] == 9
    assert w.call("comp", "PATCH", zhang, json={"q_ability": 1}).status_code == 403

    assert w.act("mgr", zhang, "submit").status_code == 200
    assert w.patch("mgr", zhang, q_ability=1).status_code == 422  # submitted: locked
    returned = w.act("ceo", zhang, "return", return_reason="explain the aspiration")
    assert returned.status_code == 200 and returned.json()["status"] == "draft", returned.text
    notes = w.call("mgr", "GET", "/api/v1/notifications").json()["data"]
    assert any("was returned to you" in n["message"] for n in notes)
    assert w.act("mgr", zhang, "submit").status_code == 200

    # calibration: the manager no longer reads them, session members do
    w.assess(ids["li"], (2, 2, 1))
    assert w.act("mgr", w.path(ids["li"]), "submit").status_code == 200
    others = [w.ids["mgr"], *(ids[n] for n in ("ma", "he", "zhou", "xu"))]
    w.rate(dict.fromkeys(others, "B"))
    for employee in others:
        w.assess(employee, (2, 2, 2), user="admin")
        assert w.act("admin", w.path(employee), "submit").status_code == 200
    assert w.act("admin", cycle, "start_calibration", force_reason="x").status_code == 200
    assert w.rows(ASSESS, "mgr") == []
    session = w.session("Team", "team", "ceo", "hana", "mgr")
    assert w.act("mgr", session, "activate").status_code == 403  # a participant
    activated = w.act("hana", session, "activate")
    assert activated.status_code == 200, activated.text
    seen = w.one(zhang, "mgr")  # a participant reads subjects, with their 9-box
    assert seen["nine_box"] == 9
    refused = w.call("mgr", "PATCH", zhang, json={"calibrated_rating": "B", "version": 1})
    assert refused.status_code == 403
    assert w.patch("hana", zhang, calibrated_rating="A").status_code == 200
    assert w.call("zhang", "GET", zhang).status_code == 404


def _three_in_boxes(w: World) -> dict[str, int]:
    """Rated people with the manager's answers for three: zhang box 9, li 2, zhou 7."""
    ids = _tr1_people(w)
    rated = {"zhang": "A", "li": "B", "zhou": "C", "xu": "D", "he": "B", "ma": None}
    _perf_cycle(w, {ids[n]: r for n, r in rated.items()})
    _launched(w)
    for name, q in {"zhang": (3, 3, 2), "li": (2, 2, 1), "zhou": (3, 2, 3)}.items():
        assert w.assess(ids[name], q).status_code == 200
    return ids


def test_the_talent_dashboard_places_people_on_the_grid(w: World) -> None:
    _three_in_boxes(w)
    url = "/api/v1/apps/talent_review/dashboards/talent_overview"
    found = w.call("admin", "GET", url)
    assert found.status_code == 200, found.text
    widgets = {x["name"]: x for x in found.json()["widgets"]}
    assert all("error" not in x for x in widgets.values()), widgets
    cells = {(c["row"], c["column"]): c["value"] for c in widgets["nine_box"]["data"]["cells"]}
    assert cells == {(3, 3): 1, (1, 2): 1, (3, 1): 1}  # zhang 9, li 2, zhou 7
    boxes = {g["key"]: g["value"] for g in widgets["boxes"]["data"]["groups"]}
    assert (boxes["star"], boxes["enigma"], boxes["effective_performer"]) == (1, 1, 1)
    # an employee never sees talent data, not even their own box
    mine = {x["name"]: x for x in w.call("zhang", "GET", url).json()["widgets"]}
    assert "error" in mine["nine_box"] or mine["nine_box"]["data"]["cells"] == []
    manager = {x["name"]: x for x in w.call("mgr", "GET", url).json()["widgets"]}
    assert sum(c["value"] for c in manager["nine_box"]["data"]["cells"]) == 3  # their reports


def test_the_nine_box_view_labels_every_box_and_drills_into_it(w: World) -> None:
    ids = _three_in_boxes(w)
    page = "/apps/talent_review/talent_assessment"
    twin = w.call("admin", "GET", page, params={"view": "nine_box", "format": "json"})
    assert twin.status_code == 200, twin.text
    data = twin.json()["data"]
    # every level is an axis label, with or without people in it
    assert [r["label"] for r in data["rows"]] == [
        "Low potential",
        "Medium potential",
        "High potential",
    ]
    assert [c["key"] for c in data["columns"]] == ["low", "medium", "high"]
    cells = {(c["row"], c["column"]): c["value"] for c in data["cells"]}
    assert cells == {("high", "high"): 1, ("low", "medium"): 1, ("high", "low"): 1}
    html = w.call("admin", "GET", page, params={"view": "nine_box"}).text
    assert "High potential" in html and "Low performance" in html
    link = next(
        unescape(h)
        for h in re.findall(r'href="(/apps/talent_review/talent_assessment\?[^"]+)"', html)
        if "high" in unescape(h) and "low" in unescape(h)
    )
    drilled = w.call("admin", "GET", link + "&format=json").json()
    assert [r["employee"]["id"] for r in drilled["data"]] == [ids["zhou"]]
    # the manager's matrix counts their reports only; an employee has no talent data
    mine = w.call("mgr", "GET", page, params={"view": "nine_box", "format": "json"}).json()
    assert sum(c["value"] for c in mine["data"]["cells"]) == 3
    theirs = w.call("zhang", "GET", page, params={"view": "nine_box", "format": "json"}).json()
    assert theirs["data"]["cells"] == []
    # the progress board puts every assessment in its state's lane
    board = w.call("admin", "GET", page, params={"view": "progress", "format": "json"}).json()
    totals = {lane["value"]: lane["total"] for lane in board["lanes"]}
    states = [r["state"] for r in w.rows(ASSESS)]
    assert {s: totals[s] for s in set(states)} == {s: states.count(s) for s in set(states)}
