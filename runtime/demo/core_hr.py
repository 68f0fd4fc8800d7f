"""The core HR part of the demo: job levels, the department tree, a user for every
employee, the employees (level by level down the management chain, so each manager
exists before their reports), heads and HRBPs, role grants, and the FY2025 performance
cycle rated, calibrated and finalized with three HR overrides."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy.engine import Connection

from runtime.demo.context import Demo, Person
from runtime.security.audit import Origin
from runtime.security.users import UserService

CORE = "core_hr"
RATINGS = ("S", "A", "B", "C", "D")


def structure(demo: Demo, conn: Connection, password_hash: str) -> None:
    """Levels, departments, users, employees, heads and HRBPs."""
    levels = demo.data["levels"]["levels"]
    made = demo.create(
        conn,
        f"{CORE}.job_level",
        [
            {
                "code": lv["code"],
                "track": lv["track"],
                "rank": lv["rank"],
                "title": lv["title"],
                "target_bonus_months": lv["target_bonus_months"],
                "salary_min": str(lv["salary"][0]),
                "salary_mid": str((lv["salary"][0] + lv["salary"][1]) // 2),
                "salary_max": str(lv["salary"][1]),
                "default_probation_months": lv["probation_months"],
            }
            for lv in levels
        ],
    )
    demo.ids |= {lv["code"]: i for lv, i in zip(levels, made, strict=True)}
    _departments(demo, conn)
    _users(demo, conn, password_hash)
    _employees(demo, conn)
    _heads(demo, conn)


def _departments(demo: Demo, conn: Connection) -> None:
    company = demo.data["company"]
    root = company["root"]
    tiers: list[list[dict[str, Any]]] = [[root], company["business_units"], []]
    for unit in company["business_units"]:
        for i, dept in enumerate(unit["departments"], start=1):
            tiers[2].append(
                {
                    **dept,
                    "parent": unit["code"],
                    "cost_center": f"{unit['cost_center'][:-2]}{i:02d}",
                }
            )
    for unit in company["business_units"]:
        unit.setdefault("parent", root["code"])
    for tier in tiers:
        rows = [
            {
                "code": d["code"],
                "name": d["name"],
                "name_zh": d["name_zh"],
                "cost_center": d["cost_center"],
                "parent": demo.ids.get(d.get("parent", "")),
            }
            for d in tier
        ]
        demo.ids |= dict(
            zip(
                [d["code"] for d in tier],
                demo.create(conn, f"{CORE}.department", rows),
                strict=True,
            )
        )


def _users(demo: Demo, conn: Connection, password_hash: str) -> None:
    domain = demo.data["company"]["email_domain"]
    entries = [
        {
            "username": p.username,
            "display_name": f"{p.name} {p.name_zh}",
            "email": f"{p.username}@{domain}",
            "is_active": p.status != "terminated",
            "roles": p.roles,
        }
        for p in demo.people.values()
    ]
    users = UserService(demo.engine, demo.clock, definitions=demo.current.apps.definitions)
    demo.users = users.create_many(conn, entries, password_hash, Origin.cli())


def _employee(demo: Demo, p: Person) -> dict[str, Any]:
    row: dict[str, Any] = {
        "employee_no": p.no,
        "name": p.name,
        "user": p.username,
        "email": f"{p.username}@{demo.data['company']['email_domain']}",
        "department": demo.ids[p.department],
        "manager": demo.people[p.manager].id if p.manager else None,
        "job_level": demo.ids[p.level],
        "job_title": next(
            lv["title"] for lv in demo.data["levels"]["levels"] if lv["code"] == p.level
        ),
        "employment_type": p.employment_type,
        "probation_months": p.probation_months,
        "employment_status": p.status,
        "hire_date": p.hire_date.isoformat(),
        "contract_type": p.contract[0],
        "contract_term_months": p.contract[1],
        "base_salary_monthly": str(p.salary),
        "location": demo.data["company"]["location"],
    }
    if p.termination is not None:
        row |= {
            "termination_date": p.termination[0].isoformat(),
            "termination_reason": p.termination[1],
        }
    return row


def _employees(demo: Demo, conn: Connection) -> None:
    """One ``create_many`` per depth of the management chain. Hires on probation get
    their case from the probation app's automation as they are created."""
    deepest = max(p.depth for p in demo.people.values())
    for depth in range(deepest + 1):
        tier = [p for p in demo.people.values() if p.depth == depth]
        ids = demo.create(conn, f"{CORE}.employee", [_employee(demo, p) for p in tier])
        for p, record_id in zip(tier, ids, strict=True):
            p.id = record_id


def _heads(demo: Demo, conn: Connection) -> None:
    """Every department's head; the HRBPs by the numbers in the data (one department is
    left without its own, and inherits its unit's)."""
    company = demo.data["company"]
    changes: dict[int, dict[str, Any]] = {}
    units = company["business_units"]
    parents = {d["code"]: u["code"] for u in units for d in u["departments"]}
    for dept in [company["root"], *units, *(d for u in units for d in u["departments"])]:
        hrbp = dept.get("hrbp")
        demo.hrbp_of[dept["code"]] = (
            demo.people[demo.hrbps[hrbp - 1]].id if hrbp else demo.hrbp_of[parents[dept["code"]]]
        )
        changes[demo.ids[dept["code"]]] = {
            "head": demo.people[demo.heads[dept["code"]]].id,
            "hrbp": demo.hrbp_of[dept["code"]] if hrbp else None,
        }
    demo.write(conn, f"{CORE}.department", changes)


