"""The talent review part of the demo, while the FY2025 performance cycle is in
calibration (its proposed ratings are in, nothing is final yet):

- an HR admin sets up the FY2025 talent review over the whole company (the distribution
  guideline enforced from 20 rated people) and launches it: the app creates one
  assessment per employee and excludes those too new to rate;
- every manager answers the three potential questions for their reports (a few override
  the computed band, with a reason), with flight risk, impact of loss and the key
  talent flag (about 12 % of those assessed, in boxes 6, 8 and 9; some of them named
  successors for the key positions HR set up, the head of each unit and department),
  and submits them — all but the ten whose rating is still missing in core HR, which
  cannot be submitted;
- HR starts calibration anyway (with the reason) and sets up the sessions: one per
  business unit, owned by its head and facilitated by its HRBPs, with the department
  heads taking part; a small executive session for the CEO, the business-unit heads and
  their staff (under 20 people: the guideline is only advisory there); and one holding the
  ten without a rating, which waits for core HR;
- as of the demo's today the sessions are in mixed states: the HR & Admin and the
  executive sessions were held and approved by their owners (their moved ratings
  written back to core HR), Finance & Legal's is finalized and waits for its owner,
  Product's is in progress, and Sales, Operations and R&D are set up for the next week
  with their subjects lined up by HR. In each session held, the facilitator moved the
  fewest ratings that bring it within the guideline (and one up where it has room) and
  a few potentials, each with its reason; the executive session was rated above the
  guideline, which only warns its owner."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy.engine import Connection

from runtime.demo.context import Demo, Person
from runtime.security.actor import Actor

TR = "talent_review"
CYCLE = f"{TR}.talent_review_cycle"
ASSESSMENT = f"{TR}.talent_assessment"
SESSION = f"{TR}.calibration_session"
MEMBER = f"{TR}.calibration_member"
BAND = {"S": 3, "A": 3, "B": 2, "C": 1, "D": 1}
ORDER = ("S", "A", "B", "C", "D")
HELD = ("in_progress", "finalized", "approved")  # the states a session reaches once held


class _Actors:
    """Each person's API identity, looked up once."""

    def __init__(self, demo: Demo) -> None:
        self.demo = demo
        self._known: dict[str, Actor] = {}

    def __call__(self, person: Person) -> Actor:
        if person.username not in self._known:
            self._known[person.username] = self.demo.actor(person.username)
        return self._known[person.username]


def calibrate(demo: Demo, conn: Connection) -> None:
    spec = demo.data["talent_review"]
    who = _Actors(demo)
    admin = who(demo.with_role("core_hr.hr_admin"))
    root = demo.ids[demo.data["company"]["root"]["code"]]
    cycle_row = {**spec["cycle"], "performance_cycle": demo.ids["cycle"], "scope_department": root}
    (cycle,) = demo.create(conn, CYCLE, [cycle_row], admin)
    demo.act(conn, admin, CYCLE, cycle, "launch")
    table = demo.table(ASSESSMENT)
    rows = demo.rows(conn, ASSESSMENT, table.c.cycle == cycle)
    potential = _assess(demo, conn, spec, rows, who)
    demo.act(conn, admin, CYCLE, cycle, "start_calibration", force_reason=spec["force_reason"])
    guideline = demo.rows(conn, CYCLE, demo.table(CYCLE).c.id == cycle)[0]
    _Sessions(demo, conn, spec, cycle, rows, who, admin).run(potential, guideline)


# -- nomination ---------------------------------------------------------------------------


