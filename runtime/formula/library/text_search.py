"""Text, continued: characters and codes (PROPER, CHAR, UNICHAR, UNICODE, CODE, CLEAN),
the text before or after a delimiter (TEXTBEFORE, TEXTAFTER), and regular expressions
(REGEX_MATCH, REGEX_EXTRACT, REGEX_REPLACE). The shared rules are in text.py's docstring.

Regular expressions are Python's (``re``), Unicode-aware, and checked before use: a
pattern must pass ``regex_problem`` (no nested repeats, no back-references, at most 200
characters), the text may have at most 100,000 characters, and a pattern whose
backtracking could take too long on the given text (too many optional or repeated parts
for its length) is refused. Regular expressions cannot run inside the database."""

from __future__ import annotations

import functools
import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # Python 3.11+
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa

from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.library.base import EvalError, fn, pg
from runtime.formula.library.text import _limit, _nth, _pg_int, _txt, _whole
from runtime.formula.operators import MAX_TEXT
from runtime.formula.types import BOOLEAN, TEXT, FType
from runtime.metadata.regexsafe import regex_problem


def _is_cased(ch: str) -> bool:
    return ch.lower() != ch.upper()


def _one(mapped: str, ch: str) -> str:
    return mapped if len(mapped) == 1 else ch


@fn(
    "PROPER",
    "text",
    "text: text",
    "text",
    "Capitalises each letter that follows a non-letter and puts the other letters in "
    "small letters.",
    'PROPER("zhang SAN-feng")',
    '"Zhang San-Feng"',
    notes="As in Excel, a letter after a digit or an apostrophe is capitalised "
    '("2Nd", "It\'S"). Letters are characters with upper and lower case, so Chinese '
    'characters count as non-letters ("深圳Tech"). A letter whose capital is two '
    "letters (ß) is kept.",
)
def _proper(text: str | None) -> str | None:
    if text is None:
        return None
    out, prev = [], False
    for ch in text:
        cased = _is_cased(ch)
        out.append(_one(ch.lower(), ch) if prev else _one(ch.upper(), ch))
        prev = cased
    return "".join(out)


def _char_pg(top: int) -> Any:
    def sql(c: Any, a: list[Any], call: Any) -> Any:
        n = _pg_int(a[0])
        ok = sa.and_(n >= 1, n <= top, sa.not_(n.between(0xD800, 0xDFFF)))
        return sa.case((ok, _txt("chr", n)), else_=sa.null())

    return pg(sql)


def _char(number: Any, top: int) -> str | None:
    n = _whole(number)
    if n is None or not 1 <= n <= top or 0xD800 <= n <= 0xDFFF:
        return None
    return chr(n)


@fn(
    "CHAR",
    "text",
    "code: number",
    "text",
    "The character with code `code` (1 to 255); CHAR(10) is a line break.",
    "CHAR(65)",
    '"A"',
    sql=_char_pg(255),
    notes="Codes are Unicode (128–255 are Latin-1), not the Windows or Mac code page that "
    "Excel uses: CHAR(128) is a control character, not €. Outside 1–255 gives blank.",
)
def _char_fn(code: Any) -> str | None:
    return _char(code, 255)


@fn(
    "UNICHAR",
    "text",
    "code: number",
    "text",
    "The character with Unicode code point `code`.",
    "UNICHAR(28145)",
    '"深"',
    sql=_char_pg(0x10FFFF),
    notes="0, surrogates (55296–57343) and codes above 1114111 give blank (Excel: #VALUE!).",
)
def _unichar(code: Any) -> str | None:
    return _char(code, 0x10FFFF)


def _code_pg(c: Any, a: list[Any], call: Any) -> Any:
    return sa.case((a[0] == "", sa.null()), else_=sa.func.ascii(a[0]))


def _code(text: str | None) -> int | None:
    return ord(text[0]) if text else None


@fn(
    "UNICODE",
    "text",
    "text: text",
    "integer",
    "The Unicode code point of the first character.",
    'UNICODE("深圳")',
    "28145",
    sql=pg(_code_pg),
    notes="Empty text gives blank (Excel: #VALUE!).",
)
def _unicode(text: Any) -> int | None:
    return _code(text)


@fn(
    "CODE",
    "text",
    "text: text",
    "integer",
    "The code of the first character (the same as UNICODE).",
    'CODE("A")',
    "65",
    sql=pg(_code_pg),
    notes="Always the Unicode code point (Excel uses the system code page, e.g. GBK for "
    "Chinese characters on Chinese Windows). Empty text gives blank.",
)
def _code_fn(text: Any) -> int | None:
    return _code(text)


_CONTROL = "".join(chr(i) for i in range(1, 32))
_CLEAN = str.maketrans("", "", "\0" + _CONTROL)


