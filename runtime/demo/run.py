"""``generate``: install the catalog apps that are missing, refuse if the demo company is
already there, then make the dataset part by part (each part one transaction, timed),
with the clock pinned at the dataset's "today" (``as_of``, 2026-01-10): every date,
timer and audit entry is as of that day, and the database's test clock is set to it so
``TENON_TEST_CLOCK=1 tenon serve`` shows the company on that day."""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.demo import bonus, core_hr, population, probation
from runtime.demo.context import Demo, load_data, make_demo
from runtime.errors import Conflict
from runtime.metadata.package import read_package
from runtime.resources import catalog_dir
from runtime.security import passwords
from runtime.services.apps import AppService
from runtime.storage.shared_clock import SharedClock

APPS = ("core_hr", "probation", "year_end_bonus", "talent_review", "pip")
DEFAULT_PASSWORD = "demo"  # noqa: S105 - the demo users' password, below the policy minimum on purpose


def install_apps(engine: Engine, actor: str) -> list[str]:
    """Install the catalog apps that are not installed yet (in dependency order); the
    names installed. An app whose package is not in the catalog is skipped."""
    service = AppService(engine)
    have = {a.name for a in service.installed()}
    done = []
    for name in APPS:
        folder = catalog_dir() / name
        if name in have or not (folder / "app.json").is_file():
            continue
        service.install(read_package(folder), actor=actor)
        done.append(name)
    return done


def _refuse_twice(demo: Demo) -> None:
    code = demo.data["company"]["root"]["code"]
    table = demo.table("core_hr.department")
    with demo.engine.connect() as conn:
        found = conn.execute(sa.select(table.c.id).where(table.c.code == code)).first()
    if found is not None:
        raise Conflict(
            f"The demo data is already there (department {code} exists); "
            "run `tenon demo` on an empty database",
            code="DEMO_EXISTS",
        )


Part = Callable[[Demo, Any], Any]


def generate(engine: Engine, password: str | None = None, installed_by: str = "cli:demo") -> Demo:
    """The whole dataset; ``demo.timings`` says how long each part took."""
    start = time.perf_counter()
    data = load_data()
    as_of = datetime.fromisoformat(data["company"]["as_of"] + "T09:00:00")
    demo = make_demo(engine, data, as_of)
    with demo.timed("install apps"):
        installed = install_apps(engine, installed_by)
    _refuse_twice(demo)
    demo.notes.append(f"installed: {', '.join(installed) or 'nothing (all there)'}")
    apps = {a.name for a in demo.current.apps.installed()}
    with demo.timed("people (in memory) and the password hash"):
        population.build(demo)
        hashed = passwords.hash_password(password or DEFAULT_PASSWORD)
    with demo.timed("core_hr: levels, departments, users, employees"), demo.transaction() as conn:
        core_hr.structure(demo, conn, hashed)
    with demo.timed("year_end_bonus: FY2024 plan, paid and closed"), demo.transaction() as conn:
        bonus.fy2024(demo, conn)
    with demo.timed("core_hr: performance cycle rated"), demo.transaction() as conn:
        core_hr.rate(demo, conn)
    _optional(demo, apps, "talent_review", "calibrate", "calibration sessions")
    with demo.timed("core_hr: cycle finalized, overrides"), demo.transaction() as conn:
        core_hr.finalize(demo, conn)
    with demo.timed("probation: decisions"), demo.transaction() as conn:
        probation.decide(demo, conn)
    with demo.timed("year_end_bonus: FY2025 plan"), demo.transaction() as conn:
        bonus.fy2025(demo, conn)
    _optional(demo, apps, "pip", "plans", "improvement plans")
    with demo.timed("timers due on the day"):
        ran = demo.run_due()
    demo.notes.append(f"{ran} jobs ran at {as_of:%Y-%m-%d}")
    SharedClock(engine).set(as_of)
    demo.timings.append(("total", time.perf_counter() - start))
    return demo


def _optional(demo: Demo, apps: set[str], app: str, step: str, what: str) -> None:
    """The part of an app whose demo module exists (talent_review and pip come later)."""
    if app not in apps or importlib.util.find_spec(f"runtime.demo.{app}") is None:
        demo.notes.append(f"{app}: no demo data yet")
        return
    module = importlib.import_module(f"runtime.demo.{app}")
    with demo.timed(f"{app}: {what}"), demo.transaction() as conn:
        getattr(module, step)(demo, conn)


def print_report(
    demo: Demo, out: TextIO, verbose: bool = False, custom_password: bool = False
) -> None:
    """What was made, the logins to try and the password rule; the timings if asked."""
    company = demo.data["company"]
    print(
        f"{company['company']['en']}: {len(demo.people):,} employees, as of {company['as_of']}",
        file=out,
    )
    for note in demo.notes:
        print(f"  {note}", file=out)
    rows = logins(demo)
    width = max(len(r[0]) for r in rows)
    print(f"\n{'username':<{width}}  {'roles':<24}  who", file=out)
    for username, who, roles in rows:
        print(f"{username:<{width}}  {roles:<24}  {who}", file=out)
    rule = (
        "the password given on standard input"
        if custom_password
        else f"password {DEFAULT_PASSWORD!r}"
    )
    print(
        f"\nEvery employee signs in as surname.given.number (e.g. {rows[0][0]}) with {rule};"
        " leavers' logins are inactive.",
        file=out,
    )
    print(
        f"Run TENON_TEST_CLOCK=1 tenon serve to see the data as of {company['as_of']} "
        "(the database's test clock is set to it).",
        file=out,
    )
    if verbose:
        print("", file=out)
        for what, seconds in demo.timings:
            print(f"{seconds:8.2f} s  {what}", file=out)


def logins(demo: Demo) -> list[tuple[str, str, str]]:
    """The logins worth trying: (username, who, roles), the people with a part to play."""
    shown: list[Any] = []
    ceo = demo.people[demo.heads[demo.data["company"]["root"]["code"]]]
    shown.append(ceo)
    shown += [p for p in demo.people.values() if p.roles]
    shown += [demo.people[no] for no in demo.hrbps[:2]]
    plat = demo.people[demo.heads["D-RD-PLAT"]]
    shown.append(plat)
    manager = next(
        p for p in demo.people.values() if p.manager == plat.no and p.level in population.MANAGEMENT
    )
    shown.append(manager)
    shown.append(
        next(p for p in demo.people.values() if p.manager == manager.no and p.status == "regular")
    )
    shown.append(next(p for p in demo.people.values() if p.status == "probation"))
    return [
        (p.username, f"{p.name} {p.name_zh}: {p.who or p.level}", ", ".join(p.roles) or "-")
        for p in shown
    ]
