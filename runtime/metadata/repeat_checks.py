"""Checks of a ``create`` effect's ``repeat`` (one record per date of a series; see
``runtime.services.series``): ``field`` is a date field of the new record that a write
may set, ``from`` and ``until`` give dates and ``every`` a number on the record the
effect is of, ``where`` is a condition on the new record, and ``for_each`` is not used
with it. ``f`` is the formula checker of ``runtime.metadata.formulas``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from runtime.suggest import suggest

GIVES = {"from": ("date", "datetime"), "until": ("date", "datetime"), "every": ("number",)}


def check_repeat(f: Any, path: str, create: Mapping[str, Any], source: str, target: str) -> None:
    """``create["repeat"]`` at ``path`` (``…/create/repeat``): ``source`` is the object the
    effect is of, ``target`` the object created."""
    repeat = create.get("repeat")
    if not isinstance(repeat, Mapping):
        return
    if create.get("for_each") is not None:
        message = "repeat and for_each cannot be used together: choose one"
        f.c.add(path, message, "INVALID")
    fields = f.engine.catalog[target].fields
    name = repeat.get("field")
    field = fields.get(name) if isinstance(name, str) else None
    if field is None:
        f.c.add(
            f"{path}/field",
            f"{target} has no field {name!r}{suggest(str(name), set(fields))}",
            "UNRESOLVED",
        )
    elif field.spec.get("type") != "date" or field.computed:
        message = f"{name} is not a date field a write may set, so it cannot take the dates"
        f.c.add(f"{path}/field", message, "FORMULA_TYPE")
    for key, kinds in GIVES.items():
        tree = f.check(f"{path}/{key}", repeat.get(key), source, condition=False, syntax=True)
        if tree is not None and tree.type.kind not in (*kinds, "blank", "any"):
            wanted = "a number of days" if key == "every" else "a date"
            f.c.add(f"{path}/{key}", f"gives {tree.type}, not {wanted}", "FORMULA_TYPE")
    f.check(f"{path}/where", repeat.get("where"), target, syntax=True)
