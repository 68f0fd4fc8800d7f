"""Refuse regular expressions that can take exponential time (``^(a+)+$``).

A package's ``pattern`` is untrusted. Python's ``re`` backtracks, so we accept only
patterns of star height one: no repeated group that itself contains a repeat or an
alternation, and no back-references. Together with bounded input lengths this keeps
matching linear in practice.
"""

from __future__ import annotations

import re
from typing import Any

try:  # Python 3.11+
    import re._parser as sre_parse
except ImportError:  # pragma: no cover
    import sre_parse  # type: ignore[no-redef]

MAX_PATTERN = 200


def _contains_repeat_or_branch(items: Any) -> bool:
    for op, arg in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if arg[1] > 1:
                return True
            if _contains_repeat_or_branch(arg[2]):
                return True
        elif name == "BRANCH":
            return True
        elif name == "SUBPATTERN":
            if _contains_repeat_or_branch(arg[-1]):
                return True
        elif name in ("ASSERT", "ASSERT_NOT"):
            if _contains_repeat_or_branch(arg[1]):
                return True
    return False


def _walk(items: Any) -> str | None:
    for op, arg in items:
        name = str(op)
        if name in ("GROUPREF", "GROUPREF_EXISTS"):
            return "back-references are not allowed"
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if arg[1] > 1 and _contains_repeat_or_branch(arg[2]):
                return "a repeated group that contains another repeat or an alternative can take exponential time"
            found = _walk(arg[2])
        elif name == "SUBPATTERN":
            found = _walk(arg[-1])
        elif name == "BRANCH":
            found = next((f for f in (_walk(b) for b in arg[1]) if f), None)
        elif name in ("ASSERT", "ASSERT_NOT"):
            found = _walk(arg[1])
        else:
            found = None
        if found:
            return found
    return None


def regex_problem(pattern: str) -> str | None:
    """Why ``pattern`` is refused, or None when it is safe to use."""
    if len(pattern) > MAX_PATTERN:
        return f"is longer than {MAX_PATTERN} characters"
    try:
        re.compile(pattern)
        parsed = sre_parse.parse(pattern)
    except (re.error, RecursionError, OverflowError) as exc:
        return f"is not a valid regular expression ({exc})"
    return _walk(parsed)
