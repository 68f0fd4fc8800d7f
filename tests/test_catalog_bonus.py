"""The year-end bonus catalog app on core_hr, through the API by the spec's names, with the
test clock, on SQLite and PostgreSQL: BON-1 (population, proration, eligibility, caps, the
department budget and pool scaling, exact to the yuan), BON-2 (a pool owner's adjustments
within the rules, submission refused with every reason, the approval chain), the payout
batch and its payroll file, and the §4.6 permissions (an employee sees their own line only
from the visibility date, and only the fields meant for them)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from runtime.metadata.package import read_package
from runtime.resources import catalog_dir
from tests.auth_support import add_user, make_client
from tests.catalog_support import CatalogWorld

CORE = "/api/v1/apps/core_hr/objects"
BON = "/api/v1/apps/year_end_bonus/objects"

# emp, name, user, level, base, hire, (leave, reason), rating
STAFF = [
    ("E1001", "Zhang Wei", "zhangwei", "P5", 30000, "2019-04-01", None, "A"),
    ("E1002", "Li Na", "lina", "P4", 20000, "2021-06-15", None, "B"),
    ("E1003", "Wang Fang", "wangfang", "P3", 15000, "2025-07-01", None, "S"),
    ("E1004", "Chen Jie", "chenjie", "P4", 18000, "2025-10-20", None, None),
    ("E1005", "Zhao Lei", "zhaolei", "P5", 22000, "2020-03-01", ("2025-12-15", "voluntary"), "B"),
    ("E1006", "Sun Li", "sunli", "P6", 25000, "2010-05-10", ("2025-09-30", "retirement"), "B"),
    ("E1007", "Zhou Min", "zhoumin", "P3", 12000, "2018-09-01", None, "C"),
    ("E1008", "Wu Gang", "wugang", "P2", 9000, "2025-11-15", None, None),
    ("E1009", "Xu Jing", "xujing", "P5", 28000, "2016-02-01", None, "D"),
]
MONTHS = {"P2": "2", "P3": "2", "P4": "3", "P5": "3", "P6": "3", "M3": "4"}


class World(CatalogWorld):
    numbers: dict[int, str]  # employee id -> employee number

    def make(self, url: str, by: str = "admin", **fields: Any) -> dict[str, Any]:
        return self.create(url, by, **fields)

    def get(self, url: str, record_id: int, user: str = "cb") -> dict[str, Any]:
        found = self.call(user, "GET", f"{url}/records/{record_id}")
        assert found.status_code == 200, found.text
        return found.json()  # type: ignore[no-any-return]

    def patch(self, user: str, url: str, record_id: int, **fields: Any) -> Any:
        version = self.get(url, record_id)["version"]
        return self.call(
            user, "PATCH", f"{url}/records/{record_id}", json={**fields, "version": version}
        )

    def act(self, user: str, url: str, record_id: int, action: str, **body: Any) -> Any:
        return self.call(user, "POST", f"{url}/records/{record_id}/actions/{action}", json=body)

    def lines(self, user: str = "cb", **params: Any) -> dict[str, dict[str, Any]]:
        """The plan's lines the user reads, by employee number."""
        found = self.call(user, "GET", f"{BON}/bonus_line/records", params={"limit": 100, **params})
        assert found.status_code == 200, found.text
        return {self.numbers[r["employee"]]: r for r in found.json()["data"]}

    def line(self, emp: str) -> dict[str, Any]:
        return self.lines()[emp]


