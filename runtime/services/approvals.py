"""Approvals on records: the decisions of the people a state's approval asks.

``Transitions.act`` hands an action to ``Approvals.handle`` first. While the record's
state holds a running approval:

- ``approve``, ``reject``, ``return`` are taken by the holder of an open task of the
  current step (nobody else: 403, or 404 when they cannot read the record). An approve
  that completes the last step, a reject, and a return without ``to_step`` make the
  record take the transition of that name; anything else keeps the state (the decision
  is audited and the record's version moves);
- ``transfer`` (``to``: a username) hands the caller's task to someone else;
  ``add_signer`` (``user``, ``position`` before/after) asks one more person in the
  caller's place in line; ``cc`` (``users``) tells people about the request;
- ``withdraw`` is the submitter's until the first decision (then 409 ``ALREADY_DECIDED``).

Entering a state with an approval starts one (its route — the steps whose ``when``
holds — is kept as declared then, so an upgrade does not change a running approval);
leaving the state ends it and closes its open tasks. To-dos of a state work the same
way without gating anything. The record's lock, taken first, serializes all of this.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, NamedTuple, NoReturn

from sqlalchemy.engine import Connection

from runtime.clock import Clock
from runtime.errors import Conflict, Forbidden, NotFound
from runtime.formula.evaluator import Env
from runtime.metadata.approvals import (
    BUILT_IN,
    TASK_ACTIONS,
    WITHDRAW,
    ApprovalDef,
    people_of,
    step_from_dict,
)
from runtime.metadata.workflows import STATE_COLUMN
from runtime.security.actor import Actor
from runtime.services import people
from runtime.services.approval_hands import HandOffs
from runtime.services.approval_steps import (
    APPROVED,
    CANCELLED,
    DONE,
    REJECTED,
    RETURNED,
    Steps,
    bad,
    progress,
    step_key,
    todo_key,
)
from runtime.services.reading import Reader
from runtime.storage import tasks
from runtime.storage.jobs import JobStore

ENDINGS = {"approve": APPROVED, "reject": REJECTED, "return": RETURNED, WITHDRAW: "withdrawn"}
INPUTS = {"transfer": ("to",), "add_signer": ("user", "position"), "cc": ("users",)}


class Outcome(NamedTuple):
    """What an approval action leads to: the transition to take now (None: the record
    stays in its state), taken on the task's authority rather than permission rules."""

    take: str | None
    body: Mapping[str, Any]


