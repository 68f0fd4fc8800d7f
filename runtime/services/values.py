"""Field values between the database and JSON: exact decimals as text, dates as ISO 8601,
references as ids, users as usernames (selected by the query itself)."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from runtime.errors import TenonError

MAX_CURSOR = 4096


def to_json(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return str(value)


_AS_IS = frozenset({"text", "integer", "boolean", "reference", "user"})


def _datetime(value: Any) -> Any:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else to_json(value)


def _date(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else to_json(value)


def _decimal(value: Any) -> Any:
    return str(value) if isinstance(value, Decimal) else to_json(value)


def json_converter(kind: str) -> Any:
    """The function turning a non-null value of a stored column of ``kind`` into JSON, or
    None when the database already gives a JSON value (text, whole numbers, booleans, ids
    and usernames). Same results as ``to_json``, without asking every value its type.
    Computed columns keep ``to_json``: their SQL type is whatever the expression gives."""
    if kind in _AS_IS:
        return None
    return {"datetime": _datetime, "date": _date, "decimal": _decimal}.get(kind, to_json)


def encode_cursor(values: list[Any]) -> str:
    text = json.dumps([to_json(v) for v in values], separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, kinds: list[str]) -> list[Any]:
    """The sort values a cursor carries, as Python values of ``kinds`` (storage kinds)."""
    bad = TenonError("cursor is not valid for this list", code="INVALID_CURSOR")
    if len(cursor) > MAX_CURSOR:
        raise bad
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        raise bad from None
    if not isinstance(values, list) or len(values) != len(kinds):
        raise bad
    try:
        return [_parse(v, k) for v, k in zip(values, kinds, strict=True)]
    except (ValueError, TypeError, InvalidOperation):
        raise bad from None


def _parse(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "date":
        return date.fromisoformat(str(value))
    if kind == "datetime":
        return datetime.fromisoformat(str(value))
    if kind == "decimal":
        return Decimal(str(value))
    if kind in ("integer", "reference", "user"):
        if isinstance(value, bool) or not isinstance(value, int | str):
            raise TypeError(value)
        return value if kind == "user" else int(value)
    if kind == "boolean":
        if not isinstance(value, bool):
            raise TypeError(value)
        return value
    if not isinstance(value, str):
        raise TypeError(value)
    return value
