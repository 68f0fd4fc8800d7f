"""Text, continued: characters and codes, converting between numbers and text (TEXT,
VALUE, FIXED), joining with separators, and regular expressions. The shared rules are in
text.py's docstring.

Regular expressions are Python's (``re``), Unicode-aware, and checked before use: a
pattern must pass ``regex_problem`` (no nested repeats, no back-references, at most 200
characters), the text may have at most 100,000 characters, and a pattern whose
backtracking could take too long on the given text (too many optional or repeated parts
for its length) is refused. Regular expressions cannot run inside the database."""

from __future__ import annotations

import functools
import re
import re._parser as sre_parse  # type: ignore[import-not-found]  # Python 3.11+
import string
from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from runtime import decimals
from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.library.base import EvalError, fn, pg
from runtime.formula.library.text import _OMITTED, _limit, _nth, _pg_int, _txt, _whole
from runtime.formula.operators import MAX_TEXT, text_of
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


# -- numbers and text -------------------------------------------------------------------

_SPACES = " \t\r\n"
_NUMBER = (
    r"[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,3})?%?"
)
_NUMBER_RE = re.compile(_NUMBER)
_LIMIT = Decimal(10) ** decimals.MAX_DIGITS


def _shift(value: Decimal, places: int) -> Decimal:
    """``value`` times 10**places, exactly (no context rounding)."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    return Decimal((sign, digits, exponent + places))


def _in_range(value: Decimal) -> Decimal | None:
    """A parsed number Tenon can hold (38 whole digits), rounded to 30 places; else None."""
    if abs(value) >= _LIMIT:
        return None
    value = decimals.checked(value)
    if value.as_tuple().exponent > 0:  # type: ignore[operator]  # 1E+3: write it out
        return value.quantize(Decimal(1), context=decimals.CONTEXT)
    return value


def _parse(text: str) -> Decimal | None:
    core = text.strip(_SPACES)
    if not _NUMBER_RE.fullmatch(core):
        return None
    value = Decimal(core.rstrip("%").replace(",", ""))
    return _in_range(_shift(value, -2) if core.endswith("%") else value)


def _value_pg(text: Any) -> Any:
    core = _txt("btrim", text, _SPACES)
    plain = sa.cast(_txt("replace", _txt("replace", core, ",", ""), "%", ""), sa.Numeric())
    value = sa.case(
        (_txt("right", core, 1) == "%", plain * sa.literal(Decimal("0.01"))), else_=plain
    )
    return sa.case(
        (sa.not_(core.regexp_match(f"^(?:{_NUMBER})$")), sa.null()),
        (sa.func.abs(value) >= _LIMIT, sa.null()),
        (sa.func.scale(value) > decimals.MAX_SCALE, sa.func.round(value, decimals.MAX_SCALE)),
        else_=value,
    )


@fn(
    "VALUE",
    "text",
    "text: text",
    "number",
    'The number a text shows, such as "1,234.5", " 12 ", "-3.5E2" or "15%".',
    'VALUE("1,234.5")',
    "1234.5",
    sql=pg(lambda c, a, call: _value_pg(a[0])),
    notes="Text that is not a number gives blank (Excel: #VALUE!). Commas must group "
    "digits in threes; currency signs, dates and times are not read; spaces, tabs and "
    "line breaks around the number are ignored.",
)
def _value(text: str | None) -> Decimal | None:
    return None if text is None else _parse(text)


@fn(
    "NUMBERVALUE",
    "text",
    "text: text, decimal_separator?: text, group_separator?: text",
    "number",
    "The number a text shows with the given decimal and group separators "
    '(default "." and ","); spaces anywhere are ignored.',
    'NUMBERVALUE("1.234,5", ",", ".")',
    "1234.5",
    notes="Empty text gives blank (Excel: 0); the default separators do not depend on the locale.",
)
def _numbervalue(text: str | None, decimal: Any = ".", group: Any = ",") -> Decimal | None:
    if text is None or decimal is None or group is None:
        return None
    point, comma = (decimal or ".")[0], (group or ",")[0]
    core = "".join(ch for ch in text if ch not in _SPACES)
    whole, has_point, fraction = core.partition(point)
    if point == comma or point in fraction or comma in fraction:
        return None
    core = whole.replace(comma, "") + ("." + fraction if has_point else "")
    percents = len(core) - len(core.rstrip("%"))
    core = core.rstrip("%")
    if not re.fullmatch(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)", core):
        return None
    return _in_range(_shift(Decimal(core), -2 * percents))


_NUMBER_CODE = re.compile(r"(#,##)?0(?:\.(0{1,30}))?(%?)")
_NUMBER_CODE_PG = r"^(#,##)?0(\.0{1,30})?%?$"
_DATE_CODES = {  # upper-cased code: (Python format, PostgreSQL to_char template)
    "YYYY-MM-DD": ("{y:04}-{mo:02}-{d:02}", "YYYY-MM-DD"),
    "YYYY/MM/DD": ("{y:04}/{mo:02}/{d:02}", "YYYY/MM/DD"),
    "YYYY年MM月DD日": ("{y:04}年{mo:02}月{d:02}日", 'YYYY"年"MM"月"DD"日"'),
    "YYYY年MM月": ("{y:04}年{mo:02}月", 'YYYY"年"MM"月"'),
    "YYYY-MM": ("{y:04}-{mo:02}", "YYYY-MM"),
    "YYYYMMDD": ("{y:04}{mo:02}{d:02}", "YYYYMMDD"),
    "MM/DD/YYYY": ("{mo:02}/{d:02}/{y:04}", "MM/DD/YYYY"),
    "DD.MM.YYYY": ("{d:02}.{mo:02}.{y:04}", "DD.MM.YYYY"),
    "HH:MM": ("{h:02}:{mi:02}", "HH24:MI"),
    "HH:MM:SS": ("{h:02}:{mi:02}:{s:02}", "HH24:MI:SS"),
    "YYYY-MM-DD HH:MM": ("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}", "YYYY-MM-DD HH24:MI"),
    "YYYY-MM-DD HH:MM:SS": (
        "{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}",
        "YYYY-MM-DD HH24:MI:SS",
    ),
}
_CODES_HELP = (
    "0, 0.00, #,##0, #,##0.00, 0%, 0.0% (any number of zeros after the point, up to 30), "
    "YYYY-MM-DD, YYYY/MM/DD, YYYY年MM月DD日, YYYY年MM月, YYYY-MM, YYYYMMDD, MM/DD/YYYY, "
    "DD.MM.YYYY, HH:mm, HH:mm:ss, YYYY-MM-DD HH:mm, YYYY-MM-DD HH:mm:ss"
)
_RAISE = str.maketrans(string.ascii_lowercase, string.ascii_uppercase)
_GROUPED = "FM" + "999," * 14 + "990"  # to_char templates: 45 digits, with or without commas
_PLAIN = "FM" + "9" * 44 + "0"


def _digits(value: Any, places: int, grouping: bool, percent: bool = False) -> str:
    """A number rounded half away from zero to ``places`` decimals, as text."""
    dec = Decimal(value)
    if percent:
        dec = _shift(dec, 2)
    rounded = dec.quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP, decimals.CONTEXT)
    body = format(rounded.copy_abs(), ",f" if grouping else "f")  # abs() would round
    return ("-" if rounded < 0 else "") + body + ("%" if percent else "")


def _digits_pg(value: Any, places: Any, grouping: Any, percent: Any = None) -> Any:
    number: Any = sa.cast(value, sa.Numeric())
    if percent is not None:
        number = sa.case((percent, number * 100), else_=number)
    template = sa.case((grouping, _GROUPED), else_=_PLAIN) + sa.case(
        (places > 0, "." + _txt("repeat", "0", places)), else_=""
    )
    shown = _txt("to_char", sa.func.round(number, places), template)
    return shown if percent is None else shown + sa.case((percent, "%"), else_="")


def _format_number(value: Any, code: str) -> str | None:
    match = _NUMBER_CODE.fullmatch(code)
    if match is None:
        return None
    places = len(match.group(2) or "")
    return _digits(value, places, bool(match.group(1)), bool(match.group(3)))


def _format_date(value: date, code: str) -> str | None:
    spec = _DATE_CODES.get(code.translate(_RAISE))
    if spec is None:
        return None
    moment = value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)
    return spec[0].format(
        y=moment.year,
        mo=moment.month,
        d=moment.day,
        h=moment.hour,
        mi=moment.minute,
        s=moment.second,
    )


def _text_type(types: Sequence[FType], call: ir.Call) -> FType:
    """TEXT's result type; a literal format is checked here (unknown code, wrong kind)."""
    if types[0].kind in ("record", "user", "json"):
        raise FormulaError(
            f"TEXT() shows numbers, dates and text, not a {types[0]}",
            call.args[0].pos,
            "FORMULA_TYPE",
        )
    code = call.args[1] if len(call.args) > 1 else None
    if isinstance(code, ir.Const) and isinstance(code.value, str) and code.value:
        number = _NUMBER_CODE.fullmatch(code.value) is not None
        when = code.value.translate(_RAISE) in _DATE_CODES
        kind = types[0].kind
        if not number and not when:
            raise FormulaError(
                f"TEXT() has no format {code.value!r}; use one of: {_CODES_HELP}",
                code.pos,
                "FORMULA_ARGUMENTS",
            )
        if (number and kind in ("date", "datetime")) or (when and kind == "number"):
            raise FormulaError(
                f"TEXT() format {code.value!r} is for "
                f"{'numbers' if number else 'dates and times'}, but the value is a {types[0]}",
                code.pos,
                "FORMULA_ARGUMENTS",
            )
    return TEXT


