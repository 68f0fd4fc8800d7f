"""Fields as the pages show them: their labels, a display text for a value, and the input
widget a form uses for each field type."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import nh3
from markupsafe import Markup

from runtime.metadata.model import FieldDef, ObjectDef
from runtime.web import i18n

NUMERIC = frozenset({"integer", "decimal", "currency", "percent"})
WIDGETS = {
    "text": "text",
    "email": "email",
    "phone": "tel",
    "url": "url",
    "long_text": "textarea",
    "rich_text": "richtext",
    "json": "textarea",
    "integer": "integer",
    "decimal": "decimal",
    "currency": "decimal",
    "percent": "decimal",
    "boolean": "checkbox",
    "date": "date",
    "datetime": "datetime",
    "select": "select",
    "multi_select": "multi",
    "reference": "reference",
    "user": "text",
}
SYSTEM_LABELS = {
    "id": "ID",
    "state": "Status",
    "created_at": "Created",
    "updated_at": "Updated",
    "created_by": "Created by",
    "updated_by": "Updated by",
}
# rich text keeps formatting only: no attributes that act (hx-*, on*, style), no scripts
RICH_TAGS = frozenset(
    {"p", "br", "b", "strong", "i", "em", "u", "s", "ul", "ol", "li", "a", "h3", "h4", "blockquote"}
)


def field_label(obj: ObjectDef, name: str) -> str:
    fdef = obj.by_name.get(name)
    if fdef is None:
        return i18n.gettext(SYSTEM_LABELS.get(name, i18n.humanize(name)))
    return i18n.label(fdef.spec.get("label"), i18n.humanize(name))


def object_label(obj: ObjectDef, plural: bool = False) -> str:
    spec = obj.spec.get("title_plural") if plural else None
    return i18n.label(spec or obj.spec.get("title"), i18n.humanize(obj.name))


def options(fdef: FieldDef) -> list[tuple[str, str]]:
    """(value, label) of a select field's options, in declared order."""
    out = []
    for opt in fdef.spec.get("options") or []:
        if isinstance(opt, str):
            out.append((opt, i18n.humanize(opt)))
        elif isinstance(opt, Mapping) and isinstance(opt.get("value"), str):
            out.append((opt["value"], i18n.label(opt.get("label"), i18n.humanize(opt["value"]))))
    return out


def state_label(obj: ObjectDef, state: str | None) -> str:
    if not state:
        return ""
    found = obj.workflow.states.get(state) if obj.workflow is not None else None
    return i18n.label(found.title if found is not None else None, i18n.humanize(state))


def number(value: Any, places: int | None = None) -> str:
    """``value`` with thousands separators, exact (English and Chinese both write
    1,234,567.5), with ``places`` decimals when given."""
    try:
        exact = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not exact.is_finite():
        return str(value)
    if places is not None:
        exact = exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{exact:,f}"


def display(obj: ObjectDef, name: str, value: Any, expanded: Any = None) -> str:
    """The text a list cell or a read-only field shows for ``value``."""
    if value is None or value == "":
        return ""
    if name == "state":
        return state_label(obj, value)
    fdef = obj.by_name.get(name)
    kind = (fdef.returns or fdef.type) if fdef is not None else None
    if kind == "boolean":
        return i18n.gettext("Yes") if value else i18n.gettext("No")
    if kind in ("currency",):
        return number(value, fdef.decimal_shape[1] if fdef else 2)
    if kind == "percent":
        try:
            return number(Decimal(str(value)) * 100) + " %"
        except InvalidOperation:
            return str(value)
    if kind in NUMERIC:
        return number(value)
    if kind == "select" and fdef is not None:
        return dict(options(fdef)).get(str(value), str(value))
    if kind == "multi_select" and fdef is not None and isinstance(value, list):
        labels = dict(options(fdef))
        return ", ".join(labels.get(str(v), str(v)) for v in value)
    if kind == "datetime" and isinstance(value, str):
        return value.replace("T", " ")[:16]
    if kind == "reference":
        if isinstance(expanded, Mapping):
            return str(expanded.get("_label") or f"#{value}")
        return f"#{value}"
    if kind == "rich_text":
        return nh3.clean_text(nh3.clean(str(value), tags=set()))
    return str(value)


def rich(value: Any) -> Markup:
    """Rich text made safe to show: formatting tags only, links without scripts."""
    cleaned = nh3.clean(
        str(value or ""),
        tags=set(RICH_TAGS),
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )
    return Markup(cleaned)  # noqa: S704 - nh3 removed every tag and attribute not listed


@dataclass
class Input:
    """One field of a form as the template draws it."""

    name: str
    label: str
    widget: str
    value: Any = None
    text: str = ""  # a reference's label, a read-only value's display text
    required: bool = False
    readonly: bool = False
    help: str = ""
    error: str = ""
    span: int = 1
    visible: bool = True
    choices: list[tuple[str, str]] = field(default_factory=list)
    target: str | None = None  # a reference's app.object
    step: str | None = None
    pick: str | None = None  # the field a reference picker searches for (default: name)


def widget_of(fdef: FieldDef) -> str:
    if fdef.computed or fdef.type == "auto_number":
        return "computed"
    return WIDGETS.get(fdef.type, "text")


def step_of(fdef: FieldDef) -> str | None:
    if fdef.type == "integer":
        return "1"
    if fdef.type in ("decimal", "currency"):
        return "0." + "0" * (fdef.decimal_shape[1] - 1) + "1" if fdef.decimal_shape[1] else "1"
    return None