# -- the performance cycle --------------------------------------------------------------


def rate(demo: Demo, conn: Connection) -> int:
    """Cycle FY2025 created and started by an HR admin (its results come from the
    workflow's effect), every rateable result proposed by the distribution (10 left
    missing), then into calibration. The cycle's id."""
    admin = demo.actor(demo.with_role("core_hr.hr_admin").username)
    cycle, results = start_cycle(
        demo,
        conn,
        {
            "name": "FY2025 Annual",
            "year": 2025,
            "period_start": "2025-01-01",
            "period_end": "2025-12-31",
            "rating_cutoff_date": "2025-09-30",
            "manager_rating_due": "2025-12-20",
        },
    )
    rateable = [r for r in results if not r["too_new_to_rate"]]
    spec = demo.data["people"]["ratings"]
    missing = {
        r["id"] for r in demo.rng.sample([r for r in rateable if _active(demo, r)], spec["missing"])
    }
    rated = [r for r in rateable if r["id"] not in missing]
    ratings = spread(spec["distribution"], len(rated))
    demo.rng.shuffle(ratings)
    changes = {r["id"]: {"proposed_rating": g} for r, g in zip(rated, ratings, strict=True)}
    _alone_with_d(demo, changes, {r["id"]: r["employee"] for r in results})
    demo.write(conn, f"{CORE}.performance_result", changes, admin)
    demo.act(conn, admin, f"{CORE}.performance_cycle", cycle, "start_calibration")
    demo.ids["cycle"] = cycle
    return cycle


def start_cycle(
    demo: Demo, conn: Connection, fields: dict[str, Any]
) -> tuple[int, list[dict[str, Any]]]:
    """A performance cycle created and started by an HR admin: its id and its results
    (one per employee of the period, made by the workflow's effect)."""
    admin = demo.actor(demo.with_role("core_hr.hr_admin").username)
    (cycle,) = demo.create(conn, f"{CORE}.performance_cycle", [fields], admin)
    demo.act(conn, admin, f"{CORE}.performance_cycle", cycle, "start_rating")
    table = demo.table(f"{CORE}.performance_result")
    return cycle, demo.rows(conn, f"{CORE}.performance_result", table.c.cycle == cycle)


def _alone_with_d(
    demo: Demo, changes: dict[int, dict[str, Any]], employees: dict[int, int]
) -> None:
    """The only member of the department of the smallest fixed size (its head's line
    goes to the parent's pool) is rated D: a bonus pool whose one line is gated. Swapped
    with another D. ``employees``: the employee id of each result id."""
    sized = [d for u in demo.data["company"]["business_units"] for d in u["departments"]]
    small = min((d for d in sized if d.get("size")), key=lambda d: d["size"], default=None)
    if small is None:
        return
    code = small["code"]
    alone = [
        p.id for p in demo.people.values() if p.department == code and p.no != demo.heads[code]
    ]
    if len(alone) != 1:
        return
    own = next((rid for rid in changes if employees[rid] == alone[0]), None)
    other = next(
        (rid for rid, c in changes.items() if c["proposed_rating"] == "D" and rid != own), None
    )
    if own is None or other is None:
        return
    changes[own], changes[other] = changes[other], changes[own]


def _active(demo: Demo, result: dict[str, Any]) -> bool:
    person = demo.person_of(result["employee"])
    return (
        person.termination is None
        and person.depth >= 2
        and not person.roles
        and person.no not in demo.hrbps
    )


def spread(distribution: dict[str, float], total: int) -> list[str]:
    """``total`` ratings in the given shares (largest remainders)."""
    whole = sum(distribution.values())
    exact = {k: total * Decimal(str(v)) / Decimal(str(whole)) for k, v in distribution.items()}
    counts = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: exact[k] - counts[k], reverse=True)[
        : total - sum(counts.values())
    ]:
        counts[k] += 1
    return [k for k in RATINGS for _ in range(counts.get(k, 0))]


def finalize(demo: Demo, conn: Connection) -> None:
    """The cycle finalized by HR; then C&B's three overrides, each with its reason (the
    API's PATCH as the comp admin: permission rules, inputs and the audit entry)."""
    admin = demo.actor(demo.with_role("core_hr.hr_admin").username)
    cycle = demo.ids["cycle"]
    demo.act(conn, admin, f"{CORE}.performance_cycle", cycle, "finalize")
    comp = demo.actor(demo.with_role("core_hr.comp_admin").username)
    table = demo.table(f"{CORE}.performance_result")
    results = demo.rows(conn, f"{CORE}.performance_result", table.c.cycle == cycle)
    used: set[int] = set()
    for override in demo.data["people"]["ratings"]["hr_overrides"]:
        found = next(
            r
            for r in results
            if r["final_rating"] == override["from"] and r["id"] not in used and _active(demo, r)
        )
        used.add(found["id"])
        demo.update(
            conn,
            comp,
            f"{CORE}.performance_result",
            found["id"],
            {"hr_override_rating": override["to"], "override_reason": override["reason"]},
        )
