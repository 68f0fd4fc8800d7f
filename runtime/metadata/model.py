"""The immutable, validated app definition the rest of the runtime reads.

Built only from a definition that passed ``validate`` (schema + semantic checks); the
original JSON is kept (``raw``) so that export gives back exactly what was installed.
"""

from __future__ import annotations

import copy
import hashlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from runtime.formula.volatility import volatile_fields
from runtime.metadata.fieldtypes import FIELD_TYPES, coercer, decimal_shape, option_values
from runtime.metadata.semver import Version, VersionRange
from runtime.metadata.workflows import WorkflowDef, workflow_of

SYSTEM_COLUMNS = ("id", "version", "created_at", "created_by", "updated_at", "updated_by")
SOFT_DELETE_COLUMN = "deleted_at"
# ``{field}`` in a rule's message: the record's value
PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def canonical_json(definition: Mapping[str, Any]) -> str:
    return json.dumps(definition, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def definition_hash(definition: Mapping[str, Any]) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(definition).encode("utf-8")).hexdigest()


COMPUTED_TYPES = frozenset({"formula", "rollup"})


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    spec: Mapping[str, Any]
    volatile: bool = False  # a computed field that reads the clock: computed when read

    @cached_property
    def computed(self) -> bool:
        return self.type in COMPUTED_TYPES

    @cached_property
    def returns(self) -> str | None:
        """The value type: the field's type, or a computed field's ``returns``."""
        if not self.computed:
            return self.type
        value = self.spec.get("returns")
        return str(value) if isinstance(value, str) and value in FIELD_TYPES else None

    @cached_property
    def storage(self) -> str | None:
        """The column kind; computed fields are stored in a column of their result type
        (recomputed on every write) unless they read the clock."""
        if self.computed:
            if self.volatile or self.returns is None:
                return None
            return FIELD_TYPES[self.returns].storage
        return FIELD_TYPES[self.type].storage

    @cached_property
    def stored(self) -> bool:
        return self.storage is not None

    @cached_property
    def coerce(self) -> Callable[[Any], Any]:
        """``coerce_value`` for this field, its checks worked out once."""
        return coercer(self.spec)

    @cached_property
    def required(self) -> bool:
        return bool(self.spec.get("required"))

    @property
    def unique(self) -> bool:
        return bool(self.spec.get("unique")) or self.type == "auto_number"

    @property
    def index(self) -> bool:
        return bool(self.spec.get("index"))

    @property
    def renamed_from(self) -> str | None:
        value = self.spec.get("renamed_from")
        return str(value) if value else None

    @property
    def target(self) -> str | None:
        """For a reference: the target as ``app.object`` (resolved by the owning app)."""
        value = self.spec.get("to")
        return str(value) if value else None

    @property
    def on_delete(self) -> str:
        if self.computed:
            return "set_null"  # a computed link never blocks deleting its target
        return str(self.spec.get("on_delete", "restrict"))

    @property
    def options(self) -> list[str]:
        return option_values(self.spec)

    @property
    def decimal_shape(self) -> tuple[int, int]:
        return decimal_shape({**self.spec, "type": self.returns})

    def storage_signature(self, app: str) -> tuple[Any, ...]:
        """What the column looks like in the database; equal signatures need no DDL."""
        kind = self.storage
        if kind == "decimal":
            return (kind, *self.decimal_shape)
        if kind == "reference":
            return (kind, qualify(app, self.target or ""), self.on_delete)
        return (kind,)


def qualify(app: str, ref: str) -> str:
    return ref if "." in ref else f"{app}.{ref}"


def unique_keys(spec: Mapping[str, Any]) -> list[tuple[str, ...]]:
    """The unique keys of an object's definition: its unique constraints without a
    ``where``, then its unique fields."""
    found = [
        tuple(str(n) for n in c.get("fields") or [])
        for c in spec.get("constraints") or []
        if isinstance(c, Mapping) and c.get("type") == "unique" and not c.get("where")
    ]
    found += [
        (str(f["name"]),)
        for f in spec.get("fields") or []
        if isinstance(f, Mapping) and f.get("unique")
    ]
    return found


