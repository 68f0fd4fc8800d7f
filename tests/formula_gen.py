"""A deterministic generator of formulas for fuzzing, and the fixed record they run on.

``corpus(seed, count)`` gives ``count`` formulas from ``random.Random(seed)``: well-formed
expressions over the scratch object of ``tests/formulas.py`` (fields, misspelled fields,
paths, functions of the registry with right and wrong arities, literals of every kind,
operators), some of them mutated into invalid syntax (deleted, doubled and garbage
characters, cut short, unbalanced quotes and brackets). Function names are read from the
registry when the corpus is built, so functions added later are fuzzed too.

``VALUES`` is the record the formulas run on (blank where not given): values that are
awkward on purpose (a zero divisor, a negative integer, text with quotes and emoji, a
leap day, a multiple choice).
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from runtime.formula.engine import FormulaEngine
from runtime.formula.evaluator import Env
from runtime.formula.library import REGISTRY
from tests.formulas import NOW, OBJECT, SCRATCH, STAMP, TODAY

ENGINE = FormulaEngine([SCRATCH])

FIELDS = ("n", "m", "i", "money", "pct", "s", "s2", "d", "d2", "dt", "b", "sel", "tags")
SYSTEM = ("id", "version", "created_at", "updated_at", "created_by", "updated_by")
PATHS = (
    "parent",
    "parent.n",
    "parent.parent.s",
    "parent.tags",
    "children",
    "children.n",
    "children.s",
    "children.tags",
    "children.parent.n",
)
MISSPELLED = (
    "nn",
    "mony",
    "Money",
    "sell",
    "tag",
    "Children",
    "parent.x",
    "s.t",
    "n.value",
    "_secret",
    "__class__",
    "__builtins__",
    "children.__class__",
    "x",
)
UNKNOWN_FUNCTIONS = (
    "SUMM",
    "IFF",
    "__IMPORT__",
    "EVAL",
    "EXEC",
    "GETATTR",
    "OPEN",
    "ROUNDD",
    "LAMBDA",
)
NUMBERS = (
    "0",
    "1",
    "2",
    "-1",
    "7",
    "12",
    "100",
    "0.5",
    "2.5",
    "-2.5",
    "0.125",
    "1.005",
    ".5",
    "3.14159",
    "0.0001",
    "1e3",
    "1.5E-2",
    "1e-40",
    "1e40",
    "1e300",
    "9223372036854775807",
    "9223372036854775808",
    "99999999999999999999999999999999999999",
    "100000000000000000000000000000000000000",
    "0.000000000000000000000000000000000001",
    "123456789012345678901234567890.123456789",
)
TEXTS = (
    '""',
    '"a"',
    '"x"',
    '"S"',
    '"B"',
    '"Q"',
    '"a""b"',
    '""""',
    '"O\'Brien"',
    '"héllo ✓ 中文 🙂"',
    '"two\nlines"',
    '"2024-02-29"',
    '"2023-02-29"',
    '"2025-03-10"',
    '"2025-03-10 09:30"',
    '"9999-12-31"',
    '"0001-01-01"',
    '"M"',
    '"YD"',
    '"quarter"',
    '"%999999999d"',
    '"{0.__class__}"',
    '" , "',
)
KEYWORDS = ("TRUE", "FALSE", "true", "NULL", "BLANK", "@me")
BINARY = ("+", "-", "*", "/", "&", "=", "<>", "<", "<=", ">", ">=")
GARBAGE = (
    *"[]{}'`$#%^~!?;:\\|@_",
    "**",
    "//",
    "<<",
    "==",
    "!=",
    "\x00",
    "\u200b",
    "\n",
    "\t",
    "é",
    "中",
    "🙂",
    "lambda",
    ".__class__",
    "[0]",
    "(",
    ")",
    ",",
    '"',
    ".",
    "..",
)


def functions() -> list[str]:
    return sorted(REGISTRY)


