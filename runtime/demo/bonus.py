"""The year-end bonus part of the demo: plan FY2025 made by C&B, every department's pool
prepared before the plan opens (five with a manual budget, one of them zero; the others
by formula with a department factor between 0.8 and 1.2), then ``open`` (lines, budgets,
scaling and suggestions come from the app's own effects), then some pools submitted by
their heads and approved by their HRBPs and by C&B. Pools holding a blocked line (a
missing rating) stay open."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from runtime.demo.context import Demo

BON = "year_end_bonus"


def fy2025(demo: Demo, conn: Connection) -> None:
    spec = demo.data["bonus"]["fy2025"]
    comp = demo.actor(demo.with_role("core_hr.comp_admin").username)
    keys = ("name", "year", "period_start", "period_end", "payout_date", "pool_submission_due")
    plan = {k: spec[k] for k in keys} | {
        "pay_item_code": spec["pay_item_code"],
        "company_factor": spec["company_factor"],
        "performance_cycle": demo.ids["cycle"],
        "scope_department": demo.ids[demo.data["company"]["root"]["code"]],
    }
    (plan_id,) = demo.create(conn, f"{BON}.bonus_plan", [plan], comp)
    demo.ids["plan"] = plan_id
    low, high = (int(Decimal(x) * 1000) for x in spec["factor_range"])
    pools = []
    for code in demo.heads:
        pool: dict[str, Any] = {"plan": plan_id, "department": demo.ids[code]}
        if code in spec["manual"]:
            pool |= {"budget_mode": "manual", "budget_manual": str(spec["manual"][code])}
        else:
            factor = Decimal(demo.rng.randint(low, high)) / 1000
            pool |= {"budget_mode": "formula", "dept_performance_factor": str(factor)}
        pools.append(pool)
    demo.create(conn, f"{BON}.bonus_pool", pools, comp)
    demo.act(conn, comp, f"{BON}.bonus_plan", plan_id, "open")
    _allocate(demo, conn, plan_id)


def _allocate(demo: Demo, conn: Connection, plan_id: int) -> None:
    """Pools without blocked lines move on: the first ``approved`` all the way, the next
    ``hrbp_approved`` to C&B, the next ``submitted`` to their HRBP."""
    spec = demo.data["bonus"]["fy2025"]
    table = demo.table(f"{BON}.bonus_pool")
    rows = demo.rows(conn, f"{BON}.bonus_pool", table.c.plan == plan_id)
    ready = [r for r in rows if not r["blocked_count"] and r["owner"] is not None]
    demo.rng.shuffle(ready)
    comp = demo.actor(demo.with_role("core_hr.comp_admin").username)
    goals = (
        ["approved"] * spec["approved"]
        + ["hrbp_approved"] * spec["hrbp_approved"]
        + ["submitted"] * spec["submitted"]
    )
    for pool, goal in zip(ready, goals, strict=False):
        owner = demo.person_of(pool["owner"])
        demo.act(conn, demo.actor(owner.username), f"{BON}.bonus_pool", pool["id"], "submit")
        if goal == "submitted":
            continue
        hrbp = demo.person_of(pool["hrbp"])
        demo.act(conn, demo.actor(hrbp.username), f"{BON}.bonus_pool", pool["id"], "approve")
        if goal == "approved":
            demo.act(conn, comp, f"{BON}.bonus_pool", pool["id"], "approve")