@dataclass(frozen=True)
class ConstraintDef:
    name: str
    fields: tuple[str, ...]
    where: str | None
    spec: Mapping[str, Any]


@dataclass(frozen=True)
class IndexDef:
    name: str
    fields: tuple[str, ...]
    unique: bool = False


@dataclass(frozen=True)
class ObjectDef:
    app: str
    name: str
    fields: tuple[FieldDef, ...]
    constraints: tuple[ConstraintDef, ...]
    spec: Mapping[str, Any]
    workflow: WorkflowDef | None = None  # its records then have a ``state``

    @property
    def qualified(self) -> str:
        return f"{self.app}.{self.name}"

    @property
    def renamed_from(self) -> str | None:
        value = self.spec.get("renamed_from")
        return str(value) if value else None

    @property
    def soft_delete(self) -> bool:
        return bool(self.spec.get("delete", "hard") == "soft")

    @cached_property
    def by_name(self) -> dict[str, FieldDef]:
        return {f.name: f for f in self.fields}

    def field(self, name: str) -> FieldDef:
        return self.by_name[name]

    @cached_property
    def stored_fields(self) -> tuple[FieldDef, ...]:
        return tuple(f for f in self.fields if f.stored)

    @cached_property
    def settable(self) -> dict[str, FieldDef]:
        """The fields a write may set: stored, neither computed, system nor auto-numbered."""
        return {
            f.name: f
            for f in self.stored_fields
            if not (f.computed or f.spec.get("system") or f.type == "auto_number")
        }

    @cached_property
    def effect_settable(self) -> dict[str, FieldDef]:
        """The fields workflow effects and automations may set: ``system`` ones too."""
        return {
            f.name: f for f in self.stored_fields if not (f.computed or f.type == "auto_number")
        }

    @cached_property
    def required_fields(self) -> tuple[FieldDef, ...]:
        """The stored fields, neither computed nor auto-numbered, a record must fill."""
        return tuple(
            f
            for f in self.stored_fields
            if f.required and not f.computed and f.type != "auto_number"
        )

    @property
    def indexes(self) -> tuple[IndexDef, ...]:
        """Declared indexes plus one per ``index: true`` field (unique fields get a constraint)."""
        out = [
            IndexDef(f"f_{f.name}", (f.name,))
            for f in self.stored_fields
            if f.index and not f.unique
        ]
        for i, spec in enumerate(self.spec.get("indexes") or []):
            name = spec.get("name") or f"i{i + 1}_" + "_".join(spec["fields"])
            out.append(IndexDef(str(name), tuple(spec["fields"])))
        return tuple(out)


@dataclass(frozen=True)
class AppDef:
    name: str
    version: Version
    requires: Mapping[str, VersionRange]
    objects: tuple[ObjectDef, ...]
    raw: Mapping[str, Any]

    @classmethod
    def from_dict(cls, definition: Mapping[str, Any]) -> AppDef:
        """Model a definition that already passed validation."""
        raw = copy.deepcopy(dict(definition))
        name = raw["name"]
        flows = {str(w["object"]): workflow_of(name, w) for w in raw.get("workflows") or []}
        objects = []
        for obj in raw.get("objects") or []:
            volatile = volatile_fields(obj["fields"])
            fields = tuple(
                FieldDef(f["name"], f["type"], f, f["name"] in volatile) for f in obj["fields"]
            )
            constraints = tuple(
                ConstraintDef(c["name"], tuple(c["fields"]), c.get("where"), c)
                for c in obj.get("constraints") or []
            )
            flow = flows.get(obj["name"])
            objects.append(ObjectDef(name, obj["name"], fields, constraints, obj, flow))
        requires = {k: VersionRange.parse(v) for k, v in (raw.get("requires") or {}).items()}
        return cls(name, Version.parse(raw["version"]), requires, tuple(objects), raw)

    @cached_property
    def by_name(self) -> dict[str, ObjectDef]:
        return {o.name: o for o in self.objects}

    def object(self, name: str) -> ObjectDef:
        return self.by_name[name]

    @property
    def hash(self) -> str:
        return definition_hash(self.raw)

    def as_dict(self) -> dict[str, Any]:
        return copy.deepcopy(dict(self.raw))
