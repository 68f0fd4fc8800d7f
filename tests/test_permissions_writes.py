"""Write checks, explain, time-gated scopes and the scope compiler, on the staff fixture."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.clock import Clock
from runtime.errors import Forbidden, NotFound
from runtime.security.actor import Actor
from runtime.services.analysis import Analysis
from runtime.services.permits import Permits
from tests.test_permissions_matrix import World


@pytest.fixture
def world(engine: Engine, clock: Clock) -> Iterator[World]:
    yield World(engine, clock)


def _permits(world: World) -> Permits:
    return Permits(world.reader)


def test_writes_follow_the_rules_and_name_refused_fields(world: World) -> None:
    permits, staff = _permits(world), world.staff
    ann, ben = staff.employees["E4"], staff.employees["E5"]
    with world.engine.connect() as conn:
        mia = staff.actor("mia")  # manager of Ann and Ben: may change their job title
        assert permits.check(conn, mia, "staff.employee", "update", ann, ["job_title"]) == {
            "job_title"
        }
        with pytest.raises(Forbidden) as info:
            permits.check(conn, mia, "staff.employee", "update", ann, ["job_title", "base_salary"])
        assert info.value.code == "FIELD_NOT_WRITABLE"
        assert [d.path for d in info.value.details] == ["/base_salary"]
        # her own record is readable but not hers to update: 403; Cora's is invisible: 404
        with pytest.raises(Forbidden):
            permits.check(conn, mia, "staff.employee", "update", staff.employees["E2"])
        with pytest.raises(NotFound):
            permits.check(conn, mia, "staff.employee", "update", staff.employees["E0"])
        # comp_admin writes salaries only; hr_admin everything but salaries
        cole, hera = staff.actor("cole"), staff.actor("hera")
        assert permits.check(conn, cole, "staff.employee", "update", ben, ["base_salary"])
        with pytest.raises(Forbidden):
            permits.check(conn, cole, "staff.employee", "update", ben, ["name"])
        allowed = permits.check(conn, hera, "staff.employee", "update", ben, ["name"])
        assert "birth_date" in allowed and "base_salary" not in allowed
        assert "manager_path" not in allowed  # computed: nobody writes it
        # a read-only token writes nothing, whatever the roles
        token = Actor(hera.user_id, "hera", hera.roles, read_only=True)
        with pytest.raises(Forbidden):
            permits.check(conn, token, "staff.employee", "update", ben, ["name"])
        # the system administrator sees no HR data: employees are "not found"
        with pytest.raises(NotFound):
            permits.check(conn, staff.actor("sid"), "staff.employee", "update", ben, ["name"])


def test_explain_names_the_rules_that_matched(world: World) -> None:
    permits, staff = _permits(world), world.staff
    with world.engine.connect() as conn:
        report = permits.explain(conn, staff.actor("hank"), "staff.employee", staff.employees["E4"])
        assert report["allowed"] is True
        applied = [r["rule"] for r in report["rules"] if r["applies"]]
        assert applied == ["staff:/permissions/6"]  # the HRBP rule, not the others
        assert "base_salary" in report["readable_fields"]
        by_rule = {r["rule"]: r for r in report["rules"]}
        hrbp = by_rule["staff:/permissions/6"]
        assert hrbp["scope"] == "department.effective_hrbp.user = @me"
        own = by_rule["staff:/permissions/3"]
        assert own["role_held"] is True and own["scope_matches"] is False
        admin_rule = next(r for r in report["rules"] if r["role"] == "staff.hr_admin")
        assert admin_rule["role_held"] is False and admin_rule["scope_matches"] is None
        denied = permits.explain(conn, staff.actor("sid"), "staff.employee", staff.employees["E4"])
        assert denied["allowed"] is False and denied["readable_fields"] == []
        update = permits.explain(
            conn, staff.actor("mia"), "staff.employee", staff.employees["E4"], "update"
        )
        assert update["allowed"] and update["writable_fields"] == ["job_title"]


def test_time_gated_scope_follows_the_clock(world: World, clock: Clock) -> None:
    """Ben's review is published on 2025-12-01: invisible to him before, visible after."""
    staff = world.staff
    ben = staff.actor("ben")
    review = staff.reviews["E5"]
    with world.engine.connect() as conn, pytest.raises(NotFound):
        world.reader.get_record(conn, ben, "staff.review", review)
    clock.set(datetime(2025, 12, 1, 8, 0))
    with world.engine.connect() as conn:
        record = world.reader.get_record(conn, ben, "staff.review", review)
    assert record["rating"] == "C"
    assert "potential" not in record  # talent fields he is not given stay hidden


