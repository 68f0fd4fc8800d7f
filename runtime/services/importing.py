"""Importing app records from CSV and XLSX files, through the one write path.

A file becomes a ``Sheet``: its header (row 1) and its rows, each with its spreadsheet
row number. Columns are matched to fields by name or label (any language, ignoring case,
spaces and underscores) unless an explicit mapping says otherwise; references are found
by natural key (the target's ``label_field``, a unique text field, or the id) among the
records the actor reads. The rows are then written through the record service in one
transaction, in chunks of ``MAX_BULK``: new records together (``Records.create_many``; a
batch with a problem is halved until the rows with problems are alone), and those rows
and the updates (with a ``key``, at the record's current version) row by row by
``batches.write_rows``, which names every problem of every row. Any problem, or a dry run,
rolls the whole transaction back; the report names each problem by row, column and field.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from runtime.errors import Forbidden, Issue, TenonError, ValidationFailed
from runtime.metadata.fieldtypes import CoerceError, coerce_value
from runtime.metadata.model import SOFT_DELETE_COLUMN, SYSTEM_COLUMNS, FieldDef, ObjectDef, qualify
from runtime.security.actor import Actor
from runtime.services.batches import MAX_BULK, write_rows
from runtime.services.export import TEXT_KINDS, unguard_cell
from runtime.services.import_report import ImportReport, RowError
from runtime.services.records import Records, Written
from runtime.services.sheets import Sheet, blank_cell
from runtime.storage.engine import write_transaction

BATCH = 500  # values per lookup query
KEY_STORAGE = frozenset({"text", "integer"})
_SYSTEM = frozenset({*SYSTEM_COLUMNS, SOFT_DELETE_COLUMN})
Progress = Callable[[int, int | None, str | None], None]  # done, total, step
_ID = FieldDef("id", "integer", {"name": "id", "type": "integer", "min": 1, "unique": True})

# -- columns and cells ---------------------------------------------------------------------


@dataclass(frozen=True)
class ImportOptions:
    dry_run: bool = False
    key: str | None = None  # "id" or a unique text or number field: update on a match
    mapping: Mapping[str, str | None] = field(default_factory=dict)  # header -> field/None


@dataclass
class _Plan:
    names: list[str]  # the columns' names for the report (blank headers named by position)
    fields: dict[int, FieldDef] = field(default_factory=dict)  # column -> field written
    key: int | None = None  # the key column
    ignored: list[str] = field(default_factory=list)
    problems: list[RowError] = field(default_factory=list)

    def problem(self, i: int, code: str, message: str) -> None:
        self.problems.append(RowError(1, self.names[i], None, code, message))


def _norm(text: str) -> str:
    return "".join(text.replace("_", " ").split()).casefold()


def _names(fdef: FieldDef) -> list[str]:
    """The name and the labels (every language) a column may give for ``fdef``."""
    label = fdef.spec.get("label")
    labels = [str(v) for v in label.values()] if isinstance(label, Mapping) else [label]
    return [fdef.name, *(str(t) for t in labels if t)]


def _plan(obj: ObjectDef, sheet: Sheet, options: ImportOptions) -> _Plan:
    """Which column goes to which field; a mapping or key that cannot apply is a 422."""
    issues = []
    for header, name in options.mapping.items():
        if header not in sheet.headers:
            message, code = "no column of the file has this header", "UNKNOWN_COLUMN"
        elif name not in (None, "id", *obj.by_name):
            message, code = f"{obj.name} has no field {name!r}", "UNKNOWN_FIELD"
        else:
            continue
        issues.append(Issue(f"/mapping/{header}", message, code))
    key = _ID if options.key == "id" else obj.by_name.get(options.key or "")
    if options.key is not None and not (key and key.unique and key.storage in KEY_STORAGE):
        message = f"the key must be id or a unique text or number field of {obj.name}"
        issues.append(Issue("/key", message, "INVALID_KEY"))
    if issues:
        raise ValidationFailed.from_issues("the import options are not valid", issues)
    width = max([len(sheet.headers), *(len(cells) for _, cells in sheet.rows)])
    headers = sheet.headers + [""] * (width - len(sheet.headers))
    plan = _Plan([h or f"column {i + 1}" for i, h in enumerate(headers)])
    known: dict[str, set[str]] = {}
    for fdef in obj.fields:
        for text in _names(fdef):
            known.setdefault(_norm(text), set()).add(fdef.name)
    for name in _SYSTEM:
        known.setdefault(_norm(name), set()).add(name)
    used: dict[str, str] = {}
    for i, header in enumerate(headers):
        if header in options.mapping:
            name = options.mapping[header]
            if name is None:
                plan.ignored.append(header)
                continue
        elif not header:
            if any(not blank_cell(_cell(cells, i)) for _, cells in sheet.rows):
                plan.problem(i, "UNKNOWN_COLUMN", "this column has values but no header")
            continue
        else:
            found = {header} if header in obj.by_name else known.get(_norm(header), set())
            if len(found) != 1:
                what = f"matches {', '.join(sorted(found))}" if found else "matches no field"
                code = "AMBIGUOUS_COLUMN" if found else "UNKNOWN_COLUMN"
                message = f"{what} of {obj.name}; map it to a field, or to null to ignore it"
                plan.problem(i, code, message)
                continue
            name = found.pop()
        if name in used:
            plan.problem(i, "DUPLICATE_COLUMN", f"{used[name]!r} is already imported into {name}")
            continue
        used[name] = plan.names[i]
        chosen = obj.by_name.get(name)
        if name == options.key:
            plan.key = i
        if chosen is not None and chosen.name in obj.settable:
            plan.fields[i] = chosen
        elif header in options.mapping and name != options.key:
            plan.problem(i, "FIELD_READ_ONLY", f"{name} is computed or kept by Tenon")
        elif name != options.key:
            plan.ignored.append(header)
    if options.key is not None and plan.key is None:
        issue = Issue("/key", f"no column of the file holds the key {options.key}", "INVALID_KEY")
        raise ValidationFailed.from_issues("the import options are not valid", [issue])
    return plan


def _cell(cells: list[Any], i: int) -> Any:
    return cells[i] if i < len(cells) else None


def cell_value(fdef: FieldDef, raw: Any) -> Any:
    """A cell as the JSON-ish value the record service reads for ``fdef``: text stripped
    (and without export's guard apostrophe), spreadsheet numbers as numbers (or text for
    a text field), dates as ISO 8601, booleans as they are; a blank cell is None."""
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        text = unguard_cell(text) if fdef.storage in TEXT_KINDS else text
        if fdef.type == "multi_select":
            return [part.strip() for part in text.split(",") if part.strip()]
        if fdef.type == "json":
            try:
                return json.loads(text)
            except ValueError:
                return text
        return text
    if isinstance(raw, float):
        raw = int(raw) if raw.is_integer() else Decimal(repr(raw))
    if isinstance(raw, datetime) and raw.time() == time() and fdef.storage != "datetime":
        return raw.date().isoformat()
    if isinstance(raw, date | time):
        return raw.isoformat()
    if isinstance(raw, int | Decimal) and not isinstance(raw, bool):
        return str(raw) if fdef.storage in ("text", "user", "json") else raw
    return raw if raw is None or isinstance(raw, bool) else str(raw)


def _natural_keys(obj: ObjectDef) -> list[str]:
    """The text fields a reference cell may name a record of ``obj`` by."""
    label = obj.spec.get("label_field")
    names = [label] if isinstance(label, str) and label in obj.by_name else []
    names += [f.name for f in obj.fields if f.unique and f.name not in names]
    return [n for n in names if obj.by_name[n].storage == "text"]


def _batches(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    return (values[i : i + BATCH] for i in range(0, len(values), BATCH))


class _Row(dict[str, Any]):
    """One record to write, with its spreadsheet row and the record it updates."""

    def __init__(self, data: Mapping[str, Any], number: int) -> None:
        super().__init__(data)
        self.number = number
        self.target: Written | None = None


# -- the import ----------------------------------------------------------------------------


class _Undo(Exception):
    """Leaves the import's transaction by rolling it back (a dry run, or problems)."""