@fn(
    "CLEAN",
    "text",
    "text: text",
    "text",
    "Removes the control characters (codes 0–31, such as line breaks and tabs).",
    'CLEAN("a" & CHAR(10) & "b")',
    '"ab"',
    sql=pg(lambda c, a, call: _txt("translate", a[0], _CONTROL, "")),
    notes="As in Excel, other invisible characters (127, non-breaking spaces, zero-width "
    "spaces) are kept.",
)
def _clean(text: str | None) -> str | None:
    return None if text is None else text.translate(_CLEAN)


def _around(text: str | None, delimiter: Any, instance: Any, after: bool) -> str | None:
    k = _whole(instance)
    if text is None or k is None:
        return None
    mark = str(delimiter or "")
    pos = _nth(text, mark, k)
    if pos is None:
        return None
    return text[pos + len(mark) :] if after else text[:pos]


@fn(
    "TEXTBEFORE",
    "text",
    "text: text, delimiter: text, instance?: number",
    "text",
    "The text before the `instance`-th `delimiter` (default the first; negative counts "
    "from the end); blank when there is no such delimiter.",
    'TEXTBEFORE("zhang.san@example.com", "@")',
    '"zhang.san"',
    notes="Not found gives blank (Excel: #N/A); no match-mode or if-not-found arguments.",
)
def _textbefore(text: str | None, delimiter: Any, instance: Any = 1) -> str | None:
    return _around(text, delimiter, instance, after=False)


@fn(
    "TEXTAFTER",
    "text",
    "text: text, delimiter: text, instance?: number",
    "text",
    "The text after the `instance`-th `delimiter` (default the first; negative counts "
    "from the end); blank when there is no such delimiter.",
    'TEXTAFTER("/1/4/9/", "/", -2)',
    '"9/"',
    notes="Not found gives blank (Excel: #N/A); no match-mode or if-not-found arguments.",
)
def _textafter(text: str | None, delimiter: Any, instance: Any = 1) -> str | None:
    return _around(text, delimiter, instance, after=True)


# -- regular expressions ----------------------------------------------------------------

_WORK = 10**8  # at most this many backtracking paths (start positions × ways to match)
_REPEATS = ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT")


def _shown(pattern: str) -> str:
    return repr(pattern if len(pattern) <= 40 else pattern[:40] + "…")


def _regex_message(pattern: str, problem: str) -> str:
    if problem.startswith("is "):
        return f"the regular expression {_shown(pattern)} {problem}"
    return f"the regular expression {_shown(pattern)} cannot be used: {problem}"


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> tuple[re.Pattern[str], Any]:
    """The compiled pattern and its parse, or EvalError naming what is wrong with it."""
    problem = regex_problem(pattern)
    if problem is not None:
        raise EvalError(_regex_message(pattern, problem))
    return re.compile(pattern), sre_parse.parse(pattern)


def _ways(items: Any, n: int, tail: bool = False) -> int:
    """An upper bound on the ways ``items`` can match from one position of an n-character
    text (the paths a backtracking matcher may try); capped just above the budget. At the
    ``tail`` of the pattern a simple repeat adds no ways: nothing after it can fail."""
    total = 1
    for i, (op, arg) in enumerate(items):
        name, end = str(op), tail and i == len(items) - 1
        if name in _REPEATS:
            low, high, inner = arg
            each, top = _ways(inner, n), min(high, n)
            if each == 1:
                ways = 1 if end else max(top - low, 0) + 1
            elif high <= 1:  # (…)? around a part with choices
                ways = _ways(inner, n, end) + (low == 0)
            else:
                ways = _WORK + 1
        elif name == "BRANCH":
            ways = sum(_ways(b, n, end) for b in arg[1])
        elif name == "SUBPATTERN":
            ways = _ways(arg[-1], n, end)
        elif name in ("ASSERT", "ASSERT_NOT"):
            ways = _ways(arg[1], n)
        elif name == "ATOMIC_GROUP":
            ways = _ways(arg, n)
        else:
            ways = 1
        total = min(total * ways, _WORK + 1)
    return total


def _compiled(pattern: str, text: str) -> re.Pattern[str]:
    """The pattern, checked for safety and for its cost on ``text``."""
    if len(text) > MAX_TEXT:
        raise EvalError(
            f"a regular expression can search at most {MAX_TEXT:,} characters, "
            f"but the text has {len(text):,}"
        )
    compiled, parsed = _regex(pattern)
    first = list(parsed)[:1]
    anchored = (
        bool(first)
        and str(first[0][0]) == "AT"
        and (
            str(first[0][1]) == "AT_BEGINNING_STRING"
            or (str(first[0][1]) == "AT_BEGINNING" and not compiled.flags & re.MULTILINE)
        )
    )
    starts = 1 if anchored else len(text) + 1
    if starts * _ways(parsed, len(text), tail=True) > _WORK:
        raise EvalError(
            f"the regular expression {_shown(pattern)} could take too long on a text of "
            f"{len(text):,} characters (it has too many optional or repeated parts); "
            "simplify it, anchor it with ^, or use a shorter text"
        )
    return compiled


