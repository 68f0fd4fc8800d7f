"""The permission fixture: a small core-HR-like app (tests/packages/staff) and its people.

Organisation (department path, manager chain)::

    ROOT  Cora (CEO)
    ├── ENG (HRBP Hank)   Sam (skip manager) ── Mia (manager) ── Ann, Ben (PLAT), Nia (PLAT)
    │   └── PLAT (HRBP inherited from ENG)
    ├── SALES             Max (manager, reports to Sam) ── Cat
    └── HR                Hank (HRBP, reports to Cora)

Users without an employee record: Hera (hr_admin), Cole (comp_admin), Sid (system_admin).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.metadata.model import AppDef
from runtime.security.actor import Actor
from runtime.services.computed import Computed
from runtime.storage.tables import build_table

PACKAGE = Path(__file__).parent / "packages" / "staff"
STAMP = datetime(2025, 1, 1, 9, 0)

DEPARTMENTS = [  # code, parent, hrbp (employee no), budget
    ("ROOT", None, None, "1000000.00"),
    ("ENG", "ROOT", "E7", "400000.00"),
    ("PLAT", "ENG", None, "150000.00"),
    ("SALES", "ROOT", None, "300000.00"),
    ("HR", "ROOT", None, "100000.00"),
]
EMPLOYEES = [  # no, name, user, department, manager, salary, birth date
    ("E0", "Cora", "cora", "ROOT", None, "90000.00", date(1975, 1, 2)),
    ("E1", "Sam", "sam", "ENG", "E0", "60000.00", date(1980, 3, 4)),
    ("E2", "Mia", "mia", "ENG", "E1", "45000.00", date(1985, 5, 6)),
    ("E3", "Max", "max", "SALES", "E1", "44000.00", date(1986, 7, 8)),
    ("E4", "Ann", "ann", "ENG", "E2", "30000.00", date(1990, 9, 10)),
    ("E5", "Ben", "ben", "PLAT", "E2", "31000.00", date(1991, 11, 12)),
    ("E6", "Cat", "cat", "SALES", "E3", "28000.00", date(1992, 1, 13)),
    ("E7", "Hank", "hank", "HR", "E0", "40000.00", date(1984, 2, 14)),
    ("E8", "Nia", None, "PLAT", "E2", "29000.00", date(1993, 3, 15)),
]
REVIEWS = [  # employee, rating, potential, published on
    ("E1", "A", "high", date(2025, 3, 1)),
    ("E2", "B", "medium", date(2025, 3, 1)),
    ("E3", "B", "medium", date(2025, 3, 1)),
    ("E4", "S", "high", date(2025, 3, 1)),
    ("E5", "C", "low", date(2025, 12, 1)),  # not yet published on 2025-06-10
    ("E6", "B", "low", date(2025, 3, 1)),
    ("E7", "A", "medium", date(2025, 3, 1)),
    ("E8", "D", "low", date(2025, 3, 1)),
]
USERS = {  # username -> granted roles
    "cora": (),
    "sam": (),
    "mia": (),
    "max": (),
    "ann": (),
    "ben": (),
    "cat": (),
    "hank": (),
    "hera": ("staff.hr_admin",),
    "cole": ("staff.comp_admin",),
    "sid": ("system_admin",),
}


def definition() -> dict[str, Any]:
    result: dict[str, Any] = json.loads((PACKAGE / "app.json").read_text())
    return result


@dataclass
class Staff:
    users: dict[str, int] = field(default_factory=dict)
    employees: dict[str, int] = field(default_factory=dict)  # employee_no -> id
    departments: dict[str, int] = field(default_factory=dict)
    reviews: dict[str, int] = field(default_factory=dict)  # employee_no -> review id

    def actor(self, username: str) -> Actor:
        return Actor(self.users[username], username, frozenset(USERS[username]))

    def numbers(self, ids: Any) -> set[str]:
        back = {v: k for k, v in self.employees.items()}
        return {back[i] for i in ids}


def seed(engine: Engine, app: AppDef) -> Staff:
    """Insert the users and records (the app must be installed)."""
    staff = Staff()
    tables = {o.name: build_table(sa.MetaData(), app, o) for o in app.objects}
    users = sa.table(
        "tenon_users",
        sa.column("id"),
        sa.column("username"),
        sa.column("is_active"),
        sa.column("created_at"),
    )
    stamp = {"created_at": STAMP, "updated_at": STAMP}
    with engine.begin() as conn:
        for name in USERS:
            insert = sa.insert(users).values(username=name, is_active=True, created_at=STAMP)
            staff.users[name] = int(conn.execute(insert.returning(users.c.id)).scalar_one())
        dept, emp, rev = tables["department"], tables["employee"], tables["review"]
        for code, parent, _, budget in DEPARTMENTS:
            row = {"code": code, "name": code.title(), "budget": Decimal(budget), **stamp}
            row["parent"] = staff.departments.get(parent) if parent else None
            result = conn.execute(sa.insert(dept).values(**row))
            staff.departments[code] = int(result.inserted_primary_key[0])  # type: ignore[index]
        for no, name, user, department, manager, salary, born in EMPLOYEES:
            row = {
                "employee_no": no,
                "name": name,
                "user": staff.users[user] if user else None,
                "department": staff.departments[department],
                "manager": staff.employees[manager] if manager else None,
                "job_title": "Engineer",
                "hire_date": date(2020, 1, 1),
                "birth_date": born,
                "base_salary": Decimal(salary),
                **stamp,
            }
            result = conn.execute(sa.insert(emp).values(**row))
            staff.employees[no] = int(result.inserted_primary_key[0])  # type: ignore[index]
        for code, _, hrbp, _ in DEPARTMENTS:
            if hrbp:
                conn.execute(
                    sa.update(dept)
                    .where(dept.c.id == staff.departments[code])
                    .values(hrbp=staff.employees[hrbp])
                )
        for no, rating, potential, published in REVIEWS:
            row = {
                "employee": staff.employees[no],
                "rating": rating,
                "potential": potential,
                "comments": f"review of {no}",
                "published_on": published,
                **stamp,
            }
            result = conn.execute(sa.insert(rev).values(**row))
            staff.reviews[no] = int(result.inserted_primary_key[0])  # type: ignore[index]
        computed = Computed({app.name: app})
        for obj in ("department", "employee"):
            computed.recompute_all(conn, f"staff.{obj}")
    return staff