class Importer:
    def __init__(self, records: Records) -> None:
        self.records = records
        self.reader = records.reader

    def check(self, actor: Actor, qualified: str) -> None:
        """Refuse an actor no rule lets import into the object (403)."""
        self.reader.object(qualified)
        if not self.reader.policy.applicable(actor, qualified, "import"):
            raise Forbidden(f"you may not import records of {qualified}")

    def run(
        self,
        engine: Engine,
        actor: Actor,
        qualified: str,
        sheet: Sheet,
        options: ImportOptions,
        progress: Progress | None = None,
        within: Callable[[Connection, ImportReport], None] | None = None,
    ) -> ImportReport:
        """Import ``sheet``. ``progress(done, total, step)`` hears of each step;
        ``within(conn, report)`` runs in the import's transaction just before a commit."""
        self.check(actor, qualified)
        obj = self.reader.object(qualified)
        plan = _plan(obj, sheet, options)
        report = ImportReport(options.dry_run, rows=len(sheet.rows), errors=list(plan.problems))
        report.columns = {plan.names[i]: f.name for i, f in plan.fields.items()}
        report.ignored_columns = plan.ignored
        try:
            with write_transaction(engine) as conn:
                job = _Job(self, conn, actor, obj, plan, options.key, report, progress)
                job.run(sheet)
                if report.errors or options.dry_run:
                    raise _Undo
                report.committed = True
                if within is not None:
                    within(conn, report)
        except _Undo:
            pass
        report.errors.sort(key=lambda e: e.row)
        report.committed = not report.errors and not options.dry_run
        if report.errors and not options.dry_run:
            report.created = report.updated = 0
        return report

    def visible(
        self, conn: Connection, actor: Actor, qualified: str
    ) -> tuple[sa.Table, list[Any], dict[str, Any]]:
        """The table, the rows ``actor`` reads (WHERE terms) and the fields they read."""
        guard = self.reader.guard(conn, actor)
        access = guard.access(qualified, "read")
        table = self.reader.table(qualified)
        where = [guard.where(access, table)]
        if SOFT_DELETE_COLUMN in table.c:
            where.append(table.c[SOFT_DELETE_COLUMN].is_(None))
        return table, where, guard.columns(access, table)