def _build(w: World) -> None:
    """Acme: the CEO heads the root; R&D Platform (head Owner, HRBP Hana) holds BON-1's nine
    people; a performance cycle FY2025 finalized with their ratings."""
    w.at("2025-12-20T09:00:00")
    levels = {
        code: w.make(f"{CORE}/job_level", code=code, track="ic", rank=i, target_bonus_months=m)[
            "id"
        ]
        for i, (code, m) in enumerate(MONTHS.items(), start=1)
    }
    root = w.make(f"{CORE}/department", code="ACME", name="Acme")
    plat = w.make(f"{CORE}/department", code="D-RD-PLAT", name="R&D Platform", parent=root["id"])
    w.ids |= {"root": root["id"], "plat": plat["id"]}
    base = {"hire_date": "2012-01-01", "contract_type": "open_ended", "job_level": levels["M3"]}

    def hire(no: str, name: str, user: str, dept: int, manager: int | None, **more: Any) -> int:
        body = {**base, "base_salary_monthly": "60000", **more}
        made = w.make(
            f"{CORE}/employee",
            employee_no=no,
            name=name,
            user=user,
            department=dept,
            manager=manager,
            **body,
        )
        w.numbers[made["id"]] = no
        w.ids[user] = made["id"]
        return int(made["id"])

    ceo = hire("C0001", "Ceo", "ceo", root["id"], None)
    hire("H0001", "Hana", "hana", root["id"], ceo)
    owner = hire("M0001", "Owner", "owner", plat["id"], ceo)
    for no, name, user, level, salary, hired, leave, _ in STAFF:
        more: dict[str, Any] = {"job_level": levels[level], "hire_date": hired}
        if leave:
            more |= {"termination_date": leave[0], "termination_reason": leave[1]}
            more |= {"employment_status": "terminated"}
        hire(no, name, user, plat["id"], owner, base_salary_monthly=str(salary), **more)
    assert w.patch("admin", f"{CORE}/department", root["id"], head=ceo).status_code == 200
    updated = w.patch("admin", f"{CORE}/department", plat["id"], head=owner, hrbp=w.ids["hana"])
    assert updated.status_code == 200, updated.text

    cycle = w.make(
        f"{CORE}/performance_cycle",
        name="FY2025",
        year=2025,
        period_start="2025-01-01",
        period_end="2025-12-31",
        rating_cutoff_date="2025-09-30",
    )
    assert w.act("admin", f"{CORE}/performance_cycle", cycle["id"], "start_rating").is_success
    results = w.call(
        "admin", "GET", f"{CORE}/performance_result/records", params={"limit": 100}
    ).json()["data"]
    ratings = {w.ids[s[2]]: s[7] for s in STAFF} | {owner: "B", w.ids["hana"]: "B"}
    for result in results:
        rating = ratings.get(result["employee"])
        if rating:
            done = w.patch(
                "admin", f"{CORE}/performance_result", result["id"], proposed_rating=rating
            )
            assert done.status_code == 200, done.text
    for action in ("start_calibration", "finalize"):
        assert w.act("admin", f"{CORE}/performance_cycle", cycle["id"], action).is_success
    w.ids["cycle"] = cycle["id"]


@pytest.fixture
def w(db_url: str) -> Iterator[World]:
    with make_client(db_url, test_clock=True, run_jobs=False) as client:
        state = client.app.state  # type: ignore[attr-defined]
        for name in ("core_hr", "year_end_bonus"):
            state.apps.install(read_package(catalog_dir() / name), actor="t")
        add_user(client, "root", roles=["system_admin"], password=None)
        add_user(client, "admin", roles=["core_hr.hr_admin"], password=None)
        add_user(client, "cb", roles=["core_hr.comp_admin"], password=None)
        add_user(client, "pay", roles=["core_hr.payroll_officer"], password=None)
        add_user(client, "fin", roles=["core_hr.finance_viewer"], password=None)
        for name in ("ceo", "hana", "owner", *(s[2] for s in STAFF)):
            add_user(client, name, password=None)
        world = World(client)
        world.numbers = {}
        _build(world)
        yield world


def _plan(w: World, **more: Any) -> dict[str, Any]:
    plan = w.make(
        f"{BON}/bonus_plan",
        by="cb",
        name="FY2025 Year-end Bonus",
        year=2025,
        period_start="2025-01-01",
        period_end="2025-12-31",
        payout_date="2026-02-06",
        performance_cycle=w.ids["cycle"],
        scope_department=w.ids["root"],
        pool_submission_due="2026-01-15",
        pay_item_code="YEB2025",
        **more,
    )
    w.ids["plan"] = plan["id"]
    return plan


