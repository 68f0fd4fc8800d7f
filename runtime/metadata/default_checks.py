"""Checks of a field's ``default``: a value of the field's type, a formula (type-checked
with the other formulas), the one record of a singleton object, or a record found by the
values of its fields (``{"lookup": {...}}``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.metadata.fieldtypes import CoerceError, coerce_value


def check_default(c: Any, path: str, spec: Mapping[str, Any]) -> None:
    """``c`` is the semantic checker (``add``, ``object_spec``)."""
    default = spec.get("default")
    if default is None or (isinstance(default, dict) and set(default) == {"formula"}):
        return
    if isinstance(default, dict) and "lookup" in default:
        _lookup(c, path, spec, default)
        return
    if isinstance(default, dict) and default == {"singleton": True}:
        target = c.object_spec(str(spec.get("to"))) if spec.get("type") == "reference" else None
        if target is None or target.get("singleton") is not True:
            message = "a singleton default needs a reference to an object marked singleton"
            c.add(f"{path}/default", message, "BAD_DEFAULT")
        return
    try:
        coerce_value(default, spec)
    except CoerceError as exc:
        c.add(f"{path}/default", f"the default {default!r} {exc}", "BAD_DEFAULT")
    except (TypeError, ValueError, ArithmeticError):
        c.add(f"{path}/default", f"the default {default!r} is not a valid value", "BAD_DEFAULT")


def _lookup(c: Any, path: str, spec: Mapping[str, Any], default: dict[str, Any]) -> None:
    """``{"lookup": {"plan": "plan", "department": "..."}}``: a reference found by the
    values of the target's fields (the formulas are checked with the other formulas)."""
    keys = default["lookup"]
    target = c.object_spec(str(spec.get("to"))) if spec.get("type") == "reference" else None
    if target is None or set(default) != {"lookup"}:
        message = 'a lookup default needs a reference field and only the key "lookup"'
        c.add(f"{path}/default", message, "BAD_DEFAULT")
        return
    if not isinstance(keys, dict) or not keys:
        message = "names the target's fields, each with a formula giving its value"
        c.add(f"{path}/default/lookup", message, "BAD_DEFAULT")
        return
    fields = target.get("fields") or []
    names = {f.get("name") for f in fields if isinstance(f, Mapping)} | {"id"}
    for key, text in keys.items():
        if key not in names:
            message = f"{spec.get('to')} has no field {key!r}"
            c.add(f"{path}/default/lookup/{key}", message, "UNKNOWN_FIELD")
        elif not isinstance(text, str) or not text.strip():
            c.add(f"{path}/default/lookup/{key}", "is not a formula", "BAD_DEFAULT")
