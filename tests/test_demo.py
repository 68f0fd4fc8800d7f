"""``tenon demo`` (§11.1): the Acme Tech dataset made through the record service, checked
for its shape — departments, people, ratings, bonus pools, probation cases — then a
printed login signs in and a second run is refused. The generator runs once for the
module (it takes a while); SQLite only (on PostgreSQL it takes minutes on a busy
machine). ``-m "not slow"`` leaves it out."""

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


def test_ratings_follow_the_distribution(made: Made) -> None:
    rows = made.rows(
        "SELECT final_rating, rating_status, hr_override_rating "
        "FROM app_core_hr__performance_result"
    )
    status = Counter(r[1] for r in rows)
    assert status["missing"] == 10
    rated = Counter(r[0] for r in rows if r[0])
    total = sum(rated.values())
    for grade, share in {"S": 8, "A": 22, "B": 55, "C": 12, "D": 3}.items():
        assert abs(100 * rated[grade] / total - share) < 1.5, (grade, rated)
    assert sum(1 for r in rows if r[2]) == 3
    (cycle,) = made.rows("SELECT state FROM app_core_hr__performance_cycle")
    assert cycle[0] == "finalized"


def test_bonus_pools_in_mixed_states(made: Made) -> None:
    lines = Counter(
        r[0] for r in made.rows("SELECT eligibility FROM app_year_end_bonus__bonus_line")
    )
    assert lines["blocked"] == 10 and lines["ineligible"] > 0
    pools = made.rows(
        "SELECT state, budget, scale_factor, blocked_count, budget_mode, line_count "
        "FROM app_year_end_bonus__bonus_pool"
    )
    states = Counter(p[0] for p in pools)
    assert {"open", "submitted", "hrbp_approved", "approved"} <= set(states)
    assert sum(1 for p in pools if p[2] is not None and float(p[2]) < 1) >= 3
    assert any(float(p[1]) == 0 for p in pools)  # a zero budget
    assert sum(1 for p in pools if p[4] == "manual") == 5
    assert all(p[0] == "open" for p in pools if p[3])  # blocked lines keep a pool open
    only_d = made.rows(
        "SELECT p.id FROM app_year_end_bonus__bonus_pool p JOIN app_year_end_bonus__bonus_line l "
        "ON l.pool = p.id GROUP BY p.id HAVING COUNT(*) = 1 AND MAX(l.rating) = 'D'"
    )
    assert len(only_d) == 1
    (plan,) = made.rows("SELECT state FROM app_year_end_bonus__bonus_plan")
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
    offboarding = made.rows("SELECT category, state FROM app_core_hr__offboarding_case")
    assert Counter(offboarding) == {("probation_failure", "open"): 7}


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
