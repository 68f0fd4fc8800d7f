"""How Tenon shows a formula value in docs and previews: numbers without trailing zeros,
text in double quotes, TRUE/FALSE, ISO dates, ``(blank)``, lists in brackets."""

from __future__ import annotations

from typing import Any

from runtime.formula.operators import text_of


def display(value: Any) -> str:
    if value is None:
        return "(blank)"
    if isinstance(value, list):
        return "[" + ", ".join(display(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace('"', '""') + '"'
    return text_of(value)
