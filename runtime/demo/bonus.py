"""The year-end bonus part of the demo: plan FY2025 made by C&B, every department's pool
prepared before the plan opens (five with a manual budget, one of them zero; the others
by formula with a department factor between 0.8 and 1.2), then ``open`` (lines, budgets,
scaling and suggestions come from the app's own effects), then some pools submitted by
their heads (in a few, the head moved part of one bonus to another, with the reasons)
and approved by their HRBPs and by C&B. Pools holding a blocked line (a missing rating)
stay open.

For history, plan FY2024 over one department, paid and closed: its own performance
cycle (rated in that department only, then closed), the plan opened, its pool approved,
locked, published, one payout batch generated, exported and confirmed paid by payroll
(which marks the plan paid), then closed by C&B."""

from __future__ import annotations

import random
from decimal import ROUND_DOWN, Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.demo import core_hr
from runtime.demo.context import Demo
from runtime.security.actor import Actor

BON = "year_end_bonus"


def fy2025(demo: Demo, conn: Connection) -> None:
    spec = demo.data["bonus"]["fy2025"]
    comp = _role(demo, "core_hr.comp_admin")
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
    goals = (
        ["approved"] * spec["approved"]
        + ["hrbp_approved"] * spec["hrbp_approved"]
        + ["submitted"] * spec["submitted"]
    )
    for i, (pool, goal) in enumerate(zip(ready, goals, strict=False)):
        if i < spec["adjusted"]["pools"]:
            _adjust(demo, conn, pool)
        _approve(demo, conn, pool, goal)


def _adjust(demo: Demo, conn: Connection, pool: dict[str, Any]) -> None:
    """The pool's owner moves a share of one line's suggestion to another line (its two
    first eligible A or B lines), each with the reason: the pool's total stays the same,
    both changes are over the justification threshold."""
    adjusted = demo.data["bonus"]["fy2025"]["adjusted"]
    table = demo.table(f"{BON}.bonus_line")
    lines = demo.rows(
        conn,
        f"{BON}.bonus_line",
        sa.and_(
            table.c.pool == pool["id"],
            table.c.eligibility == "eligible",
            table.c.rating.in_(["A", "B"]),
        ),
    )
    if len(lines) < 2:
        return
    up, down = lines[0], lines[1]
    raised, lowered = (Decimal(str(line["suggested_amount"])) for line in (up, down))
    room = Decimal(str(up["cap_amount"])).to_integral_value(ROUND_DOWN) - raised
    moved = min(lowered * Decimal(adjusted["share"]), room).to_integral_value(ROUND_DOWN)
    if moved <= 0:
        return
    owner = demo.actor(demo.person_of(pool["owner"]).username)
    for line, amount, why in ((down, lowered - moved, "lowered"), (up, raised + moved, "raised")):
        change = {"manager_amount": str(amount), "justification": adjusted[why]}
        demo.update(conn, owner, f"{BON}.bonus_line", line["id"], change)


def _approve(demo: Demo, conn: Connection, pool: dict[str, Any], goal: str = "approved") -> None:
    """A pool submitted by its owner, then (unless ``goal`` is ``submitted``) approved by
    its HRBP and (for ``approved``) by C&B."""
    owner = demo.person_of(pool["owner"])
    demo.act(conn, demo.actor(owner.username), f"{BON}.bonus_pool", pool["id"], "submit")
    if goal == "submitted":
        return
    hrbp = demo.person_of(pool["hrbp"])
    demo.act(conn, demo.actor(hrbp.username), f"{BON}.bonus_pool", pool["id"], "approve")
    if goal == "approved":
        demo.act(
            conn, _role(demo, "core_hr.comp_admin"), f"{BON}.bonus_pool", pool["id"], "approve"
        )


def fy2024(demo: Demo, conn: Connection) -> None:
    """Plan FY2024 over the scope department, from its cycle to paid and closed."""
    spec = demo.data["bonus"]["fy2024"]
    scope = demo.ids[spec["scope"]]
    cycle = _rated_cycle(demo, conn, spec, scope)
    comp = _role(demo, "core_hr.comp_admin")
    keys = ["name", "year", "period_start", "period_end", "payout_date", "pool_submission_due"]
    keys += ["visibility_date", "pay_item_code", "company_factor"]
    plan = {k: spec[k] for k in keys} | {"performance_cycle": cycle, "scope_department": scope}
    (plan_id,) = demo.create(conn, f"{BON}.bonus_plan", [plan], comp)
    demo.act(conn, comp, f"{BON}.bonus_plan", plan_id, "open")
    table = demo.table(f"{BON}.bonus_pool")
    for pool in demo.rows(conn, f"{BON}.bonus_pool", table.c.plan == plan_id):
        _approve(demo, conn, pool)
    for action in ("lock", "publish"):
        demo.act(conn, comp, f"{BON}.bonus_plan", plan_id, action)
    payroll = _role(demo, "core_hr.payroll_officer")
    batch = {"plan": plan_id} | {k: spec[k] for k in ("batch_no", "payroll_period", "pay_date")}
    (batch_id,) = demo.create(conn, f"{BON}.bonus_payout_batch", [batch], payroll)
    for action in ("generate", "export", "confirm_paid"):  # the last marks the plan paid
        demo.act(conn, payroll, f"{BON}.bonus_payout_batch", batch_id, action)
    demo.act(conn, comp, f"{BON}.bonus_plan", plan_id, "close")
    demo.ids["plan_fy2024"] = plan_id


def _rated_cycle(demo: Demo, conn: Connection, spec: dict[str, Any], scope: int) -> int:
    """The FY2024 cycle, its results in the scope department rated by the distribution
    (the rest of the company's FY2024 ratings are not part of the demo), then calibrated,
    finalized, published and closed by HR."""
    cycle, results = core_hr.start_cycle(demo, conn, spec["cycle"])
    rateable = [r for r in results if r["department"] == scope and not r["too_new_to_rate"]]
    ratings = core_hr.spread(spec["ratings"], len(rateable))
    # a generator of its own: the FY2025 data stays the same with or without this part
    random.Random(demo.data["company"]["seed"] + 2024).shuffle(ratings)  # noqa: S311
    admin = _role(demo, "core_hr.hr_admin")
    changes = {r["id"]: {"proposed_rating": g} for r, g in zip(rateable, ratings, strict=True)}
    demo.write(conn, f"{core_hr.CORE}.performance_result", changes, admin)
    for action in ("start_calibration", "finalize", "publish", "close"):
        demo.act(conn, admin, f"{core_hr.CORE}.performance_cycle", cycle, action)
    return cycle


def _role(demo: Demo, role: str) -> Actor:
    """The (first) holder of ``role``, signed in."""
    return demo.actor(demo.with_role(role).username)
