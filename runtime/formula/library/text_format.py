"""Text, continued: converting between numbers and text (VALUE, NUMBERVALUE, TEXT,
FIXED) and joining values with a separator (TEXTJOIN). The shared rules are in text.py's
docstring."""

from __future__ import annotations

import re
import string
from collections.abc import Sequence
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import sqlalchemy as sa

from runtime import decimals
from runtime.formula import ir
from runtime.formula.errors import FormulaError
from runtime.formula.library.base import fn, pg
from runtime.formula.library.text import _OMITTED, _limit, _pg_int, _txt, _whole
from runtime.formula.operators import text_of
from runtime.formula.types import TEXT, FType

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
