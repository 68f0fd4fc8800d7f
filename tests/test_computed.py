"""Stored computed fields: recomputed on write, propagated to rollups and lookups, and
recomputed for every row on install — inside the database, on SQLite and PostgreSQL."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.clock import Clock
from runtime.metadata.model import AppDef
from runtime.services.computed import Computed
from tests.apps import STAMP
from tests.conftest import Installer

BONUS: dict[str, Any] = {
    "name": "bonus",
    "version": "1.0.0",
    "title": {"en": "Bonus"},
    "objects": [
        {
            "name": "department",
            "fields": [
                {"name": "name", "type": "text"},
                {
                    "name": "parent",
                    "type": "reference",
                    "to": "department",
                    "related_name": "children",
                },
                {
                    "name": "level",
                    "type": "formula",
                    "returns": "integer",
                    "formula": "IF(ISBLANK(parent), 1, parent.level + 1)",
                },
                {
                    "name": "path",
                    "type": "formula",
                    "returns": "text",
                    "formula": 'IF(ISBLANK(parent), "/", parent.path) & id & "/"',
                },
            ],
        },
        {
            "name": "pool",
            "fields": [
                {
                    "name": "department",
                    "type": "reference",
                    "to": "department",
                    "related_name": "pools",
                },
                {"name": "budget", "type": "currency"},
                {
                    "name": "dept_name",
                    "type": "formula",
                    "returns": "text",
                    "formula": "department.name",
                },
                {
                    "name": "raw_total",
                    "type": "rollup",
                    "returns": "currency",
                    "formula": 'SUM(lines.capped, eligibility = "eligible")',
                },
                {
                    "name": "line_count",
                    "type": "rollup",
                    "returns": "integer",
                    "formula": "COUNT(lines)",
                },
                {
                    "name": "remaining",
                    "type": "formula",
                    "returns": "currency",
                    "formula": "budget - raw_total",
                },
                {
                    "name": "names",
                    "type": "formula",
                    "returns": "text",
                    "formula": 'ARRAYJOIN(lines.who, ", ")',
                },
            ],
        },
        {
            "name": "line",
            "fields": [
                {"name": "pool", "type": "reference", "to": "pool", "related_name": "lines"},
                {"name": "who", "type": "text"},
                {"name": "base", "type": "currency"},
                {"name": "months", "type": "decimal", "precision": 6, "scale": 2},
                {"name": "rating", "type": "select", "options": ["S", "A", "B", "C", "D"]},
                {"name": "proration", "type": "decimal", "precision": 10, "scale": 6},
                {
                    "name": "multiplier",
                    "type": "formula",
                    "returns": "decimal",
                    "scale": 3,
                    "formula": 'SWITCH(rating, "S", 2, "A", 1.5, "B", 1, "C", 0.5, "D", 0)',
                },
                {
                    "name": "eligibility",
                    "type": "formula",
                    "returns": "select",
                    "options": ["eligible", "blocked"],
                    "formula": 'IF(ISBLANK(rating), "blocked", "eligible")',
                },
                {
                    "name": "target",
                    "type": "formula",
                    "returns": "currency",
                    "formula": "base * months * proration",
                },
                {
                    "name": "capped",
                    "type": "formula",
                    "returns": "currency",
                    "formula": "MIN(target * multiplier, 2 * target)",
                },
            ],
        },
    ],
}


def _t(engine: Engine, obj: str) -> sa.Table:
    return sa.Table(f"app_bonus__{obj}", sa.MetaData(), autoload_with=engine)


def _insert(engine: Engine, obj: str, **values: Any) -> int:
    table = _t(engine, obj)
    row = {"version": 1, "created_at": STAMP, "updated_at": STAMP} | values
    with engine.begin() as conn:
        return int(conn.execute(sa.insert(table).values(row)).inserted_primary_key[0])


def _get(engine: Engine, name: str, rid: int) -> dict[str, Any]:
    table = _t(engine, name)
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(table).where(table.c.id == rid)).mappings().one())


@pytest.fixture
def computed(install: Installer, clock: Clock) -> Computed:
    install(BONUS)
    return Computed({"bonus": AppDef.from_dict(BONUS)}, clock)


def _recompute(engine: Engine, computed: Computed, obj: str, ids: list[int], **kw: Any) -> None:
    with engine.begin() as conn:
        computed.recompute(conn, f"bonus.{obj}", ids, **kw)


def _money(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_line_formulas_and_pool_rollups(engine: Engine, computed: Computed) -> None:
    dept = _insert(engine, "department", name="R&D")
    _recompute(engine, computed, "department", [dept])
    pool = _insert(engine, "pool", department=dept, budget=Decimal("100000"))
    lines = [
        _insert(
            engine,
            "line",
            pool=pool,
            who="Li",
            base=Decimal("15000"),
            months=Decimal("3"),
            rating="A",
            proration=Decimal("0.504110"),
        ),
        _insert(
            engine,
            "line",
            pool=pool,
            who="Wang",
            base=Decimal("20000"),
            months=Decimal("2"),
            rating=None,
            proration=Decimal("1"),
        ),
    ]
    _recompute(engine, computed, "line", lines)
    first = _get(engine, "line", lines[0])
    # target = 15000 × 3 × 0.504110 = 22684.95; capped = MIN(× 1.5, × 2) = 34027.425 → 34027.43
    assert first["target"] == Decimal("22684.95")
    assert first["capped"] == Decimal("34027.43")
    assert first["eligibility"] == "eligible"
    assert _get(engine, "line", lines[1])["eligibility"] == "blocked"
    p = _get(engine, "pool", pool)
    assert p["raw_total"] == Decimal("34027.43")
    assert p["line_count"] == 2
    # formulas read each other's exact values, as a spreadsheet does: the rollup sums the
    # lines' unrounded 34027.425, so remaining is 65972.575 → 65972.58 when stored
    assert p["remaining"] == Decimal("65972.58")
    assert p["dept_name"] == "R&D"
    assert p["names"] == "Li, Wang"


def test_chained_formulas_read_exact_values_in_stages(engine: Engine, computed: Computed) -> None:
    """``capped`` reads ``target``: the staged UPDATE computes ``target`` once per row and
    hands its exact value on, never the one rounded to the column's two places."""
    pool = _insert(engine, "pool", budget=Decimal("1000000"))
    prorations = ["0.123457", "0.777777", "0.504113"]
    lines = [
        _insert(
            engine,
            "line",
            pool=pool,
            who=f"L{i}",
            base=Decimal("15000.01"),
            months=Decimal("3"),
            rating="A",
            proration=Decimal(p),
        )
        for i, p in enumerate(prorations)
    ]
    _recompute(engine, computed, "line", lines)
    # target 5555.56870371 → capped 8333.353… = 8333.35 (8333.36 from the rounded 5555.57)
    expected = {"0.123457": "8333.35", "0.777777": "52499.98", "0.504113": "34027.65"}
    for line, proration in zip(lines, prorations, strict=True):
        assert _get(engine, "line", line)["capped"] == Decimal(expected[proration])
    assert _get(engine, "pool", pool)["raw_total"] == Decimal("94860.99")


