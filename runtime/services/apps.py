"""Install, upgrade, list and export apps.

An install or upgrade is one database transaction: read the registry, validate the
package against the installed apps it requires, check installed apps that require it,
compute the change plan against the data, refuse what would break data, run the DDL and
record the version. Any failure rolls all of it back, on SQLite as on PostgreSQL.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.clock import Clock
from runtime.errors import Conflict, DataLossRefused, Issue, NotFound, ValidationFailed
from runtime.formula.errors import FormulaError
from runtime.metadata.diff import ALTER_FIELD, DROP_FIELD
from runtime.metadata.model import AppDef
from runtime.metadata.package import Package, write_package
from runtime.metadata.validate import check_package, definition_issues
from runtime.services.computed import Computed
from runtime.services.conditions import compile_conditions
from runtime.storage import plan as planning
from runtime.storage import sync, tasks
from runtime.storage.engine import ddl_transaction, read_connection
from runtime.storage.system import App, AppVersion, Archive


@dataclass(frozen=True)
class InstalledApp:
    name: str
    version: str
    package_hash: str
    installed_by: str
    installed_at: datetime
    title: Any


@dataclass
class InstallResult:
    status: str  # installed | upgraded | unchanged | dry_run
    plan: planning.SchemaPlan | None
    archives: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "plan": self.plan.as_dict() if self.plan else None,
            "archives": self.archives,
        }


def _installed_definitions(conn: Connection) -> dict[str, dict[str, Any]]:
    query = sa.select(App.name, AppVersion.definition).join(
        AppVersion, AppVersion.id == App.current_version_id
    )
    return {name: json.loads(text) for name, text in conn.execute(query)}


def _pointer(app: AppDef, change: Any) -> str:
    names = [o.name for o in app.objects]
    if change.object not in names:
        return f"/objects/{change.object}"
    i = names.index(change.object)
    if change.field is None:
        return f"/objects/{i}"
    fields = [f.name for f in app.objects[i].fields]
    return (
        f"/objects/{i}/fields/{fields.index(change.field)}"
        if change.field in fields
        else f"/objects/{i}"
    )


_FINGERPRINT = (  # built once: asked on every request
    sa.select(App.name, AppVersion.version, AppVersion.package_hash)
    .join(AppVersion, AppVersion.id == App.current_version_id)
    .order_by(App.name)
)


class AppService:
    def __init__(self, engine: Engine, clock: Clock | None = None) -> None:
        self.engine = engine
        self.clock = clock or Clock()

    # -- reading the registry -----------------------------------------------------------

    def installed(self) -> list[InstalledApp]:
        query = (
            sa.select(
                App.name,
                AppVersion.version,
                AppVersion.package_hash,
                AppVersion.installed_by,
                AppVersion.installed_at,
                AppVersion.definition,
            )
            .join(AppVersion, AppVersion.id == App.current_version_id)
            .order_by(App.name)
        )
        with self.engine.connect() as conn:
            return [
                InstalledApp(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]).get("title"))
                for r in conn.execute(query)
            ]

    def fingerprint(self) -> tuple[tuple[str, str, str], ...]:
        """(name, version, package hash) of every installed app: what a worker compares
        to know whether its compiled definitions are still current (one small query)."""
        with read_connection(self.engine) as conn:
            return tuple((str(a), str(b), str(c)) for a, b, c in conn.execute(_FINGERPRINT))

    def definitions(self) -> dict[str, dict[str, Any]]:
        with self.engine.connect() as conn:
            return _installed_definitions(conn)

    def get(self, name: str) -> AppDef:
        definition = self.definitions().get(name)
        if definition is None:
            raise NotFound(f"App {name!r} is not installed")
        return AppDef.from_dict(definition)

    def history(self, name: str) -> list[dict[str, Any]]:
        query = (
            sa.select(
                AppVersion.version,
                AppVersion.package_hash,
                AppVersion.installed_by,
                AppVersion.installed_at,
                AppVersion.previous_version,
            )
            .where(AppVersion.app == name)
            .order_by(AppVersion.id)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def export(self, name: str) -> bytes:
        return write_package(self.get(name).as_dict())

    # -- installing ---------------------------------------------------------------------

    def install(
        self, package: Package, *, actor: str, dry_run: bool = False, allow_data_loss: bool = False
    ) -> InstallResult:
        if dry_run:
            with self.engine.connect() as conn, conn.begin():
                prepared = self._prepare(conn, package)
                if isinstance(prepared, InstallResult):
                    return prepared
                return InstallResult("dry_run", prepared[2])
        with ddl_transaction(self.engine) as conn:
            prepared = self._prepare(conn, package)
            if isinstance(prepared, InstallResult):
                return prepared
            new, old, plan = prepared
            self._refuse(plan, new, allow_data_loss)
            try:
                archives = sync.apply(conn, plan, old, new)
                self._recompute(conn, new)
            except FormulaError as exc:
                raise ValidationFailed(
                    f"Computed fields could not be recomputed, so nothing was installed: {exc}",
                    code="RECOMPUTE_FAILED",
                ) from exc
            except sa.exc.DBAPIError as exc:
                reason = str(exc.orig).strip().splitlines()[0] if exc.orig else type(exc).__name__
                raise Conflict(
                    f"The database refused the change, so nothing was installed: {reason}",
                    code="SCHEMA_CHANGE_FAILED",
                ) from exc
            self._record(conn, new, old, plan, archives, actor)
        return InstallResult("upgraded" if old else "installed", plan, archives)

    def _recompute(self, conn: Connection, new: AppDef) -> None:
        """Stored computed fields of the new version, recomputed for every row (in SQL)."""
        if not any(f.computed and f.stored for o in new.objects for f in o.fields):
            return
        apps = {n: AppDef.from_dict(d) for n, d in _installed_definitions(conn).items()}
        apps[new.name] = new
        computed = Computed(apps, self.clock)
        for qualified in computed.order([o.qualified for o in new.objects]):
            computed.recompute_all(conn, qualified)

    def _prepare(
        self, conn: Connection, package: Package
    ) -> InstallResult | tuple[AppDef, AppDef | None, planning.SchemaPlan]:
        """Validate against the registry and compute the checked plan, in ``conn``."""
        installed = _installed_definitions(conn)
        new = check_package(package, installed.get)
        current = installed.get(new.name)
        old = AppDef.from_dict(current) if current is not None else None
        if old is not None:
            if old.version == new.version:
                if old.hash == new.hash:
                    return InstallResult("unchanged", None)
                raise Conflict(
                    f"{new.name} {new.version} is already installed with other "
                    "content; give the new package a higher version",
                    code="VERSION_EXISTS",
                )
            if new.version < old.version:
                raise Conflict(
                    f"{new.name} {new.version} is older than the installed "
                    f"{old.version}; downgrades are refused",
                    code="DOWNGRADE",
                )
            self._check_dependents(installed, new)
        dialect = conn.dialect.name
        plan = planning.analyze(
            conn,
            old,
            new,
            compile_conditions(new, dialect),
            compile_conditions(old, dialect) if old else {},
        )
        if old is not None:
            plan.in_flight = tasks.in_flight(conn, new.name)
        return new, old, plan

    def _check_dependents(self, installed: Mapping[str, dict[str, Any]], new: AppDef) -> None:
        """Installed apps that require ``new.name`` must accept the new version as is."""
        problems = []
        replaced = {**installed, new.name: new.as_dict()}
        for name, definition in sorted(installed.items()):
            wanted = (definition.get("requires") or {}).get(new.name)
            if name == new.name or wanted is None:
                continue
            for issue in definition_issues(definition, replaced.get):
                problems.append(Issue(issue.path, f"{name}: {issue.message}", "DEPENDENT_BROKEN"))
        if problems:
            raise Conflict(
                f"Installing {new.name} {new.version} would break apps that require it",
                problems,
                code="DEPENDENTS_BROKEN",
            )

    def _refuse(self, plan: planning.SchemaPlan, new: AppDef, allow_data_loss: bool) -> None:
        issues = []
        for change in plan.problems:
            ids = ", ".join(map(str, change.blocking_ids))
            more = change.blocking_count - len(change.blocking_ids)
            issues.append(
                Issue(
                    _pointer(new, change),
                    f"{change.describe()}: {change.problem}; record ids: {ids}"
                    + (f" and {more} more" if more > 0 else ""),
                    "TYPE_CHANGE_REFUSED" if change.kind == ALTER_FIELD else "REFUSED",
                )
            )
        for text in plan.duplicates:
            issues.append(Issue("", text, "UNIQUE_VIOLATED"))
        if issues:
            raise ValidationFailed.from_issues(
                f"Upgrading {new.name} to {new.version} is refused by existing data", issues
            )
        if plan.data_losses and not allow_data_loss:
            losses = [
                Issue(
                    _pointer(new, c) if c.kind == DROP_FIELD else f"/objects/{c.object}",
                    c.describe(),
                    "DATA_LOSS",
                )
                for c in plan.data_losses
            ]
            raise DataLossRefused(
                "This upgrade drops data; run it again with --allow-data-loss to proceed "
                "(a restorable copy is kept)",
                losses,
            )

    def _record(
        self,
        conn: Connection,
        new: AppDef,
        old: AppDef | None,
        plan: planning.SchemaPlan,
        archives: list[dict[str, Any]],
        actor: str,
    ) -> None:
        now = self.clock.now()
        if old is None:
            conn.execute(sa.insert(App).values(name=new.name, installed_at=now, updated_at=now))
        version_id = conn.execute(
            sa.insert(AppVersion).values(
                app=new.name,
                version=str(new.version),
                package_hash=new.hash,
                definition=json.dumps(new.as_dict(), ensure_ascii=False),
                plan=json.dumps(plan.as_dict(), ensure_ascii=False),
                previous_version=str(old.version) if old else None,
                installed_by=actor,
                installed_at=now,
            )
        ).inserted_primary_key
        assert version_id is not None
        conn.execute(
            sa.update(App)
            .where(App.name == new.name)
            .values(current_version_id=version_id[0], updated_at=now)
        )
        for archive in archives:
            conn.execute(
                sa.insert(Archive).values(
                    app=new.name,
                    from_version=str(old.version) if old else "",
                    to_version=str(new.version),
                    created_at=now,
                    **archive,
                )
            )
