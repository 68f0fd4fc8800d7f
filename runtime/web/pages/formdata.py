"""A submitted HTML form turned into a record body, and a form's conditions evaluated.

Browsers send every value as text. Each field's widget decides how its text becomes the
value the JSON API takes (an empty box is a blank, a checkbox ``true``/``false``, a
reference an id); whatever is still wrong is left for the record service to refuse, so a
form and the API give the same errors.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy.engine import Connection
from starlette.datastructures import FormData

from runtime.errors import TenonError
from runtime.formula.errors import FormulaError
from runtime.metadata.fieldtypes import CoerceError
from runtime.metadata.model import ObjectDef
from runtime.security.actor import Actor
from runtime.services.formula_env import record_env
from runtime.services.reading import Reader
from runtime.web.pages.fields import widget_of
from runtime.web.pages.layout import Section

CONTROLS = frozenset({"csrf_token", "_version", "_id", "_next", "_field"})


def form_value(obj: ObjectDef, name: str, form: FormData) -> Any:
    fdef = obj.by_name[name]
    widget = widget_of(fdef)
    if widget == "multi":
        return [str(v) for v in form.getlist(name) if str(v)]
    raw = form.getlist(name)
    text = str(raw[-1]).strip() if raw else ""
    if widget == "checkbox":
        return text in ("true", "on", "1")
    if text == "":
        return None
    if widget == "integer":
        return int(text) if text.lstrip("-").isdigit() and len(text) < 19 else text
    if widget == "reference":
        return int(text) if text.isdigit() and len(text) < 19 else text
    if widget == "textarea" and fdef.type == "json":
        try:
            return json.loads(text)
        except ValueError:
            return text
    return text


def posted(obj: ObjectDef, names: Iterable[str], form: FormData) -> dict[str, Any]:
    """The values of the fields ``names`` the form carries (a field left out of the form,
    such as a hidden or read-only one, is not sent)."""
    present = set(form.keys())
    out = {}
    for name in names:
        fdef = obj.by_name.get(name)
        widget = widget_of(fdef) if fdef is not None else "computed"
        # no box of a multiple choice ticked sends nothing: that is the empty list
        if widget != "computed" and (name in present or widget == "multi"):
            out[name] = form_value(obj, name, form)
    return out


def same(old: Any, new: Any) -> bool:
    """Whether a posted value equals the record's (so an edit sends only changes)."""
    if old == new:
        return True
    if old is None or new is None:
        return False
    try:
        return Decimal(str(old)) == Decimal(str(new))
    except InvalidOperation:
        return str(old) == str(new)


@dataclass(frozen=True)
class States:
    hidden: frozenset[str]
    required: frozenset[str]
    readonly: frozenset[str]


def typed_row(obj: ObjectDef, values: Mapping[str, Any], base: Mapping[str, Any]) -> dict[str, Any]:
    """The record as the form has it now, in the fields' Python types (a value the field
    cannot take is left blank: its error comes from the save)."""
    row = dict(base)
    for name, value in values.items():
        fdef = obj.by_name.get(name)
        if fdef is None:
            continue
        try:
            row[name] = None if value is None else fdef.coerce(value)
        except (CoerceError, TenonError, ValueError, TypeError):
            row[name] = None
    for fdef in obj.fields:
        row.setdefault(fdef.name, None)
    return row


def states(
    conn: Connection,
    read: Reader,
    actor: Actor,
    obj: ObjectDef,
    sections: list[Section],
    row: Mapping[str, Any],
) -> States:
    """Which fields the form's conditions hide, require and make read-only for ``row``
    (the server enforces the same on save: a required one is a rule, a hidden one's
    value is not taken)."""
    env = record_env(conn, read.table, obj.qualified, read.clock, actor.stored_id)
    engine = read.policy.engine

    def holds(text: str | None) -> bool:
        if not text:
            return False
        try:
            return (
                engine.compile(text, obj.qualified, expect="boolean").evaluate(dict(row), env)
                is True
            )
        except FormulaError:
            return False

    hidden, required, readonly = set(), set(), set()
    for section in sections:
        section_hidden = bool(section.visible_when) and not holds(section.visible_when)
        for item in section.fields:
            if section_hidden or (item.visible_when and not holds(item.visible_when)):
                hidden.add(item.name)
                continue
            if holds(item.required_when):
                required.add(item.name)
            if holds(item.readonly_when):
                readonly.add(item.name)
    return States(frozenset(hidden), frozenset(required), frozenset(readonly))
