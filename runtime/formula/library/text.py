"""Text: joining, cutting, searching and converting text. Positions count from 1 as in
Excel; text built by a formula is limited to 100,000 characters (longer is an error).

Shared rules: blank text gives blank (LEN too); a blank number argument gives blank; an
out-of-range count or position gives blank where Excel gives #VALUE!, never an error;
decimal counts and positions are truncated. Inside the database a tripped limit gives
blank on both SQLite and PostgreSQL. See also text_format.py (TEXT, VALUE, …) and
text_search.py (FIND-like functions, REGEX_…)."""

from __future__ import annotations

import string
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from runtime.formula.library.base import EvalError, fn, pg
from runtime.formula.operators import MAX_TEXT, bounded, text_of

_BIG = 1_000_000_000  # counts and positions are clamped to this inside PostgreSQL
_OMITTED: Any = object()  # an optional argument left out (a given blank differs)


def _whole(value: Any) -> int | None:
    """A count or position: truncated toward zero (``int`` of a Decimal), blank stays blank."""
    return None if value is None else int(value)


def _limit(size: int) -> None:
    """Refuse (before building it) a text longer than the limit."""
    if size > MAX_TEXT:
        raise EvalError(f"the text would be longer than {MAX_TEXT:,} characters")


def _pg_int(value: Any) -> Any:
    """PostgreSQL: a number argument truncated to an integer, clamped to ±1e9."""
    n = sa.cast(value, sa.Numeric())
    return sa.cast(
        sa.case((n > _BIG, _BIG), (n < -_BIG, -_BIG), else_=sa.func.trunc(n)), sa.Integer()
    )


def _txt(name: str, *args: Any) -> Any:
    """A PostgreSQL text function call typed as text (so ``+`` joins with ``||``)."""
    return getattr(sa.func, name)(*args, type_=sa.Text())


def _pg_bounded(size: Any, value: Any) -> Any:
    """PostgreSQL: ``value`` or blank when ``size`` (computed first) is over the limit."""
    return sa.case((size > MAX_TEXT, sa.null()), else_=value)


@fn(
    "CONCAT",
    "text",
    "value...: value",
    "text",
    "Joins the values as text (blank is empty).",
    'CONCAT("P", 4, "-", TRUE)',
    '"P4-TRUE"',
    min_args=1,
    sql=lambda c, a, call: _concat_sql(c, a, call),
)
def _concat(*values: Any) -> str:
    return bounded("".join(text_of(v) for v in values))


def _concat_sql(c: Any, a: list[Any], call: Any) -> Any:
    out = None
    for arg, expr in zip(a, call.args, strict=True):
        piece = c.text(arg, expr.type)
        out = piece if out is None else out + piece
    return out


@fn(
    "CONTAINS",
    "text",
    "within: value, find: any",
    "boolean",
    "For text: TRUE when `find` occurs in it (case-sensitive). For a multiple choice or "
    "other list: TRUE when `find` is one of its values.",
    'CONTAINS("Shenzhen R&D", "R&D")',
    "TRUE",
    sql=pg(lambda c, a, call: _contains_pg(c, a, call)),
)
def _contains(within: Any, find: Any) -> bool:
    if within is None or find is None:
        return False
    if isinstance(within, list):
        return any(v == find for v in within)
    return text_of(find) in text_of(within)


def _contains_pg(c: Any, a: list[Any], call: Any) -> Any:
    if call.args[0].type.kind == "list":
        wanted = sa.func.jsonb_build_array(a[1])
        return sa.func.coalesce(
            sa.cast(a[0], postgresql.JSONB()).op("@>", return_type=sa.Boolean())(wanted),
            sa.false(),
        )
    within = c.text(a[0], call.args[0].type)
    found = sa.func.strpos(within, c.text(a[1], call.args[1].type)) > 0
    return sa.func.coalesce(sa.and_(a[1].is_not(None), found), sa.false())


def _affix_pg(side: str, a: list[Any]) -> Any:
    """STARTS_WITH / ENDS_WITH: never NULL, and FALSE for a blank prefix or suffix (a
    literal BLANK() must not become ``IS NULL``)."""
    same = _txt(side, a[0], sa.func.length(a[1])).op("=", is_comparison=True)(a[1])
    return sa.func.coalesce(sa.and_(a[1].is_not(None), same), sa.false())


def _starts_sqlite(a: list[Any]) -> Any:
    """SQLite: ``substr`` counts characters, as Python does (permission scopes on paths
    run this for every row, so it stays out of Python)."""
    same = sa.func.substr(a[0], 1, sa.func.length(a[1])).op("=", is_comparison=True)(a[1])
    return sa.func.coalesce(sa.and_(a[1].is_not(None), same), sa.false())


