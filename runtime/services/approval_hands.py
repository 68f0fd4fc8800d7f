"""Hand-offs on a running approval: transfer a task, add a signer, copy people in.

Each keeps the step's rules: nobody is asked twice on one step, the submitter is never
asked unless self-approval is allowed, and only active users can be named.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from runtime.formula.evaluator import Env
from runtime.security.actor import Actor
from runtime.services.approval_steps import DONE, TRANSFERRED, Steps, bad
from runtime.storage import tasks

MAX_CC = 20


class HandOffs:
    """What ``Approvals`` does besides deciding (a mixin: it provides ``steps``)."""

    steps: Steps

    def _close(
        self,
        conn: Connection,
        ids: list[int],
        status: str,
        actor: Actor,
        now: datetime,
        comment: str | None = None,
    ) -> None:
        tasks.update(
            conn, ids, status=status, decided_at=now, decided_by=actor.username, comment=comment
        )

    def _label(self, run: Any, qualified: str) -> str:
        return str(run.summary or f"{qualified.partition('.')[2]} #{run.record_id}")

    def _person(
        self, conn: Connection, path: str, raw: Any, run: Any, settings: Mapping[str, Any]
    ) -> int:
        """The active user named ``raw``, who may be asked on this approval."""
        found = tasks.user_named(conn, raw) if isinstance(raw, str) and raw else None
        if found is None or not found.is_active:
            raise bad(path, f"{path[1:]} must name an active user", "UNKNOWN_USER")
        user_id = int(found.id)
        if user_id == run.submitter_id and settings.get("self_approval") != "allow":
            message = "the submitter may not approve their own request"
            raise bad(path, message, "SELF_APPROVAL")
        holders = {
            t.assignee_id for t in tasks.of_step(conn, run.id, run.step) if t.status in tasks.OPEN
        }
        if user_id in holders:
            message = f"{raw} is already asked on this step"
            raise bad(path, message, "DUPLICATE_APPROVER")
        return user_id

    def _transfer(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        run: Any,
        task: Any,
        body: Mapping[str, Any],
        comment: str | None,
        env: Env,
        settings: Mapping[str, Any],
    ) -> None:
        user_id = self._person(conn, "/to", body.get("to"), run, settings)
        self._close(conn, [task.id], TRANSFERRED, actor, env.now, comment)
        tasks.hand_on(
            conn, task, assignee_id=user_id, status=tasks.PENDING, origin="transfer", now=env.now
        )
        message = (
            f"Approval needed (handed over by {actor.username}): {self._label(run, qualified)}"
        )
        cause = f"transfer by {actor.username}"
        self.steps.notify(conn, [user_id], message, env, qualified, run.record_id, cause)

    def _add_signer(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        run: Any,
        task: Any,
        body: Mapping[str, Any],
        env: Env,
        settings: Mapping[str, Any],
    ) -> None:
        position = body.get("position", "after")
        if position not in ("before", "after"):
            raise bad("/position", "position must be before or after", "INVALID_VALUE")
        user_id = self._person(conn, "/user", body.get("user"), run, settings)
        before = position == "before"
        status = tasks.PENDING if before else tasks.WAITING
        new_id = tasks.hand_on(
            conn, task, assignee_id=user_id, status=status, origin=position, now=env.now
        )
        group = [t for t in tasks.of_step(conn, run.id, run.step) if t.grp == task.grp]
        order = [t.id for t in group if t.id != new_id]
        at = order.index(task.id) + (0 if before else 1)
        order.insert(at, new_id)
        tasks.renumber(conn, order)
        if before:
            tasks.update(conn, [task.id], status=tasks.WAITING)
            message = f"Approval needed (asked by {actor.username}): {self._label(run, qualified)}"
            cause = f"add_signer by {actor.username}"
            self.steps.notify(conn, [user_id], message, env, qualified, run.record_id, cause)

    def _cc(
        self,
        conn: Connection,
        actor: Actor,
        qualified: str,
        run: Any,
        body: Mapping[str, Any],
        env: Env,
    ) -> None:
        names = body.get("users")
        if not isinstance(names, list) or not 1 <= len(names) <= MAX_CC:
            message = f"users must be a list of 1 to {MAX_CC} usernames"
            raise bad("/users", message, "INVALID_VALUE")
        ids = []
        for i, name in enumerate(names):
            found = tasks.user_named(conn, name) if isinstance(name, str) else None
            if found is None or not found.is_active:
                raise bad(f"/users/{i}", "must name an active user", "UNKNOWN_USER")
            ids.append(int(found.id))
        template = {
            "kind": "cc",
            "approval_id": run.id,
            "app": run.app,
            "object": run.object,
            "record_id": run.record_id,
            "state": run.state,
            "step": run.step,
            "name": "cc",
            "status": DONE,
            "origin": "cc",
            "title": run.summary,
            "created_at": env.now,
            "decided_at": env.now,
            "decided_by": actor.username,
        }
        tasks.add(conn, [template | {"assignee_id": i} for i in dict.fromkeys(ids)])
        message = f"{actor.username} copied you in: {self._label(run, qualified)}"
        self.steps.notify(
            conn, ids, message, env, qualified, run.record_id, f"cc by {actor.username}"
        )
