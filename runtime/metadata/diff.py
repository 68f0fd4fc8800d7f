"""The change plan between two versions of an app, at the level of objects and fields.

Pure: it reads two definitions and never the database. The storage layer adds what only
the data can tell (rows that block a type change, values a drop would lose) and the
index and constraint DDL.
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from typing import Any

from runtime.metadata.fieldtypes import option_values
from runtime.metadata.model import AppDef, FieldDef, ObjectDef
from runtime.metadata.workflows import STATE_COLUMN

CREATE_OBJECT = "create_object"
DROP_OBJECT = "drop_object"
ADD_FIELD = "add_field"
DROP_FIELD = "drop_field"
RENAME_FIELD = "rename_field"
ALTER_FIELD = "alter_field"


@dataclass
class Change:
    """One step of a plan. ``old``/``new`` are the field (or object) before and after."""

    kind: str
    object: str
    field: str | None = None
    old: FieldDef | None = None
    new: FieldDef | None = None
    note: str = ""
    # filled in from the data by the storage layer
    rows_affected: int = 0
    blocking_ids: list[Any] = dc_field(default_factory=list)
    blocking_count: int = 0
    problem: str = ""
    converted: list[tuple[Any, Any]] | None = None  # checked values to write after a retype

    @property
    def loses_data(self) -> bool:
        computed = self.old is not None and self.old.computed
        return self.kind in (DROP_OBJECT, DROP_FIELD) and self.rows_affected > 0 and not computed

    def describe(self) -> str:
        what = f"{self.object}.{self.field}" if self.field else self.object
        text = {
            CREATE_OBJECT: f"create object {what}",
            DROP_OBJECT: f"drop object {what}",
            ADD_FIELD: f"add field {what}",
            DROP_FIELD: f"drop field {what}",
            RENAME_FIELD: f"rename field {self.object}.{self.old.name if self.old else '?'} "
            f"to {self.field} (data kept)",
            ALTER_FIELD: f"change field {what}",
        }[self.kind]
        if self.note:
            text += f": {self.note}"
        if self.kind in (DROP_OBJECT, DROP_FIELD):
            text += (
                f" ({self.rows_affected} row(s) hold data)" if self.rows_affected else " (no data)"
            )
        return text

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": self.kind,
            "object": self.object,
            "description": self.describe(),
        }
        if self.field:
            out["field"] = self.field
        if self.old is not None and self.kind == RENAME_FIELD:
            out["renamed_from"] = self.old.name
        if self.kind in (DROP_OBJECT, DROP_FIELD):
            out["rows_with_data"] = self.rows_affected
        if self.problem:
            out["problem"] = self.problem
            out["blocking_ids"] = self.blocking_ids
            out["blocking_count"] = self.blocking_count
        return out


def _type_note(old: FieldDef, new: FieldDef) -> str | None:
    """Why the stored values of ``old`` must be checked to become ``new``, or None."""
    if old.computed and new.computed:
        if old.storage_signature("") != new.storage_signature(""):
            return f"result {old.returns} → {new.returns}, recomputed"
        return None
    if old.type != new.type:
        return f"type {old.type} → {new.type}"
    if old.storage == "decimal" and old.decimal_shape != new.decimal_shape:
        return "precision/scale {}→{}".format(
            *[",".join(map(str, s)) for s in (old.decimal_shape, new.decimal_shape)]
        )
    if old.storage == "reference" and old.target != new.target:
        return f"target {old.target} → {new.target}"
    if old.storage == "reference" and old.on_delete != new.on_delete:
        return f"on delete {old.on_delete} → {new.on_delete}"
    removed = set(option_values(old.spec)) - set(option_values(new.spec))
    if removed:
        return "options removed: " + ", ".join(sorted(removed))
    old_len, new_len = old.spec.get("max_length"), new.spec.get("max_length")
    if isinstance(new_len, int) and (not isinstance(old_len, int) or new_len < old_len):
        return f"max length {old_len or 'unlimited'} → {new_len}"
    return None


def _object_changes(old: ObjectDef, new: ObjectDef) -> list[Change]:
    changes: list[Change] = []
    consumed: set[str] = set()
    for nf in new.fields:
        of = old.by_name.get(nf.name)
        source = nf.renamed_from
        if of is None and source and source in old.by_name and source not in new.by_name:
            of = old.by_name[source]
            consumed.add(source)
            if of.stored and nf.stored:
                changes.append(Change(RENAME_FIELD, new.name, nf.name, of, nf))
        elif of is not None:
            consumed.add(of.name)
        if of is None:
            if nf.stored:
                changes.append(Change(ADD_FIELD, new.name, nf.name, None, nf, nf.type))
            continue
        if of.stored and not nf.stored:
            changes.append(
                Change(
                    DROP_FIELD, new.name, of.name, of, None, f"becomes a computed {nf.type} field"
                )
            )
        elif nf.stored and not of.stored:
            changes.append(
                Change(
                    ADD_FIELD,
                    new.name,
                    nf.name,
                    None,
                    nf,
                    f"{nf.type}, was a computed {of.type} field",
                )
            )
        elif nf.stored:
            note = _type_note(of, nf)
            if note:
                changes.append(Change(ALTER_FIELD, new.name, nf.name, of, nf, note))
    for of in old.fields:
        if of.name not in consumed and of.stored:
            changes.append(Change(DROP_FIELD, old.name, of.name, of, None))
    if old.workflow is not None and new.workflow is None:  # each record's state goes too
        state = FieldDef(STATE_COLUMN, "text", {"name": STATE_COLUMN, "type": "text"})
        note = "the workflow is removed"
        changes.append(Change(DROP_FIELD, old.name, STATE_COLUMN, state, None, note))
    return changes


def plan_changes(old: AppDef | None, new: AppDef) -> list[Change]:
    """Object and field changes that installing ``new`` over ``old`` makes."""
    if old is None:
        return [Change(CREATE_OBJECT, o.name, new=None) for o in new.objects]
    changes: list[Change] = []
    for obj in new.objects:
        before = old.by_name.get(obj.name)
        if before is None:
            changes.append(Change(CREATE_OBJECT, obj.name))
        else:
            changes.extend(_object_changes(before, obj))
    for obj in old.objects:
        if obj.name not in new.by_name:
            changes.append(Change(DROP_OBJECT, obj.name))
    return changes
