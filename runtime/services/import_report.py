"""What an import read and did: each problem by row, column and field, and the report
(JSON, or the problems as a CSV file to download)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, astuple, dataclass, field
from typing import Any

from runtime.errors import Issue, ValidationFailed
from runtime.services.export import csv_text, safe_cell

MAX_ERRORS = 1000  # listed in the JSON report; the CSV error report lists them all


@dataclass(frozen=True)
class RowError:
    row: int  # the spreadsheet row; 1 is the header (problems with a column)
    column: str | None
    field: str | None
    code: str
    message: str

    def issue(self) -> Issue:
        if self.row == 1 and self.column is not None:
            path = "/columns/" + self.column.replace("~", "~0").replace("/", "~1")
            return Issue(path, f"column {self.column!r}: {self.message}", self.code)
        where = f"row {self.row}" + (f", column {self.column!r}" if self.column else "")
        path = f"/rows/{self.row}" + (f"/{self.field}" if self.field else "")
        return Issue(path, f"{where}: {self.message}", self.code)


@dataclass
class ImportReport:
    """What an import read and did (or, in a dry run, would do). A commit with errors
    writes nothing: ``created`` and ``updated`` are then 0."""

    dry_run: bool
    committed: bool = False
    rows: int = 0
    created: int = 0
    updated: int = 0
    columns: dict[str, str] = field(default_factory=dict)  # header -> field
    ignored_columns: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)

    def as_dict(self, limit: int = MAX_ERRORS) -> dict[str, Any]:
        """The report as JSON, listing the first ``limit`` errors (all are counted)."""
        out = asdict(self)
        out["error_count"], out["errors"] = len(self.errors), out["errors"][:limit]
        return out

    def failure(self) -> ValidationFailed:
        """The refusal of a commit with errors (the first ``MAX_ERRORS`` as details)."""
        rows = len({e.row for e in self.errors if e.row > 1})
        header = " and the header" if any(e.row == 1 for e in self.errors) else ""
        where = f"{rows} of {self.rows} rows{header}"
        return ValidationFailed(
            f"nothing was imported: {len(self.errors)} problems, in {where}",
            [e.issue() for e in self.errors[:MAX_ERRORS]],
        )


def error_report_csv(errors: Iterable[RowError]) -> str:
    """Problems of an import as a CSV file to download (BOM, formula-safe)."""
    rows = ([str(e.row), *(safe_cell(v, "text") for v in astuple(e)[1:])] for e in errors)
    return csv_text(["row", "column", "field", "code", "message"], rows)