@dataclass
class _Job:
    """One import inside its transaction: the rows converted, references and keys looked
    up, then everything written through the record service."""

    importer: Importer
    conn: Connection
    actor: Actor
    obj: ObjectDef
    plan: _Plan
    key: str | None
    report: ImportReport
    progress: Progress | None = None
    named: dict[int, set[str]] = field(default_factory=dict)  # row -> fields with a problem

    def __post_init__(self) -> None:
        self.columns = {f.name: self.plan.names[i] for i, f in self.plan.fields.items()}
        if self.plan.key is not None and self.key is not None:
            self.columns[self.key] = self.plan.names[self.plan.key]

    def problem(
        self, number: int, name: str | None, code: str, message: str, mark: bool = True
    ) -> None:
        """A problem of a row; ``mark``: the record service's about this field are dropped."""
        column = self.columns.get(name) if name else None
        self.report.errors.append(RowError(number, column, name, code, message))
        if mark and name:
            self.named.setdefault(number, set()).add(name)

    def run(self, sheet: Sheet) -> None:
        found: dict[str, dict[str, int | RowError]] = {}
        for i, fdef in self.plan.fields.items():
            if fdef.storage == "reference":
                values = {cell_value(fdef, _cell(cells, i)) for _, cells in sheet.rows}
                assert fdef.target is not None
                target = qualify(self.obj.app, fdef.target)
                texts = sorted(str(v) for v in values if v is not None)
                found[fdef.name] = self._resolve(target, texts)
        if self.progress is not None:
            self.progress(0, len(sheet.rows), "checking")
        rows: list[_Row] = []
        keys: dict[int, Any] = {}
        for number, cells in sheet.rows:
            data: dict[str, Any] = {}
            for i, fdef in self.plan.fields.items():
                value = cell_value(fdef, _cell(cells, i))
                if fdef.storage == "reference" and value is not None:
                    value = found[fdef.name][str(value)]
                if isinstance(value, RowError):
                    self.problem(number, fdef.name, value.code, value.message)
                elif isinstance(value, str) and "\x00" in value:
                    self.problem(number, fdef.name, "INVALID_VALUE", "holds a NUL character")
                else:
                    data[fdef.name] = value
            rows.append(_Row(data, number))
            key = self._key(number, cells)
            if key is not None:
                keys[number] = key
        targets = self._existing(keys)
        for row in rows:
            row.target = targets.get(row.number)
            if row.target is not None and self.key is not None:
                row.pop(self.key, None)  # what it was found by: unchanged, maybe not writable
        # a row whose key is not valid, or repeats, could be neither created nor updated
        self._write([r for r in rows if self.key not in self.named.get(r.number, ())])

    def _resolve(self, qualified: str, texts: list[str]) -> dict[str, int | RowError]:
        """Each text of a reference column as the id of the one record it names."""
        target = self.importer.reader.object(qualified)
        table, where, columns = self.importer.visible(self.conn, self.actor, qualified)
        names = [n for n in _natural_keys(target) if n in columns]
        matches: dict[str, set[int]] = {t: set() for t in texts}
        for batch in _batches(texts):
            for name in names:
                column = columns[name]
                query = sa.select(table.c.id, column).where(*where, column.in_(batch))
                for record_id, value in self.conn.execute(query):
                    matches.setdefault(str(value), set()).add(int(record_id))
            ids = {int(t): t for t in batch if t.isdigit() and len(t) <= 18}
            query = sa.select(table.c.id).where(*where, table.c.id.in_(list(ids)))
            for (record_id,) in self.conn.execute(query) if ids else ():
                matches[ids[int(record_id)]].add(int(record_id))
        keys = " or ".join([*names, "id"])
        out: dict[str, int | RowError] = {}
        for text in texts:
            found = matches[text]
            if len(found) == 1:
                out[text] = found.pop()
            elif found:
                message = f"{text!r} names {len(found)} {target.name} records (by {keys})"
                out[text] = RowError(0, None, None, "AMBIGUOUS_REFERENCE", message)
            elif text.isdigit():
                out[text] = int(text)  # an id: the record service says if it exists
            else:
                message = f"there is no {target.name} with {keys} {text!r}"
                out[text] = RowError(0, None, None, "NOT_FOUND", message)
        return out

    def _key(self, number: int, cells: list[Any]) -> Any:
        """The row's key as stored (None when blank or not valid)."""
        if self.plan.key is None or self.key is None:
            return None
        fdef = self.obj.by_name.get(self.key, _ID)
        value = cell_value(fdef, _cell(cells, self.plan.key))
        try:
            return None if value is None else coerce_value(value, fdef.spec)
        except CoerceError as error:
            self.problem(number, self.key, "INVALID_VALUE", f"{self.key} {error}")
            return None

    def _existing(self, keys: dict[int, Any]) -> dict[int, Written]:
        """The records the rows' keys match (among those the actor reads); a key seen in
        an earlier row is a problem."""
        first: dict[Any, int] = {}
        for number, value in keys.items():
            if value in first:
                message = f"row {first[value]} has the same {self.key}"
                self.problem(number, self.key, "DUPLICATE_KEY", message)
            first.setdefault(value, number)
        if not first or self.key is None:
            return {}
        table, where, columns = self.importer.visible(self.conn, self.actor, self.obj.qualified)
        column = table.c.id if self.key == "id" else columns.get(self.key)
        if column is None:
            issue = Issue("/key", f"you may not read {self.key}", "INVALID_KEY")
            raise ValidationFailed.from_issues("the import options are not valid", [issue])
        found: dict[Any, Written] = {}
        for batch in _batches(list(first)):
            query = sa.select(table.c.id, table.c.version, column).where(*where, column.in_(batch))
            for record_id, version, value in self.conn.execute(query):
                found[value] = Written(int(record_id), int(version))
        return {first[v]: found[v] for v in first if v in found}

    def _create(self, rows: list[_Row]) -> list[_Row]:
        """Create ``rows`` in set-based steps; a batch with a problem is halved until the
        rows with problems are alone. Returns those, for the row-by-row path to name."""
        if len(rows) < 2:
            return rows
        savepoint = self.conn.begin_nested()
        try:
            done = self.importer.records.create_many(
                self.conn, self.actor, self.obj.qualified, rows
            )
        except (TenonError, sa.exc.DataError):
            savepoint.rollback()
            half = len(rows) // 2
            return self._create(rows[:half]) + self._create(rows[half:])
        savepoint.commit()
        self.report.created += len(done)
        return []

    def _write(self, rows: list[_Row]) -> None:
        records, actor, report = self.importer.records, self.actor, self.report
        qualified = self.obj.qualified

        def write(conn: Connection, row: Mapping[str, Any]) -> Written:
            assert isinstance(row, _Row)
            try:
                if row.target is None:
                    done = records.create(conn, actor, qualified, row)
                    report.created += 1
                else:
                    target = row.target
                    done = records.update(conn, actor, qualified, target.id, row, target.version)
                    report.updated += 1
            except sa.exc.DataError:  # PostgreSQL refusing a value the checks let through
                message = f"the database refused a value of this {self.obj.name}"
                raise TenonError(message, code="INVALID_VALUE", status=422) from None
            return done

        for start in range(0, len(rows), MAX_BULK):
            if self.progress is not None:
                self.progress(start, len(rows), "writing")
            chunk = rows[start : start + MAX_BULK]
            left = self._create([r for r in chunk if r.target is None])
            chunk = sorted(left + [r for r in chunk if r.target], key=lambda r: r.number)
            try:
                write_rows(self.conn, chunk, write)
            except ValidationFailed as failed:
                for issue in failed.details:  # paths: /rows/<i in chunk>[/field[/...]]
                    parts = issue.path.split("/")
                    number = chunk[int(parts[2])].number
                    name = parts[3] if len(parts) > 3 and parts[3] else None
                    if name not in self.named.get(number, set()):
                        self.problem(number, name, issue.code, issue.message, mark=False)
