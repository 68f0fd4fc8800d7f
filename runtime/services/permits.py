"""May this actor write this record? And, for admins: why (not)?

``Permits.check`` is what every write path calls inside its transaction (after inserting
a new record, for ``create``): the rules granting the action whose scope matches the
record, decided by the database, and the fields those rules let the actor write. A field
the actor may not write is refused with its path, never silently dropped. A record the
actor cannot even read is "not found", as on every read path.

``Permits.explain`` lists, for one user, record and action, every rule of the object with
what matched: the role, the action, the scope on this record, and the fields it gives.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.errors import Forbidden, Issue, NotFound, TenonError
from runtime.metadata.model import SOFT_DELETE_COLUMN
from runtime.security.actor import Actor
from runtime.security.guard import Guard
from runtime.security.policy import Rule
from runtime.services.reading import Reader


class Permits:
    def __init__(self, reader: Reader) -> None:
        self.reader = reader
        self.policy = reader.policy

    def _matching(
        self, conn: Connection, guard: Guard, qualified: str, rules: Iterable[Rule], record_id: int
    ) -> list[Rule] | None:
        """The rules whose scope holds for the record; None when it does not exist."""
        return self._matching_many(conn, guard, qualified, rules, [record_id]).get(record_id)

    def _matching_many(
        self,
        conn: Connection,
        guard: Guard,
        qualified: str,
        rules: Iterable[Rule],
        ids: Collection[int],
    ) -> dict[int, list[Rule]]:
        """Per existing record of ``ids``: the rules whose scope holds for it."""
        rules = list(rules)
        table = self.reader.table(qualified)
        tests: list[Any] = [
            sa.case((guard.rule_condition(rule, table), 1), else_=0).label(f"r{i}")
            for i, rule in enumerate(rules)
        ]
        where = [table.c.id.in_(sorted(ids))]
        if SOFT_DELETE_COLUMN in table.c:
            where.append(table.c[SOFT_DELETE_COLUMN].is_(None))
        query = sa.select(table.c.id, *tests).where(*where)
        return {
            int(row["id"]): [rule for i, rule in enumerate(rules) if row[f"r{i}"]]
            for row in conn.execute(query).mappings()
        }

    def readable(
        self, conn: Connection, actor: Actor
    ) -> Callable[[str, list[int]], set[int]] | None:
        """For a write by ``actor``: which ids of an object they may read (None for the
        system, which reads everything). References are checked against it."""
        if actor.is_system:
            return None

        def ids(target: str, wanted: list[int]) -> set[int]:
            found = self.check_many(conn, actor, target, "read", dict.fromkeys(wanted, ()))
            return {i for i, outcome in found.items() if not isinstance(outcome, TenonError)}

        return ids

    def check(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        action: str,
        record_id: int,
        fields: Iterable[str] = (),
    ) -> frozenset[str]:
        """The fields ``actor`` may write in the record by ``action``; raises NotFound,
        Forbidden, or Forbidden(FIELD_NOT_WRITABLE) naming each refused field."""
        found = self.check_many(conn, actor, qualified, action, {record_id: list(fields)})
        outcome = found[record_id]
        if isinstance(outcome, TenonError):
            raise outcome
        return outcome

    def check_many(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        action: str,
        fields: Mapping[int, Iterable[str]],
        exist: bool = False,
    ) -> dict[int, frozenset[str] | TenonError]:
        """``check`` for many records in two queries: per record, the writable fields
        or the error (not found, forbidden, fields refused) that ``check`` would raise.
        When the records are known to ``exist`` (just created) and a rule without a scope
        lets the actor write every field sent, no query is needed."""
        obj = self.reader.object(qualified)
        ids = list(fields)
        if actor.is_system:  # Tenon doing what an app declared (a timer, an effect)
            return {record_id: frozenset(obj.settable) for record_id in ids}
        rules = self.policy.applicable(actor, qualified, action)
        if exist:
            everywhere: set[str] = set()
            for rule in rules:
                if rule.scope is None:
                    everywhere |= self.policy.writable(rule, obj)
            if everywhere and all(set(f) <= everywhere for f in fields.values()):
                return {record_id: frozenset(everywhere) for record_id in ids}
        guard = self.reader.guard(conn, actor)
        matched = self._matching_many(conn, guard, qualified, rules, ids) if rules else {}
        lacking = [i for i in ids if not matched.get(i)]
        readers = self.policy.applicable(actor, qualified, "read")
        visible = (
            self._matching_many(conn, guard, qualified, readers, lacking)
            if lacking and readers
            else {}
        )
        out: dict[int, frozenset[str] | TenonError] = {}
        for record_id in ids:
            rules_here = matched.get(record_id)
            if not rules_here:
                if not visible.get(record_id):
                    out[record_id] = NotFound(f"{qualified} record {record_id} was not found")
                else:
                    what = "read-only token" if actor.read_only else "your roles"
                    out[record_id] = Forbidden(f"{what} may not {action} this {obj.name}")
                continue
            writable: set[str] = set()
            for rule in rules_here:
                writable |= self.policy.writable(rule, obj)
            refused = [name for name in fields[record_id] if name not in writable]
            if refused:
                out[record_id] = Forbidden(
                    f"you may not change {', '.join(refused)} of this {obj.name}",
                    [
                        Issue(f"/{name}", f"you may not change {name!r}", "FIELD_NOT_WRITABLE")
                        for name in refused
                    ],
                    code="FIELD_NOT_WRITABLE",
                )
            else:
                out[record_id] = frozenset(writable)
        return out

    def explain(
        self, conn: Connection, actor: Actor, qualified: str, record_id: int, action: str = "read"
    ) -> dict[str, Any]:
        obj = self.reader.object(qualified)
        guard = self.reader.guard(conn, actor)
        rules = self.policy.rules.get(qualified, [])
        held = [r for r in rules if actor.has_role(r.role)]
        matched = self._matching(conn, guard, qualified, held, record_id)
        if matched is None:
            raise NotFound(f"{qualified} record {record_id} does not exist")
        report = []
        readable: set[str] = set()
        writable: set[str] = set()
        for rule in rules:
            has_role = actor.has_role(rule.role)
            scope_ok = rule in matched if has_role else None
            grants = action in rule.actions and not (actor.read_only and action != "read")
            applies = bool(has_role and scope_ok and grants)
            if applies:
                readable |= self.policy.readable(rule, obj)
                writable |= self.policy.writable(rule, obj)
            report.append(
                {
                    "rule": rule.where,
                    "role": rule.role,
                    "actions": sorted(rule.actions),
                    "scope": rule.scope,
                    "role_held": has_role,
                    "action_granted": action in rule.actions,
                    "scope_matches": scope_ok,
                    "applies": applies,
                    "summary": rule.describe(),
                }
            )
        allowed = any(r["applies"] for r in report)
        return {
            "user": actor.username,
            "roles": sorted(actor.roles),
            "object": qualified,
            "record": record_id,
            "action": action,
            "allowed": allowed,
            "readable_fields": sorted(readable) if allowed else [],
            "writable_fields": sorted(writable) if allowed else [],
            "rules": report,
        }
