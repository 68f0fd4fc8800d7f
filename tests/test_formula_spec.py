"""The catalog spec's worked examples (shared catalog SPEC §4.4 bonus, §6.3 probation dates,
§3.4 talent review), computed by the engine from the spec's own formulas, stored by the
recompute service on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date
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
from tests.formulas import Fx

RATINGS = ["S", "A", "B", "C", "D"]


def _f(name: str, returns: str, formula: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": "formula", "returns": returns, "formula": formula, **extra}


# intermediates other records sum: kept with 10 places (an aggregate reads them as stored)
EXACT = {"precision": 24, "scale": 10}
BONUS: dict[str, Any] = {
    "name": "fybonus",
    "version": "1.0.0",
    "title": {"en": "Bonus FY2025"},
    "objects": [
        {
            "name": "plan",
            "fields": [
                {"name": "period_start", "type": "date"},
                {"name": "period_end", "type": "date"},
                {"name": "payout_date", "type": "date"},
                {"name": "rating_cutoff_date", "type": "date"},
                {"name": "company_factor", "type": "decimal", "precision": 4, "scale": 3},
                *[
                    {"name": f"mult_{r.lower()}", "type": "decimal", "precision": 4, "scale": 3}
                    for r in RATINGS
                ],
                {"name": "unrated_multiplier", "type": "decimal", "precision": 4, "scale": 3},
                {"name": "cap_pct_of_target", "type": "percent"},
                {"name": "min_service_days", "type": "integer"},
                {"name": "rounding_unit", "type": "integer"},
                {
                    "name": "eligible_employment_types",
                    "type": "multi_select",
                    "options": ["full_time", "part_time", "intern"],
                },
                {
                    "name": "good_leaver_reasons",
                    "type": "multi_select",
                    "options": ["retirement", "layoff", "death_disability", "voluntary"],
                },
            ],
        },
        {
            "name": "pool",
            "fields": [
                {"name": "plan", "type": "reference", "to": "plan"},
                {"name": "dept_performance_factor", "type": "decimal", "precision": 4, "scale": 3},
                {
                    "name": "target_basis",
                    "type": "rollup",
                    "returns": "currency",
                    "formula": 'SUM(lines.prorated_target, eligibility <> "ineligible")',
                },
                _f(
                    "budget",
                    "currency",
                    "ROUND(target_basis * dept_performance_factor * plan.company_factor, -3)",
                ),
                {
                    "name": "raw_total",
                    "type": "rollup",
                    "returns": "currency",
                    "formula": 'SUM(lines.capped_amount, eligibility = "eligible")',
                },
                _f(
                    "scale_factor",
                    "decimal",
                    "IF(raw_total = 0, 1, MIN(1, budget / raw_total))",
                    precision=20,
                    scale=10,
                ),
            ],
        },
        {
            "name": "line",
            "fields": [
                {"name": "plan", "type": "reference", "to": "plan"},
                {"name": "pool", "type": "reference", "to": "pool", "related_name": "lines"},
                {"name": "base_salary_monthly", "type": "currency"},
                {"name": "target_months", "type": "decimal", "precision": 4, "scale": 1},
                {"name": "hire_date", "type": "date"},
                {"name": "termination_date", "type": "date"},
                {
                    "name": "termination_reason",
                    "type": "select",
                    "options": ["retirement", "layoff", "death_disability", "voluntary"],
                },
                {
                    "name": "employment_type",
                    "type": "select",
                    "options": ["full_time", "part_time", "intern"],
                },
                {"name": "rating", "type": "select", "options": RATINGS},
                _f("too_new_to_rate", "boolean", "hire_date > plan.rating_cutoff_date"),
                _f("period_days", "integer", "plan.period_end - plan.period_start + 1"),
                _f(
                    "eligible_days",
                    "integer",
                    "MAX(0, MIN(COALESCE(termination_date, plan.period_end), plan.period_end)"
                    " - MAX(hire_date, plan.period_start) + 1)",
                ),
                _f("proration", "decimal", "eligible_days / period_days", precision=10, scale=6),
                _f(
                    "eligibility",
                    "select",
                    "IFS(NOT(CONTAINS(plan.eligible_employment_types, employment_type)),"
                    ' "ineligible",'
                    " AND(NOT(ISBLANK(termination_date)), termination_date < plan.payout_date,"
                    ' NOT(CONTAINS(plan.good_leaver_reasons, termination_reason))), "ineligible",'
                    ' eligible_days < plan.min_service_days, "ineligible",'
                    ' AND(ISBLANK(rating), NOT(too_new_to_rate)), "blocked", TRUE, "eligible")',
                    options=["eligible", "ineligible", "blocked"],
                ),
                _f(
                    "rating_multiplier",
                    "decimal",
                    "IF(ISBLANK(rating), IF(too_new_to_rate, plan.unrated_multiplier, NULL),"
                    ' SWITCH(rating, "S", plan.mult_s, "A", plan.mult_a, "B", plan.mult_b,'
                    ' "C", plan.mult_c, "D", plan.mult_d))',
                    precision=4,
                    scale=3,
                ),
                _f("target_amount", "currency", "base_salary_monthly * target_months"),
                _f("prorated_target", "currency", "target_amount * proration", **EXACT),
                _f(
                    "raw_amount",
                    "currency",
                    'IF(eligibility = "eligible", prorated_target * rating_multiplier'
                    " * plan.company_factor, 0)",
                    **EXACT,
                ),
                _f("cap_amount", "currency", "plan.cap_pct_of_target * prorated_target", **EXACT),
                _f("capped_amount", "currency", "MIN(raw_amount, cap_amount)", **EXACT),
                _f(
                    "suggested_amount",
                    "currency",
                    'IF(eligibility = "eligible", ROUNDDOWN(MIN(capped_amount * pool.scale_factor,'
                    " cap_amount) / plan.rounding_unit, 0) * plan.rounding_unit, 0)",
                ),
            ],
        },
    ],
}


def _cents(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"))


# emp: (base, target months, hire, leave, reason, rating, employment type)
BON_1 = {
    "E1001": ("30000", "3", "2019-04-01", None, None, "A"),
    "E1002": ("20000", "3", "2021-06-15", None, None, "B"),
    "E1003": ("15000", "2", "2025-07-01", None, None, "S"),
    "E1004": ("18000", "3", "2025-10-20", None, None, None),
    "E1005": ("22000", "3", "2020-03-01", "2025-12-15", "voluntary", "B"),
    "E1006": ("25000", "3", "2010-05-10", "2025-09-30", "retirement", "B"),
    "E1007": ("12000", "2", "2018-09-01", None, None, "C"),
    "E1008": ("9000", "2", "2025-11-15", None, None, None),
    "E1009": ("28000", "3", "2016-02-01", None, None, "D"),
}
# emp: eligible_days, proration, eligibility, prorated target, capped, cap, suggested
EXPECTED = {
    "E1001": (365, "1.000000", "eligible", "90000.00", "135000.00", "180000.00", "120732"),
    "E1002": (365, "1.000000", "eligible", "60000.00", "60000.00", "120000.00", "53659"),
    "E1003": (184, "0.504110", "eligible", "15123.29", "30246.58", "30246.58", "27050"),
    "E1004": (73, "0.200000", "eligible", "10800.00", "10800.00", "21600.00", "9658"),
    "E1005": (349, None, "ineligible", None, "0.00", None, "0"),
    "E1006": (273, "0.747945", "eligible", "56095.89", "56095.89", "112191.78", "50167"),
    "E1007": (365, "1.000000", "eligible", "24000.00", "12000.00", "48000.00", "10731"),
    "E1008": (47, None, "ineligible", None, "0.00", None, "0"),
    "E1009": (365, "1.000000", "eligible", "84000.00", "0.00", "168000.00", "0"),
}


def _table(engine: Engine, obj: str) -> sa.Table:
    return sa.Table(f"app_fybonus__{obj}", sa.MetaData(), autoload_with=engine)


def _insert(conn: Any, table: sa.Table, **values: Any) -> int:
    row = {"version": 1, "created_at": STAMP, "updated_at": STAMP} | values
    return int(conn.execute(sa.insert(table).values(row)).inserted_primary_key[0])


def test_bon_1_worked_example(engine: Engine, install: Installer, clock: Clock) -> None:
    install(BONUS)
    computed = Computed({"fybonus": AppDef.from_dict(BONUS)}, clock)
    plan_t, pool_t, line_t = (_table(engine, n) for n in ("plan", "pool", "line"))
    d = date.fromisoformat
    with engine.begin() as conn:
        plan = _insert(
            conn,
            plan_t,
            period_start=d("2025-01-01"),
            period_end=d("2025-12-31"),
            payout_date=d("2026-02-06"),
            rating_cutoff_date=d("2025-09-30"),
            company_factor=Decimal("1.000"),
            mult_s=Decimal("2.0"),
            mult_a=Decimal("1.5"),
            mult_b=Decimal("1.0"),
            mult_c=Decimal("0.5"),
            mult_d=Decimal("0"),
            unrated_multiplier=Decimal("1.0"),
            cap_pct_of_target=Decimal("2.00"),
            min_service_days=60,
            rounding_unit=1,
            eligible_employment_types=["full_time"],
            good_leaver_reasons=["retirement", "layoff", "death_disability"],
        )
        pool = _insert(conn, pool_t, plan=plan, dept_performance_factor=Decimal("0.8"))
        ids = {}
        for emp, (base, months, hire, leave, reason, rating) in BON_1.items():
            ids[emp] = _insert(
                conn,
                line_t,
                plan=plan,
                pool=pool,
                base_salary_monthly=Decimal(base),
                target_months=Decimal(months),
                hire_date=d(hire),
                termination_date=d(leave) if leave else None,
                termination_reason=reason,
                employment_type="full_time",
                rating=rating,
            )
        computed.recompute(conn, "fybonus.line", list(ids.values()))
    with engine.connect() as conn:
        pool_row = conn.execute(sa.select(pool_t)).mappings().one()
        assert pool_row["target_basis"] == Decimal("340019.18")
        assert pool_row["budget"] == Decimal("272000.00")
        assert _cents(pool_row["raw_total"]) == Decimal("304142.47")
        assert pool_row["scale_factor"] == Decimal("0.8943177314")
        with engine.begin() as write:  # suggestions read the pool's scale: one more pass
            computed.recompute(write, "fybonus.line", list(ids.values()))
        rows = {r["id"]: r for r in conn.execute(sa.select(line_t)).mappings()}
    total = Decimal(0)
    for emp, (days, proration, eligibility, prorated, capped, cap, suggested) in EXPECTED.items():
        row = rows[ids[emp]]
        assert row["eligible_days"] == days, emp
        assert row["eligibility"] == eligibility, emp
        if proration is not None:
            assert row["proration"] == Decimal(proration), emp
            assert _cents(row["prorated_target"]) == Decimal(prorated), emp
            assert _cents(row["cap_amount"]) == Decimal(cap), emp
        assert _cents(row["capped_amount"]) == Decimal(capped), emp
        assert row["suggested_amount"] == Decimal(suggested), emp
        total += row["suggested_amount"]
    assert total == Decimal("271997")


END_DATE = "IF(DAY(d) > DAY(EOMONTH(d, i)), EOMONTH(d, i), EDATE(d, i) - 1)"


@pytest.mark.parametrize(
    ("hire", "months", "end"),
    [
        ("2025-03-10", 3, "2025-06-09"),
        ("2025-03-01", 3, "2025-05-31"),
        ("2025-01-31", 1, "2025-02-28"),
        ("2024-01-31", 1, "2024-02-29"),
        ("2024-11-30", 3, "2025-02-28"),
    ],
)
def test_prb_1_probation_end_dates(fx: Fx, hire: str, months: int, end: str) -> None:
    hired = date.fromisoformat(hire)
    assert fx.both(END_DATE, d=hired, i=months) == date.fromisoformat(end)
    ending = date.fromisoformat(end)
    # the review deadlines around it: -14, -10, -7, -3 and the auto-confirm day +1
    assert fx.both(f"({END_DATE}) - 14", d=hired, i=months) == ending.fromordinal(
        ending.toordinal() - 14
    )
    assert fx.both(f"({END_DATE}) - d + 1", d=hired, i=months) == (ending - hired).days + 1


@pytest.mark.parametrize(
    ("n", "pct", "allowed"),
    [(47, "0.10", 5), (47, "0.30", 14), (8, "0.10", 1), (8, "0.30", 2)],
)
def test_tr_2_distribution_rounding(fx: Fx, n: int, pct: str, allowed: int) -> None:
    assert fx.both("ROUND(pct * i, 0)", pct=Decimal(pct), i=n) == allowed


@pytest.mark.parametrize(
    ("q", "box"),
    [((3, 3, 2), 9), ((2, 2, 1), 2), ((3, 2, 3), 7), ((2, 2, 2), 4)],
)
def test_tr_1_nine_box(fx: Fx, q: tuple[int, int, int], box: int) -> None:
    rating = {9: "A", 2: "B", 7: "C", 4: "D"}[box]
    score = f"({q[0]} + {q[1]} + {q[2]}) / 3"
    potential = f"IFS({score} >= 2.5, 3, {score} >= 1.75, 2, TRUE, 1)"
    band = 'SWITCH(sel, "S", 3, "A", 3, "B", 2, "C", 1, "D", 1, NULL)'
    assert fx.both(f"({potential} - 1) * 3 + {band}", sel=rating) == box