def _open(w: World) -> dict[str, Any]:
    """BON-1's plan opened with R&D Platform's pool prepared at factor 0.8."""
    plan = _plan(w)
    pool = w.make(
        f"{BON}/bonus_pool",
        by="cb",
        plan=plan["id"],
        department=w.ids["plat"],
        dept_performance_factor="0.8",
    )
    opened = w.act("cb", f"{BON}/bonus_plan", plan["id"], "open")
    assert opened.status_code == 200, opened.text
    w.ids["pool"] = pool["id"]
    return w.get(f"{BON}/bonus_pool", pool["id"])


def test_bon1_population_proration_caps_and_pool_scaling(w: World) -> None:
    pool = _open(w)
    lines = w.lines()
    # the CEO heads the scope's root: not in the plan; Owner heads R&D Platform: root pool
    assert set(lines) == {s[0] for s in STAFF} | {"H0001", "M0001"}
    assert lines["M0001"]["pool"] != pool["id"] and lines["H0001"]["pool"] != pool["id"]
    expect = {  # eligible_days, proration (6 places), eligibility, prorated target, cap, suggested
        "E1001": (365, "1.000000", "eligible", "90000.00", "180000.00", "120732"),
        "E1002": (365, "1.000000", "eligible", "60000.00", "120000.00", "53659"),
        "E1003": (184, "0.504110", "eligible", "15123.29", "30246.58", "27050"),
        "E1004": (73, "0.200000", "eligible", "10800.00", "21600.00", "9658"),
        "E1005": (349, None, "ineligible", None, None, "0"),
        "E1006": (273, "0.747945", "eligible", "56095.89", "112191.78", "50167"),
        "E1007": (365, "1.000000", "eligible", "24000.00", "48000.00", "10731"),
        "E1008": (47, None, "ineligible", None, None, "0"),
        "E1009": (365, "1.000000", "eligible", "84000.00", "168000.00", "0"),
    }

    def places(value: str, n: int) -> str:
        return str(Decimal(value).quantize(Decimal(1).scaleb(-n)))

    for emp, (days, proration, eligibility, target, cap, suggested) in expect.items():
        line = lines[emp]
        assert line["pool"] == pool["id"], emp
        assert line["eligible_days"] == days, emp
        assert line["eligibility"] == eligibility, emp
        if proration:
            assert places(line["proration"], 6) == proration, emp
            assert places(line["prorated_target"], 2) == target, emp
            assert places(line["cap_amount"], 2) == cap, emp
        assert Decimal(line["suggested_amount"]) == Decimal(suggested), emp
        assert Decimal(line["final_amount"]) == Decimal(suggested), emp
    assert lines["E1005"]["ineligible_reason"] == "left before payout"
    assert lines["E1008"]["ineligible_reason"] == "service < 60 days"
    assert lines["E1004"]["too_new_to_rate"] is True and lines["E1004"]["rating"] is None
    assert lines["E1003"]["capped_amount"] == lines["E1003"]["cap_amount"]  # S capped at 200 %
    assert places(pool["target_basis"], 2) == "340019.18"
    assert Decimal(pool["budget"]) == 272000
    assert places(pool["raw_total"], 2) == "304142.47"
    assert pool["scale_factor"] == "0.8943177314"
    assert Decimal(pool["suggested_total"]) == Decimal(pool["allocated_total"]) == 271997
    assert Decimal(pool["remaining"]) == 3
    assert places(pool["utilization"], 5) == "0.99999"
    assert (pool["over_budget"], pool["eligible_count"], pool["ineligible_count"]) == (False, 7, 2)
    assert pool["status"] == "open"
    plan = w.get(f"{BON}/bonus_plan", w.ids["plan"])
    assert plan["status"] == "open" and plan["pools_count"] == 2  # R&D Platform and the root