@fn(
    "STARTS_WITH",
    "text",
    "text: text, prefix: text",
    "boolean",
    "TRUE when the text begins with `prefix` (case-sensitive); for hierarchy paths such as "
    '`STARTS_WITH(department.path, "/1/4/")`.',
    'STARTS_WITH("/1/4/9/", "/1/4/")',
    "TRUE",
    sql=lambda c, a, call: _starts_sqlite(a) if c.sqlite else _affix_pg("left", a),
)
def _starts_with(text: Any, prefix: Any) -> bool:
    if text is None or prefix is None:
        return False
    return str(text).startswith(str(prefix))


@fn(
    "LEN",
    "text",
    "text: text",
    "integer",
    "The number of characters.",
    'LEN("Tenon")',
    "5",
    sql=lambda c, a, call: sa.func.length(a[0]),
    notes="Blank gives blank (Excel: 0); IFBLANK(LEN(x), 0) counts it as 0.",
)
def _len(text: Any) -> int | None:
    return None if text is None else len(text)


@fn(
    "UPPER",
    "text",
    "text: text",
    "text",
    "The text in capitals.",
    'UPPER("hr")',
    '"HR"',
    notes="Python only: databases change the case of letters such as ß and final σ by "
    "their own, locale-dependent rules; use SEARCH for case-insensitive filters.",
)
def _upper(text: Any) -> str | None:
    return None if text is None else bounded(str(text).upper())  # ß → SS grows text


@fn(
    "LOWER",
    "text",
    "text: text",
    "text",
    "The text in small letters.",
    'LOWER("HR")',
    '"hr"',
    notes="Python only, as UPPER.",
)
def _lower(text: Any) -> str | None:
    return None if text is None else bounded(str(text).lower())


@fn(
    "CONCATENATE",
    "text",
    "value...: value",
    "text",
    "The same as CONCAT (Excel's older name).",
    'CONCATENATE("HR-", 2025)',
    '"HR-2025"',
    min_args=1,
    sql=lambda c, a, call: _concat_sql(c, a, call),
)
def _concatenate(*values: Any) -> str:
    return bounded("".join(text_of(v) for v in values))


def _cut_pg(func: str) -> Any:
    def sql(c: Any, a: list[Any], call: Any) -> Any:
        n = _pg_int(a[1]) if len(a) > 1 else sa.literal(1)
        return sa.case((n < 0, sa.null()), else_=_txt(func, a[0], n))

    return pg(sql)


@fn(
    "LEFT",
    "text",
    "text: text, count?: number",
    "text",
    "The first `count` characters (default 1); all of the text when it is shorter.",
    'LEFT("深圳研发中心", 2)',
    '"深圳"',
    sql=_cut_pg("left"),
    notes="A negative count gives blank (Excel: #VALUE!).",
)
def _left(text: str | None, count: Any = 1) -> str | None:
    n = _whole(count)
    return None if text is None or n is None or n < 0 else text[:n]


@fn(
    "RIGHT",
    "text",
    "text: text, count?: number",
    "text",
    "The last `count` characters (default 1); all of the text when it is shorter.",
    'RIGHT("PIP-2025-0042", 4)',
    '"0042"',
    sql=_cut_pg("right"),
    notes="A negative count gives blank (Excel: #VALUE!).",
)
def _right(text: str | None, count: Any = 1) -> str | None:
    n = _whole(count)
    if text is None or n is None or n < 0:
        return None
    return text[len(text) - n :] if n < len(text) else text


def _mid_pg(c: Any, a: list[Any], call: Any) -> Any:
    start, count = _pg_int(a[1]), _pg_int(a[2])
    return sa.case(
        (sa.or_(start < 1, count < 0), sa.null()), else_=_txt("substr", a[0], start, count)
    )


@fn(
    "MID",
    "text",
    "text: text, start: number, count: number",
    "text",
    "`count` characters from position `start` (1 is the first character).",
    'MID("Shenzhen R&D", 4, 5)',
    '"nzhen"',
    sql=pg(_mid_pg),
    notes="A start below 1 or a negative count gives blank (Excel: #VALUE!); a start "
    "beyond the end gives empty text.",
)
def _mid(text: str | None, start: Any, count: Any) -> str | None:
    s, n = _whole(start), _whole(count)
    if text is None or s is None or n is None or s < 1 or n < 0:
        return None
    return text[s - 1 : s - 1 + n]


