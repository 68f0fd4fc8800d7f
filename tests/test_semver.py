"""Semantic versions and ``requires`` ranges (runtime/metadata/semver.py)."""

from __future__ import annotations

import random
from itertools import pairwise

import pytest

from runtime.metadata.semver import Version, VersionError, VersionRange

# --- versions -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("0.0.0", (0, 0, 0, ())),
        ("1.2.3", (1, 2, 3, ())),
        ("10.20.30", (10, 20, 30, ())),
        ("1.0.0-alpha", (1, 0, 0, ("alpha",))),
        ("1.0.0-alpha.1", (1, 0, 0, ("alpha", 1))),
        ("1.0.0-rc.1+build.5", (1, 0, 0, ("rc", 1))),
        ("1.0.0+20250101", (1, 0, 0, ())),
        (" 2.0.0 ", (2, 0, 0, ())),
    ],
)
def test_parse(text: str, parts: tuple[object, ...]) -> None:
    v = Version.parse(text)

    assert (v.major, v.minor, v.patch, v.pre) == parts


@pytest.mark.parametrize(
    "text", ["", "1", "1.0", "1.0.0.0", "v1.0.0", "01.0.0", "1.00.0", "1.0.0-", "1.0.0+", "x"]
)
def test_parse_refuses(text: str) -> None:
    with pytest.raises(VersionError, match="is not a semantic version"):
        Version.parse(text)


def test_str_drops_build_metadata() -> None:
    assert str(Version.parse("1.2.3")) == "1.2.3"
    assert str(Version.parse("1.2.3-beta.2+sha.abc")) == "1.2.3-beta.2"


def test_build_metadata_does_not_affect_equality() -> None:
    assert Version.parse("1.0.0+a") == Version.parse("1.0.0+b") == Version.parse("1.0.0")


# The order given by semver.org, section 11, plus numeric components compared as numbers.
ORDERED = [
    "0.9.9",
    "0.10.0",
    "1.0.0-alpha",
    "1.0.0-alpha.1",
    "1.0.0-alpha.beta",
    "1.0.0-beta",
    "1.0.0-beta.2",
    "1.0.0-beta.11",
    "1.0.0-rc.1",
    "1.0.0",
    "1.0.1",
    "1.2.0",
    "1.10.0",
    "2.0.0",
]


def test_ordering_follows_semver() -> None:
    versions = [Version.parse(t) for t in ORDERED]

    shuffled = random.Random(7).sample(versions, len(versions))

    assert sorted(shuffled) == versions
    assert all(a < b for a, b in pairwise(versions))


@pytest.mark.parametrize(
    ("lower", "higher"),
    [
        ("1.0.0-rc.1", "1.0.0"),  # a pre-release comes before its release
        ("1.0.0-2", "1.0.0-10"),  # numeric identifiers compare as numbers
        ("1.0.0-999", "1.0.0-a"),  # numeric identifiers sort before alphanumeric ones
        ("1.0.0-Z", "1.0.0-a"),  # alphanumeric identifiers compare in ASCII order
        ("1.0.0-a", "1.0.0-a.0"),  # more identifiers sort later
        ("1.9.9", "1.10.0"),
    ],
)
def test_pairwise_order(lower: str, higher: str) -> None:
    a, b = Version.parse(lower), Version.parse(higher)

    assert a < b
    assert b > a
    assert a != b
    assert a <= b and not b <= a


# --- ranges -------------------------------------------------------------------------------

VERSIONS = ["0.1.0", "0.2.0", "0.2.9", "0.3.0", "1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0",
            "1.9.0", "2.0.0", "2.5.0", "3.0.0"]  # fmt: skip