def _assess(
    demo: Demo, conn: Connection, spec: dict[str, Any], rows: list[dict[str, Any]], who: _Actors
) -> dict[int, int]:
    """The managers' answers, written by each for their reports and submitted together
    (the CEO's by HR); the potential band of each assessment answered."""
    rng = demo.rng
    ready = [r for r in rows if r["state"] == "not_started" and r["proposed_rating"]]
    answers: dict[int, dict[str, Any]] = {}
    potential: dict[int, int] = {}
    for row in ready:
        band = BAND[row["proposed_rating"]]
        weights = spec["potential_by_band"][str(band)]
        level = rng.choices((1, 2, 3), weights=weights)[0]
        ability, aspiration, engagement = rng.choice(spec["answers_by_potential"][str(level)])
        potential[row["id"]] = level
        answers[row["id"]] = {
            "q_ability": ability,
            "q_aspiration": aspiration,
            "q_engagement": engagement,
            "flight_risk": _pick(demo, spec["flight_risk"]),
            "impact_of_loss": _pick(demo, spec["impact_of_loss"]),
        }
    for rid in rng.sample(sorted(answers), spec["potential_overrides"]):
        level = potential[rid] + 1 if potential[rid] < 3 else 2
        potential[rid] = level
        answers[rid] |= {
            "potential_override": level,
            "potential_override_reason": spec["override_reason"],
        }
    by_id = {r["id"]: r for r in ready}
    boxes = {rid: (potential[rid] - 1) * 3 + BAND[by_id[rid]["proposed_rating"]] for rid in answers}
    candidates = sorted(rid for rid, box in boxes.items() if box in (6, 8, 9))
    count = min(len(candidates), round(spec["key_talent_share"] * len(answers)))
    positions = _positions(demo, conn, who(demo.with_role("core_hr.hr_admin")))
    nominated: dict[int, int] = {}
    for rid in rng.sample(candidates, count):
        readiness = rng.choice(spec["readiness"])
        answers[rid] |= {
            "key_talent": True,
            "readiness": readiness,
            "development_actions": spec["development_actions"],
        }
        person = demo.person_of(by_id[rid]["employee"])
        position = positions.get(person.department)
        soon = readiness in ("ready_now", "1_2_years")
        head = person.no == demo.heads.get(person.department)
        room = position is not None and nominated.get(position, 0) < spec["successors_per_position"]
        if position is not None and soon and not head and room:
            answers[rid]["successor_for"] = position
            nominated[position] = nominated.get(position, 0) + 1
    admin = who(demo.with_role("core_hr.hr_admin"))
    for manager, ids in _by_manager(demo, ready).items():
        actor = who(demo.people[manager]) if manager else admin
        demo.write(conn, ASSESSMENT, {rid: answers[rid] for rid in ids}, actor)
        demo.act_many(conn, actor, ASSESSMENT, ids, "submit")
    return potential


def _positions(demo: Demo, conn: Connection, admin: Actor) -> dict[str, int]:
    """The key positions HR keeps for succession: the head of every business unit and
    department, filled by its head. Position ids by department code."""
    units = demo.data["company"]["business_units"]
    departments = [d for u in units for d in (u, *u["departments"])]
    rows = []
    for dept in departments:
        head = demo.people[demo.heads[dept["code"]]]
        rows.append(
            {
                "code": f"POS-{dept['code']}-HEAD",
                "title": f"Head of {dept['name']}",
                "department": demo.ids[dept["code"]],
                "job_level": demo.ids[head.level],
                "is_key_position": True,
                "incumbent": head.id,
                "status": "filled",
            }
        )
    ids = demo.create(conn, "core_hr.position", rows, admin)
    return {d["code"]: i for d, i in zip(departments, ids, strict=True)}


def _by_manager(demo: Demo, rows: Iterable[dict[str, Any]]) -> dict[str | None, list[int]]:
    """Assessment ids by the employee number of the employee's manager (None: the CEO)."""
    out: dict[str | None, list[int]] = {}
    for row in rows:
        out.setdefault(demo.person_of(row["employee"]).manager, []).append(row["id"])
    return out


def _pick(demo: Demo, weights: dict[str, float]) -> str:
    return demo.rng.choices(list(weights), weights=list(weights.values()))[0]


