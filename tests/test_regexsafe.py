"""Refusing regular expressions that can backtrack exponentially (runtime/metadata/regexsafe.py)."""

from __future__ import annotations

import re

import pytest

from runtime.metadata.regexsafe import MAX_PATTERN, regex_problem

NESTED = "a repeated group that contains another repeat or an alternative"


@pytest.mark.parametrize(
    "pattern",
    [
        "^(a+)+$",
        "(a|aa)*",
        r"(\w+\s?)*$",
        "(.*a){12}",
        "(a*)*",
        "(a+?)+",
        "(?:a+)+b",
        "(x|y+)+",
        r"^([a-z]+\.)*[a-z]+$",
        "(a{2,})*",
        "((ab)+c)+",
        "(?=(a+)+)",
        "x(a|b|cd)*y",
    ],
)
def test_nested_repeats_are_refused(pattern: str) -> None:
    problem = regex_problem(pattern)

    assert problem is not None
    assert NESTED in problem
    assert "exponential time" in problem


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?P<x>a)b(?P=x)", r"(a)?(?(1)b|c)"])
def test_back_references_are_refused(pattern: str) -> None:
    assert regex_problem(pattern) == "back-references are not allowed"


@pytest.mark.parametrize(
    ("pattern", "detail"),
    [
        ("(", "missing )"),
        ("[a-", "unterminated character set"),
        ("a{3,1}", "min repeat greater than max repeat"),
        ("*a", "nothing to repeat"),
        (r"(?(2)a|b)", "invalid group reference"),
        ("a{99999999999}", "repetition number is too large"),
    ],
)
def test_invalid_patterns_are_refused_with_the_reason(pattern: str, detail: str) -> None:
    problem = regex_problem(pattern)

    assert problem is not None
    assert problem.startswith("is not a valid regular expression")
    assert detail in problem


def test_long_patterns_are_refused() -> None:
    assert MAX_PATTERN == 200
    assert regex_problem("a" * MAX_PATTERN) is None
    assert regex_problem("a" * (MAX_PATTERN + 1)) == "is longer than 200 characters"


SAFE = [
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$",
    r"^[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}$",
    r"^[A-Z]{2}-\d{4}$",
    r"^\d+(\.\d+)?$",
    r"^\+?[0-9 ()-]{6,20}$",
    r"^[A-Z]{2}\d{2}[A-Z0-9]{10,30}$",
    r"^(ab)+$",
    r"^(?:a|b)*$",  # a one-character alternative is a character set
    r"^\d{4}-\d{2}-\d{2}$",
    r"^https?://\S+$",
    r"(?i)^[a-z_][a-z0-9_]*$",
    r"^(?!admin$)[a-z]+$",
    "",
]


@pytest.mark.parametrize("pattern", SAFE)
def test_common_safe_patterns_are_accepted(pattern: str) -> None:
    assert regex_problem(pattern) is None


@pytest.mark.parametrize(
    ("pattern", "text", "matches"),
    [
        (r"^[A-Z]{2}-\d{4}$", "HR-2025", True),
        (r"^[A-Z]{2}-\d{4}$", "HR-25", False),
        (r"^\d+(\.\d+)?$", "12.50", True),
        (r"^\d+(\.\d+)?$", "12.", False),
        (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "ana@example.org", True),
        (r"^[^@\s]+@[^@\s]+\.[^@\s]+$", "ana@example", False),
    ],
)
def test_accepted_patterns_still_mean_what_they_say(pattern: str, text: str, matches: bool) -> None:
    assert regex_problem(pattern) is None
    assert (re.fullmatch(pattern, text) is not None) is matches


@pytest.mark.parametrize(
    "pattern",
    ["(a?a?)*b", "^(a?){22}a{22}$", "(x?y)+z", ".*a" * 8 + "x", "(.*,){5}"],
)
def test_optional_repeats_in_groups_and_many_open_repeats_are_refused(pattern: str) -> None:
    assert regex_problem(pattern) is not None
