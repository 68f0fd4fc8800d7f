"""Semantic versions and version ranges for ``requires``.

A range is one or more comparators separated by spaces (all must hold), and
alternatives separated by ``||``. Comparators: ``>=1.0``, ``>1.2.3``, ``<=2``, ``<2.0``,
``=1.2.3`` or ``1.2.3``, caret ``^1.2`` (same major; same minor below 1.0), tilde
``~1.2`` (same minor), wildcards ``1.x`` / ``1.2.*`` and ``*``. Missing minor and
patch parts count as 0 (``>=1.0`` means ``>=1.0.0``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

_IDENT = r"(?:0|[1-9]\d*|\d*[A-Za-z-][0-9A-Za-z-]*)"
_VERSION = re.compile(
    rf"^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-({_IDENT}(?:\.{_IDENT})*))?"
    r"(?:\+[0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*)?$"
)
_PARTIAL = re.compile(r"^(0|[1-9]\d*|[xX*])(?:\.(0|[1-9]\d*|[xX*]))?(?:\.(0|[1-9]\d*|[xX*]))?$")
_COMPARATOR = re.compile(r"^(>=|<=|>|<|=|\^|~)?\s*(.+)$")


class VersionError(ValueError):
    pass


@total_ordering
@dataclass(frozen=True)
class Version:
    major: int
    minor: int
    patch: int
    pre: tuple[int | str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> Version:
        m = _VERSION.match(text.strip())
        if not m:
            raise VersionError(f"{text!r} is not a semantic version such as 1.0.0")
        pre: tuple[int | str, ...] = ()
        if m.group(4):
            pre = tuple(int(p) if p.isdigit() else p for p in m.group(4).split("."))
        return cls(int(m.group(1)), int(m.group(2)), int(m.group(3)), pre)

    def _key(self) -> tuple[int, int, int, int, tuple[tuple[int, int | str], ...]]:
        # a pre-release sorts before its release; numeric identifiers before alphanumeric
        pre_key = tuple((0, p) if isinstance(p, int) else (1, p) for p in self.pre)
        return (self.major, self.minor, self.patch, 0 if self.pre else 1, pre_key)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return base + ("-" + ".".join(str(p) for p in self.pre) if self.pre else "")


@dataclass(frozen=True)
class _Bound:
    op: str
    version: Version

    def admits(self, v: Version) -> bool:
        c = self.version
        return {
            ">=": v >= c,
            ">": v > c,
            "<=": v <= c,
            "<": v < c,
            "=": v == c,
        }[self.op]


def _partial(text: str) -> tuple[int | None, int | None, int | None]:
    m = _PARTIAL.match(text)
    if not m:
        raise VersionError(f"{text!r} is not a version")
    parts: list[int | None] = []
    wild = False
    for g in m.groups():
        if g is None or g in ("x", "X", "*") or wild:
            wild = True
            parts.append(None)
        else:
            parts.append(int(g))
    return parts[0], parts[1], parts[2]


def _expand(op: str, text: str) -> list[_Bound]:
    if not _PARTIAL.match(text):
        # a full version with pre-release or build metadata
        v = Version.parse(text)
        if op in ("", "=", "^", "~"):
            return (
                [_Bound("=", v)]
                if op in ("", "=")
                else _expand(op, f"{v.major}.{v.minor}.{v.patch}")
            )
        return [_Bound(op, v)]
    major, minor, patch = _partial(text)
    if major is None:
        return []  # '*' admits everything
    lo = Version(major, minor or 0, patch or 0)
    if op in ("", "="):
        if minor is None:
            return [_Bound(">=", lo), _Bound("<", Version(major + 1, 0, 0))]
        if patch is None:
            return [_Bound(">=", lo), _Bound("<", Version(major, minor + 1, 0))]
        return [_Bound("=", lo)]
    if op == "^":
        if major > 0 or minor is None:
            hi = Version(major + 1, 0, 0)
        elif minor > 0 or patch is None:
            hi = Version(0, minor + 1, 0)
        else:
            hi = Version(0, 0, (patch or 0) + 1)
        return [_Bound(">=", lo), _Bound("<", hi)]
    if op == "~":
        hi = Version(major + 1, 0, 0) if minor is None else Version(major, minor + 1, 0)
        return [_Bound(">=", lo), _Bound("<", hi)]
    if op in ("<=", ">") and (minor is None or patch is None):
        # '<=1.2' means anything in 1.2.x; '>1.2' means 1.3.0 and above
        hi = Version(major + 1, 0, 0) if minor is None else Version(major, minor + 1, 0)
        return [_Bound("<" if op == "<=" else ">=", hi)]
    return [_Bound(op, lo)]


@dataclass(frozen=True)
class VersionRange:
    text: str
    alternatives: tuple[tuple[_Bound, ...], ...]

    @classmethod
    def parse(cls, text: str) -> VersionRange:
        if not text.strip():
            raise VersionError('a version range cannot be empty; use "*" for any version')
        alternatives = []
        for alt in text.split("||"):
            tokens = re.sub(r"(>=|<=|>|<|=|\^|~)\s+", r"\1", alt.strip()).split()
            if not tokens:
                raise VersionError(f"{text!r} has an empty alternative around '||'")
            bounds: list[_Bound] = []
            for token in tokens:
                m = _COMPARATOR.match(token)
                if not m:
                    raise VersionError(f"{token!r} is not a version comparator")
                try:
                    bounds.extend(_expand(m.group(1) or "", m.group(2)))
                except VersionError as exc:
                    raise VersionError(
                        f'{text!r} is not a version range such as ">=1.0", "^1.2" or '
                        f'">=1.0 <2.0" ({exc})'
                    ) from None
            alternatives.append(tuple(bounds))
        return cls(text, tuple(alternatives))

    def admits(self, version: Version | str) -> bool:
        v = Version.parse(version) if isinstance(version, str) else version
        for bounds in self.alternatives:
            if all(b.admits(v) for b in bounds):
                # pre-releases only match a comparator that names the same release
                if v.pre and not any(
                    b.version.pre
                    and b.version.major == v.major
                    and b.version.minor == v.minor
                    and b.version.patch == v.patch
                    for b in bounds
                ):
                    continue
                return True
        return False