def test_bon2_adjustments_submission_and_approvals(w: World) -> None:
    pool = _open(w)
    lines = {k: v["id"] for k, v in w.lines().items()}
    url = f"{BON}/bonus_line"

    over = w.patch("owner", url, lines["E1003"], manager_amount="31000")
    assert over.status_code == 422
    assert over.json()["error"]["code"] == "BONUS_OVER_CAP"
    assert "(30,246)" in over.json()["error"]["details"][0]["message"]
    assert w.patch("owner", url, lines["E1003"], manager_amount="30246").status_code == 200
    assert w.line("E1003")["needs_justification"] is True
    assert w.patch("owner", url, lines["E1001"], manager_amount="117536").status_code == 200
    assert w.line("E1001")["needs_justification"] is False
    pool = w.get(f"{BON}/bonus_pool", pool["id"])
    assert (Decimal(pool["allocated_total"]), Decimal(pool["remaining"])) == (271997, 3)
    gate = w.patch("owner", url, lines["E1009"], manager_amount="5000")
    assert (gate.status_code, gate.json()["error"]["code"]) == (422, "BONUS_RATING_GATE")
    assert w.patch("owner", url, lines["E1002"], manager_amount="58659").status_code == 200
    pool = w.get(f"{BON}/bonus_pool", pool["id"])
    assert (Decimal(pool["allocated_total"]), pool["over_budget"]) == (276997, True)

    refused = w.act("owner", f"{BON}/bonus_pool", pool["id"], "submit")
    assert refused.status_code == 422
    codes = sorted(d["code"] for d in refused.json()["error"]["details"])
    assert codes == ["JUSTIFICATION_REQUIRED", "POOL_OVER_BUDGET"]
    assert "276,997" in refused.text and "272,000" in refused.text
    assert w.get(f"{BON}/bonus_pool", pool["id"])["status"] == "open"  # nothing changed

    assert w.patch("owner", url, lines["E1002"], manager_amount=None).status_code == 200
    assert w.line("E1002")["final_amount"] == "53659.00"
    why = "Joined mid-year and carried the platform migration"
    assert w.patch("owner", url, lines["E1003"], justification=why).status_code == 200
    assert w.act("owner", f"{BON}/bonus_pool", pool["id"], "submit").status_code == 200
    late = w.patch("owner", url, lines["E1007"], manager_amount="10000")
    assert (late.status_code, late.json()["error"]["code"]) == (409, "POOL_NOT_OPEN")
    assert w.act("cb", f"{BON}/bonus_pool", pool["id"], "approve").status_code == 422  # HRBP first
    assert w.act("hana", f"{BON}/bonus_pool", pool["id"], "approve").status_code == 200
    assert w.act("hana", f"{BON}/bonus_pool", pool["id"], "approve").status_code == 403
    assert w.act("cb", f"{BON}/bonus_pool", pool["id"], "approve").status_code == 200
    final = {k: Decimal(v["final_amount"]) for k, v in w.lines().items() if k.startswith("E")}
    assert [final[s[0]] for s in STAFF] == [117536, 53659, 30246, 9658, 0, 50167, 10731, 0, 0]
    assert sum(final.values()) == 271997
    assert w.get(f"{BON}/bonus_pool", pool["id"])["status"] == "approved"


def _approve_all(w: World) -> None:
    """Every pool submitted by C&B as proxy, approved by its HRBP (C&B where it has none)
    and then by C&B."""
    url = f"{BON}/bonus_pool"
    for pool in w.call("cb", "GET", f"{url}/records").json()["data"]:
        assert w.act("cb", url, pool["id"], "submit").status_code == 200
        hrbp = "hana" if pool["hrbp"] == w.ids["hana"] else "cb"
        assert w.act(hrbp, url, pool["id"], "approve").status_code == 200
        assert w.act("cb", url, pool["id"], "approve").status_code == 200
        assert w.get(url, pool["id"])["status"] == "approved"


