"""A ``create`` effect that repeats over a series of dates: one new record per date.

``{"create": {"object": "checkin", "values": {"plan": "id"},
              "repeat": {"field": "scheduled_date", "from": "start_date + 7",
                         "every": "IF(frequency = \\"weekly\\", 7, 14)", "until": "end_date",
                         "where": "scheduled_date >= TODAY()"}}}``

``from``, ``every`` and ``until`` are formulas on the record the effect is of: the first
date, the days between two dates (a whole number, at least 1) and the last date the
series may reach (inclusive). Each date goes into the date ``field`` of a new record;
``where``, a condition on the new record (which reads the date and, through its
references, the record it belongs to), keeps some of them — "only dates still to come",
so the same effect can regenerate the rest of a series after the dates moved. A blank
``from``, ``every`` or ``until`` creates nothing; a series of more than ``MAX_DATES``
dates is refused, never cut short silently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from runtime.errors import Issue, ValidationFailed
from runtime.formula.errors import FormulaError
from runtime.formula.evaluator import Compiled, Env

MAX_DATES = 400  # more than a year of daily dates

Compile = Callable[[str, str], Compiled]


def _failed(path: str, message: str) -> ValidationFailed:
    return ValidationFailed.from_issues(
        "an effect could not be written", [Issue(path, message, "EFFECT_FAILED")]
    )


def dates(first: date, every: int, last: date) -> list[date]:
    """``first``, ``first + every`` … up to ``last`` (inclusive); at most ``MAX_DATES``."""
    if every < 1:
        raise ValueError("every must be at least 1 day")
    count = 0 if last < first else (last - first).days // every + 1
    if count > MAX_DATES:
        raise ValueError(f"the series has {count} dates, more than {MAX_DATES}")
    return [first + timedelta(days=every * i) for i in range(count)]


def _day(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    return value if isinstance(value, date) else None


def series(
    compile: Compile,
    qualified: str,
    record: Mapping[str, Any],
    env: Env,
    spec: Mapping[str, Any],
    path: str,
) -> list[date]:
    """The dates of ``spec`` (a ``repeat``) on ``record``, an object ``qualified``."""
    got: dict[str, Any] = {}
    for key in ("from", "every", "until"):
        try:
            got[key] = compile(qualified, str(spec[key])).evaluate(dict(record), env)
        except FormulaError as error:
            raise _failed(f"{path}/{key}", f"{key}: {error}") from None
    first, last, every = _day(got["from"]), _day(got["until"]), got["every"]
    if first is None or last is None or every is None:
        return []
    if isinstance(every, bool) or not isinstance(every, int | Decimal) or every != int(every):
        raise _failed(f"{path}/every", f"every gives {every!r}, not a whole number of days")
    try:
        return dates(first, int(every), last)
    except ValueError as error:
        raise _failed(path, str(error)) from None


def keep(
    compile: Compile,
    target: str,
    where: Any,
    rows: list[dict[str, Any]],
    env: Env,
    path: str,
    label: Callable[[Mapping[str, Any]], str],
) -> list[dict[str, Any]]:
    """The new records of ``target`` that the condition ``where`` accepts (all without one);
    a condition that cannot run names the row (``label``) and the path."""
    if not where:
        return rows
    condition = compile(target, str(where))
    kept = []
    for row in rows:
        try:
            if condition.evaluate(row, env) is True:
                kept.append(row)
        except FormulaError as error:
            raise _failed(path, f"{label(row)}: {error}") from None
    return kept
