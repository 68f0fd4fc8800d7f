"""The field-type registry: what each type stores, which options it takes, and how a
value is checked and converted to it.

Adding a type is adding an entry to ``FIELD_TYPES``; docs/app-definition.md is checked
against this registry by the test suite. ``coerce`` is used for defaults, for checking
existing rows before a type change, and by the record service for input.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Context, Decimal, InvalidOperation
from typing import Any

Coerce = Callable[[Any, Mapping[str, Any]], Any]

COMMON_KEYS = frozenset(
    {
        "name",
        "type",
        "label",
        "help",
        "required",
        "unique",
        "index",
        "default",
        "sensitivity",
        "renamed_from",
        "system",
    }
)

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
_INT_TEXT = re.compile(r"^\s*[+-]?\d{1,19}\s*$")
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s.]+(\.[^@\s.]+)+$")
_PHONE = re.compile(r"^\+?[0-9 ()\-.]{3,32}$")
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)
_RECORD_ID = re.compile(r"^\s*[0-9]{1,19}\s*$")
_FILE_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EXACT = Context(prec=80)  # enough for NUMERIC(38, 18) and the checks around it
_TRUE = {"true", "yes", "1", "y", "t"}
_FALSE = {"false", "no", "0", "n", "f"}


class CoerceError(ValueError):
    """The value cannot be a value of this type; the message says why, in plain words."""


@dataclass(frozen=True)
class FieldType:
    """One entry of the registry.

    ``storage`` names the column kind (None: computed, no column); ``keys`` are the
    options this type accepts beyond the common ones; ``needs`` are the options it must have.
    """

    name: str
    storage: str | None
    doc: str
    keys: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    coerce: Coerce | None = None

    @property
    def allowed_keys(self) -> frozenset[str]:
        return COMMON_KEYS | self.keys


def option_values(field: Mapping[str, Any]) -> list[str]:
    """The stored values of a select field's options (plain strings or ``{"value": ...}``)."""
    out = []
    for opt in field.get("options") or []:
        if isinstance(opt, str):
            out.append(opt)
        elif isinstance(opt, Mapping) and isinstance(opt.get("value"), str):
            out.append(opt["value"])
    return out


def _text(value: Any, field: Mapping[str, Any]) -> str:
    if isinstance(value, str):
        text = value
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, int | Decimal | float):
        text = str(value)
    elif isinstance(value, date | datetime):
        text = value.isoformat()
    elif isinstance(value, list | dict):
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    else:
        raise CoerceError("is not a text")
    limit = field.get("max_length")
    if isinstance(limit, int) and len(text) > limit:
        raise CoerceError(f"is longer than {limit} characters")
    return text


def _pattern_text(regex: re.Pattern[str], what: str) -> Coerce:
    def coerce(value: Any, field: Mapping[str, Any]) -> str:
        if not isinstance(value, str) or not regex.match(value.strip()):
            raise CoerceError(f"is not a valid {what}")
        return _text(value.strip(), field)

    return coerce


def _integer(value: Any, field: Mapping[str, Any]) -> int:
    return _integer_in(value, _limits(field))


def _integer_in(value: Any, limits: tuple[tuple[str, Decimal, Any], ...]) -> int:
    if isinstance(value, bool):
        raise CoerceError("is a boolean, not a whole number")
    if isinstance(value, int):
        out = value
    elif isinstance(value, str) and _INT_TEXT.match(value):
        out = int(value)
    elif isinstance(value, Decimal | float):
        dec = Decimal(str(value))
        if not dec.is_finite() or dec != dec.to_integral_value():
            raise CoerceError("is not a whole number")
        out = int(dec)
    else:
        raise CoerceError("is not a whole number")
    if not INT64_MIN <= out <= INT64_MAX:
        raise CoerceError("is too large")
    if limits:
        _within(Decimal(out), limits)
    return out


def decimal_shape(field: Mapping[str, Any]) -> tuple[int, int]:
    """(precision, scale) of a decimal-like field, with the type's defaults."""
    defaults = {"currency": (14, 2), "percent": (9, 4)}.get(str(field.get("type")), (18, 4))
    precision = field.get("precision", defaults[0])
    scale = field.get("scale", defaults[1])
    return int(precision), int(scale)


@dataclass(frozen=True)
class _Shape:
    """What a decimal-like field's values are checked against, worked out once."""

    precision: int
    scale: int
    quantum: Decimal
    limits: tuple[tuple[str, Decimal, Any], ...]  # ("min" | "max", limit, as declared)


def _shape(field: Mapping[str, Any]) -> _Shape:
    precision, scale = decimal_shape(field)
    return _Shape(precision, scale, Decimal(1).scaleb(-scale), _limits(field))


def _decimal(value: Any, field: Mapping[str, Any]) -> Decimal:
    return _decimal_in(value, _shape(field))


