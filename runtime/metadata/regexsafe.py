"""Refuse regular expressions that can take exponential time (``^(a+)+$``).

A package's ``pattern`` is untrusted. Python's ``re`` backtracks, so we accept only
patterns of star height one — no repeated group that itself contains a quantifier (even
``?``) or an alternation — no back-references, and at most four open-ended repeats (each
``.*a`` pair multiplies the backtracking by the input length). What remains is at worst
polynomial of low degree; the record service also bounds the length of matched values.
"""

from __future__ import annotations

import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # Python 3.11+
from typing import Any

MAX_PATTERN = 200
MAX_OPEN_REPEATS = 4


def _contains_repeat_or_branch(items: Any) -> bool:
    """True when ``items`` can match the same text in more than one way by itself."""
    for op, arg in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if arg[0] != arg[1]:
                return True  # any optional or variable quantifier, even '?'
            if _contains_repeat_or_branch(arg[2]):
                return True
            continue
        inner = {"SUBPATTERN": -1, "ASSERT": 1, "ASSERT_NOT": 1}.get(name)
        if name == "BRANCH" or (inner is not None and _contains_repeat_or_branch(arg[inner])):
            return True
    return False


def _open_repeats(items: Any) -> int:
    """How many quantifiers with a large or unbounded maximum the pattern holds."""
    count = 0
    for op, arg in items:
        name = str(op)
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            count += (arg[1] - arg[0] > 20) + _open_repeats(arg[2])
        elif name == "SUBPATTERN":
            count += _open_repeats(arg[-1])
        elif name == "BRANCH":
            count += sum(_open_repeats(b) for b in arg[1])
        elif name in ("ASSERT", "ASSERT_NOT"):
            count += _open_repeats(arg[1])
    return count


def _walk(items: Any) -> str | None:
    for op, arg in items:
        name = str(op)
        if name in ("GROUPREF", "GROUPREF_EXISTS"):
            return "back-references are not allowed"
        if name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            if arg[1] > 1 and _contains_repeat_or_branch(arg[2]):
                return (
                    "a repeated group that contains another repeat or an alternative "
                    "can take exponential time"
                )
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
    problem = _walk(parsed)
    if problem is None and _open_repeats(parsed) > MAX_OPEN_REPEATS:
        problem = (
            f"has more than {MAX_OPEN_REPEATS} open-ended repeats such as '.*', "
            "which can take polynomial time"
        )
    return problem
