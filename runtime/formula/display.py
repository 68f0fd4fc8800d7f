"""How Tenon shows a formula value in docs and previews: numbers without trailing zeros,
text in double quotes, TRUE/FALSE, ISO dates, ``(blank)``, lists in brackets."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from runtime import decimals


def display(value: Any) -> str:
    if value is None:
        return "(blank)"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | Decimal):
        return decimals.text_of(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(display(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return str(value)