@fn(
    "TRIM",
    "text",
    "text: text",
    "text",
    "Removes spaces at both ends and turns each run of spaces inside into one space.",
    'TRIM("  Shenzhen   R&D ")',
    '"Shenzhen R&D"',
    sql=pg(
        lambda c, a, call: _txt(
            "regexp_replace", _txt("btrim", a[0], " "), " {2,}", sa.literal(" "), "g"
        )
    ),
    notes="As in Excel only the ordinary space (U+0020) is removed: tabs, line breaks, "
    "non-breaking and full-width (U+3000) spaces are kept; CLEAN removes control "
    "characters.",
)
def _trim(text: str | None) -> str | None:
    return None if text is None else " ".join(p for p in text.split(" ") if p)


def _nth(text: str, find: str, k: int) -> int | None:
    """The 0-based index of the k-th occurrence of ``find`` (non-overlapping, from the start;
    from the end when k < 0), or None. An empty ``find`` occurs once, at the start (end)."""
    if not find:
        return (0 if k > 0 else len(text)) if abs(k) == 1 else None
    if k == 0 or abs(k) > len(text):
        return None
    pos = -len(find) if k > 0 else len(text) + len(find)
    for _ in range(abs(k)):
        pos = text.find(find, pos + len(find)) if k > 0 else text.rfind(find, 0, pos)
        if pos < 0:
            return None
    return pos


def _substitute_pg(c: Any, a: list[Any], call: Any) -> Any:
    text, old = a[0], sa.func.coalesce(a[1], "")
    new = sa.func.coalesce(a[2], "")
    grow = sa.func.length(new) - sa.func.length(old)
    if len(a) < 4:
        found = (
            sa.func.length(text) - sa.func.length(_txt("replace", text, old, ""))
        ) / sa.func.nullif(sa.func.length(old), 0)
        size = sa.func.length(text) + sa.func.coalesce(found, 0) * grow
        return _pg_bounded(size, _txt("replace", text, old, new))
    k = _pg_int(a[3])
    parts = sa.func.string_to_array(text, old, type_=postgresql.ARRAY(sa.Text()))
    last = sa.func.cardinality(parts)
    before = _txt("array_to_string", parts[1:k], old)
    after = _txt("array_to_string", parts[k + 1 : last], old)
    return sa.case(
        (k < 1, sa.null()),
        (sa.or_(old == "", k > last - 1), _pg_bounded(sa.func.length(text), text)),
        else_=_pg_bounded(sa.func.length(text) + grow, before + new + after),
    )


@fn(
    "SUBSTITUTE",
    "text",
    "text: text, old: text, new: text, instance?: number",
    "text",
    "Replaces `old` with `new` everywhere, or only its `instance`-th occurrence (case-sensitive).",
    'SUBSTITUTE("2025-03-10", "-", "/", 2)',
    '"2025-03/10"',
    sql=pg(_substitute_pg),
    notes="A blank `new` removes `old`; a blank or empty `old` leaves the text as it is; an "
    "`instance` below 1 gives blank (Excel: #VALUE!).",
)
def _substitute(text: str | None, old: Any, new: Any, instance: Any = _OMITTED) -> str | None:
    if text is None or instance is None:
        return None
    before, after = str(old or ""), str(new or "")
    if instance is _OMITTED:
        _limit(len(text) + (text.count(before) * (len(after) - len(before)) if before else 0))
        return text.replace(before, after) if before else text
    k = int(instance)
    if k < 1:
        return None
    pos = _nth(text, before, k) if before else None
    if pos is None:
        _limit(len(text))
        return text
    _limit(len(text) + len(after) - len(before))
    return text[:pos] + after + text[pos + len(before) :]


def _replace_pg(c: Any, a: list[Any], call: Any) -> Any:
    start, count = _pg_int(a[1]), _pg_int(a[2])
    head = _txt("left", a[0], start - 1)
    out = head + sa.func.coalesce(a[3], "") + _txt("substr", a[0], start + count)
    return sa.case(
        (sa.or_(start < 1, count < 0), sa.null()), else_=_pg_bounded(sa.func.length(out), out)
    )


@fn(
    "REPLACE",
    "text",
    "text: text, start: number, count: number, new: text",
    "text",
    "Replaces `count` characters from position `start` with `new`.",
    'REPLACE("PIP-2024-0042", 5, 4, "2025")',
    '"PIP-2025-0042"',
    sql=pg(_replace_pg),
    notes="A start below 1 or a negative count gives blank (Excel: #VALUE!); a start beyond "
    "the end appends `new`; a blank `new` removes the characters.",
)
def _replace(text: str | None, start: Any, count: Any, new: Any) -> str | None:
    s, n = _whole(start), _whole(count)
    if text is None or s is None or n is None or s < 1 or n < 0:
        return None
    return bounded(text[: s - 1] + (new or "") + text[s - 1 + n :])


