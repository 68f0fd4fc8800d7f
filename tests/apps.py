"""Small app definitions and data helpers shared by the tests."""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.metadata.model import AppDef
from runtime.services.conditions import compile_conditions
from runtime.storage.tables import build_table

STAMP = datetime(2025, 1, 1, 9, 0, 0)

PEOPLE_V1: dict[str, Any] = {
    "name": "people",
    "version": "1.0.0",
    "title": {"en": "People", "zh": "人员"},
    "roles": [{"name": "hr_admin", "title": {"en": "HR admin", "zh": "人事管理员"}}],
    "objects": [
        {
            "name": "department",
            "label_field": "name",
            "fields": [
                {"name": "code", "type": "text", "unique": True, "required": True},
                {"name": "name", "type": "text", "required": True},
                {
                    "name": "parent",
                    "type": "reference",
                    "to": "department",
                    "related_name": "children",
                },
            ],
        },
        {
            "name": "employee",
            "fields": [
                {"name": "employee_no", "type": "text", "unique": True, "required": True},
                {"name": "name", "type": "text", "required": True},
                {
                    "name": "department",
                    "type": "reference",
                    "to": "department",
                    "related_name": "employees",
                },
                {"name": "salary", "type": "currency", "sensitivity": "compensation"},
                {"name": "grade", "type": "text"},
                {
                    "name": "status",
                    "type": "select",
                    "options": ["active", "leaver"],
                    "default": "active",
                },
                {"name": "hired", "type": "date"},
                {"name": "tags", "type": "multi_select", "options": ["remote", "key_talent"]},
                {"name": "notes", "type": "long_text"},
            ],
        },
    ],
    "permissions": [{"role": "hr_admin", "object": "employee", "actions": ["read", "update"]}],
}


def people(version: str = "1.0.0") -> dict[str, Any]:
    defn = copy.deepcopy(PEOPLE_V1)
    defn["version"] = version
    return defn


def obj(defn: dict[str, Any], name: str) -> dict[str, Any]:
    return next(o for o in defn["objects"] if o["name"] == name)


def field(defn: dict[str, Any], object_name: str, field_name: str) -> dict[str, Any]:
    return next(f for f in obj(defn, object_name)["fields"] if f["name"] == field_name)


def table(defn: dict[str, Any], object_name: str) -> sa.Table:
    app = AppDef.from_dict(defn)
    conditions = compile_conditions(app, "sqlite").get(object_name)
    return build_table(sa.MetaData(), app, app.object(object_name), conditions)


def insert(
    engine: Engine, defn: dict[str, Any], object_name: str, rows: list[dict[str, Any]]
) -> list[int]:
    t = table(defn, object_name)
    ids = []
    with engine.begin() as conn:
        for row in rows:
            values = {"created_at": STAMP, "updated_at": STAMP, **row}
            ids.append(int(conn.execute(sa.insert(t).values(values)).inserted_primary_key[0]))
    return ids


def select_all(engine: Engine, defn: dict[str, Any], object_name: str) -> list[dict[str, Any]]:
    t = table(defn, object_name)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(t.c.id))]


def seed_people(engine: Engine, defn: dict[str, Any] | None = None) -> dict[str, list[int]]:
    defn = defn or people()
    deps = insert(engine, defn, "department", [{"code": "D-RD", "name": "R&D"}])
    emps = insert(
        engine,
        defn,
        "employee",
        [
            {
                "employee_no": "E1",
                "name": "Ada",
                "department": deps[0],
                "salary": "23000.50",
                "grade": "12",
                "status": "active",
                "hired": datetime(2020, 3, 1).date(),
            },
            {
                "employee_no": "E2",
                "name": "Bo",
                "department": deps[0],
                "salary": "18000",
                "grade": "N/A",
                "status": "active",
            },
            {
                "employee_no": "E3",
                "name": "Cy",
                "department": deps[0],
                "salary": None,
                "grade": " 7 ",
                "status": "leaver",
                "tags": ["remote"],
            },
            {"employee_no": "E4", "name": "Di", "department": deps[0], "grade": "unknown"},
        ],
    )
    return {"department": deps, "employee": emps}


def core(version: str = "1.0.0") -> dict[str, Any]:
    """A minimal app that others require: one role, one object."""
    return {
        "name": "core",
        "version": version,
        "title": "Core",
        "roles": [{"name": "hr_admin"}],
        "objects": [{"name": "employee", "fields": [{"name": "name", "type": "text"}]}],
    }