def test_user_without_an_employee_record_matches_no_me_scope(world: World) -> None:
    """STARTS_WITH(path, @me.employee.path & ...) would match everyone for a user without
    an employee record (blank & "/" is "/"); such a rule does not apply to them."""
    staff = world.staff
    with world.engine.connect() as conn:
        page = world.reader.list_records(conn, staff.actor("sid"), "staff.employee")
    assert page.data == []


def test_scopes_use_indexes_not_scans(world: World) -> None:
    """The manager's list is answered from the foreign-key and unique indexes."""
    staff = world.staff
    reader = world.reader
    with world.engine.connect() as conn:
        guard = reader.guard(conn, staff.actor("mia"))
        access = guard.access("staff.employee")
        table = reader.table("staff.employee")
        query = sa.select(table.c.id).where(guard.where(access, table)).order_by(table.c.id)
        if conn.dialect.name != "sqlite":
            pytest.skip("plans on PostgreSQL depend on statistics; see bench/run.py scope")
        sql = str(query.compile(conn, compile_kwargs={"literal_binds": True}))
        plan = " | ".join(r[3] for r in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql))
    assert f"SCAN {table.name}" not in plan.replace(f"SCAN {table.name} USING", "")
    assert "manager" in plan and "manager_path" in plan


def test_filter_cannot_probe_hidden_values_through_related_rows(world: World) -> None:
    """Counting a department's employees by salary only counts salaries the caller reads."""
    staff = world.staff
    with world.engine.connect() as conn:
        # Mia reads no salary but her own (45,000); the rich employees of ENG are hidden
        rows = world.reader.list_records(
            conn,
            staff.actor("mia"),
            "staff.department",
            filter="COUNT(employees, base_salary > 40000) > 0",
        )
        assert {r["code"] for r in rows.data} == {"ENG"}  # her own record only
        counted = Analysis(world.reader).aggregate(
            conn, staff.actor("mia"), "staff.employee", group_by=["department"]
        )
    assert sum(r["count"] for r in counted) == 4


def test_preview_evaluates_as_the_caller_sees(world: World) -> None:
    staff = world.staff
    analysis = Analysis(world.reader)
    with world.engine.connect() as conn:
        ann = staff.employees["E4"]
        doubled = analysis.preview(
            conn, staff.actor("cole"), "staff.employee", ann, "base_salary * 2"
        )
        assert Decimal(doubled) == Decimal("60000")
        # hr_admin reads no salary here: the value is blank, not revealed
        assert (
            analysis.preview(conn, staff.actor("hera"), "staff.employee", ann, "base_salary * 2")
            is None
        )
        eng = staff.departments["ENG"]
        with pytest.raises(Forbidden):  # no rule ever shows Mia a budget
            analysis.preview(conn, staff.actor("mia"), "staff.department", eng, "budget * 2")
        with pytest.raises(NotFound):
            analysis.preview(
                conn, staff.actor("ann"), "staff.employee", staff.employees["E5"], "name"
            )
        assert (
            analysis.preview(conn, staff.actor("ann"), "staff.employee", ann, "manager.name")
            is None
        )  # Mia's record is not Ann's to read