def _text_pg(c: Any, a: list[Any], call: ir.Call) -> Any:
    value, ftype = a[0], call.args[0].type
    kind = ftype.kind
    if kind == "any":
        raise FormulaError(
            "TEXT() of a value whose type is not known cannot run inside the database",
            call.pos,
            "FORMULA_SQL",
        )
    if kind in ("date", "datetime"):
        default = _txt(
            "to_char", value, "YYYY-MM-DD" + (" HH24:MI:SS" if kind == "datetime" else "")
        )
    else:
        default = c.text(value, ftype)
    default = sa.case((value.is_(None), sa.null()), else_=default)
    if len(a) < 2 or kind in ("boolean", "blank"):
        return default
    code = a[1]
    if kind in ("date", "datetime"):
        raised = _txt("translate", code, string.ascii_lowercase, string.ascii_uppercase)
        templates = {k: _txt("to_char", value, t) for k, (_, t) in _DATE_CODES.items()}
        formatted = sa.case(templates, value=raised, else_=sa.null())
    else:
        number = _value_pg(value) if kind == "text" else value
        point = sa.func.strpos(code, ".")
        places = sa.case((point > 0, sa.func.length(_txt("rtrim", code, "%")) - point), else_=0)
        grouped, percent = _txt("left", code, 1) == "#", _txt("right", code, 1) == "%"
        digits = _digits_pg(number, places, grouped, percent)
        formatted = sa.case((code.regexp_match(_NUMBER_CODE_PG), digits), else_=sa.null())
        if kind == "text":
            formatted = sa.case((number.is_(None), value), else_=formatted)
    return sa.case((sa.func.coalesce(code, "") == "", default), else_=formatted)


