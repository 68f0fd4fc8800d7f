"""Install, upgrade and export on SQLite and PostgreSQL: tables, plans, data checks,
consent for data loss, atomicity."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.errors import Conflict, DataLossRefused, ValidationFailed
from runtime.metadata.package import read_package_bytes
from runtime.services.apps import AppService
from runtime.storage import sync
from tests.apps import core, field, insert, obj, people, seed_people, select_all, table
from tests.conftest import Installer, schema_dump


def test_install_creates_typed_tables_with_keys(engine: Engine, install: Installer) -> None:
    result = install(people())
    assert result.status == "installed"
    inspector = sa.inspect(engine)
    columns = {c["name"]: c for c in inspector.get_columns("app_people__employee")}
    assert list(columns)[:6] == [
        "id",
        "version",
        "created_at",
        "created_by",
        "updated_at",
        "updated_by",
    ]
    assert isinstance(columns["salary"]["type"], sa.Numeric)
    assert (columns["salary"]["type"].precision, columns["salary"]["type"].scale) == (14, 2)
    assert isinstance(columns["hired"]["type"], sa.Date)
    assert isinstance(columns["employee_no"]["type"], sa.Text)
    fks = {
        fk["constrained_columns"][0]: fk["referred_table"]
        for fk in inspector.get_foreign_keys("app_people__employee")
    }
    assert fks["department"] == "app_people__department"
    assert fks["created_by"] == "tenon_users"
    indexed = {tuple(i["column_names"]) for i in inspector.get_indexes("app_people__employee")}
    assert ("department",) in indexed
    # the database itself enforces uniqueness and links
    seed_people(engine)
    with pytest.raises(sa.exc.IntegrityError):
        insert(engine, people(), "employee", [{"employee_no": "E1", "name": "dup"}])
    with pytest.raises(sa.exc.IntegrityError):
        insert(
            engine, people(), "employee", [{"employee_no": "E9", "name": "x", "department": 999}]
        )


def test_registry_records_version_hash_and_installer(
    service: AppService, install: Installer
) -> None:
    install(people(), actor="alice")
    [app] = service.installed()
    assert (app.name, app.version, app.installed_by) == ("people", "1.0.0", "alice")
    assert app.package_hash.startswith("sha256:") and len(app.package_hash) == 71
    install(people("1.1.0"), actor="bob")
    history = service.history("people")
    assert [(h["version"], h["previous_version"], h["installed_by"]) for h in history] == [
        ("1.0.0", None, "alice"),
        ("1.1.0", "1.0.0", "bob"),
    ]


def test_reinstalling_the_same_version_is_a_no_op(install: Installer, engine: Engine) -> None:
    install(people())
    before = schema_dump(engine)
    assert install(people()).status == "unchanged"
    assert schema_dump(engine) == before


def test_same_version_with_other_content_and_downgrades_are_refused(install: Installer) -> None:
    install(people("1.2.0"))
    changed = people("1.2.0")
    changed["title"] = {"en": "Staff"}
    with pytest.raises(Conflict) as same:
        install(changed)
    assert same.value.code == "VERSION_EXISTS"
    with pytest.raises(Conflict) as older:
        install(people("1.1.9"))
    assert older.value.code == "DOWNGRADE"


def test_export_then_install_gives_the_same_definition(
    service: AppService, install: Installer, engine: Engine, tmp_path: object
) -> None:
    original = people()
    install(original)
    exported = service.export("people")
    package = read_package_bytes(exported, "people.zip")
    assert package.definition == original
    assert service.export("people") == exported  # deterministic bytes
    assert service.install(package, actor="t").status == "unchanged"
    assert service.get("people").hash == service.installed()[0].package_hash


def test_upgrade_adding_and_renaming_fields_keeps_every_row(
    engine: Engine, install: Installer
) -> None:
    install(people())
    seed_people(engine)
    before = select_all(engine, people(), "employee")
    v2 = people("1.1.0")
    f = field(v2, "employee", "notes")
    f["name"], f["renamed_from"] = "comments", "notes"
    obj(v2, "employee")["fields"].append({"name": "email", "type": "email"})
    dep = field(v2, "department", "name")
    dep["name"], dep["renamed_from"] = "title", "name"
    obj(v2, "department")["label_field"] = "title"
    insert(engine, people(), "employee", [{"employee_no": "E5", "name": "Ed", "notes": "kept"}])
    result = install(v2)
    kinds = sorted(c.kind for c in result.plan.changes) if result.plan else []
    assert kinds == ["add_field", "rename_field", "rename_field"]
    after = select_all(engine, v2, "employee")
    assert len(after) == len(before) + 1
    for old, new in zip(before, after, strict=False):
        assert new["comments"] == old["notes"]
        assert new["email"] is None
        assert {k: v for k, v in new.items() if k not in ("comments", "email")} == {
            k: v for k, v in old.items() if k != "notes"
        }
    assert after[-1]["comments"] == "kept"
    assert [d["title"] for d in select_all(engine, v2, "department")] == ["R&D"]


def test_text_to_integer_is_refused_with_the_offending_ids(
    engine: Engine, install: Installer
) -> None:
    install(people())
    ids = seed_people(engine)["employee"]
    before = schema_dump(engine)
    v2 = people("2.0.0")
    field(v2, "employee", "grade")["type"] = "integer"
    with pytest.raises(ValidationFailed) as refused:
        install(v2)
    [issue] = refused.value.details
    assert issue.code == "TYPE_CHANGE_REFUSED"
    assert issue.path == "/objects/1/fields/4"
    assert f"record ids: {ids[1]}, {ids[3]}" in issue.message
    assert "'N/A'" in issue.message
    assert schema_dump(engine) == before
    # the dry run shows the same refusal without touching anything
    plan = install(v2, dry_run=True).plan
    assert plan is not None and [c.blocking_ids for c in plan.problems] == [[ids[1], ids[3]]]


def test_text_to_integer_converts_when_every_value_fits(engine: Engine, install: Installer) -> None:
    install(people())
    ids = seed_people(engine)["employee"]
    with engine.begin() as conn:
        t = table(people(), "employee")
        conn.execute(sa.update(t).where(t.c.id.in_([ids[1], ids[3]])).values(grade=None))
    v2 = people("2.0.0")
    field(v2, "employee", "grade")["type"] = "integer"
    install(v2)
    rows = select_all(engine, v2, "employee")
    assert [r["grade"] for r in rows] == [12, None, 7, None]
    columns = {c["name"]: c["type"] for c in sa.inspect(engine).get_columns("app_people__employee")}
    assert isinstance(columns["grade"], sa.BigInteger | sa.Integer)


def test_removing_an_option_in_use_is_refused(engine: Engine, install: Installer) -> None:
    install(people())
    ids = seed_people(engine)["employee"]
    v2 = people("1.1.0")
    field(v2, "employee", "status")["options"] = ["active", "terminated"]
    field(v2, "employee", "status")["default"] = "active"
    with pytest.raises(ValidationFailed) as refused:
        install(v2)
    assert f"record ids: {ids[2]}" in refused.value.details[0].message
    assert "options removed: leaver" in refused.value.details[0].message


def test_decimal_rescale_keeps_exact_values(engine: Engine, install: Installer) -> None:
    install(people())
    seed_people(engine)
    v2 = people("1.1.0")
    salary = field(v2, "employee", "salary")
    salary.update(type="decimal", precision=16, scale=4)
    install(v2)
    salaries = [r["salary"] for r in select_all(engine, v2, "employee")]
    assert salaries == [Decimal("23000.5000"), Decimal("18000.0000"), None, None]
    v3 = people("1.2.0")
    field(v3, "employee", "salary").update(type="currency", precision=14, scale=0)
    with pytest.raises(ValidationFailed) as refused:
        install(v3)
    assert "more than 0 decimal places" in refused.value.details[0].message


def test_dropping_a_field_with_data_needs_consent_and_keeps_a_copy(
    engine: Engine, install: Installer, service: AppService
) -> None:
    install(people())
    ids = seed_people(engine)["employee"]
    before = schema_dump(engine)
    v2 = people("2.0.0")
    obj(v2, "employee")["fields"] = [
        f for f in obj(v2, "employee")["fields"] if f["name"] != "grade"
    ]
    with pytest.raises(DataLossRefused) as refused:
        install(v2)
    assert "employee.grade" in refused.value.details[0].message
    assert "4 row(s) hold data" in refused.value.details[0].message
    assert schema_dump(engine) == before
    result = install(v2, allow_data_loss=True)
    [archive] = result.archives
    assert "grade" not in {
        c["name"] for c in sa.inspect(engine).get_columns("app_people__employee")
    }
    with engine.connect() as conn:
        kept = conn.execute(
            sa.text(f'SELECT record_id, value FROM "{archive["table_name"]}" ORDER BY record_id')
        ).all()
        registry = conn.execute(
            sa.text("SELECT object, field, row_count FROM tenon_archives")
        ).all()
    assert [tuple(r) for r in kept] == list(zip(ids, ["12", "N/A", " 7 ", "unknown"], strict=True))
    assert [tuple(r) for r in registry] == [("employee", "grade", 4)]


def test_dropping_an_empty_field_or_object_needs_no_consent(
    engine: Engine, install: Installer
) -> None:
    install(people())
    v2 = people("2.0.0")
    v2["objects"] = [obj(v2, "department")]
    v2["permissions"] = []
    field_names = [f["name"] for f in obj(v2, "department")["fields"]]
    assert "code" in field_names
    result = install(v2)
    assert result.plan is not None
    assert [c.describe() for c in result.plan.changes] == ["drop object employee (no data)"]
    assert "app_people__employee" not in sa.inspect(engine).get_table_names()


def test_dropping_an_object_with_rows_archives_it(engine: Engine, install: Installer) -> None:
    install(people())
    seed_people(engine)
    v2 = people("2.0.0")
    v2["objects"] = [obj(v2, "department")]
    v2["permissions"] = []
    with pytest.raises(DataLossRefused):
        install(v2)
    result = install(v2, allow_data_loss=True)
    [archive] = result.archives
    with engine.connect() as conn:
        names = (
            conn.execute(sa.text(f'SELECT name FROM "{archive["table_name"]}" ORDER BY id'))
            .scalars()
            .all()
        )
    assert names == ["Ada", "Bo", "Cy", "Di"]


def test_new_unique_constraint_over_duplicates_is_refused(
    engine: Engine, install: Installer
) -> None:
    install(people())
    seed_people(engine)
    v2 = people("1.1.0")
    field(v2, "employee", "department")["unique"] = True
    with pytest.raises(ValidationFailed) as refused:
        install(v2)
    assert refused.value.details[0].code == "UNIQUE_VIOLATED"
    assert "4 rows" in refused.value.details[0].message


def test_conditional_unique_constraint_is_enforced_by_the_database(
    engine: Engine, install: Installer
) -> None:
    v1 = people()
    obj(v1, "employee")["constraints"] = [
        {
            "name": "one_active_name",
            "type": "unique",
            "fields": ["name"],
            "where": 'status <> "leaver"',
        }
    ]
    install(v1)
    insert(
        engine,
        v1,
        "employee",
        [
            {"employee_no": "A1", "name": "Sam", "status": "leaver"},
            {"employee_no": "A2", "name": "Sam", "status": "leaver"},
            {"employee_no": "A3", "name": "Sam", "status": "active"},
        ],
    )
    with pytest.raises(sa.exc.IntegrityError):
        insert(engine, v1, "employee", [{"employee_no": "A4", "name": "Sam", "status": "active"}])
    with pytest.raises(sa.exc.IntegrityError):  # blank status is "not leaver" too
        insert(engine, v1, "employee", [{"employee_no": "A5", "name": "Sam"}])


def test_a_failure_mid_upgrade_leaves_schema_and_registry_untouched(
    engine: Engine, install: Installer, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(people())
    seed_people(engine)
    with engine.begin() as conn:
        t = table(people(), "employee")
        conn.execute(sa.update(t).where(t.c.grade.in_(["N/A", "unknown"])).values(grade=None))
    before = schema_dump(engine)
    rows_before = select_all(engine, people(), "employee")
    v2 = people("2.0.0")
    field(v2, "employee", "grade")["type"] = "integer"
    obj(v2, "employee")["fields"].append({"name": "email", "type": "email", "unique": True})
    v2["objects"].append({"name": "team", "fields": [{"name": "name", "type": "text"}]})
    original = sync._write_converted

    def write_then_fail(*args: object, **kwargs: object) -> None:
        original(*args, **kwargs)  # type: ignore[arg-type]
        raise RuntimeError("disk full")

    monkeypatch.setattr(sync, "_write_converted", write_then_fail)
    with pytest.raises(RuntimeError):
        install(v2)
    assert schema_dump(engine) == before
    assert select_all(engine, people(), "employee") == rows_before


def test_a_failure_during_first_install_leaves_no_table(
    engine: Engine, install: Installer, service: AppService, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = schema_dump(engine)

    def fail(*args: object, **kwargs: object) -> None:
        raise RuntimeError("registry unavailable")

    monkeypatch.setattr(AppService, "_record", fail)
    with pytest.raises(RuntimeError):
        install(people())
    assert schema_dump(engine) == before
    assert not [t for t in sa.inspect(engine).get_table_names() if t.startswith("app_")]


def test_dry_run_changes_nothing(engine: Engine, install: Installer) -> None:
    install(people())
    seed_people(engine)
    before = schema_dump(engine)
    v2 = people("1.1.0")
    obj(v2, "employee")["fields"].append({"name": "email", "type": "email"})
    result = install(v2, dry_run=True)
    assert result.status == "dry_run"
    assert result.plan is not None
    assert result.plan.lines() == [
        "Upgrade people 1.0.0 → 1.1.0",
        "  add field employee.email: email",
    ]
    assert schema_dump(engine) == before


CORE = core()
REVIEW = {
    "name": "review",
    "version": "1.0.0",
    "title": "Review",
    "requires": {"core": "^1.0"},
    "objects": [
        {
            "name": "case",
            "fields": [
                {
                    "name": "employee",
                    "type": "reference",
                    "to": "core.employee",
                    "required": True,
                    "related_name": "review_cases",
                }
            ],
        }
    ],
    "permissions": [{"role": "core.hr_admin", "object": "case", "actions": ["read"]}],
}


def test_required_apps_must_be_installed_first_and_links_cross_apps(
    engine: Engine, install: Installer
) -> None:
    with pytest.raises(ValidationFailed) as missing:
        install(REVIEW)
    assert [(d.path, d.code) for d in missing.value.details] == [
        ("/requires/core", "MISSING_DEPENDENCY")
    ]
    install(CORE)
    install(REVIEW)
    fks = sa.inspect(engine).get_foreign_keys("app_review__case")
    assert {fk["referred_table"] for fk in fks} >= {"app_core__employee"}


def test_upgrades_that_break_dependent_apps_are_refused(install: Installer, engine: Engine) -> None:
    install(CORE)
    install(REVIEW)
    before = schema_dump(engine)
    broken = json.loads(json.dumps(CORE))
    broken["version"] = "1.1.0"
    broken["objects"][0]["name"] = "person"
    broken["roles"] = []
    with pytest.raises(Conflict) as refused:
        install(broken)
    assert refused.value.code == "DEPENDENTS_BROKEN"
    messages = [d.message for d in refused.value.details]
    assert any("review: refers to object 'employee'" in m for m in messages)
    assert any("review: names role 'hr_admin'" in m for m in messages)
    major = json.loads(json.dumps(CORE))
    major["version"] = "2.0.0"
    with pytest.raises(Conflict) as incompatible:
        install(major)
    assert "requires core ^1.0, but version 2.0.0" in incompatible.value.details[0].message
    assert schema_dump(engine) == before


def test_key_and_index_changes_are_applied_in_place(engine: Engine, install: Installer) -> None:
    install(people())
    ids = seed_people(engine)
    v2 = people("1.1.0")
    field(v2, "employee", "department")["on_delete"] = "cascade"
    field(v2, "employee", "employee_no")["unique"] = False
    field(v2, "employee", "name")["index"] = True
    obj(v2, "employee")["delete"] = "soft"
    obj(v2, "employee")["indexes"] = [{"fields": ["status", "hired"]}]
    result = install(v2)
    assert result.plan is not None
    notes = result.plan.tables["employee"].notes()
    assert "drop constraint uq__app_people__employee__employee_no" in notes
    assert "add column deleted_at" in notes
    inspector = sa.inspect(engine)
    [fk] = [
        f
        for f in inspector.get_foreign_keys("app_people__employee")
        if f["constrained_columns"] == ["department"]
    ]
    assert fk["options"].get("ondelete") == "CASCADE"
    indexed = {tuple(i["column_names"]) for i in inspector.get_indexes("app_people__employee")}
    assert {("name",), ("status", "hired"), ("department",)} <= indexed
    assert "deleted_at" in {c["name"] for c in inspector.get_columns("app_people__employee")}
    insert(engine, v2, "employee", [{"employee_no": "E1", "name": "now allowed twice"}])
    with engine.begin() as conn:  # the new cascade rule is live in the database
        t = table(v2, "department")
        conn.execute(sa.delete(t).where(t.c.id == ids["department"][0]))
    assert [r["employee_no"] for r in select_all(engine, v2, "employee")] == ["E1"]


def test_database_refusals_become_clear_errors(
    engine: Engine, install: Installer, monkeypatch: pytest.MonkeyPatch
) -> None:
    install(people())
    before = schema_dump(engine)
    v2 = people("1.1.0")
    obj(v2, "employee")["fields"].append({"name": "email", "type": "email"})

    def refuse(*args: object, **kwargs: object) -> None:
        raise sa.exc.OperationalError("ALTER TABLE", {}, Exception("disk I/O error"))

    monkeypatch.setattr(sync, "apply", refuse)
    with pytest.raises(Conflict) as refused:
        install(v2)
    assert refused.value.code == "SCHEMA_CHANGE_FAILED"
    assert "disk I/O error" in refused.value.message
    assert schema_dump(engine) == before


def test_concurrent_installs_of_one_package_install_once(service: AppService) -> None:
    import threading

    package = read_package_bytes(json.dumps(people()).encode(), "people.json")
    results: list[str] = []
    errors: list[BaseException] = []
    start = threading.Barrier(3)

    def worker() -> None:
        start.wait()
        try:
            results.append(service.install(package, actor="t").status)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert errors == []
    assert sorted(results) == ["installed", "unchanged", "unchanged"]
    assert [h["version"] for h in service.history("people")] == ["1.0.0"]


def test_select_becomes_multi_select_keeping_values(engine: Engine, install: Installer) -> None:
    install(people())
    seed_people(engine)
    v2 = people("1.1.0")
    field(v2, "employee", "status")["type"] = "multi_select"
    install(v2)
    statuses = [r["status"] for r in select_all(engine, v2, "employee")]
    assert statuses == [["active"], ["active"], ["leaver"], None]


def test_removing_a_workflow_with_states_needs_consent_and_keeps_them(
    engine: Engine, install: Installer
) -> None:
    flowing = people()
    flowing["workflows"] = [
        {
            "name": "employee_flow",
            "object": "employee",
            "states": [{"name": "active"}, {"name": "gone"}],
            "transitions": [{"action": "leave", "from": ["active"], "to": "gone"}],
        }
    ]
    install(flowing)
    seed_people(engine)
    with engine.begin() as conn:  # seeded rows are written directly: give them a state
        conn.execute(sa.text("UPDATE app_people__employee SET state = 'active'"))
    before = schema_dump(engine)
    v2 = people("2.0.0")  # the same app without its workflow
    with pytest.raises(DataLossRefused) as refused:
        install(v2)
    assert "employee.state" in refused.value.details[0].message
    assert schema_dump(engine) == before
    result = install(v2, allow_data_loss=True)
    assert [(a["object"], a["field"]) for a in result.archives] == [("employee", "state")]
    columns = {c["name"] for c in sa.inspect(engine).get_columns("app_people__employee")}
    assert "state" not in columns
