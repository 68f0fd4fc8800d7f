"""What an object's pages show: its grid views and its form layout, as the app declares
them, or made from the object's fields when the app declares none (every object gets a
usable list and form without a line of layout)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.metadata.model import AppDef, FieldDef, ObjectDef

# field types a default grid leaves out (long or structured values)
WIDE = frozenset({"long_text", "rich_text", "json", "attachment", "multi_select"})
DEFAULT_COLUMNS = 7
TEXTUAL = frozenset({"text", "email", "phone", "url", "auto_number"})


@dataclass(frozen=True)
class Grid:
    name: str
    title: Any
    columns: tuple[str, ...]
    filter: str | None
    sort: tuple[str, ...]
    search: tuple[str, ...]
    page_size: int
    group_by: str | None
    type: str = "grid"
    spec: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class FormField:
    name: str
    label: Any
    help: Any
    visible_when: str | None
    required_when: str | None
    readonly_when: str | None
    span: int


@dataclass(frozen=True)
class Section:
    name: str
    title: Any
    tab: Any
    columns: int
    visible_when: str | None
    fields: tuple[FormField, ...]
    children: str | None


def label_field(obj: ObjectDef) -> str | None:
    """The field that names a record (``label_field``, else the first text field)."""
    named = obj.spec.get("label_field")
    if isinstance(named, str) and named in obj.by_name:
        return named
    return next((f.name for f in obj.fields if f.type in ("text", "auto_number")), None)


def views_of(app: AppDef, obj: ObjectDef) -> list[Grid]:
    """The object's declared views, the default first; a generated grid when none."""
    found = []
    for spec in app.raw.get("views") or []:
        if spec.get("object") != obj.name:
            continue
        found.append(
            Grid(
                name=str(spec["name"]),
                title=spec.get("title"),
                columns=tuple(c for c in spec.get("columns") or () if c),
                filter=spec.get("filter"),
                sort=tuple(spec.get("sort") or ()),
                search=tuple(spec.get("search") or ()),
                page_size=int(spec.get("page_size") or 50),
                group_by=spec.get("group_by"),
                type=str(spec.get("type", "grid")),
                spec=spec,
            )
        )
    found.sort(key=lambda g: not (g.spec or {}).get("default"))
    return found or [default_grid(obj)]


def default_grid(obj: ObjectDef) -> Grid:
    first = label_field(obj)
    names = [first] if first else []
    for fdef in obj.fields:
        if len(names) >= DEFAULT_COLUMNS:
            break
        if fdef.name not in names and (fdef.returns or fdef.type) not in WIDE:
            names.append(fdef.name)
    if obj.workflow is not None:
        names.append("state")
    search = tuple(f.name for f in obj.fields if f.type in TEXTUAL)
    return Grid("all", None, tuple(names), None, ("-id",), search, 50, None)


def _form_field(raw: Any) -> FormField:
    if isinstance(raw, str):
        return FormField(raw, None, None, None, None, None, 1)
    return FormField(
        str(raw["field"]),
        raw.get("label"),
        raw.get("help"),
        raw.get("visible_when"),
        raw.get("required_when"),
        raw.get("readonly_when"),
        int(raw.get("span") or 1),
    )


def form_of(app: AppDef, obj: ObjectDef) -> list[Section]:
    """The object's form (the one marked default, else the first declared), or one
    section of every field when the app declares none."""
    forms = [f for f in app.raw.get("forms") or [] if f.get("object") == obj.name]
    forms.sort(key=lambda f: not f.get("default"))
    if not forms:
        fields = tuple(_form_field(f.name) for f in obj.fields if _shown_in_form(f))
        return [Section("main", None, None, 2, None, fields, None)]
    return [
        Section(
            str(s.get("name") or f"section_{i + 1}"),
            s.get("title"),
            s.get("tab"),
            int(s.get("columns") or 1),
            s.get("visible_when"),
            tuple(_form_field(f) for f in s.get("fields") or ()),
            s.get("children"),
        )
        for i, s in enumerate(forms[0]["sections"])
    ]


def _shown_in_form(fdef: FieldDef) -> bool:
    return not fdef.spec.get("system")
