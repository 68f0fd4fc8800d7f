"""Child rows edited inline in their parent's form (a PIP's objectives, a pool's bonus
lines): a form section naming a relation (``"children": "objectives"``) draws the child
records as rows of inputs, with a blank row to add and a box to remove each.

The rows are posted with the parent as ``c-{relation}-{n}-{field}`` (``-_id``,
``-_version`` and ``-_delete`` for a stored row) and written in the parent's transaction,
through the record service as the same user: the child object's rules, permissions and
required fields apply to each row, and the parent and all its rows are saved together
or not at all. A row's problem is reported under its own cell (``c-objectives-2-weight``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection
from starlette.datastructures import FormData

from runtime.errors import Issue, TenonError, ValidationFailed
from runtime.metadata.model import ObjectDef, qualify
from runtime.security.actor import Actor
from runtime.services.reading import Reader
from runtime.services.records import Records
from runtime.web import i18n
from runtime.web.pages import formdata
from runtime.web.pages.fields import (
    Input,
    display,
    field_label,
    object_label,
    options,
    step_of,
    widget_of,
)
from runtime.web.pages.layout import WIDE, label_field
from runtime.web.pages.lists import reference_label

MAX_ROWS = 200
COLUMNS = 6
POSTED = re.compile(r"^c-([a-z](?:_?[a-z0-9])*)-(\d{1,4})-(_?[a-z](?:_?[a-z0-9])*)$")
CONTROL = ("_id", "_version", "_delete")
UNFIT = frozenset({"rich_text", "json", "attachment"})  # no cell edits these


@dataclass(frozen=True)
class Relation:
    """A relation whose rows a form edits: the child object and its field naming the
    parent."""

    name: str
    child: ObjectDef
    link: str
    title: str

    def columns(self) -> list[str]:
        """The label field, the fields a row needs (required), then others, computed and
        structured ones left out."""
        first = label_field(self.child)
        names = [first] if first and first != self.link else []
        fields = [
            f
            for f in self.child.fields
            if f.name != self.link and not f.computed and not f.spec.get("system")
        ]
        needed = [f.name for f in fields if f.required and f.type not in UNFIT]
        rest = [f.name for f in fields if (f.returns or f.type) not in WIDE]
        for name in [*needed, *rest]:
            if name not in names:
                names.append(name)
        return names[: max(COLUMNS, len(needed) + 1)]


def relation_of(read: Reader, obj: ObjectDef, name: str) -> Relation | None:
    for app in read.apps.values():
        for child in app.objects:
            for fdef in child.fields:
                if fdef.type != "reference" or fdef.spec.get("related_name") != name:
                    continue
                if qualify(child.app, fdef.target or "") == obj.qualified:
                    label = i18n.label(
                        fdef.spec.get("related_label"), object_label(child, plural=True)
                    )
                    return Relation(name, child, fdef.name, label)
    return None


def posted_rows(rel: Relation, form: FormData) -> dict[int, dict[str, Any]]:
    """The rows of ``rel`` the form carries, by their number, each with the child's
    typed values and its ``_id``/``_version``/``_delete``."""
    raw: dict[int, list[tuple[str, Any]]] = {}
    for key, value in form.multi_items():
        found = POSTED.match(key)
        if found and found.group(1) == rel.name:
            raw.setdefault(int(found.group(2)), []).append((found.group(3), value))
    out: dict[int, dict[str, Any]] = {}
    for n, items in sorted(raw.items())[:MAX_ROWS]:
        sub = FormData(items)
        row: dict[str, Any] = {k: str(sub.get(k) or "") for k in CONTROL}
        names = [f for f in rel.columns() if f in sub or _multi(rel, f)]
        row["values"] = formdata.posted(rel.child, names, sub)
        out[n] = row
    return out


def _multi(rel: Relation, name: str) -> bool:
    return widget_of(rel.child.by_name[name]) == "multi"


def save(
    conn: Connection,
    write: Records,
    read: Reader,
    actor: Actor,
    rel: Relation,
    parent_id: int,
    form: FormData,
) -> None:
    """Remove, change and add the posted rows of ``rel`` under record ``parent_id``."""
    q = rel.child.qualified
    stored = {
        int(r["id"]): r
        for r in read.list_records(
            conn, actor, q, filter=f"{rel.link}.id = {parent_id}", limit=MAX_ROWS
        ).data
    }
    for n, row in posted_rows(rel, form).items():
        values: dict[str, Any] = row["values"]
        raw_id = row["_id"]
        try:
            if raw_id:
                record_id = int(raw_id) if raw_id.isdigit() and len(raw_id) < 19 else 0
                if record_id not in stored:  # not this parent's row (or not readable)
                    raise TenonError(i18n.gettext("This row is not part of the record."))
                if row["_delete"]:
                    write.delete(conn, actor, q, record_id, row["_version"] or None)
                    continue
                before = stored[record_id]
                changed = {k: v for k, v in values.items() if not formdata.same(before.get(k), v)}
                if changed:
                    write.update(conn, actor, q, record_id, changed, row["_version"] or None)
            elif not row["_delete"] and any(
                v not in (None, "", [], False) for v in values.values()
            ):
                write.create(conn, actor, q, {**values, rel.link: parent_id})
        except TenonError as error:
            if error.status >= 500:
                raise
            raise _row_error(rel, n, error) from None


def _filled(value: Any) -> bool:
    return value not in (None, "", [], False)


def _row_error(rel: Relation, n: int, error: TenonError) -> ValidationFailed:
    prefix = f"c-{rel.name}-{n}-"
    issues = []
    for issue in error.details:
        field = issue.path.rstrip("/").rsplit("/", 1)[-1] if issue.path else ""
        if field in rel.child.by_name:
            issues.append(Issue(f"/{prefix}{field}", issue.message, issue.code))
    if not issues:
        where = i18n.gettext("%(list)s, row %(n)s", list=rel.title, n=n + 1)
        issues.append(Issue("", f"{where}: {error.message}", "INVALID"))
    return ValidationFailed(f"{rel.title}: {error.message}", issues)


def error_names(form: FormData) -> list[str]:
    """The error slots of the child cells a form carries (cleared as you type)."""
    out = []
    for key in form:
        found = POSTED.match(key)
        if found and found.group(3) not in CONTROL:
            out.append(key)
    return list(dict.fromkeys(out))


def section(
    conn: Connection,
    read: Reader,
    actor: Actor,
    rel: Relation,
    parent_id: int | None,
    form: FormData | None,
    errors: Mapping[str, str],
) -> dict[str, Any] | None:
    """What the template draws for the relation: its rows of inputs (as stored, or as
    posted when the form comes back refused) and a blank row to add."""
    guard = read.guard(conn, actor)
    readable = guard.access(rel.child.qualified, "read")
    if not readable.allowed:
        return None
    creatable = guard.access(rel.child.qualified, "create").allowed
    columns = [c for c in rel.columns() if c in set(readable.fields)]
    refs = [c for c in columns if rel.child.by_name[c].type == "reference"]
    rows: list[dict[str, Any]] = []
    if form is not None:
        for n, row in posted_rows(rel, form).items():
            rows.append({"n": n, **row})
    elif parent_id is not None:
        found = read.list_records(
            conn,
            actor,
            rel.child.qualified,
            filter=f"{rel.link}.id = {parent_id}",
            sort="id",
            limit=MAX_ROWS,
            expand=refs,
        )
        for n, record in enumerate(found.data):
            rows.append(
                {
                    "n": n,
                    "_id": str(record["id"]),
                    "_version": str(record.get("version") or ""),
                    "_delete": "",
                    "values": record,
                }
            )
    drawn = [
        {**r, "inputs": _inputs(read, rel, columns, r["n"], r["values"], errors)} for r in rows
    ]
    return {
        "name": rel.name,
        "title": rel.title,
        "labels": [field_label(rel.child, c) for c in columns],
        "rows": drawn,
        "blank": _inputs(read, rel, columns, "__n__", {}, {}) if creatable else None,
        "next": max((r["n"] for r in rows), default=-1) + 1,
    }


def _inputs(
    read: Reader,
    rel: Relation,
    columns: list[str],
    n: int | str,
    values: Mapping[str, Any],
    errors: Mapping[str, str],
) -> list[Input]:
    out = []
    for name in columns:
        fdef = rel.child.by_name[name]
        key = f"c-{rel.name}-{n}-{name}"
        value = values.get(name)
        text = ""
        widget = widget_of(fdef)
        if fdef.type == "reference" and value is not None:
            text = reference_label(read, rel.child, name, value)
            value = value.get("id") if isinstance(value, dict) else value
        if widget == "computed":
            text = display(rel.child, name, value)
        out.append(
            Input(
                name=key,
                label=field_label(rel.child, name),
                widget=widget,
                value=value,
                text=text,
                required=fdef.required,
                readonly=widget == "computed",
                error=errors.get(key, ""),
                choices=options(fdef),
                target=f"{rel.child.app}/{rel.child.name}",
                step=step_of(fdef),
                pick=name,
            )
        )
    return out