class Generator:
    """Random formulas (well-formed by construction, then sometimes mangled)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.names = functions()

    def leaf(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.35:
            return rng.choice(FIELDS)
        if roll < 0.45:
            return rng.choice(PATHS + SYSTEM)
        if roll < 0.5:
            return rng.choice(MISSPELLED)
        if roll < 0.75:
            return rng.choice(NUMBERS)
        if roll < 0.93:
            return rng.choice(TEXTS)
        return rng.choice(KEYWORDS)

    def call(self, depth: int) -> str:
        rng = self.rng
        if rng.random() < 0.05:
            name = rng.choice(UNKNOWN_FUNCTIONS)
            low, high = 0, 3
        else:
            name = rng.choice(self.names)
            low, high_or_none = REGISTRY[name].arity()
            high = high_or_none if high_or_none is not None else low + 3
        count = rng.randint(low, high)
        if rng.random() < 0.1:  # a wrong number of arguments
            count = max(0, count + rng.choice((-1, 1, 2)))
        if rng.random() < 0.2:
            name = name.lower()
        args = ", ".join(self.expr(depth - 1) for _ in range(count))
        return f"{name}({args})"

    def expr(self, depth: int) -> str:
        rng = self.rng
        if depth <= 0 or rng.random() < 0.3:
            return self.leaf()
        roll = rng.random()
        if roll < 0.4:
            return self.call(depth)
        if roll < 0.75:
            op = rng.choice(BINARY)
            return f"{self.expr(depth - 1)} {op} {self.expr(depth - 1)}"
        if roll < 0.85:
            return f"-{self.expr(depth - 1)}"
        if roll < 0.95:
            return f"({self.expr(depth - 1)})"
        return " & ".join(self.expr(depth - 1) for _ in range(rng.randint(2, 5)))

    def mangle(self, text: str) -> str:
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            where = rng.randint(0, len(text))
            roll = rng.random()
            if roll < 0.3:
                text = text[:where] + rng.choice(GARBAGE) + text[where:]
            elif roll < 0.5 and text:
                text = text[:where] + text[where + 1 :]
            elif roll < 0.6:
                text = text[:where]
            elif roll < 0.7:
                piece = text[where : where + rng.randint(1, 8)]
                text = text[:where] + piece + piece + text[where:]
            elif roll < 0.8:
                text = "=" + text if rng.random() < 0.5 else text + ")"
            elif roll < 0.9:
                text = "(" * rng.randint(1, 80) + text
            else:
                text = text.replace(rng.choice(("(", ",", '"', " ")), rng.choice(GARBAGE), 1)
        return text

    def formula(self) -> str:
        text = self.expr(self.rng.randint(1, 5))
        if self.rng.random() < 0.25:
            text = self.mangle(text)
        return text


def corpus(seed: int, count: int) -> list[str]:
    gen = Generator(seed)
    return [gen.formula() for _ in range(count)]


VALUES: dict[str, Any] = {
    "n": Decimal("12.5000"),
    "m": Decimal("0.0000"),  # a zero divisor
    "i": -3,
    "money": Decimal("1999.99"),
    "pct": Decimal("0.1250"),
    "s": 'He said "hi" ✓ 🙂',
    "s2": "",
    "d": date(2024, 2, 29),
    "d2": None,
    "dt": datetime(2025, 3, 10, 9, 30, 0),
    "b": True,
    "sel": "B",
    "tags": ["x", "z"],
}


def python_record(values: Mapping[str, Any] = VALUES) -> dict[str, Any]:
    """The record as the evaluator sees it: every field (blank unless given) and the
    system columns."""
    info = ENGINE.catalog[OBJECT]
    record: dict[str, Any] = dict.fromkeys(info.fields)
    record.update(values)
    record.update({"id": 1, "version": 1, "created_at": STAMP, "updated_at": STAMP, "parent": None})
    return record


def env(me: int | None = 7) -> Env:
    """No lookups: formulas reading other records fail with FORMULA_CONTEXT."""
    return Env(TODAY, NOW, me)
