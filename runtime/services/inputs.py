"""A record's JSON input turned into column values, with every problem named.

``parse`` checks the fields a client sent against the object's definition: unknown
fields, fields nobody may set (computed, system), values of the wrong type (the field
types' own coercion, with their plain-language reasons), users by username, references
to records that do not exist. Problems come back together, one ``Issue`` per field with
its path (``/field``, prefixed for bulk rows) and a stable code, so a form or an import
can show all of them at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from runtime.errors import Issue
from runtime.metadata.fieldtypes import CoerceError, coerce_value
from runtime.metadata.model import (
    SOFT_DELETE_COLUMN,
    SYSTEM_COLUMNS,
    FieldDef,
    ObjectDef,
    qualify,
)
from runtime.metadata.workflows import STATE_COLUMN
from runtime.storage import files
from runtime.storage.tables import USERS_TABLE

_USERS = sa.table(USERS_TABLE, sa.column("id"), sa.column("username"), sa.column("is_active"))
CONTROL = frozenset({"version"})  # accepted in a body, not a field
AUTO = "auto_number"
ATTACHMENT = "attachment"


def blank(value: Any) -> bool:
    return value is None or value == "" or value == []


Readable = Callable[[str, list[int]], set[int]]


class Known:
    """Users and referenced records already looked up (for many rows at once)."""

    def __init__(self, readable: Readable | None = None) -> None:
        self.users: dict[str, int | None] = {}
        self.records: dict[str, dict[int, bool]] = {}
        self.files: dict[str, files.FileInfo | None] = {}
        # which of some ids of an object the writer may read (None: all, the system):
        # a reference to a record one cannot read is refused like one to no record, so
        # writing cannot probe what exists
        self.readable = readable

    def prefetch(
        self,
        conn: Connection,
        app: str,
        fields: Sequence[FieldDef],
        rows: Sequence[Any],
        tables: Any,
    ) -> None:
        """Look up every username, referenced id and file of ``rows``, one query per field."""
        for fdef in fields:
            if fdef.storage not in ("user", "reference") and fdef.type != ATTACHMENT:
                continue
            given = [r.get(fdef.name) for r in rows if isinstance(r, Mapping)]
            if fdef.type == ATTACHMENT:
                self._files(conn, given)
            elif fdef.storage == "user":
                names = sorted({v for v in given if isinstance(v, str)} - set(self.users))
                for chunk in _chunks(names):
                    query = sa.select(_USERS.c.username, _USERS.c.id)
                    found = dict(conn.execute(query.where(_USERS.c.username.in_(chunk))).all())
                    self.users.update({n: found.get(n) for n in chunk})
            elif fdef.storage == "reference" and fdef.target:
                target = qualify(app, fdef.target)
                seen = self.records.setdefault(target, {})
                ids = {_id(v) for v in given}
                wanted = sorted(i for i in ids if i is not None and i not in seen)
                table = tables(target)
                for chunk in _chunks(wanted):
                    query = sa.select(table.c.id).where(table.c.id.in_(chunk))
                    if SOFT_DELETE_COLUMN in table.c:
                        query = query.where(table.c[SOFT_DELETE_COLUMN].is_(None))
                    present = {int(i) for i in conn.execute(query).scalars()}
                    if self.readable is not None and present:
                        present &= self.readable(target, sorted(present))
                    seen.update({i: i in present for i in chunk})

    def _files(self, conn: Connection, given: Sequence[Any]) -> None:
        ids = set()
        for value in given:
            for item in value if isinstance(value, list) else [value]:
                file_id = item.get("id") if isinstance(item, Mapping) else item
                if isinstance(file_id, str) and file_id not in self.files:
                    ids.add(file_id)
        if ids:
            found = files.infos(conn, ids)
            self.files.update({i: found.get(i) for i in ids})


def _has_nul(value: Any) -> bool:
    """Text with a NUL character, which PostgreSQL cannot store, anywhere in ``value``."""
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return False


def _id(value: Any) -> int | None:
    try:
        return int(coerce_value(value, {"type": "reference"}))
    except (CoerceError, TypeError, ValueError):
        return None


def _chunks(items: Sequence[Any], size: int = 500) -> list[Sequence[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def parse(
    conn: Connection,
    app: str,
    obj: ObjectDef,
    data: Mapping[str, Any],
    tables: Any,
    prefix: str = "",
    known: Known | None = None,
    system: bool = False,
) -> tuple[dict[str, Any], list[Issue]]:
    """Column values for the fields in ``data`` and the problems found; ``system``:
    written by Tenon for the app (an effect), which may set ``system`` fields."""
    known = known or Known()
    values: dict[str, Any] = {}
    issues: list[Issue] = []
    settable = obj.effect_settable if system else obj.settable
    for name, raw in data.items():
        fdef = settable.get(name)
        if fdef is None:
            if name not in CONTROL:
                issues.append(_not_settable(obj, name, f"{prefix}/{name}"))
            continue
        if raw is None or raw == "" or raw == []:  # blank(), inline: this loop is hot
            values[name] = None
            continue
        if ("\x00" in raw) if type(raw) is str else _has_nul(raw):
            message = f"{name} contains a NUL character"
            issues.append(Issue(f"{prefix}/{name}", message, "INVALID_VALUE"))
            continue
        try:
            if fdef.type == ATTACHMENT:
                values[name] = _attached(conn, fdef, raw, known)
            elif fdef.storage in _LOOKED_UP:
                values[name] = _value(conn, app, fdef, raw, tables, known)
            else:
                values[name] = fdef.coerce(raw)
        except CoerceError as error:
            issues.append(Issue(f"{prefix}/{name}", f"{name} {error}", "INVALID_VALUE"))
        except LookupError as error:
            issues.append(Issue(f"{prefix}/{name}", str(error), "NOT_FOUND"))
    return values, issues


_LOOKED_UP = frozenset({"user", "reference"})


def _not_settable(obj: ObjectDef, name: str, path: str) -> Issue:
    fdef = obj.by_name.get(name)
    if fdef is None:
        if name == STATE_COLUMN and obj.workflow is not None:
            message = f"{name} changes only through the workflow's actions"
            return Issue(path, message, "FIELD_READ_ONLY")
        if name in SYSTEM_COLUMNS or name == SOFT_DELETE_COLUMN:
            return Issue(path, f"{name} is kept by Tenon", "FIELD_READ_ONLY")
        return Issue(path, f"{obj.name} has no field {name!r}", "UNKNOWN_FIELD")
    what = "computed" if fdef.computed else "kept by the runtime"
    return Issue(path, f"{name} is {what} and cannot be set", "FIELD_READ_ONLY")


def _value(conn: Connection, app: str, fdef: FieldDef, raw: Any, tables: Any, known: Known) -> Any:
    if fdef.storage == "user":
        if not isinstance(raw, str):
            raise CoerceError("must be a username")
        if raw not in known.users:
            query = sa.select(_USERS.c.id).where(_USERS.c.username == raw)
            found = conn.execute(query).scalar()
            known.users[raw] = None if found is None else int(found)
        user = known.users[raw]
        if user is None:
            raise LookupError(f"{fdef.name}: there is no user {raw!r}")
        return user
    value = fdef.coerce(raw)
    if fdef.storage == "reference":
        assert fdef.target is not None
        target = qualify(app, fdef.target)
        seen = known.records.setdefault(target, {})
        if value not in seen:
            known.prefetch(conn, app, [fdef], [{fdef.name: value}], tables)
        if not seen.get(value):
            raise LookupError(f"{fdef.name}: there is no {fdef.target} record {value}")
    return value


def _attached(conn: Connection, fdef: FieldDef, raw: Any, known: Known) -> list[dict[str, Any]]:
    """The stored files an attachment field is given, as it keeps them (the name, size
    and type the store knows, whatever was sent with the id), within the field's
    ``max_size_mb`` and ``accept``."""
    items = fdef.coerce(raw)
    known.prefetch(conn, "", [fdef], [{fdef.name: items}], None)
    out = []
    for item in items:
        info = known.files.get(item["id"])
        if info is None:
            raise LookupError(f"{fdef.name}: there is no stored file {item['id']!r}")
        limit = fdef.spec.get("max_size_mb")
        if isinstance(limit, int) and info.size > limit << 20:
            raise CoerceError(f"holds {info.name!r}, larger than {limit} MB")
        accept = fdef.spec.get("accept")
        if accept and not accepted(info, accept):
            kinds = ", ".join(str(a) for a in accept)
            raise CoerceError(f"holds {info.name!r}, which is not of an accepted type ({kinds})")
        out.append(info.as_value())
    return out


def accepted(info: files.FileInfo, accept: Sequence[str]) -> bool:
    """Whether the file matches one of ``accept``: an extension (``.pdf``), a media type
    (``application/pdf``) or a family of them (``image/*``), ignoring case."""
    name = info.name.lower()
    media = info.content_type.split(";")[0].strip().lower()
    for pattern in (str(a).strip().lower() for a in accept):
        if pattern.startswith("."):
            if name.endswith(pattern):
                return True
        elif pattern.endswith("/*"):
            if media.startswith(pattern[:-1]):
                return True
        elif media == pattern:
            return True
    return False


def defaults(obj: ObjectDef, given: Mapping[str, Any]) -> dict[str, Any]:
    """Constant defaults of the fields a new record was not given."""
    out: dict[str, Any] = {}
    for fdef in obj.stored_fields:
        if fdef.name in given or fdef.computed or "default" not in fdef.spec:
            continue
        default = fdef.spec["default"]
        if isinstance(default, Mapping):
            continue  # formula defaults: runtime.services.defaults, on the values sent
        try:
            out[fdef.name] = coerce_value(default, fdef.spec)
        except CoerceError:
            continue  # validation of the definition refuses these; nothing to fill
    return out


def missing(obj: ObjectDef, values: Mapping[str, Any], prefix: str = "") -> list[Issue]:
    """Required fields that are blank."""
    return [
        Issue(f"{prefix}/{f.name}", f"{f.name} is required", "REQUIRED")
        for f in obj.required_fields
        if blank(values.get(f.name))
    ]
