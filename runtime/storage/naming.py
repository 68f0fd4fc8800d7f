"""Database identifiers for app tables, constraints and indexes, within PostgreSQL's 63 bytes."""

from __future__ import annotations

import hashlib

MAX_IDENTIFIER = 63


def ident(*parts: str) -> str:
    name = "__".join(parts)
    if len(name) <= MAX_IDENTIFIER:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:10]
    return f"{name[: MAX_IDENTIFIER - 11]}_{digest}"


def table_name(app: str, obj: str) -> str:
    return ident(f"app_{app}", obj)
