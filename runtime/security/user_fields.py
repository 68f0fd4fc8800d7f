"""The checks of a user's own fields: the username's canonical spelling, the e-mail
address and the display name, each refused with its path and code."""

from __future__ import annotations

import re

from runtime.errors import Issue, ValidationFailed

USERNAME = re.compile(r"[a-z0-9._@-]{1,150}")


def normalize_username(username: object) -> str | None:
    """The canonical spelling (trimmed, ASCII lowercased), or None if it cannot be one."""
    if not isinstance(username, str) or not username.isascii():
        return None
    name = username.strip().lower()
    return name if USERNAME.fullmatch(name) else None


def _invalid(path: str, message: str, code: str) -> ValidationFailed:
    return ValidationFailed(message, [Issue(path, message, code)])


EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]{1,189}\.[^@\s]{1,63}")


def _email(value: object) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not EMAIL.fullmatch(value.strip()):
        raise _invalid(
            "/email", "The e-mail address must look like name@example.com", "INVALID_EMAIL"
        )
    return value.strip()


def _display_name(value: object) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > 200 or any(ord(c) < 32 for c in value):
        raise _invalid(
            "/display_name",
            "The display name must be text of at most 200 characters",
            "INVALID_DISPLAY_NAME",
        )
    return value.strip() or None