# range -> the versions of VERSIONS it admits
RANGES: dict[str, set[str]] = {
    ">=1.0": {"1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.0", "2.0.0", "2.5.0", "3.0.0"},
    "^1.2": {"1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.0"},
    "^1.2.3": {"1.2.3", "1.2.9", "1.3.0", "1.9.0"},
    "^0.2": {"0.2.0", "0.2.9"},
    "^0.0": set(),  # >=0.0.0 <0.1.0
    "~1.2": {"1.2.0", "1.2.3", "1.2.9"},
    "~1.2.3": {"1.2.3", "1.2.9"},
    "~1": {"1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.0"},
    "1.x": {"1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.0"},
    "1.2.*": {"1.2.0", "1.2.3", "1.2.9"},
    "*": set(VERSIONS),
    ">=1.0 <2.0": {"1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.0"},
    ">= 1.0 < 2.0": {"1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.0"},
    "<=1.2": {"0.1.0", "0.2.0", "0.2.9", "0.3.0", "1.0.0", "1.2.0", "1.2.3", "1.2.9"},
    "<1.2": {"0.1.0", "0.2.0", "0.2.9", "0.3.0", "1.0.0"},
    ">1.2": {"1.3.0", "1.9.0", "2.0.0", "2.5.0", "3.0.0"},
    ">1.2.3": {"1.2.9", "1.3.0", "1.9.0", "2.0.0", "2.5.0", "3.0.0"},
    "1.2.3": {"1.2.3"},
    "=1.2.3": {"1.2.3"},
    "=1.2": {"1.2.0", "1.2.3", "1.2.9"},
    "^1.0 || ^2.0": {"1.0.0", "1.2.0", "1.2.3", "1.2.9", "1.3.0", "1.9.0", "2.0.0", "2.5.0"},
    "<0.2 || >=3": {"0.1.0", "3.0.0"},
}


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("text", list(RANGES))
def test_range_admits(text: str, version: str) -> None:
    expected = version in RANGES[text]

    assert VersionRange.parse(text).admits(version) is expected
    assert VersionRange.parse(text).admits(Version.parse(version)) is expected


def test_caret_zero_zero_patch_is_exact() -> None:
    r = VersionRange.parse("^0.0.3")

    assert [r.admits(v) for v in ("0.0.2", "0.0.3", "0.0.4", "0.1.0")] == [
        False,
        True,
        False,
        False,
    ]


@pytest.mark.parametrize(
    ("text", "version", "expected"),
    [
        ("^1.0", "1.5.0-beta", False),  # pre-releases need a comparator naming their release
        ("*", "1.0.0-rc.1", False),
        (">=1.0.0-beta", "1.0.0-rc.1", True),
        (">=1.0.0-beta", "1.0.0-alpha", False),
        (">=1.0.0-beta", "1.1.0-rc.1", False),
        (">=1.0.0-beta", "1.1.0", True),
        ("<2.0.0", "2.0.0-beta", False),
        ("1.0.0-rc.1", "1.0.0-rc.1", True),
        ("1.0.0-rc.1", "1.0.0", False),
    ],
)
def test_pre_releases(text: str, version: str, expected: bool) -> None:
    assert VersionRange.parse(text).admits(version) is expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (">>1", "is not a version range"),
        ("", "cannot be empty"),
        ("   ", "cannot be empty"),
        ("abc", "is not a version range"),
        ("1.0 ||", "empty alternative"),
        ("|| 1.0", "empty alternative"),
        ("1.0 || || 2.0", "empty alternative"),
        ("1.0 - 2.0", "is not a version range"),
        ("^", "is not a version range"),
        (">=", "is not a version range"),
        ("1.2.3.4", "is not a version range"),
        (">=01.0", "is not a version range"),
    ],
)
def test_invalid_ranges(text: str, message: str) -> None:
    with pytest.raises(VersionError, match=message):
        VersionRange.parse(text)


def test_version_error_is_a_value_error() -> None:
    assert issubclass(VersionError, ValueError)


def test_admits_refuses_an_invalid_version() -> None:
    with pytest.raises(VersionError):
        VersionRange.parse("*").admits("1.0")


@pytest.mark.parametrize(
    "text", ["1.0.0-a..b", "1.0.0-.a", "1.0.0-a.", "1.0.0-01", "1.0.0+", "1.0.0+a..b"]
)
def test_invalid_prerelease_and_build_identifiers_are_refused(text: str) -> None:
    with pytest.raises(VersionError):
        Version.parse(text)
