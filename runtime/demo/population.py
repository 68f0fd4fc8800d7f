"""The people of the demo company, generated from ``apps_catalog/demo`` with the seeded
generator: who works where, for whom, at which level and salary, since when, on what
contract, and who left. Pure Python: nothing is written here."""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

from runtime.demo.context import Demo, Person, day

MANAGEMENT = frozenset({"M1", "M2", "M3", "M4"})


def _between(rng: random.Random, first: date, last: date) -> date:
    return first + timedelta(days=rng.randint(0, (last - first).days))


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class _Namer:
    """Unique pinyin usernames from the name pools: ``zhang.wei.0012``."""

    def __init__(self, rng: random.Random, pools: dict[str, Any]) -> None:
        self.rng = rng
        self.surnames = pools["surnames"]
        self.given = pools["given_names"]

    def person(self, number: int, **fields: Any) -> Person:
        (sur, sur_zh), (giv, giv_zh) = self.rng.choice(self.surnames), self.rng.choice(self.given)
        no = f"E{number:04d}"
        username = f"{sur.lower()}.{giv.lower()}.{number:04d}"
        return Person(no, f"{sur} {giv}", sur_zh + giv_zh, username, **fields)


def _sizes(total: int, departments: list[dict[str, Any]]) -> list[int]:
    """Headcounts of a unit's departments: fixed ``size``s first, the rest by weight."""
    fixed = sum(d.get("size", 0) for d in departments)
    weights = [d.get("weight", 0) for d in departments]
    left = total - fixed
    sizes = [
        d.get("size") or int(left * w / sum(weights))
        for d, w in zip(departments, weights, strict=True)
    ]
    largest = max(range(len(sizes)), key=lambda i: weights[i])
    sizes[largest] += total - sum(sizes)
    return sizes


def build(demo: Demo) -> None:
    """Fill ``demo.people``: the structure first, then dates, contracts and leavers."""
    rng, company, levels = demo.rng, demo.data["company"], demo.data["levels"]
    shape = levels["structure"]
    ic_levels = {lv["code"]: lv["share"] for lv in levels["levels"] if "share" in lv}
    bands = {lv["code"]: lv["salary"] for lv in levels["levels"]}
    namer = _Namer(rng, demo.data["people"])
    counter = iter(range(1, 100_000))

    def add(dept: str, level: str, manager: Person | None, who: str = "") -> Person:
        low, high = bands[level]
        person = namer.person(
            next(counter),
            department=dept,
            level=level,
            manager=manager.no if manager else None,
            hire_date=date(2010, 1, 1),
            salary=rng.randrange(low, high + 1, 100),
            depth=manager.depth + 1 if manager else 0,
            who=who,
        )
        demo.people[person.no] = person
        return person

    root = company["root"]
    ceo = add(root["code"], shape["ceo"], None, "CEO")
    heads: dict[str, Person] = {root["code"]: ceo}
    for unit in company["business_units"]:
        head = add(unit["code"], shape["bu_head"], ceo, f"head of {unit['name']}")
        heads[unit["code"]] = head
        for _ in range(unit["office"] - 1):
            add(unit["code"], _pick(rng, ic_levels), head)
        sizes = _sizes(unit["headcount"] - unit["office"], unit["departments"])
        for dept, size in zip(unit["departments"], sizes, strict=True):
            lead = add(dept["code"], shape["department_head"], head, f"head of {dept['name']}")
            heads[dept["code"]] = lead
            _team(demo, add, lead, dept["code"], size - 1, ic_levels, shape)
    _hire_dates(demo)
    _contracts(demo)
    _leavers(demo)
    _roles(demo)
    demo.heads = {code: p.no for code, p in heads.items()}


def _team(
    demo: Demo,
    add: Any,
    lead: Person,
    dept: str,
    members: int,
    ic_levels: dict[str, float],
    shape: dict[str, Any],
) -> None:
    """A department under its head: managers of about ``team_size`` people each (a share
    of them senior), then individual contributors spread over them."""
    rng = demo.rng
    size = shape["team_size"]
    teams = members // (size + 1) if members > size else 0
    managers = [
        add(
            dept,
            shape["senior_manager"]
            if rng.random() < shape["senior_manager_share"]
            else shape["manager"],
            lead,
        )
        for _ in range(teams)
    ]
    for i in range(members - teams):
        boss = managers[i % len(managers)] if managers else lead
        add(dept, _pick(rng, ic_levels), boss)


