"""``"skip_existing": true`` on a create effect: the new records whose key is already
taken are left out instead of failing the action, so an action can fill in what is
missing (a plan's pools for the departments that have none yet).

A key is a unique constraint without a condition, or a unique field, whose fields all
have values in the new record (validation checks that the effect sets one such key).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.metadata.model import SOFT_DELETE_COLUMN, ObjectDef, unique_keys


def missing(
    conn: Connection, table: sa.Table, obj: ObjectDef, rows: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``rows`` less those whose value of a key a stored record (or an earlier row) has."""
    kept = list(rows)
    for key in unique_keys(obj.spec):
        if not kept or not all(name in kept[0] for name in key):
            continue
        query = sa.select(*(table.c[name] for name in key))
        if SOFT_DELETE_COLUMN in table.c:
            query = query.where(table.c[SOFT_DELETE_COLUMN].is_(None))
        first = key[0]  # narrow the read to the values being created
        wanted = {row[first] for row in kept if row[first] is not None}
        query = query.where(table.c[first].in_(wanted))
        taken = {tuple(r) for r in conn.execute(query)}
        fresh = []
        for row in kept:
            value = tuple(row[name] for name in key)
            if None in value:  # a blank key never collides
                fresh.append(row)
            elif value not in taken:
                taken.add(value)
                fresh.append(row)
        kept = fresh
    return kept