def _decimal_in(value: Any, shape: _Shape) -> Decimal:
    if isinstance(value, bool):
        raise CoerceError("is a boolean, not a number")
    try:
        if isinstance(value, int | Decimal):
            dec = Decimal(value)
        elif isinstance(value, float):
            dec = Decimal(repr(value))
        elif isinstance(value, str) and len(value) <= 60:
            dec = Decimal(value.strip())
        else:
            raise CoerceError("is not a number")
    except InvalidOperation:
        raise CoerceError("is not a number") from None
    if not dec.is_finite():
        raise CoerceError("is not a finite number")
    precision, scale = shape.precision, shape.scale
    if dec.adjusted() >= precision:
        raise CoerceError(f"has more than {precision - scale} digits before the decimal point")
    exponent = dec.normalize(_EXACT).as_tuple().exponent
    if isinstance(exponent, int) and -exponent > scale:
        raise CoerceError(f"has more than {scale} decimal places")
    quantized = dec.quantize(shape.quantum, context=_EXACT)
    if len(quantized.as_tuple().digits) > precision:
        raise CoerceError(f"has more than {precision - scale} digits before the decimal point")
    _within(dec, shape.limits)
    return quantized


def _limits(field: Mapping[str, Any]) -> tuple[tuple[str, Decimal, Any], ...]:
    out = []
    for key in ("min", "max"):
        bound = field.get(key)
        if bound is None or isinstance(bound, bool):
            continue
        try:
            limit = Decimal(str(bound))
        except InvalidOperation:
            continue
        if limit.is_finite():
            out.append((key, limit, bound))
    return tuple(out)


def _bounds(value: Decimal, field: Mapping[str, Any]) -> None:
    _within(value, _limits(field))


def _within(value: Decimal, limits: tuple[tuple[str, Decimal, Any], ...]) -> None:
    for key, limit, bound in limits:
        if (value < limit) if key == "min" else (value > limit):
            word = "less" if key == "min" else "more"
            raise CoerceError(f"is {word} than the {key}imum {bound}")


def _boolean(value: Any, field: Mapping[str, Any]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
    raise CoerceError("is not true or false")


def _date(value: Any, field: Mapping[str, Any]) -> date:
    if isinstance(value, datetime):
        if value.time() != datetime.min.time():
            raise CoerceError("has a time of day, so it is not a date")
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CoerceError("is not a date (YYYY-MM-DD)")


def _datetime(value: Any, field: Mapping[str, Any]) -> datetime:
    if isinstance(value, datetime):
        return value
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day)
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            pass
    raise CoerceError("is not a date and time (ISO 8601)")


def _select(value: Any, field: Mapping[str, Any]) -> str:
    return _select_in(value, option_values(field))


def _select_in(value: Any, allowed: Sequence[str]) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise CoerceError(f"is not one of the options ({', '.join(allowed)})")
    return value


def _multi_select(value: Any, field: Mapping[str, Any]) -> list[str]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list):
        raise CoerceError("is not a list of options")
    out = []
    for item in items:
        out.append(_select(item, field))
    if len(set(out)) != len(out):
        raise CoerceError("lists an option twice")
    return out


def _record_id(value: Any, field: Mapping[str, Any]) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise CoerceError("is not a record id")
    if isinstance(value, str) and not _RECORD_ID.match(value):
        raise CoerceError("is not a record id")
    out = int(value)
    if not 0 < out <= INT64_MAX:
        raise CoerceError("is not a record id")
    return out


def _json(value: Any, field: Mapping[str, Any]) -> Any:
    if isinstance(value, str | int | float | bool | list | dict | Decimal) or value is None:
        try:
            text = json.dumps(value, default=str, allow_nan=False)
        except ValueError:
            raise CoerceError("holds NaN or Infinity, which JSON cannot store") from None
        if len(text) > 1_000_000:
            raise CoerceError("is larger than 1 MB")
        return json.loads(text)
    raise CoerceError("is not JSON")


