"""The "did you mean" hint every Tenon error message uses for an unknown name."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def suggest(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``choices`` (same letters first), or ''."""
    options = list(choices)
    same_letters = [c for c in options if c.lower() == name.lower()]
    hint = same_letters or difflib.get_close_matches(name, options, n=1)
    return f" (did you mean {hint[0]!r}?)" if hint else ""
