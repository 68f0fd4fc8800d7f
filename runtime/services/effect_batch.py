"""The effects of one automation fired by many records of one write, written together.

A bulk write (an import of 2,000 employees, a ``for_each`` create, a mass update) fires
a record automation once per record. When every action of the automation is a ``create``
or an ``update``, the records' actions are planned one by one, exactly as
``Effects.run`` would plan them, and then written in one set-based call per action: one
``create_many`` with every record's new rows, one ``write_many`` over the records the
updates point at. The records are read afresh between actions, as ``Effects.run`` does
after each effect. Anything else (notifications, workflow actions, two records updating
the same target) is left to ``Effects.run``, record by record.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy.engine import Connection

from runtime.security.actor import Actor
from runtime.services.effects import Effects, Site
from runtime.services.formula_env import record_env

BATCHED = frozenset({"create", "update"})


def batchable(effects: Sequence[tuple[str, Mapping[str, Any]]]) -> bool:
    """Creates, updates, and workflow actions on the record itself."""
    return bool(effects) and all(
        kind in BATCHED or (kind == "act" and not spec.get("relation") and not spec.get("record"))
        for kind, spec in effects
    )


def run_batch(
    runner: Effects,
    conn: Connection,
    actor: Actor,
    qualified: str,
    ids: list[int],
    effects: Sequence[tuple[str, Mapping[str, Any]]],
    cause: str,
) -> bool:
    """Write ``effects`` (all ``batchable``) of ``cause`` (taken by ``actor``) for the
    records ``ids`` of ``qualified``; False, having written nothing, when they must run
    record by record."""
    records = runner.records
    env = record_env(conn, runner.reader.table, qualified, records.clock, actor.stored_id)
    for index, (kind, spec) in enumerate(effects):
        rows = records.locked_rows(conn, qualified, ids)
        path = f"/effects/{index}/{kind}"
        who = runner.acting(actor, spec, cause)
        sites = [Site(conn, who, qualified, rows[i], env, path) for i in ids if i in rows]
        if kind == "act":
            runner.act_on(conn, who, qualified, [s.record for s in sites], spec)
        elif kind == "create":
            made: list[dict[str, Any]] = []
            target = ""
            for site in sites:
                target, planned = runner.create_rows(site, spec)
                made += planned
            single = not (spec.get("for_each") or spec.get("repeat"))
            if made:
                runner.create_made(conn, who, target, made, path, single and len(made) == 1)
        elif not _updated(runner, conn, who, sites, spec):
            if index == 0:
                return False
            for site in sites:  # later actions: the earlier ones are written already
                runner.run(conn, actor, qualified, int(site.record["id"]), [(kind, spec)], cause)
    return True


def _updated(
    runner: Effects, conn: Connection, actor: Actor, sites: list[Site], spec: Mapping[str, Any]
) -> bool:
    """The ``update`` of every site in one ``write_many`` per target object; False when
    two records point at the same target (their order matters: left to ``run``)."""
    plans = [p for p in (runner.update_plan(site, spec) for site in sites) if p is not None]
    by_target: dict[str, dict[int, dict[str, Any]]] = {}
    for target, target_id, changed in plans:
        wanted = by_target.setdefault(target, {})
        if target_id in wanted:
            return False
        wanted[target_id] = changed
    for target, wanted in by_target.items():
        runner.check_many(conn, actor, target, {i: list(c) for i, c in wanted.items()})
        befores = runner.records.locked_rows(conn, target, list(wanted))
        items = []
        for target_id, changed in wanted.items():
            before = befores[target_id]
            diff = {k: v for k, v in changed.items() if before.get(k) != v}
            if diff:
                items.append((before, diff))
        if items:
            runner.records.write_many(conn, actor, target, items, "update")
    return True
