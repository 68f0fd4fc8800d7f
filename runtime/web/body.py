"""Reading JSON request bodies: a clear 400 for what is not JSON, a 422 naming the key for
what is JSON of the wrong shape, never a 500."""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from typing import Any

from starlette.requests import Request
from starlette.types import Message

from runtime.errors import Issue, TenonError, ValidationFailed
from runtime.suggest import suggest

MAX_JSON_BYTES = 1 << 20


def _bad(message: str) -> TenonError:
    return TenonError(message, code="BAD_JSON", status=400)


def invalid(key: str, message: str) -> ValidationFailed:
    return ValidationFailed(message, [Issue(f"/{key}", message, "INVALID")])


async def read_object(
    request: Request, allowed: Collection[str] | None = None, max_bytes: int = MAX_JSON_BYTES
) -> dict[str, Any]:
    """The body as a JSON object; ``allowed`` refuses other keys (422, with a suggestion)."""
    return parse_object(await read_bytes(request, max_bytes), allowed)


async def read_bytes(
    request: Request, max_bytes: int = MAX_JSON_BYTES, too_large: str | None = None
) -> bytes:
    """The body, refused (413, ``too_large`` as the message) past ``max_bytes`` before it
    is all read."""
    refusal = TenonError(
        too_large or f"The request body is larger than {max_bytes} bytes",
        code="TOO_LARGE",
        status=413,
    )
    declared = request.headers.get("content-length", "")
    if declared.isascii() and declared.isdigit() and int(declared) > max_bytes:
        raise refusal
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise refusal
        chunks.append(chunk)
    return b"".join(chunks)


def replayed(request: Request, raw: bytes) -> Request:
    """The request again, its body being ``raw`` (read already, within a limit), so
    Starlette can parse it as a form."""
    sent = False

    async def replay() -> Message:  # the body once, then the client's own messages
        nonlocal sent
        if sent:
            return await request.receive()
        sent = True
        return {"type": "http.request", "body": raw, "more_body": False}

    return Request(request.scope, replay)


def parse_object(raw: bytes, allowed: Collection[str] | None = None) -> dict[str, Any]:
    """``raw`` as a JSON object (see ``read_object``)."""
    if not raw.strip():
        raise _bad("The request body is empty; expected a JSON object")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise _bad("The request body is not UTF-8 text") from None
    except ValueError as error:
        raise _bad(f"The request body is not valid JSON: {error}") from None
    except RecursionError:
        raise _bad("The request body is nested too deeply") from None
    if not isinstance(data, dict):
        raise _bad(f"The request body must be a JSON object, not {type(data).__name__}")
    if allowed is not None:
        unknown = [key for key in data if key not in allowed]
        if unknown:
            issues = [
                Issue(f"/{key}", f"unknown key {key!r}{suggest(key, allowed)}", "UNKNOWN_KEY")
                for key in unknown
            ]
            raise ValidationFailed.from_issues("The request body has unknown keys", issues)
    return data


def text(
    body: dict[str, Any],
    key: str,
    *,
    required: bool = False,
    default: str | None = None,
    max_length: int = 200,
) -> str | None:
    value = body.get(key)
    if value is None:
        if required:
            raise invalid(key, f"{key!r} is required")
        return default
    if not isinstance(value, str):
        raise invalid(key, f"{key!r} must be a string")
    if len(value) > max_length:
        raise invalid(key, f"{key!r} must be at most {max_length} characters")
    return value


def required_text(body: dict[str, Any], key: str, max_length: int = 200) -> str:
    value = text(body, key, required=True, max_length=max_length)
    assert value is not None
    return value


def integer(body: dict[str, Any], key: str, *, default: int, minimum: int, maximum: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid(key, f"{key!r} must be a whole number")
    if not minimum <= value <= maximum:
        raise invalid(key, f"{key!r} must be between {minimum} and {maximum}")
    return value


def boolean(body: dict[str, Any], key: str) -> bool | None:
    value = body.get(key)
    if value is not None and not isinstance(value, bool):
        raise invalid(key, f"{key!r} must be true or false")
    return value


def choice(body: dict[str, Any], key: str, choices: Sequence[str], default: str) -> str:
    value = body.get(key, default)
    if value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise invalid(key, f"{key!r} must be one of {options}")
    assert isinstance(value, str)
    return value


def string_list(body: dict[str, Any], key: str) -> list[str]:
    value = body.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise invalid(key, f"{key!r} must be a list of strings")
    return value


def query_int(request: Request, key: str, *, default: int, minimum: int, maximum: int) -> int:
    raw = request.query_params.get(key)
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or not minimum <= int(raw) <= maximum:
        raise invalid(key, f"{key!r} must be a whole number from {minimum} to {maximum}")
    return int(raw)
