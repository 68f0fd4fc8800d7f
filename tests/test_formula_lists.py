"""The "list" functions: multiple-choice values (``tags``), related records (``children``,
``children.n``) and lists built by functions."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from runtime.formula.display import display
from runtime.formula.errors import FormulaError
from runtime.formula.library import REGISTRY
from runtime.formula.types import BLANK, TEXT, list_of, number
from tests.formulas import Fx

KIDS = [
    {"n": Decimal("1.5"), "m": Decimal("2"), "sel": "A", "s": "x"},
    {"n": Decimal("2.25"), "m": Decimal("1"), "sel": "B", "s": "y"},
    {"n": None, "m": None, "sel": "A", "s": "z"},
]

NEW = {
    "FIRST",
    "LAST",
    "NTH",
    "FILTER",
    "LOOKUP",
    "LIST",
    "ARRAYCONCAT",
    "SLICE",
    "ARRAYLENGTH",
    "ARRAYCOMPACT",
    "UNIQUE",
    "SORT",
    "REVERSE",
}


def test_every_list_example_gives_its_result(fx: Fx) -> None:
    functions = [f for f in REGISTRY.values() if f.category == "list"]
    assert {f.name for f in functions} >= NEW
    for f in functions:
        assert f.summary and f.example.startswith(f.name + "("), f.name
        assert display(fx.py(f.example)) == f.result, f.name


def test_first_last_nth(fx: Fx) -> None:
    assert fx.py("FIRST(tags)", tags=["y", "x"]) == "y"
    assert fx.py("LAST(tags)", tags=["y", "x"]) == "x"
    for empty in (None, []):
        assert fx.py("FIRST(tags)", tags=empty) is None
        assert fx.py("LAST(tags)", tags=empty) is None
        assert fx.py("NTH(tags, 1)", tags=empty) is None
    assert fx.py("FIRST(children.s)", children=KIDS) == "x"
    assert fx.py("LAST(children.s)", children=KIDS) == "z"
    assert fx.py("LAST(children.n)", children=KIDS) is None  # by position: a blank item
    assert fx.py("LAST(ARRAYCOMPACT(children.n))", children=KIDS) == Decimal("2.25")
    assert fx.py("FIRST(children.n)") is None
    tags = ["x", "y", "z"]
    assert fx.py("NTH(tags, 2)", tags=tags) == "y"
    assert fx.py("NTH(tags, -1)", tags=tags) == "z"
    assert fx.py("NTH(tags, -3)", tags=tags) == "x"
    assert fx.py("NTH(tags, 2.9)", tags=tags) == "y"
    for out_of_range in ("0", "4", "-4", "BLANK()", "i"):
        assert fx.py(f"NTH(tags, {out_of_range})", tags=tags) is None
    assert fx.py("NTH(tags, i)", tags=tags, i=3) == "z"


def test_first_of_records_is_the_oldest_record(fx: Fx) -> None:
    first = fx.py("FIRST(children)", children=KIDS)
    assert isinstance(first, int)
    assert fx.py("NTH(children, 1) = FIRST(children)", children=KIDS) is True
    # ids grow with creation (each fx.py stores the rows anew, so compare within one formula)
    assert fx.py("FIRST(children) = FIRST(SORT(children))", children=KIDS) is True
    assert fx.py("LAST(children) = FIRST(SORT(children, TRUE))", children=KIDS) is True
    assert fx.check("FIRST(children)").type.kind == "record"


def test_result_types_follow_the_list(fx: Fx) -> None:
    assert fx.check("FIRST(children.n)").type == number(4)
    assert fx.check("NTH(LIST(1, 2.5), 1)").type == number(1)
    tags = fx.check("SORT(tags)").type
    assert tags.kind == "list" and tags.of is not None and tags.of.options == ("x", "y", "z")
    assert fx.check("LOOKUP(children.n, n > 1)").type == list_of(number(4))
    assert fx.check('ARRAYCONCAT(tags, SPLIT(s, ","))').type == list_of(TEXT)
    assert fx.check("LIST()").type == list_of(BLANK)
    assert fx.check("ARRAYLENGTH(tags)").type == number(0)
    # the item keeps the options of the multiple choice, so a misspelt option is caught
    assert fx.error('FIRST(tags) = "w"').code == "FORMULA_OPTION"


def test_filter_related_records(fx: Fx) -> None:
    ids = fx.py('FILTER(children, sel = "A")', children=KIDS)
    assert len(ids) == 2 and all(isinstance(i, int) for i in ids)
    assert fx.py('ARRAYLENGTH(FILTER(children, sel = "A"))', children=KIDS) == 2
    assert fx.py("FILTER(children.n, n > 1)", children=KIDS) == [
        Decimal("1.5"),
        Decimal("2.25"),
    ]
    assert fx.py("FILTER(children.s, ISBLANK(n))", children=KIDS) == ["z"]
    assert fx.py("FILTER(children.s, n > 100)", children=KIDS) == []
    assert fx.py("FILTER(children.n, n > 1)") == []
    assert fx.py('ARRAYJOIN(FILTER(children.s, sel <> "A"), "|")', children=KIDS) == "y"


def test_condition_is_about_the_related_record(fx: Fx) -> None:
    # sel, s, n and m in the condition are the child's, not the record's own
    assert fx.py('FILTER(children.s, sel = "A")', children=KIDS, sel="B") == ["x", "z"]
    assert fx.py("FILTER(children.s, n > m)", children=KIDS, n=Decimal(0), m=Decimal(9)) == ["y"]
    assert fx.py('LOOKUP(children.n, s = "y")', children=KIDS, s="x") == [Decimal("2.25")]
    error = fx.error('FILTER(children, sell = "A")')
    assert error.code == "FORMULA_NAME" and "did you mean 'sel'" in error.message
    error = fx.error("LOOKUP(children.s, nn > 1)")
    assert error.code == "FORMULA_NAME" and "did you mean 'n'" in error.message
    assert fx.error("FILTER(children, n)").code == "FORMULA_TYPE"
    assert fx.error("FILTER(children)").code == "FORMULA_ARGUMENTS"


def test_filter_other_lists_takes_true_false_values(fx: Fx) -> None:
    assert fx.py("FILTER(tags, LIST(TRUE, FALSE, TRUE))", tags=["x", "y", "z"]) == ["x", "z"]
    assert fx.py("FILTER(tags, LIST(TRUE))", tags=["x", "y"]) == ["x"]
    assert fx.py("FILTER(tags, LIST(b, BLANK()))", tags=["x", "y"], b=True) == ["x"]
    assert fx.py("FILTER(tags, BLANK())", tags=["x"]) == []
    assert fx.py("FILTER(tags, LIST(TRUE))") is None
    error = fx.error("FILTER(tags, b)")
    assert error.code == "FORMULA_TYPE" and "only over related records" in error.message
    assert fx.error('LOOKUP(tags, "x")').code == "FORMULA_TYPE"
    assert fx.error("FILTER(n, LIST(TRUE))").code == "FORMULA_TYPE"


def test_lookup(fx: Fx) -> None:
    assert fx.py("LOOKUP(children.s, n > 1)", children=KIDS) == ["x", "y"]
    assert fx.py('LOOKUP(children.n, sel = "A")', children=KIDS) == [Decimal("1.5"), None]
    assert fx.py('LOOKUP(children.s, sel = "C")', children=KIDS) == []


def test_list_builds_lists_of_one_type(fx: Fx) -> None:
    assert fx.py("LIST(n, 2, BLANK())", n=Decimal("1.5")) == [Decimal("1.5"), 2, None]
    assert fx.py("LIST()") == []
    assert fx.py('LIST(s, "b")', s="a") == ["a", "b"]
    assert fx.error('LIST(1, "a")').code == "FORMULA_TYPE"
    assert fx.py('LIST(tags, "a")', tags=["x", "y"]) == ["x", "y", "a"]  # lists spread out


def test_arrayconcat(fx: Fx) -> None:
    got = fx.py('ARRAYCONCAT(tags, SPLIT(s, ","), LIST("w"))', tags=["x"], s="a,b")
    assert got == ["x", "a", "b", "w"]
    assert fx.py("ARRAYCONCAT(tags, children.s)", children=KIDS) == ["x", "y", "z"]
    assert fx.py("ARRAYCONCAT(tags, BLANK())") == []
    assert fx.error("ARRAYCONCAT(tags, LIST(1))").code == "FORMULA_TYPE"


def test_sort(fx: Fx) -> None:
    assert fx.py("SORT(tags)", tags=["z", "x", "y"]) == ["x", "y", "z"]
    assert fx.py("SORT(tags, TRUE)", tags=["z", "x", "y"]) == ["z", "y", "x"]
    assert fx.py("SORT(children.n)", children=KIDS[::-1]) == [
        Decimal("1.5"),
        Decimal("2.25"),
        None,
    ]
    assert fx.py("SORT(children.n, TRUE)", children=KIDS) == [
        Decimal("2.25"),
        Decimal("1.5"),
        None,
    ]
    assert fx.py('SORT(SPLIT(s, ","))', s="b,,a,B") == ["B", "a", "b", ""]
    assert fx.py("SORT(LIST(3, 1.5, 2), b)", b=None) == [Decimal("1.5"), 2, 3]
    later, earlier = datetime(2025, 1, 2, 12), date(2025, 1, 2)
    assert fx.py("SORT(LIST(dt, d))", dt=later, d=earlier) == [earlier, later]
    assert fx.py("SORT(tags)") is None
    assert fx.py("SORT(tags)", tags=[]) == []
    assert fx.error('SORT(tags, "x")').code == "FORMULA_TYPE"


def test_unique_reverse_compact(fx: Fx) -> None:
    assert fx.py("UNIQUE(children.sel)", children=KIDS) == ["A", "B"]
    assert fx.py("UNIQUE(LIST(1, 1.0, 2, 1))") == [1, 2]
    assert fx.py('UNIQUE(SPLIT(s, ","))', s="a,A,a") == ["a", "A"]
    assert fx.py('UNIQUE(LIST("", BLANK(), "a", ""))') == ["", "a"]
    assert fx.py("UNIQUE(LIST(d, dt))", d=date(2025, 1, 1), dt=datetime(2025, 1, 1)) == [
        date(2025, 1, 1)
    ]
    assert fx.py("UNIQUE(tags)") is None
    assert fx.py("REVERSE(children.s)", children=KIDS) == ["z", "y", "x"]
    assert fx.py("REVERSE(tags)", tags=[]) == []
    assert fx.py("ARRAYCOMPACT(children.n)", children=KIDS) == [Decimal("1.5"), Decimal("2.25")]
    assert fx.py('ARRAYCOMPACT(SPLIT(s, ","))', s=",a,,b,") == ["a", "b"]
    assert fx.py("ARRAYCOMPACT(tags)") is None


def test_slice(fx: Fx) -> None:
    tags = ["x", "y", "z"]
    cases = {
        "SLICE(tags, 2)": ["y", "z"],
        "SLICE(tags, 1, 2)": ["x", "y"],
        "SLICE(tags, 2, 5)": ["y", "z"],
        "SLICE(tags, -2)": ["y", "z"],
        "SLICE(tags, -2, 1)": ["y"],
        "SLICE(tags, -9, 2)": ["x", "y"],
        "SLICE(tags, 2, BLANK())": ["y", "z"],
        "SLICE(tags, 0)": [],
        "SLICE(tags, 4)": [],
        "SLICE(tags, 1, 0)": [],
        "SLICE(tags, 1, -1)": [],
        "SLICE(tags, BLANK())": None,
    }
    for text, expected in cases.items():
        assert fx.py(text, tags=tags) == expected, text
    assert fx.py("SLICE(tags, 1)") is None
    assert fx.py("SLICE(children.s, 2, 1)", children=KIDS) == ["y"]


def test_arraylength(fx: Fx) -> None:
    assert fx.py("ARRAYLENGTH(children)", children=KIDS) == 3
    assert fx.py("ARRAYLENGTH(children.n)", children=KIDS) == 3  # blanks count
    assert fx.py("ARRAYLENGTH(children)") == 0
    assert fx.py('ARRAYLENGTH(SPLIT(s, ","))', s="a,,b") == 3
    assert fx.py('ARRAYLENGTH(SPLIT(s, ","))') == 0
    assert fx.error("ARRAYLENGTH(s)").code == "FORMULA_TYPE"


def test_arraylength_of_a_multiple_choice_runs_in_the_database(fx: Fx) -> None:
    assert fx.both("ARRAYLENGTH(tags)", tags=["x", "z"]) == 2
    assert fx.both("ARRAYLENGTH(tags)", tags=[]) == 0
    assert fx.both("ARRAYLENGTH(tags)", tags=None) == 0
    assert fx.both("ARRAYLENGTH(tags) > 1", tags=["x", "y", "z"]) is True


def test_type_errors_are_caught_when_checking(fx: Fx) -> None:
    for text in (
        "FIRST(n)",
        "LAST(s)",
        "NTH(n, 1)",
        'NTH(tags, "a")',
        "SORT(d)",
        "UNIQUE(b)",
        "REVERSE(s)",
        "ARRAYCOMPACT(n)",
        'SLICE(tags, "a")',
        "FIRST(tags) + 1",
    ):
        assert fx.error(text).code == "FORMULA_TYPE", text
    assert fx.error("FIRST(tags, 1)").code == "FORMULA_ARGUMENTS"
    assert fx.error("NTH(tags)").code == "FORMULA_ARGUMENTS"


@pytest.mark.parametrize(
    "text",
    [
        "FIRST(tags)",
        'NTH(SPLIT(s, ","), 1)',
        "ARRAYLENGTH(SORT(tags)) > 0",
        'ARRAYLENGTH(FILTER(children, sel = "A"))',
        "ARRAYLENGTH(children)",
        "FIRST(children.n) > 1",
    ],
)
def test_list_functions_are_refused_in_sql(fx: Fx, text: str) -> None:
    with pytest.raises(FormulaError) as caught:
        fx.sql(text, tags=["x"], s="a")
    assert caught.value.code == "FORMULA_SQL"
    first = text.split("(", 1)[0]
    if first in ("FIRST", "NTH"):
        assert f"{first}() cannot run inside the database" in caught.value.message


def test_lists_are_bounded(fx: Fx) -> None:
    with pytest.raises(FormulaError) as caught:
        fx.py('SPLIT(s, ",")', s="," * 10_000)
    assert caught.value.code == "FORMULA_LIMIT" and "10,000 items" in caught.value.message
    assert len(fx.py('SPLIT(s, ",")', s="," * 9_999)) == 10_000
    with pytest.raises(FormulaError) as caught:
        fx.py('ARRAYCONCAT(SPLIT(s, ","), SPLIT(s, ","))', s="," * 5_999)
    assert caught.value.code == "FORMULA_LIMIT"