def test_payout_batch_exports_the_payroll_file(w: World) -> None:
    _open(w)
    _approve_all(w)
    plan_url = f"{BON}/bonus_plan"
    assert w.act("cb", plan_url, w.ids["plan"], "lock").status_code == 200
    batch = w.make(
        f"{BON}/bonus_payout_batch",
        by="pay",
        plan=w.ids["plan"],
        batch_no="YEB2025-01",
        payroll_period="2026-02",
    )
    burl = f"{BON}/bonus_payout_batch"
    gen = w.act("pay", burl, batch["id"], "generate")
    assert gen.status_code == 200, gen.text
    batch = w.get(burl, batch["id"], "pay")
    paid = {k: v for k, v in w.lines().items() if Decimal(v["final_amount"]) > 0}
    assert batch["line_count"] == len(paid)
    assert Decimal(batch["total_amount"]) == sum(Decimal(v["final_amount"]) for v in paid.values())
    assert {v["payout_status"] for v in paid.values()} == {"in_batch"}
    again = w.make(
        burl, by="pay", plan=w.ids["plan"], batch_no="YEB2025-02", payroll_period="2026-02"
    )
    assert w.act("pay", burl, again["id"], "generate").status_code == 200
    assert w.get(burl, again["id"], "pay")["line_count"] == 0  # a line is paid once

    exported = w.act("pay", burl, batch["id"], "export")
    assert exported.status_code == 200, exported.text
    batch = w.get(burl, batch["id"], "pay")
    (attached,) = batch["export_file"]
    got = w.call("pay", "GET", f"{burl}/records/{batch['id']}/files/export_file/{attached['id']}")
    assert got.status_code == 200, got.text
    assert got.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(got.content.decode("utf-8-sig"))))
    assert rows[0] == [
        "batch_no",
        "payroll_period",
        "employee_no",
        "employee_name",
        "department_code",
        "cost_center",
        "pay_item_code",
        "amount",
        "currency",
        "tax_method",
        "employment_status",
    ]
    assert [r[2] for r in rows[1:]] == sorted(r[2] for r in rows[1:])
    by_no = {r[2]: r for r in rows[1:]}
    assert by_no["E1001"][:4] == ["YEB2025-01", "2026-02", "E1001", "Zhang Wei"]
    assert by_no["E1001"][4:] == [
        "D-RD-PLAT",
        "",
        "YEB2025",
        "120732.00",
        "CNY",
        "annual_one_off",
        "regular",
    ]
    assert by_no["E1006"][10] == "terminated"  # a good leaver, paid off-cycle
    assert sum(Decimal(r[7]) for r in rows[1:]) == Decimal(batch["total_amount"])

    assert w.act("pay", burl, batch["id"], "confirm_paid").status_code == 422  # pay date first
    assert w.patch("pay", burl, batch["id"], pay_date="2026-02-06").status_code == 200
    assert w.act("pay", burl, batch["id"], "confirm_paid").status_code == 200
    lines = w.lines()
    assert {v["payout_status"] for k, v in lines.items() if k in paid} == {"paid"}
    assert {v["paid_date"] for k, v in lines.items() if k in paid} == {"2026-02-06"}
    assert w.get(plan_url, w.ids["plan"])["status"] == "paid"  # every line paid: the plan is