def test_child_edit_and_move_update_both_parents(engine: Engine, computed: Computed) -> None:
    a = _insert(engine, "pool", budget=Decimal("1000"))
    b = _insert(engine, "pool", budget=Decimal("1000"))
    line = _insert(
        engine,
        "line",
        pool=a,
        base=Decimal("100"),
        months=Decimal("1"),
        rating="B",
        proration=Decimal("1"),
    )
    _recompute(engine, computed, "line", [line])
    assert _get(engine, "pool", a)["raw_total"] == Decimal("100.00")
    table = _t(engine, "line")
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == line).values(pool=b, base=Decimal("300")))
        computed.recompute(
            conn, "bonus.line", [line], changed={"pool", "base"}, old_links={"pool": [a]}
        )
    assert _get(engine, "pool", a)["raw_total"] == Decimal("0")
    assert _get(engine, "pool", a)["line_count"] == 0
    assert _get(engine, "pool", b)["raw_total"] == Decimal("300.00")
    assert _get(engine, "pool", b)["remaining"] == Decimal("700.00")


def test_renamed_reference_updates_lookups(engine: Engine, computed: Computed) -> None:
    dept = _insert(engine, "department", name="Sales")
    pool = _insert(engine, "pool", department=dept)
    _recompute(engine, computed, "pool", [pool])
    assert _get(engine, "pool", pool)["dept_name"] == "Sales"
    table = _t(engine, "department")
    with engine.begin() as conn:
        conn.execute(sa.update(table).where(table.c.id == dept).values(name="Sales East"))
        computed.recompute(conn, "bonus.department", [dept], changed={"name"})
    assert _get(engine, "pool", pool)["dept_name"] == "Sales East"


def test_hierarchy_levels_cascade(engine: Engine, computed: Computed) -> None:
    root = _insert(engine, "department", name="Acme")
    bu = _insert(engine, "department", name="R&D", parent=root)
    team = _insert(engine, "department", name="Platform", parent=bu)
    with engine.begin() as conn:
        computed.recompute_all(conn, "bonus.department")
    assert [_get(engine, "department", i)["level"] for i in (root, bu, team)] == [1, 2, 3]
    assert _get(engine, "department", team)["path"] == f"/{root}/{bu}/{team}/"
    other = _insert(engine, "department", name="Other")
    table = _t(engine, "department")
    with engine.begin() as conn:  # move R&D under Other: its subtree follows
        conn.execute(sa.update(table).where(table.c.id == bu).values(parent=other))
        computed.recompute(conn, "bonus.department", [other, bu], changed={"parent"})
    assert _get(engine, "department", team)["path"] == f"/{other}/{bu}/{team}/"
    assert _get(engine, "department", team)["level"] == 3


def test_install_recomputes_existing_rows(engine: Engine, install: Installer) -> None:
    install(BONUS)
    line = _insert(
        engine,
        "line",
        base=Decimal("100"),
        months=Decimal("2"),
        rating="S",
        proration=Decimal("0.5"),
    )
    assert _get(engine, "line", line)["target"] is None
    upgraded = {**BONUS, "version": "1.1.0"}
    install(upgraded)
    assert _get(engine, "line", line)["target"] == Decimal("100.00")
    assert _get(engine, "line", line)["capped"] == Decimal("200.00")