def _attachment(value: Any, field: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Stored files, by id (``"f0x…"`` or ``{"id": "f0x…", …}``, one or a list); the
    record service looks the ids up and keeps what describes each file."""
    items = value if isinstance(value, list) else [value]
    out: list[dict[str, Any]] = []
    for item in items:
        file_id = item.get("id") if isinstance(item, dict) else item
        if not isinstance(file_id, str) or not _FILE_ID.match(file_id):
            raise CoerceError(
                'is not a list of stored files (ids from POST /api/v1/files, or {"id": ...})'
            )
        out.append(dict(item) if isinstance(item, dict) else {"id": file_id})
    if len({i["id"] for i in out}) != len(out):
        raise CoerceError("lists a file twice")
    if len(out) > 1 and field.get("multiple") is not True:
        raise CoerceError("holds one file (the field is not multiple)")
    return out


_NUMBER_KEYS = frozenset({"min", "max"})
_DECIMAL_KEYS = _NUMBER_KEYS | {"precision", "scale"}
_TEXT_KEYS = frozenset({"max_length", "pattern"})

FIELD_TYPES: dict[str, FieldType] = {
    t.name: t
    for t in [
        FieldType("text", "text", "One line of text.", _TEXT_KEYS, coerce=_text),
        FieldType("long_text", "text", "Several lines of plain text.", _TEXT_KEYS, coerce=_text),
        FieldType(
            "rich_text",
            "text",
            "Formatted text (sanitised HTML).",
            frozenset({"max_length"}),
            coerce=_text,
        ),
        FieldType("integer", "integer", "A whole number (64-bit).", _NUMBER_KEYS, coerce=_integer),
        FieldType(
            "decimal",
            "decimal",
            "An exact decimal number; `precision` digits in all, "
            "`scale` after the point (default 18, 4).",
            _DECIMAL_KEYS,
            coerce=_decimal,
        ),
        FieldType(
            "currency",
            "decimal",
            "Money: an exact decimal (default 14, 2) with an ISO 4217 `currency`.",
            _DECIMAL_KEYS | {"currency"},
            coerce=_decimal,
        ),
        FieldType(
            "percent",
            "decimal",
            "A fraction shown as a percentage: 0.10 is 10 % (default 9, 4).",
            _DECIMAL_KEYS,
            coerce=_decimal,
        ),
        FieldType("boolean", "boolean", "True or false.", coerce=_boolean),
        FieldType("date", "date", "A calendar date (YYYY-MM-DD).", _NUMBER_KEYS, coerce=_date),
        FieldType(
            "datetime",
            "datetime",
            "A date and time of day (ISO 8601, UTC).",
            _NUMBER_KEYS,
            coerce=_datetime,
        ),
        FieldType(
            "select",
            "text",
            "One value out of `options`.",
            frozenset({"options"}),
            frozenset({"options"}),
            coerce=_select,
        ),
        FieldType(
            "multi_select",
            "json",
            "Any number of values out of `options`.",
            frozenset({"options"}),
            frozenset({"options"}),
            coerce=_multi_select,
        ),
        FieldType(
            "email", "text", "An e-mail address.", coerce=_pattern_text(_EMAIL, "e-mail address")
        ),
        FieldType(
            "phone", "text", "A telephone number.", coerce=_pattern_text(_PHONE, "phone number")
        ),
        FieldType(
            "url",
            "text",
            "A web address (http or https).",
            coerce=_pattern_text(_URL, "web address"),
        ),
        FieldType(
            "reference",
            "reference",
            "A link to one record of object `to` (this app's, "
            "or `app.object` of a required app). `related_name` names the reverse list "
            "on the target; `on_delete` is restrict (default), set_null or cascade.",
            frozenset({"to", "related_name", "on_delete"}),
            frozenset({"to"}),
            coerce=_record_id,
        ),
        FieldType(
            "user", "user", "A Tenon user (read and written as the username).", coerce=_record_id
        ),
        FieldType(
            "attachment",
            "json",
            "Uploaded files.",
            frozenset({"multiple", "max_size_mb", "accept"}),
            coerce=_attachment,
        ),
        FieldType("json", "json", "Any JSON value.", coerce=_json),
        FieldType(
            "auto_number",
            "text",
            "A number the runtime assigns from `pattern`, such as `PIP-{YYYY}-{####}`; unique.",
            frozenset({"pattern"}),
            frozenset({"pattern"}),
            coerce=_text,
        ),
        FieldType(
            "formula",
            None,
            "Computed from `formula` (read-only); `returns` is its type.",
            frozenset({"formula", "returns", "options", "to", "precision", "scale", "currency"}),
            frozenset({"formula"}),
        ),
        FieldType(
            "rollup",
            None,
            "An aggregate over related rows, such as "
            "`SUM(lines.amount, eligible = TRUE)`; `returns` is its type.",
            frozenset({"formula", "returns", "precision", "scale", "currency"}),
            frozenset({"formula"}),
        ),
    ]
}


def coercer(field: Mapping[str, Any]) -> Callable[[Any], Any]:
    """``coerce_value`` for one field, with what it checks against worked out once (a
    bulk write checks thousands of values of the same field)."""
    ftype = FIELD_TYPES[str(field["type"])]
    coerce = ftype.coerce
    if coerce is None:

        def computed(value: Any) -> Any:
            raise CoerceError("is computed and cannot be set")

        return computed
    if coerce is _decimal:
        shape = _shape(field)
        return lambda value: _decimal_in(value, shape)
    if coerce is _integer:
        limits = _limits(field)
        return lambda value: _integer_in(value, limits)
    if coerce is _select:
        allowed = option_values(field)
        members = frozenset(allowed)

        def select(value: Any) -> str:
            if isinstance(value, str) and value in members:
                return value
            return _select_in(value, allowed)

        return select
    return lambda value: coerce(value, field)


def coerce_value(value: Any, field: Mapping[str, Any]) -> Any:
    """Check ``value`` against ``field`` and return it in the field's Python type."""
    ftype = FIELD_TYPES[str(field["type"])]
    if ftype.coerce is None:
        raise CoerceError("is computed and cannot be set")
    return ftype.coerce(value, field)


def storage_of(field: Mapping[str, Any]) -> str | None:
    return FIELD_TYPES[str(field["type"])].storage
