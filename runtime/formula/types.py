"""The types a formula value can have, and how field types map onto them.

Numbers carry ``scale``: an upper bound on their decimal places (0 for whole numbers,
the field's scale for a decimal field, ``MAX_SCALE`` after a division). The SQL compiler
uses it to know where a product needs rounding so both databases and the evaluator agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from runtime.metadata.fieldtypes import decimal_shape, option_values

MAX_SCALE = 30  # every number the engine produces has at most 30 decimal places

NUMBER_FIELDS = frozenset({"integer", "decimal", "currency", "percent"})
TEXT_FIELDS = frozenset(
    {"text", "long_text", "rich_text", "email", "phone", "url", "auto_number", "select"}
)


@dataclass(frozen=True)
class FType:
    """``kind`` is one of number, text, boolean, date, datetime, record, user, json,
    list, blank (the type of an empty value: fits anything) and any."""

    kind: str
    of: FType | None = None  # list element type
    target: str | None = None  # record: the qualified object (app.object)
    scale: int = 0  # number: decimal places at most
    options: tuple[str, ...] | None = None  # text from a select field

    def __str__(self) -> str:
        if self.kind == "list" and self.of is not None:
            return f"list of {self.of.plural}"
        if self.kind == "record" and self.target:
            return f"{self.target} record"
        return _NAMES.get(self.kind, self.kind)

    @property
    def plural(self) -> str:
        if self.kind == "record" and self.target:
            return f"{self.target} records"
        return _PLURALS.get(self.kind, self.kind)

    @property
    def scalar(self) -> bool:
        return self.kind not in ("list", "json")

    def with_scale(self, scale: int) -> FType:
        return replace(self, scale=max(0, min(scale, MAX_SCALE)))


_NAMES = {
    "number": "number",
    "text": "text",
    "boolean": "true/false value",
    "date": "date",
    "datetime": "date and time",
    "user": "user",
    "json": "JSON value",
    "blank": "blank",
    "any": "value",
    "record": "record",
    "list": "list",
}
_PLURALS = {
    "number": "numbers",
    "text": "texts",
    "boolean": "true/false values",
    "date": "dates",
    "datetime": "dates and times",
    "user": "users",
    "json": "JSON values",
    "blank": "blanks",
    "any": "values",
    "record": "records",
}

NUMBER = FType("number")
DECIMAL = FType("number", scale=MAX_SCALE)
TEXT = FType("text")
BOOLEAN = FType("boolean")
DATE = FType("date")
DATETIME = FType("datetime")
USER = FType("user")
JSON = FType("json")
BLANK = FType("blank")
ANY = FType("any")


def list_of(of: FType) -> FType:
    return FType("list", of=of)


def record(target: str) -> FType:
    return FType("record", target=target)


def number(scale: int) -> FType:
    return NUMBER.with_scale(scale)


def of_field_type(spec: Mapping[str, Any], app: str, returns: str | None = None) -> FType:
    """The formula type of a (non-computed) field, or of a computed field's ``returns``."""
    kind = returns or str(spec.get("type"))
    if kind in NUMBER_FIELDS:
        return number(0 if kind == "integer" else decimal_shape({**spec, "type": kind})[1])
    if kind in TEXT_FIELDS:
        opts = option_values(spec) if kind == "select" else None
        return FType("text", options=tuple(opts) if opts else None)
    if kind == "multi_select":
        return list_of(FType("text", options=tuple(option_values(spec)) or None))
    if kind in ("boolean", "date", "datetime", "user"):
        return FType(kind)
    if kind == "reference":
        target = str(spec.get("to") or "")
        return record(target if "." in target else f"{app}.{target}")
    return JSON


def common(a: FType, b: FType) -> FType | None:
    """The type both ``a`` and ``b`` fit in (for IF branches, COALESCE, comparisons)."""
    if a.kind == "blank" or a.kind == "any":
        return b if a.kind == "blank" or b.kind != "blank" else a
    if b.kind in ("blank", "any"):
        return a
    if a.kind != b.kind:
        if {a.kind, b.kind} == {"date", "datetime"}:
            return DATETIME
        return None
    if a.kind == "number":
        return a.with_scale(max(a.scale, b.scale))
    if a.kind == "text":
        return TEXT if a.options != b.options else a
    if a.kind == "record":
        return a if a.target == b.target else None
    if a.kind == "list":
        assert a.of is not None and b.of is not None
        inner = common(a.of, b.of)
        return list_of(inner) if inner else None
    return a


def fits(value: FType, field_kind: str) -> bool:
    """May a formula giving ``value`` be stored in a field of type ``field_kind``?"""
    if value.kind in ("blank", "any"):
        return True
    if field_kind in NUMBER_FIELDS:
        return value.kind == "number"
    if field_kind in TEXT_FIELDS:
        return value.kind == "text"
    if field_kind == "multi_select":
        return value.kind == "list" and value.of is not None and value.of.kind in ("text", "blank")
    if field_kind == "datetime":
        return value.kind in ("date", "datetime")
    if field_kind in ("boolean", "date", "user"):
        return value.kind == field_kind
    if field_kind == "reference":
        return value.kind == "record"
    return field_kind == "json"


def result_kind(value: FType) -> str:
    """The field type to store a formula's result in when the field declares no ``returns``."""
    if value.kind == "number":
        return "integer" if value.scale == 0 else "decimal"
    if value.kind == "list":
        return "multi_select" if value.of is not None and value.of.kind == "text" else "json"
    if value.kind == "record":
        return "reference"
    if value.kind in ("text", "boolean", "date", "datetime", "user"):
        return value.kind
    return "text" if value.kind == "blank" else "json"