def _pattern_checked(result: FType) -> Any:
    """The result type of a REGEX_ function; a literal pattern is checked here."""

    def returns(types: Sequence[FType], call: ir.Call) -> FType:
        pattern = call.args[1]
        if isinstance(pattern, ir.Const) and isinstance(pattern.value, str):
            problem = regex_problem(pattern.value)
            if problem is not None:
                code = "FORMULA_ARGUMENTS" if "not a valid" in problem else "FORMULA_LIMIT"
                raise FormulaError(_regex_message(pattern.value, problem), pattern.pos, code)
        return result

    return returns


_REGEX_NOTES = (
    "Python's regular expressions (Unicode: \\d and \\w also match Chinese digits and "
    "characters), not PCRE or the database's. Refused: nested repeats such as (a+)+, "
    "back-references, patterns over 200 characters, texts over 100,000 characters, and "
    "patterns that could backtrack too long on the text."
)


@fn(
    "REGEX_MATCH",
    "text",
    "text: text, pattern: text",
    _pattern_checked(BOOLEAN),
    "TRUE when the regular expression matches somewhere in the text (anchor it with ^ "
    "and $ to match all of it).",
    'REGEX_MATCH("PIP-2025-0042", "^PIP-\\d{4}-\\d{4}$")',
    "TRUE",
    notes="Blank text or pattern gives FALSE. " + _REGEX_NOTES,
)
def _regex_match(text: str | None, pattern: str | None) -> bool:
    if text is None or pattern is None:
        return False
    return _compiled(pattern, text).search(text) is not None


@fn(
    "REGEX_EXTRACT",
    "text",
    "text: text, pattern: text",
    _pattern_checked(TEXT),
    "The first match of the regular expression, or of its first group ( … ) when it "
    "has one; blank when nothing matches.",
    'REGEX_EXTRACT("Order #A-1042 shipped", "#([A-Z]-\\d+)")',
    '"A-1042"',
    notes=_REGEX_NOTES,
)
def _regex_extract(text: str | None, pattern: str | None) -> str | None:
    if text is None or pattern is None:
        return None
    found = _compiled(pattern, text).search(text)
    if found is None:
        return None
    value: str | None = found.group(1) if found.re.groups else found.group(0)
    return value


_REFERENCE = re.compile(r"\$(?:([0-9])|\{(\w+)\}|(\$))")


def _template(replacement: str) -> list[str | int]:
    """The replacement as literal pieces and group references ($1, ${name}, $$ for $)."""
    pieces: list[str | int] = []
    at = 0
    for ref in _REFERENCE.finditer(replacement):
        pieces.append(replacement[at : ref.start()])
        digit, name, dollar = ref.groups()
        group = digit or name
        pieces.append("$" if dollar else int(group) if group.isdigit() else group)
        at = ref.end()
    pieces.append(replacement[at:])
    return pieces


def _expand(pieces: list[str | int], found: re.Match[str]) -> str:
    out = []
    for i, piece in enumerate(pieces):
        if i % 2 == 0 or piece == "$":
            out.append(str(piece))
            continue
        try:
            out.append(found.group(piece) or "")
        except (IndexError, re.error):
            out.append("")  # no such group: nothing
    return "".join(out)


@fn(
    "REGEX_REPLACE",
    "text",
    "text: text, pattern: text, replacement: text",
    _pattern_checked(TEXT),
    "Replaces every match of the regular expression; in `replacement`, $1 … $9 (or "
    "${name}) insert a group and $$ a dollar sign.",
    'REGEX_REPLACE("138-0013-8000", "(\\d{3})-(\\d{4})-(\\d{4})", "$1 **** $3")',
    '"138 **** 8000"',
    notes="A reference to a group the pattern does not have inserts nothing; a blank "
    "replacement removes the matches. " + _REGEX_NOTES,
)
def _regex_replace(text: str | None, pattern: str | None, replacement: Any) -> str | None:
    if text is None or pattern is None:
        return None
    compiled = _compiled(pattern, text)
    pieces = _template(str(replacement or ""))
    out: list[str] = []
    at = size = 0
    for found in compiled.finditer(text):
        piece = _expand(pieces, found)
        size += found.start() - at + len(piece)
        _limit(size)
        out += [text[at : found.start()], piece]
        at = found.end()
    _limit(size + len(text) - at)
    out.append(text[at:])
    return "".join(out)
