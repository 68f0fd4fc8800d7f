"""Field-type registry and value coercion (runtime/metadata/fieldtypes.py)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from runtime.metadata.fieldtypes import (
    FIELD_TYPES,
    INT64_MAX,
    INT64_MIN,
    CoerceError,
    coerce_value,
    decimal_shape,
)

SCHEMA = Path(__file__).resolve().parents[1] / "schemas" / "app.schema.json"


def field(ftype: str, **options: Any) -> dict[str, Any]:
    return {"name": "f", "type": ftype, **options}


def refused(value: Any, spec: dict[str, Any]) -> str:
    with pytest.raises(CoerceError) as caught:
        coerce_value(value, spec)
    return str(caught.value)


# --- the registry -------------------------------------------------------------------------


def test_registry_matches_the_json_schema_enum() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    enum = schema["$defs"]["field_type"]["enum"]

    assert len(enum) == len(set(enum))
    assert set(enum) == set(FIELD_TYPES)


@pytest.mark.parametrize("name", sorted(FIELD_TYPES))
def test_registry_entries_are_consistent(name: str) -> None:
    ftype = FIELD_TYPES[name]

    assert ftype.name == name
    assert ftype.doc
    assert ftype.needs <= ftype.keys
    assert "type" in ftype.allowed_keys
    # computed types have no column and cannot be set; every stored type can be coerced
    assert (ftype.storage is None) == (ftype.coerce is None)


@pytest.mark.parametrize("name", ["formula", "rollup"])
def test_computed_fields_cannot_be_set(name: str) -> None:
    assert refused(1, field(name, formula="1")) == "is computed and cannot be set"


# --- integer ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (5, 5),
        (0, 0),
        ("12", 12),
        (" -7 ", -7),
        ("+3", 3),
        (Decimal("4"), 4),
        (Decimal("4.000"), 4),
        (2.0, 2),
        (INT64_MAX, INT64_MAX),
        (str(INT64_MIN), INT64_MIN),
    ],
)
def test_integer_accepts(value: Any, expected: int) -> None:
    out = coerce_value(value, field("integer"))

    assert out == expected
    assert type(out) is int


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (True, "is a boolean, not a whole number"),
        (False, "is a boolean, not a whole number"),
        ("1.5", "is not a whole number"),
        (1.5, "is not a whole number"),
        (Decimal("1.01"), "is not a whole number"),
        ("1e3", "is not a whole number"),
        ("", "is not a whole number"),
        ("twelve", "is not a whole number"),
        ("1 2", "is not a whole number"),
        ("12345678901234567890", "is not a whole number"),
        (None, "is not a whole number"),
        ([1], "is not a whole number"),
        (float("nan"), "is not a whole number"),
        (float("inf"), "is not a whole number"),
        (Decimal("Infinity"), "is not a whole number"),
        (INT64_MAX + 1, "is too large"),
        (INT64_MIN - 1, "is too large"),
        ("9999999999999999999", "is too large"),
    ],
)
def test_integer_refuses(value: Any, message: str) -> None:
    assert refused(value, field("integer")) == message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (0, "is less than the minimum 1"),
        (11, "is more than the maximum 10"),
        (1, None),
        (10, None),
    ],
)
def test_integer_bounds(value: int, message: str | None) -> None:
    spec = field("integer", min=1, max=10)
    if message is None:
        assert coerce_value(value, spec) == value
    else:
        assert refused(value, spec) == message


# --- decimal, currency, percent -----------------------------------------------------------


def test_decimal_shape_defaults() -> None:
    assert decimal_shape(field("decimal")) == (18, 4)
    assert decimal_shape(field("currency")) == (14, 2)
    assert decimal_shape(field("percent")) == (9, 4)
    assert decimal_shape(field("decimal", precision=10, scale=0)) == (10, 0)


@pytest.mark.parametrize(
    ("spec", "value", "expected"),
    [
        (field("decimal"), "1.5", "1.5000"),
        (field("decimal"), " 2.50 ", "2.5000"),
        (field("decimal"), 1, "1.0000"),
        (field("decimal"), -3, "-3.0000"),
        (field("decimal"), Decimal("1.23450"), "1.2345"),
        (field("decimal"), "1e3", "1000.0000"),
        (field("decimal"), "1E-4", "0.0001"),
        (field("decimal"), 0.1, "0.1000"),  # repr(0.1), not the binary expansion
        (field("decimal"), 1e13, "10000000000000.0000"),
        (field("decimal"), "99999999999999.9999", "99999999999999.9999"),
        (field("currency"), "19.99", "19.99"),
        (field("currency"), 19.99, "19.99"),
        (field("currency"), "999999999999.99", "999999999999.99"),
        (field("percent"), "0.1234", "0.1234"),
        (field("percent"), "99999.9999", "99999.9999"),
        (field("decimal", precision=5, scale=0), "12345", "12345"),
        (field("decimal", precision=5, scale=0), "1.0", "1"),
        (field("decimal", precision=4, scale=2), "-99.99", "-99.99"),
    ],
)
def test_decimal_accepts_exactly(spec: dict[str, Any], value: Any, expected: str) -> None:
    out = coerce_value(value, spec)

    assert isinstance(out, Decimal)
    assert str(out) == expected  # same digits and the field's scale, not just an equal value


@pytest.mark.parametrize(
    ("spec", "value", "message"),
    [
        (field("decimal"), "1.23456", "has more than 4 decimal places"),
        (field("decimal"), 0.00001, "has more than 4 decimal places"),
        (field("decimal"), "100000000000000", "has more than 14 digits before the decimal point"),
        (field("currency"), "19.999", "has more than 2 decimal places"),
        (field("currency"), 0.125, "has more than 2 decimal places"),
        (field("currency"), "1000000000000", "has more than 12 digits before the decimal point"),
        (field("percent"), "0.12345", "has more than 4 decimal places"),
        (field("percent"), "100000", "has more than 5 digits before the decimal point"),
        (field("decimal", precision=5, scale=0), "123456", "has more than 5 digits"),
        (field("decimal", precision=5, scale=0), "1.5", "has more than 0 decimal places"),
        (field("decimal"), True, "is a boolean, not a number"),
        (field("decimal"), "abc", "is not a number"),
        (field("decimal"), "", "is not a number"),
        (field("decimal"), "1" * 61, "is not a number"),
        (field("decimal"), None, "is not a number"),
        (field("decimal"), [1], "is not a number"),
        (field("decimal"), "NaN", "is not a finite number"),
        (field("decimal"), "-Infinity", "is not a finite number"),
        (field("decimal"), float("inf"), "is not a finite number"),
        (field("decimal"), float("nan"), "is not a finite number"),
    ],
)
def test_decimal_refuses(spec: dict[str, Any], value: Any, message: str) -> None:
    assert refused(value, spec).startswith(message)


def test_decimal_bounds() -> None:
    spec = field("decimal", min=0, max="100.5")

    assert coerce_value("100.5", spec) == Decimal("100.5")
    assert refused("-0.0001", spec) == "is less than the minimum 0"
    assert refused("100.5001", spec) == "is more than the maximum 100.5"


# --- boolean, dates -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (True, True),
        (False, False),
        (1, True),
        (0, False),
        ("true", True),
        (" Yes ", True),
        ("y", True),
        ("T", True),
        ("1", True),
        ("FALSE", False),
        ("no", False),
        ("n", False),
        ("f", False),
        ("0", False),
    ],
)
def test_boolean_accepts(value: Any, expected: bool) -> None:
    assert coerce_value(value, field("boolean")) is expected


@pytest.mark.parametrize("value", [2, -1, 1.0, "", "maybe", "on", None, [True]])
def test_boolean_refuses(value: Any) -> None:
    assert refused(value, field("boolean")) == "is not true or false"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-02-29", date(2024, 2, 29)),
        (" 2024-01-02 ", date(2024, 1, 2)),
        (date(2024, 1, 2), date(2024, 1, 2)),
        (datetime(2024, 1, 2), date(2024, 1, 2)),
    ],
)
def test_date_accepts(value: Any, expected: date) -> None:
    out = coerce_value(value, field("date"))

    assert out == expected
    assert type(out) is date


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("2023-02-29", "is not a date (YYYY-MM-DD)"),
        ("02/03/2024", "is not a date (YYYY-MM-DD)"),
        ("2024-01-02T10:00", "is not a date (YYYY-MM-DD)"),
        ("", "is not a date (YYYY-MM-DD)"),
        (20240102, "is not a date (YYYY-MM-DD)"),
        (None, "is not a date (YYYY-MM-DD)"),
        (datetime(2024, 1, 2, 10, 30), "has a time of day, so it is not a date"),
    ],
)
def test_date_refuses(value: Any, message: str) -> None:
    assert refused(value, field("date")) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-02T03:04:05", datetime(2024, 1, 2, 3, 4, 5)),
        ("2024-01-02 03:04", datetime(2024, 1, 2, 3, 4)),
        ("2024-01-02", datetime(2024, 1, 2)),
        (date(2024, 1, 2), datetime(2024, 1, 2)),
        (datetime(2024, 1, 2, 3, 4, 5), datetime(2024, 1, 2, 3, 4, 5)),
        (
            "2024-01-02T03:04:05+02:00",
            datetime(2024, 1, 2, 3, 4, 5, tzinfo=timezone(timedelta(hours=2))),
        ),
    ],
)
def test_datetime_accepts(value: Any, expected: datetime) -> None:
    out = coerce_value(value, field("datetime"))

    assert out == expected
    assert type(out) is datetime
    assert out.tzinfo == expected.tzinfo


@pytest.mark.parametrize("value", ["2024-01-02T25:00", "yesterday", "", 1_700_000_000, None])
def test_datetime_refuses(value: Any) -> None:
    assert refused(value, field("datetime")) == "is not a date and time (ISO 8601)"


# --- select, multi_select -----------------------------------------------------------------

OPTIONS = ["open", {"value": "closed", "label": {"en": "Closed"}}]


@pytest.mark.parametrize("value", ["open", "closed"])
def test_select_accepts_plain_and_labelled_options(value: str) -> None:
    assert coerce_value(value, field("select", options=OPTIONS)) == value


@pytest.mark.parametrize("value", ["Open", "Closed", "", 1, None, ["open"]])
def test_select_refuses(value: Any) -> None:
    assert refused(value, field("select", options=OPTIONS)) == (
        "is not one of the options (open, closed)"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (["open", "closed"], ["open", "closed"]),
        (["closed"], ["closed"]),
        ("open", ["open"]),
        ([], []),
    ],
)
def test_multi_select_accepts(value: Any, expected: list[str]) -> None:
    assert coerce_value(value, field("multi_select", options=OPTIONS)) == expected


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (["open", "open"], "lists an option twice"),
        (["open", "other"], "is not one of the options (open, closed)"),
        ("other", "is not one of the options (open, closed)"),
        ({"open": True}, "is not a list of options"),
        (None, "is not a list of options"),
        (("open",), "is not a list of options"),
    ],
)
def test_multi_select_refuses(value: Any, message: str) -> None:
    assert refused(value, field("multi_select", options=OPTIONS)) == message


# --- text-like ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ftype", "value", "expected"),
    [
        ("email", "ana@example.org", "ana@example.org"),
        ("email", " ana.lee+hr@mail.example.co.uk ", "ana.lee+hr@mail.example.co.uk"),
        ("phone", "+1 (555) 123-4567", "+1 (555) 123-4567"),
        ("phone", "030 1234567", "030 1234567"),
        ("phone", "+49.30.1234", "+49.30.1234"),
        ("url", "https://example.com/a?b=c#d", "https://example.com/a?b=c#d"),
        ("url", "HTTP://EXAMPLE.COM", "HTTP://EXAMPLE.COM"),
        ("url", " http://localhost:8000/ ", "http://localhost:8000/"),
    ],
)
def test_pattern_text_accepts(ftype: str, value: str, expected: str) -> None:
    assert coerce_value(value, field(ftype)) == expected


@pytest.mark.parametrize(
    ("ftype", "value", "message"),
    [
        ("email", "ana@example", "is not a valid e-mail address"),
        ("email", "ana example@example.org", "is not a valid e-mail address"),
        ("email", "a@b@example.org", "is not a valid e-mail address"),
        ("email", "@example.org", "is not a valid e-mail address"),
        ("email", "ana@.org", "is not a valid e-mail address"),
        ("email", "x" * 65 + "@example.org", "is not a valid e-mail address"),
        ("email", 42, "is not a valid e-mail address"),
        ("phone", "call me", "is not a valid phone number"),
        ("phone", "12", "is not a valid phone number"),
        ("phone", "1" * 33, "is not a valid phone number"),
        ("phone", 5551234, "is not a valid phone number"),
        ("url", "ftp://example.com", "is not a valid web address"),
        ("url", "example.com", "is not a valid web address"),
        ("url", "http://", "is not a valid web address"),
        ("url", "https://exa mple.com", "is not a valid web address"),
        ("url", "javascript:alert(1)", "is not a valid web address"),
    ],
)
def test_pattern_text_refuses(ftype: str, value: Any, message: str) -> None:
    assert refused(value, field(ftype)) == message


@pytest.mark.parametrize(
    ("value", "expected"),
    [("abc", "abc"), (12, "12"), (True, "true"), (Decimal("1.50"), "1.50")],
)
def test_text_accepts_scalars_as_text(value: Any, expected: str) -> None:
    assert coerce_value(value, field("text", max_length=10)) == expected


def test_text_max_length() -> None:
    assert refused("abcd", field("text", max_length=3)) == "is longer than 3 characters"
    assert refused(object(), field("text")) == "is not a text"


# --- reference, user ----------------------------------------------------------------------


@pytest.mark.parametrize("ftype", ["reference", "user"])
@pytest.mark.parametrize(
    ("value", "expected"), [(5, 5), ("5", 5), (" 7 ", 7), (INT64_MAX, INT64_MAX)]
)
def test_record_id_accepts(ftype: str, value: Any, expected: int) -> None:
    out = coerce_value(value, field(ftype, to="employee"))

    assert out == expected
    assert type(out) is int


@pytest.mark.parametrize("ftype", ["reference", "user"])
@pytest.mark.parametrize(
    "value", [0, -1, "0", "-3", "", "abc", "1.0", 1.0, True, None, [1], INT64_MAX + 1]
)
def test_record_id_refuses(ftype: str, value: Any) -> None:
    assert refused(value, field(ftype, to="employee")) == "is not a record id"


# --- json ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", [{"a": [1, 2.5, None, True]}, [], "text", 3, 1.5, None, False, {"nested": {}}]
)
def test_json_accepts(value: Any) -> None:
    assert coerce_value(value, field("json")) == value


def test_json_result_is_a_copy() -> None:
    value = {"a": [1]}

    out = coerce_value(value, field("json"))
    out["a"].append(2)

    assert value == {"a": [1]}


def test_json_size_limit() -> None:
    limit = 1_000_000
    just_fits = "x" * (limit - 2)  # two quotes make it exactly 1 MB of JSON text

    assert coerce_value(just_fits, field("json")) == just_fits
    assert refused(just_fits + "x", field("json")) == "is larger than 1 MB"
    assert refused({"a": ["y" * limit]}, field("json")) == "is larger than 1 MB"


@pytest.mark.parametrize("value", [{1, 2}, (1, 2), object(), b"bytes"])
def test_json_refuses_non_json_values(value: Any) -> None:
    assert refused(value, field("json")) == "is not JSON"


# --- regressions -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "spec"),
    [
        ("1e30", {"type": "decimal"}),
        (10**30, {"type": "decimal"}),
        ("9" * 40, {"type": "decimal", "precision": 38, "scale": 4}),
    ],
)
def test_huge_decimals_are_refused_not_crashing(value: object, spec: dict[str, object]) -> None:
    with pytest.raises(CoerceError, match="digits before the decimal point"):
        coerce_value(value, spec)


def test_wide_decimals_within_precision_38_are_exact() -> None:
    spec = {"type": "decimal", "precision": 38, "scale": 4}
    assert coerce_value("1" * 30, spec) == Decimal("1" * 30 + ".0000")
    assert coerce_value("0.0001", spec) == Decimal("0.0001")


@pytest.mark.parametrize("value", ["²", "٣", "1²", " ３ "])
@pytest.mark.parametrize("ftype", ["reference", "user"])
def test_record_ids_take_ascii_digits_only(value: str, ftype: str) -> None:
    with pytest.raises(CoerceError, match="is not a record id"):
        coerce_value(value, {"type": ftype, "to": "x"})


@pytest.mark.parametrize("value", [float("nan"), float("inf"), {"a": [float("-inf")]}])
def test_json_refuses_nan_and_infinity(value: object) -> None:
    with pytest.raises(CoerceError, match="NaN or Infinity"):
        coerce_value(value, {"type": "json"})


# --- a field's own coercer ----------------------------------------------------------------

COERCER_CASES = [
    (
        field("decimal", precision=6, scale=2, min=0, max=1000),
        ["12.5", 3, 2.25, "1000.01", "-1", "x", True, "1.005", None, "1e3"],
    ),
    (field("currency"), ["272000", "272000.005", 10**13, "abc"]),
    (field("percent", min=0), ["0.1234", "-0.1", "0.12345"]),
    (field("select", options=["a", {"value": "b", "label": "B"}]), ["a", "b", "c", 1, None, ""]),
    (field("text", max_length=3), ["abc", "abcd", 12, True]),
    (field("integer", min=1), [1, 0, "2", 2.5]),
    (field("date"), ["2025-01-31", "2025-02-30", 5]),
    (field("formula", formula="1", returns="integer"), [1]),
]


@pytest.mark.parametrize(("spec", "values"), COERCER_CASES)
def test_a_fields_coercer_agrees_with_coerce_value(spec: dict[str, Any], values: list[Any]) -> None:
    from runtime.metadata.fieldtypes import coercer

    coerce = coercer(spec)
    for value in values:
        try:
            expected: Any = ("ok", coerce_value(value, spec))
        except CoerceError as error:
            expected = ("refused", str(error))
        try:
            got: Any = ("ok", coerce(value))
        except CoerceError as error:
            got = ("refused", str(error))
        assert got == expected, value
