"""What a formula can see: objects, their fields and reverse relations, across apps.

Built from app definitions (plain dicts, so the validator can use it before an ``AppDef``
exists). A reverse relation exists where a reference field declares ``related_name``: the
target object gets a list of the records pointing at it (``department.employees``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from runtime.formula.types import FType, of_field_type, record
from runtime.metadata.model import SOFT_DELETE_COLUMN, SYSTEM_COLUMNS
from runtime.metadata.workflows import STATE_COLUMN

COMPUTED = frozenset({"formula", "rollup"})
VOLATILE_FUNCTIONS = frozenset({"TODAY", "NOW"})


@dataclass(frozen=True)
class FieldInfo:
    name: str
    spec: Mapping[str, Any]
    type: FType
    owner: str  # qualified object

    @property
    def computed(self) -> bool:
        return self.spec.get("type") in COMPUTED

    @property
    def formula(self) -> str | None:
        text = self.spec.get("formula")
        return text if isinstance(text, str) and self.computed else None

    @property
    def sensitivity(self) -> str | None:
        value = self.spec.get("sensitivity")
        return str(value) if value else None


@dataclass(frozen=True)
class RelationInfo:
    """``parent.<name>``: the ``child`` records whose reference ``fk`` points at the parent."""

    name: str
    child: str
    fk: str


@dataclass
class ObjectInfo:
    qualified: str
    spec: Mapping[str, Any]
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    relations: dict[str, RelationInfo] = field(default_factory=dict)

    @property
    def app(self) -> str:
        return self.qualified.split(".", 1)[0]

    @property
    def name(self) -> str:
        return self.qualified.split(".", 1)[1]

    @property
    def soft_delete(self) -> bool:
        return bool(self.spec.get("delete", "hard") == "soft")

    def names(self) -> list[str]:
        return [*self.fields, *self.relations]


_SYSTEM_TYPES = {
    "id": FType("number"),
    "version": FType("number"),
    "created_at": FType("datetime"),
    "updated_at": FType("datetime"),
    "created_by": FType("user"),
    "updated_by": FType("user"),
    SOFT_DELETE_COLUMN: FType("datetime"),
}


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


class Catalog:
    """Objects of a set of apps, by qualified name (``app.object``)."""

    def __init__(self, definitions: Iterable[Mapping[str, Any]]) -> None:
        self.objects: dict[str, ObjectInfo] = {}
        for doc in definitions:
            app = str(doc.get("name", ""))
            flows = {str(w.get("object")) for w in _dicts(doc.get("workflows"))}
            for spec in _dicts(doc.get("objects")):
                qualified = f"{app}.{spec.get('name')}"
                info = ObjectInfo(qualified, spec)
                for name in SYSTEM_COLUMNS:
                    info.fields[name] = FieldInfo(
                        name, {"type": "system"}, _SYSTEM_TYPES[name], qualified
                    )
                if spec.get("name") in flows:  # the workflow's state, read like a text field
                    info.fields[STATE_COLUMN] = FieldInfo(
                        STATE_COLUMN, {"type": "system"}, FType("text"), qualified
                    )
                for fspec in _dicts(spec.get("fields")):
                    fname = str(fspec.get("name"))
                    ftype = _field_ftype(fspec, app)
                    if ftype is not None:
                        info.fields[fname] = FieldInfo(fname, fspec, ftype, qualified)
                self.objects[qualified] = info
        for info in list(self.objects.values()):
            for fi in info.fields.values():
                related = fi.spec.get("related_name")
                if fi.type.kind == "record" and isinstance(related, str) and fi.type.target:
                    parent = self.objects.get(fi.type.target)
                    if parent is not None and related not in parent.fields:
                        parent.relations.setdefault(
                            related, RelationInfo(related, info.qualified, fi.name)
                        )

    def get(self, qualified: str) -> ObjectInfo | None:
        return self.objects.get(qualified)

    def user_linked(self, name: str, prefer_app: str) -> list[tuple[ObjectInfo, str]]:
        """Objects called ``name`` (or ``app.name``) that have a unique ``user`` field,
        with that field: what ``@me.name`` can mean. The object of ``prefer_app``, if
        there is one, comes alone."""
        found: list[tuple[ObjectInfo, str]] = []
        for info in self.objects.values():
            if name not in (info.name, info.qualified.replace(".", "__")):
                continue
            for fi in info.fields.values():
                if fi.spec.get("type") == "user" and fi.spec.get("unique"):
                    found.append((info, fi.name))
                    break
        mine = [f for f in found if f[0].app == prefer_app]
        return mine or found

    def __getitem__(self, qualified: str) -> ObjectInfo:
        return self.objects[qualified]


def _field_ftype(spec: Mapping[str, Any], app: str) -> FType | None:
    kind = spec.get("type")
    if not isinstance(kind, str):
        return None
    if kind in COMPUTED:
        returns = spec.get("returns")
        if not isinstance(returns, str):
            return FType("any")  # reported by the validator; checked formulas still resolve
        ftype = of_field_type(spec, app, returns)
        if returns == "reference" and isinstance(spec.get("to"), str):
            to = str(spec["to"])
            return record(to if "." in to else f"{app}.{to}")
        return ftype
    return of_field_type(spec, app)