class Approvals(HandOffs):
    def __init__(
        self, reader: Reader, compile: people.Compile, jobs: JobStore, clock: Clock
    ) -> None:
        self.reader = reader
        self.clock = clock
        self.compile = compile
        self.jobs = jobs
        self.steps = Steps(compile, jobs)

    # -- actions ------------------------------------------------------------------------

    def concerned(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        before: Mapping[str, Any],
        action: str,
    ) -> Any:
        """The record's running approval when ``action`` is a matter for it, else None
        (a plain transition, checked by permission rules). A withdraw is the approval's
        only when the submitter takes it."""
        flow = self.reader.object(qualified).workflow
        spec = flow.approval(before.get(STATE_COLUMN)) if flow is not None else None
        if spec is None or (action != WITHDRAW and action not in spec.verbs()):
            return None
        run = tasks.running(conn, qualified, int(before["id"]))
        if run is None or (
            action == WITHDRAW and (actor.is_system or actor.user_id != run.submitter_id)
        ):
            return None
        return run

    def too_late(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        before: Mapping[str, Any],
        action: str,
    ) -> None:
        """409 ``TASK_CLOSED`` for someone who held a task on the record's approval that
        has ended meanwhile (they lost a race, or someone else decided first)."""
        if action not in (*TASK_ACTIONS, *BUILT_IN):
            return
        _, rows = tasks.of_record(conn, qualified, int(before["id"]))
        if any(r.assignee_id == actor.user_id and r.kind == "approval" for r in rows):
            raise Conflict(
                f"this approval is over: the {qualified.partition('.')[2]} is "
                f"{before.get(STATE_COLUMN)!r} now",
                code="TASK_CLOSED",
            )

    def check_caller(
        self, conn: Connection, actor: Actor, qualified: str, run: Any, action: str
    ) -> None:
        """403 (404 when they cannot read the record) unless the caller has a part in
        the approval for ``action``: an open task; the submitter's own withdraw; cc for
        the submitter and the people asked."""
        if action == WITHDRAW:
            return
        if action == "cc":
            involved = {
                t.assignee_id for t in tasks.of_approval(conn, run.id) if t.kind == "approval"
            }
            if actor.user_id == run.submitter_id or actor.user_id in involved:
                return
            self._stranger(conn, actor, qualified, run)
        self._held(conn, actor, qualified, run)

    def handle(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        run: Any,
        before: Mapping[str, Any],
        action: str,
        body: Mapping[str, Any],
        comment: str | None,
        env: Env,
    ) -> Outcome:
        """The approval's answer to ``action`` (the caller was checked)."""
        if action == WITHDRAW:
            return self._withdraw(conn, run, body)
        settings = json.loads(run.settings)
        rest = {k: v for k, v in body.items() if k not in INPUTS.get(action, ())}
        if action == "cc":
            self._cc(conn, actor, qualified, run, body, env)
            return Outcome(None, rest)
        if actor.is_system:  # a timer or an escalation decides the current step
            return self._system(conn, actor, qualified, run, action, before, comment, env, rest)
        task = self._held(conn, actor, qualified, run)
        if action == "approve":
            return self._approve(conn, actor, qualified, run, task, before, comment, env, rest)
        if action == "reject":
            self._close(conn, [task.id], REJECTED, actor, env.now, comment)
            return self._end(conn, run, "reject", before, env, rest)
        if action == "return":
            return self._return(conn, actor, qualified, run, task, before, comment, env, body)
        if action == "transfer":
            self._transfer(conn, actor, qualified, run, task, body, comment, env, settings)
        else:
            self._add_signer(conn, actor, qualified, run, task, body, env, settings)
        return Outcome(None, rest)

    def _held(self, conn: Connection, actor: Actor, qualified: str, run: Any) -> Any:
        """The caller's open task on the current step (a sequential turn not yet come is
        a 409), else 403 — or 404 when they cannot read the record either."""
        mine = [t for t in tasks.of_step(conn, run.id, run.step) if t.assignee_id == actor.user_id]
        for status in (tasks.PENDING, tasks.WAITING):
            found = next((t for t in mine if t.status == status), None)
            if found is not None and status == tasks.PENDING:
                return found
            if found is not None:
                raise Conflict("it is not your turn yet on this step", code="NOT_YOUR_TURN")
        held = [t for t in tasks.of_approval(conn, run.id) if t.assignee_id == actor.user_id]
        if held:
            raise Conflict(
                "your task on this approval is already closed (decided, transferred or "
                "taken over by another decision)",
                code="TASK_CLOSED",
            )
        return self._stranger(conn, actor, qualified, run)

    def _stranger(self, conn: Connection, actor: Actor, qualified: str, run: Any) -> NoReturn:
        try:
            self.reader.get_record(conn, actor, qualified, run.record_id)
        except NotFound:
            raise NotFound(f"{qualified} {run.record_id} does not exist") from None
        raise Forbidden(
            "you hold no open task on this approval: only the people its current step "
            "asks may decide",
            code="NOT_YOUR_TASK",
        )

    def _approve(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        run: Any,
        task: Any,
        record: Mapping[str, Any],
        comment: str | None,
        env: Env,
        rest: Mapping[str, Any],
    ) -> Outcome:
        self._close(conn, [task.id], APPROVED, actor, env.now, comment)
        return self._advance(
            conn, qualified, run, record, env, rest, f"approve by {actor.username}"
        )

    def _advance(
        self,
        conn: Connection,
        qualified: str,
        run: Any,
        record: Mapping[str, Any],
        env: Env,
        rest: Mapping[str, Any],
        cause: str,
    ) -> Outcome:
        """Open the next tasks of the step; when it is done, the next step of the route;
        when the route is done, the approval is approved."""
        route = json.loads(run.route)
        step = step_from_dict(qualified.partition(".")[0], route[run.step])
        opened, cancelled, finished = progress(tasks.of_step(conn, run.id, run.step), step.mode)
        tasks.update(conn, opened, status=tasks.PENDING)
        tasks.update(conn, cancelled, status=CANCELLED, decided_at=env.now)
        if opened:
            rows = [t for t in tasks.of_step(conn, run.id, run.step) if t.id in opened]
            label = self._label(run, qualified)
            who = [t.assignee_id for t in rows]
            self.steps.notify(
                conn, who, f"Approval needed: {label}", env, qualified, run.record_id, cause
            )
        if not finished:
            return Outcome(None, rest)
        self.jobs.cancel_key(conn, step_key(run.id, run.step), env.now)
        fallback = self._fallback(qualified, record)
        for index in range(run.step + 1, len(route)):
            run = tasks.approval(conn, run.id)
            if not self.steps.open_step(conn, env, qualified, run, index, record, fallback, cause):
                return Outcome(None, rest)
        return self._end(conn, tasks.approval(conn, run.id), "approve", record, env, rest)

    def _end(
        self,
        conn: Connection,
        run: Any,
        action: str,
        record: Mapping[str, Any],
        env: Env,
        rest: Mapping[str, Any],
    ) -> Outcome:
        """The approval is decided: the record takes the transition ``action`` next (in
        this transaction); the submitter and the approval's copied people hear of it."""
        self._finish(conn, run, ENDINGS[action], env)
        qualified = f"{run.app}.{run.object}"
        message = f"{self._label(run, qualified)} was {ENDINGS[action]}"
        told = [run.submitter_id] if run.submitter_id is not None else []
        if action != "return":
            copied = people_of(run.app, json.loads(run.settings).get("cc"))
            told += people.resolve(conn, env, self.compile, qualified, copied, record)
        cause = f"approval {ENDINGS[action]}"
        self.steps.notify(conn, told, message, env, qualified, run.record_id, cause)
        return Outcome(action, rest)

    def _finish(self, conn: Connection, run: Any, status: str, env: Env) -> None:
        open_ids = [t.id for t in tasks.of_approval(conn, run.id) if t.status in tasks.OPEN]
        tasks.update(conn, open_ids, status=CANCELLED, decided_at=env.now)
        self.jobs.cancel_key(conn, step_key(run.id, run.step), env.now)
        tasks.end(conn, run.id, status, env.now)

    def _fallback(self, qualified: str, record: Mapping[str, Any]) -> Any:
        flow = self.reader.object(qualified).workflow
        spec = flow.approval(record.get(STATE_COLUMN)) if flow is not None else None
        return spec.fallback if spec is not None else ()

    def _system(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        run: Any,
        action: str,
        record: Mapping[str, Any],
        comment: str | None,
        env: Env,
        rest: Mapping[str, Any],
    ) -> Outcome:
        """The system approves or rejects the current step as a whole (an escalation)."""
        if action not in ("approve", "reject"):
            raise Conflict(f"the system cannot {action} an approval", code="INVALID_TRANSITION")
        open_ids = [t.id for t in tasks.of_step(conn, run.id, run.step) if t.status in tasks.OPEN]
        if action == "reject":
            self._close(conn, open_ids, REJECTED, actor, env.now, comment)
            return self._end(conn, run, "reject", record, env, rest)
        self._close(conn, open_ids, APPROVED, actor, env.now, comment)
        cause = f"approve by system ({actor.on_behalf_of})"
        return self._advance(conn, qualified, run, record, env, rest, cause)

    def _return(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        run: Any,
        task: Any,
        record: Mapping[str, Any],
        comment: str | None,
        env: Env,
        body: Mapping[str, Any],
    ) -> Outcome:
        """Back to the submitter (the ``return`` transition) or, with ``to_step``, to an
        earlier step of the route, asked again."""
        target = body.get("to_step")
        rest = {k: v for k, v in body.items() if k != "to_step"}
        self._close(conn, [task.id], RETURNED, actor, env.now, comment)
        if target is None:
            return self._end(conn, run, "return", record, env, rest)
        route = json.loads(run.route)
        names = [s["name"] for s in route[: run.step + 1]]
        if not isinstance(target, str) or target not in names:
            message = f"to_step must name this step or an earlier one: {', '.join(names)}"
            raise bad("/to_step", message, "INVALID_VALUE")
        others = [t.id for t in tasks.of_step(conn, run.id, run.step) if t.status in tasks.OPEN]
        tasks.update(conn, others, status=CANCELLED, decided_at=env.now)
        self.jobs.cancel_key(conn, step_key(run.id, run.step), env.now)
        cause = f"return by {actor.username}"
        fallback = self._fallback(qualified, record)
        index = names.index(target)
        while index < len(route):
            run = tasks.approval(conn, run.id)
            if not self.steps.open_step(conn, env, qualified, run, index, record, fallback, cause):
                return Outcome(None, rest)
            index += 1
        return self._end(conn, tasks.approval(conn, run.id), "approve", record, env, rest)

    def _withdraw(self, conn: Connection, run: Any, body: Mapping[str, Any]) -> Outcome:
        """The submitter takes the request back, if nobody has decided yet."""
        decided = [
            t
            for t in tasks.of_approval(conn, run.id)
            if t.kind == "approval"
            and t.status in (APPROVED, REJECTED, RETURNED)
            and t.origin != "auto"
        ]
        if decided:
            raise Conflict(
                f"{decided[0].decided_by} already decided on this request: it can no longer "
                "be withdrawn",
                code="ALREADY_DECIDED",
            )
        return Outcome(WITHDRAW, body)

    # -- entering and leaving states -----------------------------------------------------

    def left(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record: Mapping[str, Any],
        action: str,
        env: Env,
    ) -> None:
        """The record left its state by ``action``: its approval (unless a decision
        ended it already: then withdrawn, or cancelled by another action) and its to-dos
        close."""
        approval = ENDINGS.get(action, CANCELLED)
        self._wind_up(conn, qualified, int(record["id"]), approval, DONE, env, actor.username)

    def _wind_up(
        self,
        conn: Connection,
        qualified: str,
        record_id: int,
        approval: str,
        todo: str,
        env: Env,
        by: str | None,
    ) -> None:
        """End the record's running approval (as ``approval``) and its open to-dos (as
        ``todo``, decided ``by``), with their deadline jobs."""
        run = tasks.running(conn, qualified, record_id)
        if run is not None:
            self._finish(conn, run, approval, env)
        for task in tasks.open_of_record(conn, qualified, record_id, "todo"):
            tasks.update(conn, [task.id], status=todo, decided_at=env.now, decided_by=by)
            self.jobs.cancel_key(conn, todo_key(task.id), env.now)

    def entered(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        record: Mapping[str, Any],
        env: Env,
    ) -> bool:
        """The record entered its state: start the state's approval and to-dos. True when
        the approval is already complete (no step applies, or all were approved before)."""
        flow = self.reader.object(qualified).workflow
        state = flow.states.get(str(record.get(STATE_COLUMN))) if flow is not None else None
        if state is None:
            return False
        cause = f"entered {state.name}"
        if state.todos:

            def label(text: str | None) -> str | None:
                return self.steps.text(qualified, text, record, env)

            self.steps.open_todos(conn, env, qualified, state.todos, record, cause, label)
        if state.approval is None:
            return False
        return self._start(conn, actor, qualified, state.approval, record, env)

    def _start(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        spec: ApprovalDef,
        record: Mapping[str, Any],
        env: Env,
    ) -> bool:
        route = [s for s in spec.steps if self.steps.applies(qualified, s, record, env)]
        app = qualified.partition(".")[0]
        settings = {
            "self_approval": spec.self_approval,
            "dedupe": spec.dedupe,
            "transfer": spec.transfer,
            "add_signer": spec.add_signer,
            "cc": [p.as_dict() for p in spec.cc],
        }
        approval_id = tasks.start(
            conn,
            qualified,
            int(record["id"]),
            str(record[STATE_COLUMN]),
            app_version=str(self.reader.apps[app].version),
            route=[s.as_dict() for s in route],
            settings=settings,
            summary=self.steps.text(qualified, spec.summary, record, env),
            submitter_id=actor.stored_id,
            now=env.now,
        )
        cause = f"submitted by {actor.on_behalf_of or actor.username}"
        for index in range(len(route)):
            run = tasks.approval(conn, approval_id)
            if not self.steps.open_step(
                conn, env, qualified, run, index, record, spec.fallback, cause
            ):
                return False
        self._finish(conn, tasks.approval(conn, approval_id), APPROVED, env)
        return True

    def forget(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        operation: str,
        changes: list[tuple[Mapping[str, Any], Mapping[str, Any]]],
    ) -> None:
        """A record was deleted: its approval and tasks end."""
        if operation != "delete":
            return
        now = self.clock.now()
        for before, _ in changes:
            record_id = int(before["id"])
            self._wind_up(
                conn, qualified, record_id, CANCELLED, CANCELLED, Env(now.date(), now), None
            )
