"""Check a definition against schemas/app.schema.json, with messages a builder understands.

Every error is collected. References inside the schema resolve only within the schema
itself: no registry retrieval, nothing fetched.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable
from functools import cache
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from runtime.errors import Issue
from runtime.resources import schema_path


@cache
def app_schema() -> dict[str, Any]:
    with schema_path().open(encoding="utf-8") as handle:
        schema: dict[str, Any] = json.load(handle)
    Draft202012Validator.check_schema(schema)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(app_schema())


def pointer(parts: Iterable[Any]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _describe(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(error: ValidationError) -> tuple[str, str]:
    """(pointer, sentence) for one jsonschema error."""
    where: list[Any] = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, dict) else {}
    kind = error.validator
    if kind == "additionalProperties":
        allowed = sorted(schema.get("properties", {}))
        extras = (
            sorted(set(error.instance) - set(allowed)) if isinstance(error.instance, dict) else []
        )
        key = extras[0] if extras else "?"
        hint = difflib.get_close_matches(key, allowed, n=1)
        suffix = f" (did you mean {hint[0]!r}?)" if hint else f" (allowed: {', '.join(allowed)})"
        return pointer([*where, key]), f"unknown key {key!r}{suffix}"
    if kind == "required":
        missing = str(error.message).split("'")[1] if "'" in str(error.message) else "?"
        return pointer(where), f"is missing the required key {missing!r}"
    if kind == "enum":
        choices = [str(c) for c in error.validator_value]  # type: ignore[union-attr]
        hint = difflib.get_close_matches(str(error.instance), choices, n=1)
        suffix = f" (did you mean {hint[0]!r}?)" if hint else ""
        return pointer(where), (
            f"{_describe(error.instance)} is not one of: {', '.join(choices)}{suffix}"
        )
    if kind == "type":
        expected = error.validator_value
        names = expected if isinstance(expected, list) else [expected]
        article = {"object": "an object", "array": "a list", "integer": "a whole number"}
        wanted = " or ".join(article.get(str(n), f"a {n}") for n in names)
        return pointer(where), f"must be {wanted}, not {_describe(error.instance)}"
    if kind in ("pattern", "anyOf", "maxLength") and schema.get("description"):
        return pointer(where), f"{_describe(error.instance)} {schema['description']}"
    if kind == "anyOf":
        described = _first_description(error)
        if described:
            return pointer(where), f"{_describe(error.instance)} {described}"
    if kind in (
        "maxItems",
        "minItems",
        "maxLength",
        "minLength",
        "maximum",
        "minimum",
        "maxProperties",
        "minProperties",
    ):
        limits = {
            "maxItems": f"must have at most {error.validator_value} items",
            "minItems": f"must have at least {error.validator_value} item(s)",
            "maxLength": f"must be at most {error.validator_value} characters long",
            "minLength": "must not be empty",
            "maximum": f"must be at most {error.validator_value}",
            "minimum": f"must be at least {error.validator_value}",
            "maxProperties": f"must have at most {error.validator_value} entries",
            "minProperties": "must not be empty",
        }
        return pointer(where), limits[str(kind)]
    if kind == "pattern" or kind == "propertyNames":
        return pointer(where), f"{_describe(error.instance)} is not allowed here"
    return pointer(where), error.message


def _first_description(error: ValidationError) -> str | None:
    for ref_schema in (error.schema,):
        if isinstance(ref_schema, dict) and ref_schema.get("description"):
            return str(ref_schema["description"])
    return None


def schema_issues(document: Any) -> list[Issue]:
    """Every place where ``document`` breaks the app-definition schema."""
    issues = []
    seen = set()
    for error in sorted(
        _validator().iter_errors(document), key=lambda e: list(map(str, e.absolute_path))
    ):
        path, message = _message(error)
        if error.validator == "propertyNames":
            # report the offending key itself, not the object holding it
            bad = error.instance if isinstance(error.instance, str) else None
            message = f"{_describe(bad)} is not a valid app name" if bad else message
        if (path, message) not in seen:
            seen.add((path, message))
            issues.append(Issue(path, message, "SCHEMA"))
    return issues
