"""``tenon demo`` (§11.1): the Acme Tech dataset made through the record service, checked
for its shape — departments, people, ratings, bonus pools, probation cases, talent
review sessions and the 9-box, improvement plans — then a printed login signs in and a
second run is refused. The generator runs once for the module (it takes a while); SQLite
only (on PostgreSQL it takes minutes on a busy machine). ``-m "not slow"`` leaves it
out."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from runtime.cli import main
from runtime.config import Settings
from tests.auth_support import make_client

pytestmark = pytest.mark.slow


class Made:
    def __init__(self, url: str, printed: str) -> None:
        self.url = url
        self.printed = printed
        self.engine = sa.create_engine(url)

    def rows(self, sql: str) -> list[Any]:
        with self.engine.connect() as conn:
            return list(conn.exec_driver_sql(sql))


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Made]:
    path: Path = tmp_path_factory.mktemp("demo") / "demo.db"
    url = f"sqlite:///{path}"
    out = io.StringIO()
    code = main(["demo", "--verbose"], out=out, settings=Settings(database_url=url))
    assert code == 0, out.getvalue()
    found = Made(url, out.getvalue())
    yield found
    found.engine.dispose()


def test_departments_in_three_levels(made: Made) -> None:
    levels = dict(made.rows("SELECT level, COUNT(*) FROM app_core_hr__department GROUP BY level"))
    assert levels == {1: 1, 2: 6, 3: 33}
    (inherits,) = made.rows(
        "SELECT COUNT(*) FROM app_core_hr__department "
        "WHERE hrbp IS NULL AND effective_hrbp IS NOT NULL"
    )
    assert inherits[0] == 1  # one department without its own HRBP
    hrbps = made.rows("SELECT COUNT(DISTINCT effective_hrbp) FROM app_core_hr__department")
    assert hrbps[0][0] == 8
    assert made.rows("SELECT COUNT(*) FROM app_core_hr__department WHERE head IS NULL")[0][0] == 0


def test_two_thousand_employees_split_by_business_unit(made: Made) -> None:
    rows = made.rows(
        "SELECT d.path, e.employment_status, e.user FROM app_core_hr__employee e "
        "JOIN app_core_hr__department d ON d.id = e.department"
    )
    assert len(rows) == 2000
    units = Counter(path.split("/")[2] if path.count("/") > 2 else "ROOT" for path, _, _ in rows)
    assert units == {
        "BU-RD": 760,
        "BU-SALES": 420,
        "BU-OPS": 360,
        "BU-PROD": 200,
        "BU-FIN": 110,
        "BU-HR": 149,
        "ROOT": 1,
    }
    statuses = Counter(status for _, status, _ in rows)
    assert statuses["terminated"] == 200 and statuses["probation"] > 0
    cases = made.rows("SELECT COUNT(*) FROM app_probation__probation_case")
    assert 250 <= cases[0][0] <= 320  # the hires of the last six months on probation
    assert all(user is not None for _, _, user in rows)  # everyone has a login
    managers = made.rows("SELECT COUNT(*) FROM app_core_hr__employee WHERE manager IS NULL")
    assert managers[0][0] == 1  # the CEO


FY2025 = "(SELECT id FROM app_core_hr__performance_cycle WHERE year = 2025)"
PLAN_2025 = "(SELECT id FROM app_year_end_bonus__bonus_plan WHERE year = 2025)"


def test_ratings_follow_the_distribution(made: Made) -> None:
    rows = made.rows(
        "SELECT final_rating, rating_status, hr_override_rating "
        f"FROM app_core_hr__performance_result WHERE cycle = {FY2025}"
    )
    status = Counter(r[1] for r in rows)
    assert status["missing"] == 10
    rated = Counter(r[0] for r in rows if r[0])
    total = sum(rated.values())
    for grade, share in {"S": 8, "A": 22, "B": 55, "C": 12, "D": 3}.items():
        assert abs(100 * rated[grade] / total - share) < 1.5, (grade, rated)
    assert sum(1 for r in rows if r[2]) == 3
    (cycle,) = made.rows("SELECT state FROM app_core_hr__performance_cycle WHERE year = 2025")
    assert cycle[0] == "finalized"


def test_bonus_pools_in_mixed_states(made: Made) -> None:
    lines = Counter(
        r[0]
        for r in made.rows(
            f"SELECT eligibility FROM app_year_end_bonus__bonus_line WHERE plan = {PLAN_2025}"
        )
    )
    assert lines["blocked"] == 10 and lines["ineligible"] > 0
    pools = made.rows(
        "SELECT state, budget, scale_factor, blocked_count, budget_mode, line_count "
        f"FROM app_year_end_bonus__bonus_pool WHERE plan = {PLAN_2025}"
    )
    states = Counter(p[0] for p in pools)
    assert {"open", "submitted", "hrbp_approved", "approved"} <= set(states)
    assert sum(1 for p in pools if p[2] is not None and float(p[2]) < 1) >= 3
    assert any(float(p[1]) == 0 for p in pools)  # a zero budget
    assert sum(1 for p in pools if p[4] == "manual") == 5
    assert all(p[0] == "open" for p in pools if p[3])  # blocked lines keep a pool open
    only_d = made.rows(
        "SELECT p.id FROM app_year_end_bonus__bonus_pool p JOIN app_year_end_bonus__bonus_line l "
        f"ON l.pool = p.id WHERE p.plan = {PLAN_2025} "
        "GROUP BY p.id HAVING COUNT(*) = 1 AND MAX(l.rating) = 'D'"
    )
    assert len(only_d) == 1
    (plan,) = made.rows("SELECT state FROM app_year_end_bonus__bonus_plan WHERE year = 2025")
    assert plan[0] == "open"


def test_probation_cases_in_every_state(made: Made) -> None:
    cases = Counter(
        (r[0], r[1]) for r in made.rows("SELECT state, decision FROM app_probation__probation_case")
    )
    assert cases[("confirmed", "auto_confirmed")] == 3
    assert cases[("terminated", "terminated")] == 7
    assert cases[("pending_approval", None)] == 15
    assert cases[("active", "extended")] + cases[("review_open", "extended")] == 8
    assert cases[("active", None)] > 0 and cases[("review_open", None)] > 0
    offboarding = made.rows(
        "SELECT category, state FROM app_core_hr__offboarding_case "
        "WHERE category = 'probation_failure'"
    )
    assert Counter(offboarding) == {("probation_failure", "open"): 7}


def test_talent_review_sessions_in_mixed_states(made: Made) -> None:
    (cycle,) = made.rows("SELECT state FROM app_talent_review__talent_review_cycle")
    assert cycle[0] == "calibration"
    sessions = {
        r[0]: r[1:]
        for r in made.rows(
            "SELECT name, state, subject_count, rated_count, guideline_enforced, guideline_ok "
            "FROM app_talent_review__calibration_session"
        )
    }
    assert len(sessions) == 8  # one per business unit, the executive one, the one waiting
    assert 650 <= sessions["R&D calibration"][1] <= 760
    assert 120 <= sessions["HR & Admin calibration"][1] <= 150
    small = sessions["Executive team calibration"]
    assert small[0] == "approved" and small[2] < 20
    assert (small[3], small[4]) == (0, 0)  # outside the guideline, advisory only
    held = [s for s in sessions.values() if s[0] != "setup"]
    assert all(s[3] == 1 and s[4] == 1 for s in held if s[2] >= 20)  # enforced and met
    assert {s[0] for s in sessions.values()} == {"approved", "finalized", "in_progress", "setup"}
    waiting = sessions["Ratings missing in core HR"]
    assert (waiting[0], waiting[1], waiting[2]) == ("setup", 10, 0)
    notes = made.rows(
        "SELECT COUNT(*) FROM tenon_notifications WHERE message LIKE '%advisory guideline%'"
    )
    assert notes[0][0] == 1


def test_talent_review_boxes_key_talent_and_write_back(made: Made) -> None:
    rows = made.rows(
        "SELECT nine_box, key_talent, flight_risk, state, calibrated_rating "
        "FROM app_talent_review__talent_assessment"
    )
    boxes = Counter(r[0] for r in rows if r[0] is not None)
    assert set(boxes) == set(range(1, 10)) and min(boxes.values()) >= 20
    assessed = [r for r in rows if r[2] is not None]
    assert abs(100 * sum(1 for r in assessed if r[1]) / len(assessed) - 12) < 1.5
    assert abs(100 * sum(1 for r in assessed if r[2] == "high") / len(assessed) - 15) < 2.5
    states = Counter(r[3] for r in rows)
    assert states["excluded"] > 50 and states["not_started"] == 10  # too new; no rating
    assert {"approved", "calibrated", "in_calibration", "submitted"} <= set(states)
    written = sum(1 for r in rows if r[3] == "approved" and r[4] is not None)
    results = made.rows(
        "SELECT COUNT(*) FROM app_core_hr__performance_result WHERE calibrated_rating IS NOT NULL"
    )
    assert written > 0 and results[0][0] == written  # calibration wrote the ratings back
    successors = made.rows(
        "SELECT COUNT(*), COUNT(DISTINCT successor_for) FROM app_talent_review__talent_assessment "
        "WHERE successor_for IS NOT NULL"
    )
    assert successors[0][0] > 20 and successors[0][1] > 10  # named for key positions


def test_pip_plans_in_every_state(made: Made) -> None:
    plans = Counter(
        (r[0], r[1]) for r in made.rows("SELECT state, decision FROM app_pip__pip_plan")
    )
    states: Counter[str] = Counter()
    for (state, _), n in plans.items():
        states[state] += n
    assert sum(states.values()) == 45
    assert states["active"] + states["on_hold"] == 20 and states["on_hold"] == 2
    assert states["final_review"] + states["decision_pending"] == 5
    assert plans[("closed_successful", "successful")] == 12
    assert plans[("closed_unsuccessful", "unsuccessful_terminate")] == 4
    assert plans[("closed_unsuccessful", "unsuccessful_reassign")] == 2
    assert plans[("withdrawn", "withdrawn")] == 2
    offboarding = made.rows(
        "SELECT o.state, o.source FROM app_core_hr__offboarding_case o "
        "WHERE o.category = 'involuntary_performance'"
    )
    assert len(offboarding) == 4 and all(r[0] == "open" for r in offboarding)
    assert all(r[1].startswith("pip:PIP-") for r in offboarding)
    on_pip = made.rows("SELECT COUNT(*) FROM app_core_hr__employee WHERE on_pip")
    assert on_pip[0][0] == 25  # every plan under way
    checkins = Counter(r[0] for r in made.rows("SELECT status FROM app_pip__pip_checkin"))
    assert checkins["held"] > 100 and checkins["missed"] > 0 and checkins["scheduled"] > 0
    extended = made.rows("SELECT COUNT(*) FROM app_pip__pip_plan WHERE extension_count = 1")
    assert extended[0][0] == 2


def test_a_printed_login_signs_in(made: Made) -> None:
    found = re.search(r"^([a-z]+\.[a-z]+\.\d{4})\s+core_hr\.hr_admin", made.printed, re.M)
    assert found, made.printed
    assert "password 'demo'" in made.printed and "core_hr: levels" in made.printed  # --verbose
    with make_client(made.url) as client:
        ok = client.post("/api/v1/auth/token", json={"username": found[1], "password": "demo"})
        assert ok.status_code == 201, ok.text
        token = ok.json()["token"]
        people = client.get(
            "/api/v1/apps/core_hr/objects/employee/records",
            params={"limit": 5},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert people.status_code == 200 and len(people.json()["data"]) == 5
        wrong = client.post("/api/v1/auth/token", json={"username": found[1], "password": "nope"})
        assert wrong.status_code == 401


def test_running_twice_is_refused(made: Made) -> None:
    out = io.StringIO()
    code = main(["demo"], out=out, settings=Settings(database_url=made.url))
    assert code == 1
    assert "already there" in out.getvalue()
    assert made.rows("SELECT COUNT(*) FROM app_core_hr__employee")[0][0] == 2000
