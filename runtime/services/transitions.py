"""Workflow actions on a record: one transition and all its effects, in one transaction.

``Transitions.act`` takes an action on a record as the caller, in this order:

1. the action exists on the object's workflow (else 404 ``UNKNOWN_ACTION``);
2. the caller's permission rules grant the action on this record (404 if they cannot
   read it, 403 if they may not act), and the transition's ``roles``, when it lists any;
3. the record, locked, is in a state the action leaves from (else 409
   ``INVALID_TRANSITION``), at the version sent, when one is;
4. the inputs the action declares, checked by type (a declared input named like a field
   of the object is written to the record);
5. the fields required to leave the state and by the transition are filled (422
   ``REQUIRED`` each), and the transition's condition holds (422 with its ``code``);
6. the new state and the effects' ``set`` formulas, evaluated on the record as it is
   with the inputs, are written at once; computed fields, the object's rules and the
   audit entry (operation ``action:<name>``, with the comment) follow.

Anything refused leaves the record as it was. Two people acting on one record at once:
the second finds it changed (version or state) and gets 409; nothing is merged.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.engine import Connection

from runtime.errors import Conflict, Forbidden, Issue, NotFound, TenonError, ValidationFailed
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled, Env
from runtime.metadata.fieldtypes import CoerceError
from runtime.metadata.model import FieldDef, ObjectDef
from runtime.metadata.workflows import STATE_COLUMN, TransitionDef, WorkflowDef
from runtime.security.actor import Actor
from runtime.services import inputs, outbox, people
from runtime.services.approvals import Approvals
from runtime.services.effect_batch import batchable, run_batch
from runtime.services.effects import Effects
from runtime.services.formula_env import record_env
from runtime.services.records import Records, Written
from runtime.services.write_checks import version_of
from runtime.storage import notifications
from runtime.storage.jobs import JobStore

CONTROL = frozenset({"comment", "version"})
Notice = tuple[list[int], str, Mapping[str, Any]]  # recipients, message, the notify spec
MAX_CHAIN = 8  # states an approval-free chain of automatic approvals may pass through
MAX_COMMENT = 4000


class Transitions:
    def __init__(self, records: Records, jobs: JobStore | None = None) -> None:
        self.records = records
        self.reader = records.reader
        self._compiled: dict[tuple[str, str], Compiled] = {}
        self.effects = Effects(records, self.formula, self.act, jobs)
        self.effects.act_many = self.act_many
        self.approvals: Approvals | None = None
        if jobs is not None:
            self.approvals = Approvals(self.reader, self.formula, jobs, records.clock)
            records.hooks.append(self.approvals.forget)

    def act(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record_id: int,
        action: str,
        body: Mapping[str, Any],
    ) -> Written:
        obj = self.reader.object(qualified)
        flow = obj.workflow
        if flow is None or action not in flow.actions:
            raise NotFound(f"{obj.name} has no action {action!r}", code="UNKNOWN_ACTION")
        comment = _comment(body.get("comment"))
        before = self.records.locked_row(conn, qualified, record_id)
        run = None
        if self.approvals is not None:
            run = self.approvals.concerned(conn, actor, qualified, before, action)
        if run is None:  # a plain transition: the permission rules decide
            if not actor.is_system:  # the system does what the app declared (a timer)
                try:
                    self.records.permits.check(conn, actor, qualified, action, record_id)
                except Forbidden:
                    if self.approvals is not None:  # a decision that came too late
                        self.approvals.too_late(conn, actor, qualified, before, action)
                    raise
        elif not actor.is_system and self.approvals is not None:  # the caller's part in it
            self.approvals.check_caller(conn, actor, qualified, run, action)
        if body.get("version") is not None:
            self.records.check_version(conn, qualified, before, version_of(body["version"]))
        env = record_env(conn, self.reader.table, qualified, self.records.clock, actor.stored_id)
        if run is None:
            return self._take(conn, actor, qualified, before, action, body, comment, env, False)
        assert self.approvals is not None
        outcome = self.approvals.handle(
            conn, actor, qualified, run, before, action, body, comment, env
        )
        if outcome.take is None:  # a decision that keeps the state: audited all the same
            self._inputs(obj, flow.candidates(action, before.get(STATE_COLUMN)), outcome.body)
            operation = f"action:{action}"
            return self.records.write_changes(
                conn, actor, qualified, before, {}, operation, comment
            )
        return self._take(
            conn, actor, qualified, before, outcome.take, outcome.body, comment, env, True
        )

    def _take(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        before: Mapping[str, Any],
        action: str,
        body: Mapping[str, Any],
        comment: str | None,
        env: Env,
        authorised: bool,
        depth: int = 0,
    ) -> Written:
        """Take the transition ``action`` from the record's state (the first of its
        declarations whose condition holds), with its effects, in this transaction.
        ``authorised``: an approval's task stands for the permission rules and roles."""
        state = before.get(STATE_COLUMN)
        transition, changed, notices = self._plan(
            conn, actor, qualified, before, action, body, env, authorised
        )
        operation = f"action:{action}"
        done = self.records.write_changes(
            conn, actor, qualified, before, changed, operation, comment
        )
        record_id = int(before["id"])
        self._after(
            conn, actor, qualified, [record_id], transition, {record_id: notices}, operation, env
        )
        if self.approvals is None or transition.target == state:
            return done
        after = self.records.locked_row(conn, qualified, record_id)
        self.approvals.left(conn, actor, qualified, after, action, env)
        if not self.approvals.entered(conn, actor, qualified, after, env):
            return done
        if depth >= MAX_CHAIN:
            raise Conflict(
                f"approvals that approve themselves led through {MAX_CHAIN} states in a row: "
                "the workflow loops",
                code="WORKFLOW_LOOP",
            )
        system = Actor.system(f"approval of {transition.target} (nobody left to ask)")
        return self._take(conn, system, qualified, after, "approve", {}, None, env, True, depth + 1)

    def _plan(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        before: Mapping[str, Any],
        action: str,
        body: Mapping[str, Any],
        env: Env,
        authorised: bool,
    ) -> tuple[TransitionDef, dict[str, Any], list[Notice]]:
        """The transition ``action`` takes from the record's state, the values it writes
        (inputs, ``set`` effects, the new state) and its notifications; nothing written."""
        obj = self.reader.object(qualified)
        flow = obj.workflow
        assert flow is not None
        state = before.get(STATE_COLUMN)
        candidates = flow.candidates(action, state)
        if not candidates:
            raise Conflict(
                f"{action} is not possible while the {obj.name} is {state!r} "
                f"(possible: {', '.join(_possible(flow, state)) or 'none'})",
                code="INVALID_TRANSITION",
            )
        if not authorised and not actor.is_system:
            allowed = [
                t for t in candidates if not t.roles or any(actor.has_role(r) for r in t.roles)
            ]
            if not allowed:
                roles = sorted({r for t in candidates for r in t.roles})
                raise Forbidden(f"only {', '.join(roles)} may {action}")
            candidates = allowed
        given = self._inputs(obj, candidates, body)
        record = {**before, **given}
        if len(candidates) == 1:
            transition = candidates[0]
            self._required(flow, state, transition, record)
            self._condition(env, qualified, transition, record)
        else:  # a route chosen by the data: the first whose condition holds
            transition = self._choose(env, qualified, candidates, record)
            self._required(flow, state, transition, record)
        changed = {**given, **self._effects(env, qualified, obj, transition, record)}
        changed[STATE_COLUMN] = transition.target
        notices = self._notices(conn, env, qualified, transition, {**record, **changed})
        return transition, changed, notices

    def _after(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        ids: list[int],
        transition: TransitionDef,
        notices: Mapping[int, list[Notice]],
        operation: str,
        env: Env,
    ) -> None:
        """The transition's effects on the records ``ids`` (written together when they
        can be: ``effect_batch``), then each record's notifications."""
        obj = self.reader.object(qualified)
        by = actor.on_behalf_of or actor.username
        cause = f"{operation} by {by}"
        writes = list(transition.writes)
        batched = len(ids) > 1 and batchable(writes)
        if not (batched and run_batch(self.effects, conn, actor, qualified, ids, writes, cause)):
            for record_id in ids:
                where = f"{operation} on {obj.name} {record_id} by {by}"
                self.effects.run(conn, actor, qualified, record_id, writes, where)
        for record_id in ids:
            for user_ids, message, notice in notices.get(record_id, ()):
                outbox.notified(conn, self.effects.jobs, user_ids, message, notice, env.now, cause)
                notifications.add(
                    conn,
                    user_ids,
                    message,
                    env.now,
                    qualified=qualified,
                    record_id=record_id,
                    cause=cause,
                )

    def act_many(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        ids: list[int],
        action: str,
        body: Mapping[str, Any],
    ) -> list[Written]:
        """``act`` on many records at once, all or none: one permission query, one write,
        the effects together. Where an approval or a to-do is involved (in the states left
        or entered), each record is acted on by ``act``, in the same transaction."""
        obj = self.reader.object(qualified)
        flow = obj.workflow
        if flow is None or action not in flow.actions:
            raise NotFound(f"{obj.name} has no action {action!r}", code="UNKNOWN_ACTION")
        comment = _comment(body.get("comment"))
        ids = list(dict.fromkeys(ids))
        befores = self.records.locked_rows(conn, qualified, ids)
        if not self._plain(flow, action, befores.values()) or body.get("version") is not None:
            return [self.act(conn, actor, qualified, i, action, body) for i in ids]
        if not actor.is_system:
            checked = self.records.permits.check_many(
                conn, actor, qualified, action, dict.fromkeys(ids, ())
            )
            for outcome in checked.values():
                if isinstance(outcome, TenonError):
                    raise outcome
        missing = [i for i in ids if i not in befores]
        if missing:
            raise NotFound(f"{qualified} record {missing[0]} was not found")
        env = record_env(conn, self.reader.table, qualified, self.records.clock, actor.stored_id)
        planned = [
            self._plan(conn, actor, qualified, befores[i], action, body, env, False) for i in ids
        ]
        operation = f"action:{action}"
        items = [(befores[i], changed) for i, (_, changed, _) in zip(ids, planned, strict=True)]
        done = self.records.write_many(conn, actor, qualified, items, operation, comment)
        groups: dict[int, list[int]] = {}  # records taking the same transition
        for i, (transition, _, _) in zip(ids, planned, strict=True):
            groups.setdefault(id(transition), []).append(i)
        by_id = dict(zip(ids, planned, strict=True))
        for members in groups.values():
            transition = by_id[members[0]][0]
            notices = {i: by_id[i][2] for i in members}
            self._after(conn, actor, qualified, members, transition, notices, operation, env)
        return done

    def _plain(self, flow: WorkflowDef, action: str, records: Iterable[Mapping[str, Any]]) -> bool:
        """Neither an approval nor a to-do in the states ``action`` leaves or enters."""
        if self.approvals is None:
            return True
        states = {r.get(STATE_COLUMN) for r in records}
        targets = {t.target for s in states for t in flow.candidates(action, s)}
        for name in states | targets:
            state = flow.states.get(str(name))
            if flow.approval(name) is not None or (state is not None and state.todos):
                return False
        return True

    # -- the steps ------------------------------------------------------------------------

    def _inputs(
        self, obj: ObjectDef, transitions: list[TransitionDef], body: Mapping[str, Any]
    ) -> dict[str, Any]:
        """The declared inputs sent, checked; those naming a field go onto the record."""
        declared: dict[str, Any] = {}
        for candidate in reversed(transitions):
            declared |= {str(f["name"]): f for f in candidate.spec.get("inputs") or []}
        action = transitions[0].action if transitions else "this action"
        issues: list[Issue] = []
        out: dict[str, Any] = {}
        for name, raw in body.items():
            if name in CONTROL:
                continue
            spec = declared.get(name)
            if spec is None:
                message = f"{action} takes no input {name!r}"
                issues.append(Issue(f"/{name}", message, "UNKNOWN_FIELD"))
                continue
            if inputs.blank(raw):
                value = None
            else:
                try:
                    value = FieldDef(name, str(spec["type"]), spec).coerce(raw)
                except CoerceError as error:
                    issues.append(Issue(f"/{name}", f"{name} {error}", "INVALID_VALUE"))
                    continue
            if spec.get("required") and value is None:
                issues.append(Issue(f"/{name}", f"{name} is required", "REQUIRED"))
            if name in obj.settable:
                out[name] = value
        for name, spec in declared.items():
            if spec.get("required") and name not in body:
                issues.append(Issue(f"/{name}", f"{name} is required", "REQUIRED"))
        if issues:
            raise ValidationFailed.from_issues(f"{action} was not done", issues)
        return out

    def _required(
        self,
        flow: WorkflowDef,
        state: str | None,
        transition: TransitionDef,
        record: Mapping[str, Any],
    ) -> None:
        leaving = flow.states.get(state or "")
        names = [*(leaving.required_to_leave if leaving else ()), *transition.required]
        missing = [n for n in dict.fromkeys(names) if inputs.blank(record.get(n))]
        if missing:
            issues = [
                Issue(f"/{n}", f"{n} is required to {transition.action}", "REQUIRED")
                for n in missing
            ]
            raise _not_done(transition, issues)

    def formula(self, qualified: str, text: str, expect: str | None = None) -> Compiled:
        """``text`` compiled on the object (kept: the same few formulas run again and again)."""
        key = (qualified, text if expect is None else f"{expect}:{text}")
        if key not in self._compiled:
            self._compiled[key] = self.reader.policy.engine.compile(text, qualified, expect=expect)
        return self._compiled[key]

    def _choose(
        self,
        env: Env,
        qualified: str,
        candidates: list[TransitionDef],
        record: Mapping[str, Any],
    ) -> TransitionDef:
        """The first of ``candidates`` whose condition holds; else the first's refusal."""
        refusal: ValidationFailed | None = None
        for transition in candidates:
            try:
                self._condition(env, qualified, transition, record)
            except ValidationFailed as refused:
                refusal = refusal or refused
                continue
            return transition
        assert refusal is not None
        raise refusal

    def _condition(
        self, env: Env, qualified: str, transition: TransitionDef, record: Mapping[str, Any]
    ) -> None:
        if not transition.condition:
            return
        formula = self.formula(qualified, transition.condition, "boolean")
        try:
            holds = formula.evaluate(dict(record), env)
        except FormulaError as error:
            message = f"the condition could not be checked: {error}"
            raise _not_done(transition, [Issue("", message, "CONDITION_ERROR")]) from None
        if holds is not True:
            message = transition.message or f"the condition of {transition.action} does not hold"
            message = self._detail(env, qualified, transition, record, message)
            refused = _not_done(transition, [Issue("", message, transition.code)])
            refused.code = transition.code
            raise refused

    def _detail(
        self,
        env: Env,
        qualified: str,
        transition: TransitionDef,
        record: Mapping[str, Any],
        message: str,
    ) -> str:
        """The message of a refusal, with what the transition's ``detail`` says why."""
        text = transition.spec.get("detail")
        if not text:
            return message
        try:
            detail = self.formula(qualified, str(text)).evaluate(dict(record), env)
        except FormulaError as error:
            detail = f"(the detail could not be computed: {error})"
        return f"{message}: {detail}" if detail not in (None, "") else message

    def _notices(
        self,
        conn: Connection,
        env: Env,
        qualified: str,
        transition: TransitionDef,
        record: Mapping[str, Any],
    ) -> list[tuple[list[int], str, Mapping[str, Any]]]:
        """Each ``notify`` effect's recipients and message, on the record as it will be."""
        out = []
        for notice in transition.notices:
            try:
                text = self.formula(qualified, str(notice["message"])).evaluate(dict(record), env)
            except FormulaError as error:
                message = f"the notification could not be written: {error}"
                raise _not_done(transition, [Issue("", message, "EFFECT_FAILED")]) from None
            recipients = people.resolve(conn, env, self.formula, qualified, notice["to"], record)
            if recipients and text not in (None, ""):
                out.append((recipients, str(text), notice))
        return out

    def _effects(
        self,
        env: Env,
        qualified: str,
        obj: ObjectDef,
        transition: TransitionDef,
        record: Mapping[str, Any],
    ) -> dict[str, Any]:
        """The ``set`` effects' values, each formula on the record as it is now."""
        out: dict[str, Any] = {}
        issues: list[Issue] = []
        for name, text in transition.sets:
            fdef = obj.by_name[name]
            try:
                value = self.formula(qualified, text).evaluate({**record, **out}, env)
                out[name] = None if value is None else fdef.coerce(value)
            except (FormulaError, CoerceError) as error:
                issues.append(
                    Issue(f"/{name}", f"{name} could not be set: {error}", "EFFECT_FAILED")
                )
        if issues:
            raise _not_done(transition, issues)
        return out


def _not_done(transition: TransitionDef, issues: list[Issue]) -> ValidationFailed:
    return ValidationFailed.from_issues(f"{transition.action} was not done", issues)


def _comment(raw: Any) -> str | None:
    if raw is None or raw == "":
        return None
    if not isinstance(raw, str) or len(raw) > MAX_COMMENT or "\x00" in raw:
        message = f"comment must be a text of at most {MAX_COMMENT} characters"
        raise ValidationFailed.from_issues(message, [Issue("/comment", message, "INVALID_VALUE")])
    return raw


def _possible(flow: WorkflowDef, state: str | None) -> list[str]:
    return sorted({t.action for t in flow.transitions if state in t.sources})
