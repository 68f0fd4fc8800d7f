"""The permission matrix: roles × read paths, on SQLite and PostgreSQL.

The fixture (tests/staff.py, tests/packages/staff) is a small core-HR-like app declared
as data. For every role the test knows exactly which employees it may see and, per row,
whether the salary (``compensation``) and birth date (``personal``) are visible; every
read path must agree with that table.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.engine import Engine

from runtime.clock import Clock
from runtime.errors import Forbidden, NotFound
from runtime.services.analysis import Analysis
from runtime.services.export import export_csv, export_table
from runtime.services.reading import Reader
from runtime.storage import audit
from runtime.storage.engine import make_engine
from runtime.storage.migrate import upgrade_system_tables
from tests.conftest import pg_schema
from tests.staff import EMPLOYEES, Staff, definition, seed

ALL = {e[0] for e in EMPLOYEES}
# role (user) -> the employees it reads, the rows whose salary and birth date it reads
EXPECTED: dict[str, tuple[set[str], set[str], set[str]]] = {
    "ann": ({"E4"}, {"E4"}, {"E4"}),  # employee: own record, own salary
    "mia": ({"E2", "E4", "E5", "E8"}, {"E2"}, {"E2"}),  # manager: direct reports
    "sam": ({"E1", "E2", "E3", "E4", "E5", "E6", "E8"}, {"E1"}, {"E1"}),  # skip: subtree
    "hank": ({"E1", "E2", "E4", "E5", "E7", "E8"}, {"E1", "E2", "E4", "E5", "E7", "E8"}, {"E7"}),
    "hera": (ALL, set(), ALL),  # hr_admin: all rows, no compensation
    "cole": (ALL, ALL, set()),  # comp_admin: all rows and salaries, no personal data
    "sid": (set(), set(), set()),  # system_admin: no HR data
}
EXPORTS: dict[str, set[str]] = {  # the HRBP rule exports; the own-record rule does not
    "ann": set(),
    "mia": set(),
    "sam": set(),
    "hank": {"E1", "E2", "E4", "E5", "E8"},
    "hera": ALL,
    "cole": ALL,
    "sid": set(),
}
ROLES = sorted(EXPECTED)
SALARY = {e[0]: Decimal(e[5]) for e in EMPLOYEES}


class World:
    def __init__(self, engine: Engine, clock: Clock) -> None:
        import json

        from runtime.metadata.package import read_package_bytes
        from runtime.services.apps import AppService

        service = AppService(engine, clock)
        package = read_package_bytes(json.dumps(definition()).encode(), "staff.json")
        service.install(package, actor="tester")
        self.app = service.get("staff")
        self.engine = engine
        self.staff: Staff = seed(engine, self.app)
        self.reader = Reader({"staff": self.app}, clock)
        self.analysis = Analysis(self.reader)
        with engine.begin() as conn:  # two changes to Ann's record, for history
            audit.write(
                conn,
                at=datetime(2025, 5, 1, 10, 0),
                actor_id=self.staff.users["hera"],
                actor_name="hera",
                qualified="staff.employee",
                record_id=self.staff.employees["E4"],
                operation="update",
                changes={
                    "job_title": ("Engineer", "Senior engineer"),
                    "base_salary": (Decimal("28000.00"), Decimal("30000.00")),
                },
            )

    def numbers(self, rows: list[dict[str, Any]]) -> set[str]:
        return {r["employee_no"] for r in rows}


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def world(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[World]:
    clock = Clock()
    clock.set(datetime(2025, 6, 10, 9, 0))
    if request.param == "sqlite":
        engine = make_engine(f"sqlite:///{Path(tmp_path_factory.mktemp('perm')) / 'p.db'}")
        upgrade_system_tables(engine)
        yield World(engine, clock)
        engine.dispose()
        return
    with pg_schema("perm") as url:
        engine = make_engine(url)
        try:
            upgrade_system_tables(engine)
            yield World(engine, clock)
        finally:
            engine.dispose()


@pytest.mark.parametrize("user", ROLES)
def test_list_shows_exact_rows_and_columns(world: World, user: str) -> None:
    rows_seen, salary_seen, birth_seen = EXPECTED[user]
    with world.engine.connect() as conn:
        page = world.reader.list_records(conn, world.staff.actor(user), "staff.employee")
    assert world.numbers(page.data) == rows_seen
    assert {r["employee_no"] for r in page.data if "base_salary" in r} == salary_seen
    assert {r["employee_no"] for r in page.data if "birth_date" in r} == birth_seen
    for row in page.data:  # hidden means absent, never null
        assert row.get("base_salary", "absent") is not None


@pytest.mark.parametrize("sort", [None, "-name", "base_salary,-employee_no", "-hire_date"])
@pytest.mark.parametrize("user", ["sam", "hank", "mia", "hera"])
def test_pages_of_two_add_up_to_the_whole_list(world: World, user: str, sort: str) -> None:
    """Each rule's lookup keeps only its own first rows of a page (guard.where): walking
    the pages with a cursor must still give every visible row once, in order."""
    actor = world.staff.actor(user)
    if sort and "base_salary" in sort and not EXPECTED[user][1]:
        pytest.skip("the salary is not readable for this user")
    with world.engine.connect() as conn:
        whole = world.reader.list_records(conn, actor, "staff.employee", sort=sort).data
        walked: list[dict[str, Any]] = []
        cursor = None
        for _ in range(len(ALL)):
            page = world.reader.list_records(
                conn, actor, "staff.employee", sort=sort, limit=2, cursor=cursor
            )
            walked += page.data
            cursor = page.next_cursor
            if cursor is None:
                break
    assert [r["id"] for r in walked] == [r["id"] for r in whole]
    assert world.numbers(whole) == EXPECTED[user][0]


@pytest.mark.parametrize("user", ROLES)
def test_get_is_404_outside_the_scope(world: World, user: str) -> None:
    rows_seen, salary_seen, _ = EXPECTED[user]
    actor = world.staff.actor(user)
    with world.engine.connect() as conn:
        for no, record_id in world.staff.employees.items():
            if no in rows_seen:
                record = world.reader.get_record(conn, actor, "staff.employee", record_id)
                assert record["employee_no"] == no
                assert ("base_salary" in record) == (no in salary_seen)
            else:
                with pytest.raises(NotFound):
                    world.reader.get_record(conn, actor, "staff.employee", record_id)
        with pytest.raises(NotFound):
            world.reader.get_record(conn, actor, "staff.employee", 10_000)


@pytest.mark.parametrize("user", ROLES)
def test_filter_on_a_hidden_field_is_refused_or_sees_only_visible_values(
    world: World, user: str
) -> None:
    _, salary_seen, _ = EXPECTED[user]
    actor = world.staff.actor(user)
    with world.engine.connect() as conn:
        page = world.reader.list_records(conn, actor, "staff.employee", filter="base_salary > 0")
        assert world.numbers(page.data) == salary_seen
        # through a reference: the manager's salary is blank unless the caller reads it
        rich = world.reader.list_records(
            conn, actor, "staff.employee", filter="manager.base_salary >= 44000"
        )
        expected = {
            e[0]
            for e in EMPLOYEES
            if e[4] and e[0] in EXPECTED[user][0] and e[4] in salary_seen and SALARY[e[4]] >= 44000
        }
        assert world.numbers(rich.data) == expected
        # a field no rule of the caller ever reveals: filtering or sorting is refused
        if user == "hera":
            assert world.reader.list_records(conn, actor, "staff.department", sort="-budget").data
            return
        for query in ({"filter": "budget > 0"}, {"sort": "-budget"}):
            with pytest.raises(Forbidden) as info:
                world.reader.list_records(conn, actor, "staff.department", **query)
            assert info.value.code == "FIELD_NOT_READABLE"
            assert "budget" in info.value.details[0].message
        with pytest.raises(Forbidden):
            world.reader.list_records(conn, actor, "staff.employee", filter="department.budget > 0")


@pytest.mark.parametrize("user", ROLES)
def test_export_uses_export_rules(world: World, user: str) -> None:
    actor = world.staff.actor(user)
    expected = EXPORTS[user]
    with world.engine.connect() as conn:
        table = export_table(world.reader, conn, actor, "staff.employee", sort="employee_no")
        text = export_csv(table)
        if user != "hera":  # only hr_admin may export reviews
            with pytest.raises(Forbidden):
                export_table(world.reader, conn, actor, "staff.review")
    lines = text.lstrip("\ufeff").splitlines()
    header = lines[0].split(",")
    numbers = [line.split(",")[header.index("employee_no")] for line in lines[1:]]
    assert set(numbers) == expected and numbers == sorted(numbers)
    if expected:
        assert ("base_salary" in header) == (user in ("hank", "cole"))
        assert ("birth_date" in header) == (user == "hera")


@pytest.mark.parametrize("user", ROLES)
def test_aggregates_count_only_visible_rows_and_values(world: World, user: str) -> None:
    rows_seen, salary_seen, _ = EXPECTED[user]
    actor = world.staff.actor(user)
    with world.engine.connect() as conn:
        counted = world.analysis.aggregate(conn, actor, "staff.employee")
        assert counted == [{"count": len(rows_seen)}]
        if user != "hera":  # a value no rule reveals cannot be summed or grouped by
            for option in ({"measures": [("sum", "budget")]}, {"group_by": ["budget"]}):
                with pytest.raises(Forbidden):
                    world.analysis.aggregate(conn, actor, "staff.department", **option)
        summed = world.analysis.aggregate(
            conn, actor, "staff.employee", measures=[("sum", "base_salary")]
        )
    total = sum((SALARY[n] for n in salary_seen), Decimal(0))
    got = summed[0]["sum_base_salary"]
    assert (Decimal(got) if got is not None else Decimal(0)) == total


@pytest.mark.parametrize("user", ROLES)
def test_history_masks_what_the_reader_cannot_see(world: World, user: str) -> None:
    rows_seen, salary_seen, _ = EXPECTED[user]
    actor = world.staff.actor(user)
    ann = world.staff.employees["E4"]
    with world.engine.connect() as conn:
        if "E4" not in rows_seen:
            with pytest.raises(NotFound):
                world.analysis.history(conn, actor, "staff.employee", ann)
            return
        entries = world.analysis.history(conn, actor, "staff.employee", ann)
    (entry,) = entries
    assert entry["actor"] == "hera" and entry["operation"] == "update"
    assert entry["changes"]["job_title"] == {"before": "Engineer", "after": "Senior engineer"}
    if "E4" in salary_seen:
        assert entry["changes"]["base_salary"] == {"before": "28000.00", "after": "30000.00"}
    else:
        assert entry["changes"]["base_salary"] == {"masked": True}
