"""The one write path: every create, update and delete of app data goes through here.

Inside the caller's write transaction (``storage.engine.write_transaction``: ``BEGIN
IMMEDIATE`` on SQLite), in this order:

1. permission: a rule grants the action (and, for updates and deletes, its scope holds
   for the record and it lets the actor write the fields sent);
2. input: unknown, read-only and ill-typed fields, users by username, references that
   do not exist, required fields left blank — all reported together;
3. the version: an update or delete carrying a stale ``version`` is refused with 409
   ``VERSION_CONFLICT`` naming who changed the record and when; the UPDATE itself is a
   compare-and-set on the version, so two writers can never both win;
4. the row is written, stored computed fields are recomputed (and those of the records
   that read it), then the object's rules run on the result, and the permission is
   checked once more on the record as written (a create must land in the actor's scope;
   an update may not move a record out of it);
5. an audit entry with the before and after value of every changed field.

Any problem raises, and the caller's transaction rolls back whole: nothing is half
written. ``bulk`` runs many of these in one transaction, collecting every row's problems
(with the row in the path) before refusing all of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.clock import Clock
from runtime.errors import Conflict, Forbidden, Issue, TenonError, ValidationFailed
from runtime.formula.engine import FormulaEngine
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled, Env
from runtime.formula.lookups import SqlLookups
from runtime.formula.sqlcompile import SqlCompiler, SqlEnv
from runtime.metadata.model import SOFT_DELETE_COLUMN, ObjectDef
from runtime.security.actor import Actor
from runtime.services import inputs
from runtime.services.computed import Computed
from runtime.services.permits import Permits
from runtime.services.reading import Reader
from runtime.storage import audit
from runtime.storage.tables import USERS_TABLE

MAX_BULK = 1000
_USERS = sa.table(USERS_TABLE, sa.column("id"), sa.column("username"))
_COUNTER = re.compile(r"\{(#+)\}")


@dataclass(frozen=True)
class Written:
    """What a write did: the record and its version after it."""

    id: int
    version: int


class Records:
    """Writes over a set of installed apps, for one reader (permissions) and clock."""

    def __init__(self, reader: Reader, computed: Computed | None = None) -> None:
        self.reader = reader
        self.clock: Clock = reader.clock
        self.permits = Permits(reader)
        self.computed = computed or Computed(reader.apps, reader.clock)
        self.engine: FormulaEngine = reader.policy.engine
        self._rules: dict[str, list[tuple[Mapping[str, Any], Compiled]]] = {}

    # -- create -------------------------------------------------------------------------

    def create(
        self, conn: Connection, actor: Actor, qualified: str, data: Mapping[str, Any]
    ) -> Written:
        obj = self.reader.object(qualified)
        if not self.reader.policy.applicable(actor, qualified, "create"):
            raise Forbidden(f"you may not create records of {qualified}")
        app = qualified.partition(".")[0]
        values, issues = inputs.parse(conn, app, obj, data, self.reader.table)
        values = {**inputs.defaults(obj, values), **values}
        named = {i.path for i in issues}  # a field with a bad value is not also "required"
        issues += [i for i in inputs.missing(obj, values) if i.path not in named]
        if issues:
            raise ValidationFailed.from_issues(f"the {obj.name} was not saved", issues)
        table = self.reader.table(qualified)
        now = self.clock.now()
        row = {
            **values,
            **self._numbers(conn, obj, table, now, values),
            "version": 1,
            "created_at": now,
            "updated_at": now,
            "created_by": actor.user_id,
            "updated_by": actor.user_id,
        }
        record_id = self._execute_write(
            conn, obj, sa.insert(table).values(row).returning(table.c.id)
        )
        self.computed.recompute(conn, qualified, [record_id])
        self.permits.check(conn, actor, qualified, "create", record_id, _sent(values, data))
        after = self._row(conn, table, record_id)
        self._check_rules(conn, actor, obj, qualified, after)
        self._audit(conn, actor, qualified, record_id, "create", {}, after, now)
        return Written(record_id, 1)

    def _numbers(
        self, conn: Connection, obj: ObjectDef, table: sa.Table, now: datetime, given: Any
    ) -> dict[str, str]:
        """Values of auto-number fields: the pattern with the date filled in and the next
        counter among the values with the same prefix (``PIP-2025-0007``)."""
        out: dict[str, str] = {}
        for fdef in obj.stored_fields:
            if fdef.type != inputs.AUTO or fdef.name in given:
                continue
            pattern = str(fdef.spec.get("pattern") or "{####}")
            text = pattern.replace("{YYYY}", f"{now.year:04d}").replace(
                "{YY}", f"{now.year % 100:02d}"
            )
            text = text.replace("{MM}", f"{now.month:02d}").replace("{DD}", f"{now.day:02d}")
            counter = _COUNTER.search(text)
            if counter is None:
                out[fdef.name] = text
                continue
            prefix, width = text[: counter.start()], len(counter.group(1))
            column = table.c[fdef.name]
            taken = conn.execute(
                sa.select(column).where(column.startswith(prefix, autoescape=True))
            ).scalars()
            highest = 0
            for value in taken:
                digits = re.match(r"\d+", str(value)[len(prefix) :])
                if digits:
                    highest = max(highest, int(digits.group(0)))
            number = str(highest + 1).zfill(width)
            out[fdef.name] = prefix + number + text[counter.end() :]
        return out

    # -- update -------------------------------------------------------------------------

    def update(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        data: Mapping[str, Any],
        version: Any,
    ) -> Written:
        obj = self.reader.object(qualified)
        table = self.reader.table(qualified)
        app = qualified.partition(".")[0]
        values, issues = inputs.parse(conn, app, obj, data, self.reader.table)
        sent = _sent(values, data)
        self.permits.check(conn, actor, qualified, "update", record_id, sent)
        expected = _version(version)
        before = self._row(conn, table, record_id, lock=True)
        self._current(conn, qualified, before, expected)
        issues += [i for i in inputs.missing(obj, {**before, **values}) if i.path[1:] in values]
        if issues:
            raise ValidationFailed.from_issues(f"the {obj.name} was not saved", issues)
        now = self.clock.now()
        changed = {k: v for k, v in values.items() if before.get(k) != v}
        stmt = (
            sa.update(table)
            .where(table.c.id == record_id, table.c.version == expected)
            .values(**changed, version=expected + 1, updated_at=now, updated_by=actor.user_id)
        )
        if self._execute_write(conn, obj, stmt, count=True) != 1:
            self._current(conn, qualified, self._row(conn, table, record_id), expected)
        old_links = {
            name: [before[name]]
            for name in changed
            if obj.by_name[name].storage == "reference" and before.get(name) is not None
        }
        self.computed.recompute(conn, qualified, [record_id], changed, old_links)
        self.permits.check(conn, actor, qualified, "update", record_id, sent)
        after = self._row(conn, table, record_id)
        self._check_rules(conn, actor, obj, qualified, after)
        self._audit(conn, actor, qualified, record_id, "update", before, after, now)
        return Written(record_id, expected + 1)

    # -- delete -------------------------------------------------------------------------

    def delete(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        version: Any = None,
    ) -> None:
        obj = self.reader.object(qualified)
        table = self.reader.table(qualified)
        self.permits.check(conn, actor, qualified, "delete", record_id)
        before = self._row(conn, table, record_id, lock=True)
        if version is not None:
            self._current(conn, qualified, before, _version(version))
        now = self.clock.now()
        if obj.soft_delete:
            stmt: Any = (
                sa.update(table)
                .where(table.c.id == record_id)
                .values(
                    **{SOFT_DELETE_COLUMN: now},
                    version=before["version"] + 1,
                    updated_at=now,
                    updated_by=actor.user_id,
                )
            )
            self._execute_write(conn, obj, stmt)
            self.computed.recompute(conn, qualified, [record_id])
        else:
            self._execute_write(conn, obj, sa.delete(table).where(table.c.id == record_id))
            for fdef in obj.stored_fields:  # the records it counted in (rollups)
                if fdef.storage == "reference" and before.get(fdef.name) is not None:
                    target = _qualified(qualified, fdef.target)
                    self.computed.recompute(conn, target, [before[fdef.name]])
        self._audit(conn, actor, qualified, record_id, "delete", before, {}, now)

    # -- bulk ---------------------------------------------------------------------------

    def bulk(
        self,
        conn: Connection,
        rows: Sequence[Any],
        write: Callable[[Connection, Mapping[str, Any]], Written],
    ) -> list[Written]:
        """``write`` each row (a JSON object) in the caller's transaction; any problem in
        any row refuses them all, reporting every row's problems (``/rows/3/salary``)."""
        if len(rows) > MAX_BULK:
            raise TenonError(
                f"send at most {MAX_BULK} records per request ({len(rows)} sent)",
                code="TOO_MANY_RECORDS",
            )
        issues: list[Issue] = []
        done: list[Written] = []
        for i, row in enumerate(rows):
            if not isinstance(row, Mapping):
                issues.append(Issue(f"/rows/{i}", "must be a JSON object", "INVALID_BODY"))
                continue
            savepoint = conn.begin_nested()
            try:
                done.append(write(conn, row))
                savepoint.commit()
            except TenonError as error:
                savepoint.rollback()
                found = error.details or [Issue("", error.message, error.code)]
                issues += [Issue(f"/rows/{i}{d.path}", d.message, d.code) for d in found]
        if issues:
            raise ValidationFailed.from_issues(
                f"nothing was saved: {len({i.path.split('/')[2] for i in issues})} of "
                f"{len(rows)} records have problems",
                issues,
            )
        return done

    # -- helpers ------------------------------------------------------------------------

    def _row(
        self, conn: Connection, table: sa.Table, record_id: int, lock: bool = False
    ) -> dict[str, Any]:
        query = sa.select(table).where(table.c.id == record_id)
        if SOFT_DELETE_COLUMN in table.c:
            query = query.where(table.c[SOFT_DELETE_COLUMN].is_(None))
        if lock and conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = conn.execute(query).mappings().first()
        if row is None:
            raise TenonError("the record is gone", code="NOT_FOUND", status=404)
        return dict(row)

    def _current(
        self, conn: Connection, qualified: str, row: Mapping[str, Any], expected: int
    ) -> None:
        """Refuse a write based on an older version of the record, saying who changed it."""
        if row["version"] == expected:
            return
        who = None
        if row.get("updated_by") is not None:
            query = sa.select(_USERS.c.username).where(_USERS.c.id == row["updated_by"])
            who = conn.execute(query).scalar()
        at = row["updated_at"].isoformat(timespec="seconds")
        raise Conflict(
            f"this {qualified.partition('.')[2]} was changed by {who or 'someone else'} at "
            f"{at} (version {row['version']}; you sent {expected}): reload it and try again",
            [Issue("/version", f"the current version is {row['version']}", "VERSION_CONFLICT")],
            code="VERSION_CONFLICT",
        )

    def _execute_write(
        self, conn: Connection, obj: ObjectDef, stmt: Any, count: bool = False
    ) -> int:
        """Run an INSERT/UPDATE/DELETE, turning the database's refusals into answers."""
        try:
            result = conn.execute(stmt)
        except sa.exc.IntegrityError as exc:
            raise _integrity(obj, exc) from None
        if count:
            return int(result.rowcount or 0)
        if stmt.is_insert:
            return int(result.scalar_one())
        return 0

    def _check_rules(
        self, conn: Connection, actor: Actor, obj: ObjectDef, qualified: str, row: Any
    ) -> None:
        """The object's rules on the record as written: each ``when`` that holds is a
        problem with the rule's code, on the rule's field."""
        rules = self._compiled_rules(obj, qualified)
        if not rules:
            return
        now = self.clock.now()
        compiler = SqlCompiler(
            conn.dialect.name, self.computed.table, SqlEnv(now.date(), now, actor.user_id)
        )
        env = Env(
            now.date(),
            now,
            actor.user_id,
            SqlLookups(conn, compiler, self.computed.table(qualified)),
        )
        issues: list[Issue] = []
        status = 422
        for spec, formula in rules:
            try:
                hit = formula.evaluate(dict(row), env)
            except FormulaError as error:
                hit, spec = True, {**spec, "message": {"en": f"the rule could not run: {error}"}}
            if hit is True:
                message = spec.get("message") or {}
                text = message.get("en") if isinstance(message, Mapping) else str(message)
                field = spec.get("field")
                issues.append(
                    Issue(
                        f"/{field}" if field else "",
                        str(text or "a rule failed"),
                        str(spec.get("code") or "RULE_FAILED"),
                    )
                )
                if spec.get("status") == 409:
                    status = 409
        if issues:
            refused = ValidationFailed.from_issues(f"the {obj.name} was not saved", issues)
            refused.status = status
            refused.code = issues[0].code if len(issues) == 1 else "VALIDATION_FAILED"
            raise refused

    def _compiled_rules(
        self, obj: ObjectDef, qualified: str
    ) -> list[tuple[Mapping[str, Any], Compiled]]:
        if qualified not in self._rules:
            found = []
            for spec in obj.spec.get("rules") or []:
                found.append(
                    (spec, self.engine.compile(str(spec["when"]), qualified, expect="boolean"))
                )
            self._rules[qualified] = found
        return self._rules[qualified]

    def _audit(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        operation: str,
        before: Mapping[str, Any],
        after: Mapping[str, Any],
        at: datetime,
    ) -> None:
        obj = self.reader.object(qualified)
        names = [f.name for f in obj.stored_fields]
        changes = {n: (before.get(n), after.get(n)) for n in names if before.get(n) != after.get(n)}
        audit.write(
            conn,
            at=at,
            actor_id=actor.user_id,
            actor_name=actor.username,
            qualified=qualified,
            record_id=record_id,
            operation=operation,
            changes=changes,
            on_behalf_of=getattr(actor, "on_behalf_of", None),
        )