@fn(
    "TEXT",
    "text",
    "value: any, format?: text",
    _text_type,
    "A number or date as text in a format: 0, 0.00, #,##0, #,##0.00, 0%, 0.0%, "
    "YYYY-MM-DD, YYYY/MM/DD, YYYY年MM月DD日, MM/DD/YYYY, DD.MM.YYYY, HH:mm and a few "
    "more; without a format, as `&` shows it.",
    'TEXT(-1234.567, "#,##0.00")',
    '"-1,234.57"',
    sql=pg(_text_pg),
    notes="Only these codes (case does not matter for dates): "
    + _CODES_HELP
    + ". A literal unknown format is refused when the formula is checked; a format from a "
    "field that is not one of them gives blank. Rounding is half away from zero, and a "
    "value that rounds to zero has no minus sign. A number with a date format (or a date "
    "with a number format) gives blank: Tenon has no date serial numbers. Text that is "
    "a number is formatted as one; other text is returned as it is.",
)
def _text(value: Any, code: Any = _OMITTED) -> str | None:
    if value is None:
        return None
    if code is _OMITTED or not code or isinstance(value, bool):
        return text_of(value)
    if isinstance(value, str):
        number = _parse(value)
        if number is None:
            return value
        value = number
    if isinstance(value, date):
        return _format_date(value, code)
    return _format_number(value, code) if isinstance(value, int | Decimal) else None