def _hire_dates(demo: Demo) -> None:
    """Leaders joined early; individual contributors over 2010-2025, the most recent
    ``recent`` of them since ``recent_since`` (the probation population), some after the
    rating cut-off and some with less than 60 days of service."""
    rng, spec = demo.rng, demo.data["people"]["hire_dates"]
    first = date(spec["first_year"], 1, 1)
    since, latest = day(spec["recent_since"]), day(spec["latest"])
    people = list(demo.people.values())
    for p in people:
        if p.level in MANAGEMENT:
            p.hire_date = _between(rng, first, date(2022, 12, 31))
        else:
            year = rng.choices(
                range(spec["first_year"], 2026), weights=range(1, 2027 - spec["first_year"])
            )[0]
            p.hire_date = _between(
                rng, date(year, 1, 1), min(date(year, 12, 31), since - timedelta(days=1))
            )
    ics = [p for p in people if p.level not in MANAGEMENT and p.depth >= 2]
    recent = rng.sample(ics, spec["recent"])
    cutoff, november = date(2025, 9, 30), date(2025, 11, 1)
    late, very_late = spec["after_rating_cutoff"], spec["after_2025_11_01"]
    for i, p in enumerate(recent):
        if i < very_late:
            p.hire_date = _between(rng, november + timedelta(days=1), latest)
        elif i < late:
            p.hire_date = _between(rng, cutoff + timedelta(days=1), november)
        else:
            p.hire_date = _between(rng, since, cutoff)
        p.who = "recent hire"


def _contracts(demo: Demo) -> None:
    """Employment types and contracts by the given shares; hires since ``recent_since``
    start on probation (the level's months, within the statutory maximum)."""
    rng, spec = demo.rng, demo.data["people"]
    months = {lv["code"]: lv["probation_months"] for lv in demo.data["levels"]["levels"]}
    since = day(spec["hire_dates"]["recent_since"])
    shares = spec["contracts"]
    kinds = {k: v for k, v in shares.items() if not k.endswith("_count")}
    for p in demo.people.values():
        if p.level in MANAGEMENT or p.depth < 2:
            continue
        p.employment_type = _pick(rng, spec["employment_types"])
        kind = _pick(rng, kinds)
        p.contract = ("open_ended", None) if kind == "open_ended" else ("fixed_term", int(kind[6:]))
    recent = [p for p in demo.people.values() if p.hire_date >= since]
    short = rng.sample(recent, shares["fixed_2_count"])
    for p in short:
        p.contract = ("fixed_term", 2)
    for p in recent:
        if p.employment_type != "full_time":
            continue
        term = p.contract[1]
        cap = 6 if term is None else 0 if term < 3 else 1 if term < 12 else 2 if term < 36 else 6
        p.probation_months = min(months[p.level], cap)
        p.status = "probation" if p.probation_months else "regular"


def _leavers(demo: Demo) -> None:
    """Leavers of FY2025 (individual contributors nobody reports to) by reason, and a few
    who gave notice to leave before the bonus payout."""
    rng, spec = demo.rng, demo.data["people"]["leavers"]
    managers = {p.manager for p in demo.people.values()}
    since = day(demo.data["people"]["hire_dates"]["recent_since"])
    pool = [
        p
        for p in demo.people.values()
        if p.no not in managers
        and p.depth >= 2
        and p.hire_date < since
        and p.level not in MANAGEMENT
    ]
    chosen = rng.sample(pool, spec["fy2025"] + spec["before_payout"])
    counts = _counts(spec["reasons"], spec["fy2025"])
    reasons = [reason for reason, n in counts.items() for _ in range(n)]
    for p, reason in zip(chosen, reasons, strict=False):
        if reason == "probation_failure":
            p.hire_date = _between(rng, date(2025, 1, 2), date(2025, 4, 30))
            left = p.hire_date + timedelta(days=rng.randint(30, 80))
        else:
            left = _between(
                rng, max(date(2025, 1, 1), p.hire_date + timedelta(days=30)), date(2025, 12, 31)
            )
        p.termination = (left, reason)
        p.status = "terminated"
        p.who = "left in FY2025"
    until = day(spec["before_payout_until"])
    for p in chosen[spec["fy2025"] :]:
        p.termination = (_between(rng, date(2026, 1, 1), until), "voluntary")
        p.who = "leaving before the payout"


def _counts(weights: dict[str, int], total: int) -> dict[str, int]:
    """``total`` split by ``weights`` (the first takes the rounding)."""
    whole = sum(weights.values())
    counts = {k: round(total * v / whole) for k, v in weights.items()}
    first = next(iter(counts))
    counts[first] += total - sum(counts.values())
    return counts


def _roles(demo: Demo) -> None:
    """The granted roles and the eight HRBPs, from the staff of the departments named."""
    rng, company = demo.rng, demo.data["company"]
    taken: set[str] = set()

    def staff(dept: str) -> list[Person]:
        return [
            p
            for p in demo.people.values()
            if p.department == dept
            and p.depth >= 2
            and p.status == "regular"
            and p.termination is None
            and p.level not in MANAGEMENT
            and p.no not in taken
            and p.hire_date < date(2025, 1, 1)
        ]

    bands = {lv["code"]: lv["salary"] for lv in demo.data["levels"]["levels"]}
    for i, p in enumerate(rng.sample(staff(company["hrbp_department"]), 8), start=1):
        p.who, p.level = f"HRBP {i}", "P6"
        p.salary = rng.randrange(bands["P6"][0], bands["P6"][1] + 1, 100)
        demo.hrbps.append(p.no)
        taken.add(p.no)
    for grant in company["roles"]:
        for p in rng.sample(staff(grant["department"]), grant["count"]):
            p.roles.append(grant["role"])
            p.who = grant["role"].rpartition(".")[2]
            taken.add(p.no)