def _sent(values: Mapping[str, Any], data: Mapping[str, Any]) -> list[str]:
    return [name for name in data if name in values]


def _qualified(qualified: str, target: str | None) -> str:
    assert target is not None
    return target if "." in target else f"{qualified.partition('.')[0]}.{target}"


def _version(raw: Any) -> int:
    if isinstance(raw, str) and raw.isdigit() and len(raw) < 12:
        raw = int(raw)
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**31:
        raise TenonError(
            "send the record's version (from when it was read) to change it",
            [Issue("/version", "must be the record's current version", "VERSION_REQUIRED")],
            code="VERSION_REQUIRED",
        )
    return raw


def record_id(raw: Any) -> int:
    """A record id from a request body, or a 400 naming it."""
    if isinstance(raw, bool) or not isinstance(raw, int) or not 0 < raw < 2**63:
        raise TenonError(
            "each record needs its id, a whole number",
            [Issue("/id", "must be the id of a record", "ID_REQUIRED")],
            code="ID_REQUIRED",
        )
    return raw


def _integrity(obj: ObjectDef, exc: sa.exc.IntegrityError) -> TenonError:
    """A refusal by the database (unique values, records still referring) as an answer
    naming the fields, never the SQL."""
    text = str(exc.orig)
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", None) or ""
    lowered = text.lower()
    if "unique" in lowered or "duplicate" in lowered:
        fields = [
            f.name
            for f in obj.stored_fields
            if f.name in constraint or re.search(rf"\.{re.escape(f.name)}\b", text)
        ]
        for constraint_def in obj.constraints:
            if constraint_def.name in constraint or all(
                re.search(rf"\.{re.escape(n)}\b", text) for n in constraint_def.fields
            ):
                fields = list(constraint_def.fields)
        issues = [
            Issue(f"/{name}", f"another {obj.name} already has this {name}", "NOT_UNIQUE")
            for name in fields or ["id"]
        ]
        return ValidationFailed.from_issues(f"the {obj.name} was not saved", issues)
    if "foreign key" in lowered:
        return Conflict(
            f"other records still refer to this {obj.name}; change or delete them first",
            code="REFERENCED",
        )
    return Conflict(f"the database refused the change to this {obj.name}", code="CONFLICT")