def _fixed_pg(c: Any, a: list[Any], call: Any) -> Any:
    wanted = _pg_int(a[1]) if len(a) > 1 else sa.literal(2)
    places = sa.case((wanted > decimals.MAX_SCALE, decimals.MAX_SCALE), else_=wanted)
    plain = c.cond(a[2]) if len(a) > 2 else sa.false()
    rounded = sa.func.round(sa.cast(a[0], sa.Numeric()), places)
    shown = sa.case((places > 0, places), else_=0)
    return sa.case(
        (sa.func.abs(rounded) >= _LIMIT, sa.null()),
        else_=_digits_pg(rounded, shown, sa.not_(plain)),
    )


@fn(
    "FIXED",
    "text",
    "number: number, decimals?: number, no_commas?: condition",
    "text",
    "The number rounded to `decimals` places (default 2; negative rounds to tens, "
    "hundreds, …) as text with thousands separators, or without them when `no_commas` "
    "is TRUE.",
    "FIXED(1234567.891, 1)",
    '"1,234,567.9"',
    sql=pg(_fixed_pg),
    notes="At most 30 decimal places (Excel: 127); halves round away from zero.",
)
def _fixed(number: Any, places: Any = 2, no_commas: Any = False) -> str | None:
    wanted = _whole(places)
    if number is None or wanted is None:
        return None
    rounded = decimals.round_to(number, min(wanted, decimals.MAX_SCALE))
    assert rounded is not None
    return _digits(rounded, max(min(wanted, decimals.MAX_SCALE), 0), no_commas is not True)


@fn(
    "TEXTJOIN",
    "text",
    "separator: text, ignore_empty: condition, value...: value",
    "text",
    "Joins the values (lists are spread out) with `separator` between them; when "
    "`ignore_empty` is TRUE, blank and empty values are left out.",
    'TEXTJOIN(" / ", TRUE, "HR", BLANK(), "Payroll")',
    '"HR / Payroll"',
    min_args=3,
    notes="Values are shown as `&` shows them (numbers without trailing zeros, dates as "
    "YYYY-MM-DD). The result may have up to 100,000 characters (Excel: 32,767).",
)
def _textjoin(separator: Any, ignore_empty: Any, *values: Any) -> str:
    sep, skip = text_of(separator), ignore_empty is True
    pieces: list[str] = []
    size = 0
    for value in values:
        for item in value if isinstance(value, list) else [value]:
            piece = text_of(item)
            if skip and not piece:
                continue
            size += len(piece) + (len(sep) if pieces else 0)
            _limit(size)
            pieces.append(piece)
    return sep.join(pieces)


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