def test_bonus_permissions_follow_the_matrix(w: World) -> None:
    pool = _open(w)
    everyone = set(w.lines())
    assert set(w.lines("owner")) == {s[0] for s in STAFF}  # the pool's lines
    assert w.lines("zhangwei") == {}  # nothing before publication
    assert w.lines("admin") == {} and w.lines("fin") == {} and w.lines("pay") == {}
    assert set(w.lines("hana")) == {s[0] for s in STAFF}  # her department's lines
    assert set(w.lines("ceo")) == everyone  # the skip manager of all
    hidden = w.call("admin", "GET", f"{BON}/bonus_pool/records/{pool['id']}").json()
    assert "budget" not in hidden and "allocated_total" not in hidden and "department" in hidden
    seen = w.call("fin", "GET", f"{BON}/bonus_pool/records/{pool['id']}").json()
    assert seen["budget"] == "272000.00"
    leak = w.call("admin", "GET", f"{BON}/bonus_pool/records", params={"filter": "budget > 0"})
    assert leak.status_code == 200 and leak.json()["data"] == []  # hidden: blank to filters
    stranger = w.patch("zhangwei", f"{BON}/bonus_line", w.line("E1002")["id"], manager_amount="1")
    assert stranger.status_code == 404

    _approve_all(w)
    plan_url = f"{BON}/bonus_plan"
    assert w.act("cb", plan_url, w.ids["plan"], "lock").status_code == 200
    assert w.patch("cb", plan_url, w.ids["plan"], visibility_date="2026-02-01").status_code == 200
    assert w.act("cb", plan_url, w.ids["plan"], "publish").status_code == 200
    assert w.lines("zhangwei") == {}  # published, but before the visibility date
    w.at("2026-02-01T08:00:00")
    (own,) = w.lines("zhangwei").values()
    assert own["final_amount"] == "120732.00" and own["rating"] == "A"
    for secret in ("suggested_amount", "manager_amount", "adjustment_pct", "justification"):
        assert secret not in own
    assert "base_salary_monthly" not in own


def test_dashboards_answer_each_role_with_what_it_may_see(w: World) -> None:
    _open(w)
    base = "/api/v1/apps/year_end_bonus/dashboards"

    def board(user: str, name: str) -> dict[str, Any]:
        found = w.call(user, "GET", f"{base}/{name}")
        assert found.status_code == 200, found.text
        return {x["name"]: x for x in found.json()["widgets"]}

    spend = board("cb", "bonus_spend")
    assert all("error" not in x for x in spend.values()), spend
    rows = {
        r["cells"]["department"]["key"]: r["cells"]
        for r in spend["spend_by_department"]["data"]["rows"]
    }
    assert Decimal(str(rows[w.ids["plat"]]["budget"])) == 272000
    assert Decimal(str(rows[w.ids["plat"]]["allocated_total"])) == 271997
    ratings = {g["key"]: g["value"] for g in spend["payout_by_rating"]["data"]["groups"]}
    assert ratings["D"] is not None and Decimal(ratings["S"]) > Decimal(ratings["D"])
    assert board("owner", "bonus_spend")["over_budget_pools"]["data"] == {"value": 0}

    progress = board("admin", "bonus_progress")  # HR admin: counts, never amounts
    assert all("error" not in x for x in progress.values()), progress
    statuses = {g["key"]: g.get("value") for g in progress["pools_by_status"]["data"]["groups"]}
    assert statuses["open"] == 2
    cells = progress["eligibility_by_department"]["data"]["cells"]
    small = [c for c in cells if c.get("suppressed")]  # fewer than 5 people: no count
    assert small and all("value" not in c for c in small)
    assert w.call("admin", "GET", f"{base}/bonus_cost").status_code == 404
    assert w.call("zhangwei", "GET", f"{base}/bonus_progress").status_code == 404
    cost = board("fin", "bonus_cost")
    assert cost["budget_total"]["data"]["value"] == str(
        sum(
            Decimal(p["budget"])
            for p in w.call("cb", "GET", f"{BON}/bonus_pool/records").json()["data"]
        ).quantize(Decimal("0.01"))
    )
    mine = board("zhangwei", "bonus_spend")  # before publication an employee sees no lines
    assert mine["payout_by_rating"]["data"]["groups"] == [] or all(
        g["value"] in (None, 0) for g in mine["payout_by_rating"]["data"]["groups"]
    )