_UPPER, _LOWER = string.ascii_uppercase, string.ascii_lowercase
_FOLD = str.maketrans(_UPPER, _LOWER)


def _find(find: Any, within: Any, start: Any, fold: bool) -> int | None:
    s = _whole(start)
    if find is None or within is None or s is None or s < 1 or s > len(within) + 1:
        return None
    if fold:
        find, within = find.translate(_FOLD), within.translate(_FOLD)
    pos = within.find(find, s - 1)
    return None if pos < 0 else pos + 1


def _find_pg(fold: bool) -> Any:
    def sql(c: Any, a: list[Any], call: Any) -> Any:
        find, within = a[0], a[1]
        start = _pg_int(a[2]) if len(a) > 2 else sa.literal(1)
        rest = _txt("substr", within, start)
        if fold:
            find, rest = (_txt("translate", x, _UPPER, _LOWER) for x in (find, rest))
        found = sa.func.nullif(sa.func.strpos(rest, find), 0) + start - 1
        return sa.case(
            (sa.or_(start < 1, start > sa.func.length(within) + 1), sa.null()), else_=found
        )

    return pg(sql)


@fn(
    "FIND",
    "text",
    "find: text, within: text, start?: number",
    "integer",
    "The position of `find` in `within` (case-sensitive), searching from position `start` "
    "(default 1); blank when it does not occur.",
    'FIND("R&D", "Shenzhen R&D")',
    "10",
    sql=_find_pg(fold=False),
    notes="Not found, or a start outside the text, gives blank (Excel: #VALUE!). Empty "
    "`find` gives `start`.",
)
def _find_fn(find: Any, within: Any, start: Any = 1) -> int | None:
    return _find(find, within, start, fold=False)


@fn(
    "SEARCH",
    "text",
    "find: text, within: text, start?: number",
    "integer",
    "Like FIND, but the letters A–Z match either case.",
    'SEARCH("r&d", "Shenzhen R&D")',
    "10",
    sql=_find_pg(fold=True),
    notes="No wildcards (? * ~): use REGEX_MATCH for patterns. Only A–Z are matched "
    "regardless of case; other letters (é, Ä, Greek, Cyrillic, full-width) match only "
    "in the same case, so that filters give the same answer in every database.",
)
def _search(find: Any, within: Any, start: Any = 1) -> int | None:
    return _find(find, within, start, fold=True)


@fn(
    "EXACT",
    "text",
    "a: text, b: text",
    "boolean",
    "TRUE when both texts are the same, character for character (case-sensitive).",
    'EXACT("HR", "hr")',
    "FALSE",
    sql=lambda c, a, call: sa.func.coalesce(a[0], "") == sa.func.coalesce(a[1], ""),
    notes='Blank counts as empty text, as in Excel: EXACT(blank, "") is TRUE.',
)
def _exact(a: Any, b: Any) -> bool:
    return bool((a or "") == (b or ""))


@fn(
    "ENDS_WITH",
    "text",
    "text: text, suffix: text",
    "boolean",
    "TRUE when the text ends with `suffix` (case-sensitive).",
    'ENDS_WITH("report.pdf", ".pdf")',
    "TRUE",
    sql=pg(lambda c, a, call: _affix_pg("right", a)),
)
def _ends_with(text: Any, suffix: Any) -> bool:
    return text is not None and suffix is not None and bool(text.endswith(suffix))


def _rept_pg(c: Any, a: list[Any], call: Any) -> Any:
    n = _pg_int(a[1])
    size = sa.func.length(a[0]) * sa.cast(n, sa.BigInteger())
    times = sa.case((sa.func.length(a[0]) == 0, 0), else_=n)  # repeat('', 1e9) takes seconds
    return sa.case((n < 0, sa.null()), else_=_pg_bounded(size, _txt("repeat", a[0], times)))


@fn(
    "REPT",
    "text",
    "text: text, times: number",
    "text",
    "The text repeated `times` times.",
    'REPT("ab", 3)',
    '"ababab"',
    sql=pg(_rept_pg),
    notes="A negative count gives blank; a result longer than 100,000 characters is an "
    "error (Excel's limit is 32,767).",
)
def _rept(text: str | None, times: Any) -> str | None:
    n = _whole(times)
    if text is None or n is None or n < 0:
        return None
    if not text:
        return ""
    _limit(len(text) * n)
    return str(text * n)
