"""Tenon's one exception tree.

    TenonError                 status 400, a stable ``code``, optional ``details``
    ├── ValidationFailed       422  a definition, package or record failed its checks
    │   └── PackageError       422  a package could not be read safely (size, zip, JSON)
    ├── Unauthorized           401  not signed in, or the credentials are not valid
    ├── NotFound               404
    ├── Forbidden              403
    ├── TooManyRequests        429  a rate limit (login attempts) was reached
    ├── Conflict               409  (versions, already installed, data in the way)
    └── DataLossRefused        409  a change would drop data without explicit consent

The engine raises these and never imports the web layer; the web layer turns them into
the JSON error body ``{"error": {"code", "message", "details": [...]}}``, an HTML page,
or an inline fragment.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Self


@dataclass(frozen=True)
class Issue:
    """One problem found in a definition, a package or a record.

    ``path`` is a JSON pointer into the merged definition (or a record field path);
    ``file`` and ``file_path`` say where the offending text lives when the definition
    was split over several files.
    """

    path: str
    message: str
    code: str = "INVALID"
    file: str | None = None
    file_path: str | None = None

    def location(self) -> str:
        if self.file is not None:
            return f"{self.file}#{self.file_path or ''}"
        return self.path or "/"

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"path": self.path, "code": self.code, "message": self.message}
        if self.file is not None:
            out["file"] = self.file
            out["file_path"] = self.file_path
        return out


@dataclass
class TenonError(Exception):
    message: str
    details: list[Issue] = field(default_factory=list)
    code: str = "BAD_REQUEST"
    status: int = 400

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    def body(self) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "details": [d.as_dict() for d in self.details],
            }
        }


@dataclass
class ValidationFailed(TenonError):
    code: str = "VALIDATION_FAILED"
    status: int = 422

    @classmethod
    def from_issues(cls, what: str, issues: Iterable[Issue]) -> Self:
        found = list(issues)
        noun = "problem" if len(found) == 1 else "problems"
        return cls(f"{what}: {len(found)} {noun} found", found)


@dataclass
class PackageError(ValidationFailed):
    code: str = "INVALID_PACKAGE"


@dataclass
class NotFound(TenonError):
    code: str = "NOT_FOUND"
    status: int = 404


@dataclass
class Unauthorized(TenonError):
    code: str = "UNAUTHORIZED"
    status: int = 401


@dataclass
class TooManyRequests(TenonError):
    code: str = "TOO_MANY_REQUESTS"
    status: int = 429
    retry_after: int = 60


@dataclass
class Forbidden(TenonError):
    code: str = "FORBIDDEN"
    status: int = 403


@dataclass
class Conflict(TenonError):
    code: str = "CONFLICT"
    status: int = 409


@dataclass
class DataLossRefused(Conflict):
    code: str = "DATA_LOSS_REFUSED"