def _round(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# -- calibration ------------------------------------------------------------------------


class _Sessions:
    """The sessions HR sets up, and what their committees did by the demo's today."""

    def __init__(
        self,
        demo: Demo,
        conn: Connection,
        spec: dict[str, Any],
        cycle: int,
        rows: list[dict[str, Any]],
        who: _Actors,
        admin: Actor,
    ) -> None:
        self.demo, self.conn, self.spec, self.cycle = demo, conn, spec, cycle
        self.rows, self.who, self.admin = rows, who, admin
        company = demo.data["company"]
        self.root = company["root"]["code"]
        self.unit_of = {
            demo.ids[d["code"]]: u["code"]
            for u in company["business_units"]
            for d in u["departments"]
        }
        self.units = {u["code"]: u for u in company["business_units"]}
        self.ceo = demo.people[demo.heads[self.root]]

    def run(self, potential: dict[int, int], guideline: dict[str, Any]) -> None:
        demo, spec = self.demo, self.spec
        leaders = [r for r in self.rows if r["department"] not in self.unit_of]
        pending = [r for r in self.rows if not r["too_new_to_rate"] and not r["proposed_rating"]]
        plans: list[tuple[dict[str, Any], Person, list[Person], list[Person], str]] = []
        hrbp = demo.person_of(demo.department_hrbp(self.root))
        leaders_spec = {**spec["leaders"], "scope": self.root}
        plans.append((leaders_spec, self.ceo, [hrbp], [], spec["leaders"]["state"]))
        for code, unit_spec in spec["units"].items():
            unit = self.units[code]
            facilitators = _distinct(
                demo.person_of(demo.department_hrbp(c))
                for c in [code, *(d["code"] for d in unit["departments"])]
            )
            heads = [demo.people[demo.heads[d["code"]]] for d in unit["departments"]]
            name = f"{unit['name']} calibration"
            owner = demo.people[demo.heads[code]]
            plans.append(
                (
                    {**unit_spec, "name": name, "scope": code},
                    owner,
                    facilitators,
                    heads,
                    unit_spec["state"],
                )
            )
        plans.append(({**spec["pending"], "scope": self.root}, self.ceo, [hrbp], [], "setup"))
        ids = self._create(plans)
        held = dict(zip(ids, plans, strict=True))
        # HR lines up the subjects it decides itself: the leaders, those waiting for a
        # rating, and the units whose sessions come next week
        assigned = {r["id"]: ids[0] for r in leaders} | {r["id"]: ids[-1] for r in pending}
        for sid, (session, *_rest, state) in held.items():
            if state == "setup" and session["scope"] != self.root:
                unit = session["scope"]
                for row in self.rows:
                    if self.unit_of.get(row["department"]) == unit and row["id"] not in assigned:
                        assigned[row["id"]] = sid
        demo.write(
            self.conn,
            ASSESSMENT,
            {rid: {"session": sid} for rid, sid in assigned.items()},
            self.admin,
        )
        # the units first: the executive session's scope is the company (it takes in
        # what is left unassigned when activated)
        for sid in [*ids[1:], ids[0]]:
            session, owner, facilitators, _, state = held[sid]
            if state in HELD:
                self._hold(sid, owner, facilitators[0], state, potential, guideline, sid == ids[0])

    def _create(
        self, plans: list[tuple[dict[str, Any], Person, list[Person], list[Person], str]]
    ) -> list[int]:
        demo = self.demo
        rows = [
            {
                "cycle": self.cycle,
                "name": s["name"],
                "scope_department": demo.ids[s["scope"]],
                "owner": owner.id,
                "session_date": s["session_date"],
            }
            for s, owner, *_ in plans
        ]
        ids = demo.create(self.conn, SESSION, rows, self.admin)
        members = [
            {"session": sid, "employee": p.id, "role": role}
            for sid, (_, _, facilitators, participants, _) in zip(ids, plans, strict=True)
            for role, people in (("facilitator", facilitators), ("participant", participants))
            for p in people
        ]
        demo.create(self.conn, MEMBER, members, self.admin)
        return ids

    def _hold(
        self,
        sid: int,
        owner: Person,
        facilitator: Person,
        state: str,
        potential: dict[int, int],
        guideline: dict[str, Any],
        leaders: bool,
    ) -> None:
        """Activated by its facilitator, calibrated, finalized; approved by its owner."""
        demo, conn = self.demo, self.conn
        by = self.who(facilitator)
        demo.act(conn, by, SESSION, sid, "activate")
        subjects = demo.rows(conn, ASSESSMENT, demo.table(ASSESSMENT).c.session == sid)
        rated = [r for r in subjects if not r["too_new_to_rate"] and r["proposed_rating"]]
        mine = {r["id"] for r in rated if r["employee"] in (facilitator.id, owner.id)}
        moves = _moves(demo, rated, mine, guideline, self.spec, leaders)
        unmoved = sorted(
            r["id"] for r in rated if r["id"] not in moves.keys() | mine and r["id"] in potential
        )
        for rid in demo.rng.sample(unmoved, min(len(unmoved), self.spec["potential_moves"])):
            level = potential[rid] + (1 if potential[rid] < 3 else -1)
            moves[rid] = {
                "calibrated_potential": level,
                "change_reason": self.spec["reasons"]["potential"],
            }
        demo.write(conn, ASSESSMENT, moves, by)
        if state == "in_progress":
            return
        demo.act(conn, by, SESSION, sid, "finalize")
        if state == "approved":
            demo.act(conn, self.who(owner), SESSION, sid, "approve")


def _distinct(people: Iterable[Person]) -> list[Person]:
    out: list[Person] = []
    for p in people:
        if p not in out:
            out.append(p)
    return out


def _moves(
    demo: Demo,
    rated: list[dict[str, Any]],
    mine: set[int],
    guideline: dict[str, Any],
    spec: dict[str, Any],
    leaders: bool,
) -> dict[int, dict[str, Any]]:
    """The fewest rating moves that bring a session within the guideline (S at most,
    S+A at most, C+D at least) and one up where C+D has room; for the leaders, Bs up to
    A past S+A's limit (advisory there). ``mine``: the assessments of the facilitator
    and the owner, whom they do not move."""
    reasons = spec["reasons"]
    n = Decimal(len(rated))
    s_max = _round(Decimal(str(guideline["s_max_pct"])) * n)
    sa_max = _round(Decimal(str(guideline["sa_max_pct"])) * n)
    cd_min = _round(Decimal(str(guideline["cd_min_pct"])) * n)
    final = {g: sum(1 for r in rated if r["proposed_rating"] == g) for g in ORDER}
    pools = {
        g: [r["id"] for r in rated if r["proposed_rating"] == g and r["id"] not in mine]
        for g in ORDER
    }
    for pool in pools.values():
        demo.rng.shuffle(pool)
    moves: dict[int, dict[str, Any]] = {}

    def move(source: str, target: str, reason: str) -> None:
        rid = pools[source].pop()
        moves[rid] = {"calibrated_rating": target, "change_reason": reason}
        final[source] -= 1
        final[target] += 1

    if leaders:
        while final["S"] + final["A"] <= sa_max and pools["B"]:
            move("B", "A", spec["leaders"]["reason_up"])
        return moves
    while final["S"] > s_max and pools["S"]:
        move("S", "A", reasons["down"])
    while final["S"] + final["A"] > sa_max and pools["A"]:
        move("A", "B", reasons["down"])
    while final["C"] + final["D"] < cd_min and pools["B"]:
        move("B", "C", reasons["down"])
    if final["C"] + final["D"] > cd_min and pools["C"]:
        move("C", "B", reasons["up"])
    return moves
