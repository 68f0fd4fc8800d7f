"""The package reader (runtime/metadata/package.py): layouts, safety limits, strict JSON."""

from __future__ import annotations

import io
import json
import os
import zipfile
from pathlib import Path
from typing import Any

import pytest

from runtime.errors import Issue, PackageError
from runtime.metadata.package import (
    Limits,
    read_package,
    read_package_bytes,
    write_package,
)

MANIFEST: dict[str, Any] = {"name": "people", "version": "1.0.0", "title": {"en": "People"}}


def obj(name: str, *field_types: str) -> dict[str, Any]:
    fields = [{"name": f"f{i}", "type": t} for i, t in enumerate(field_types or ("text",))]
    return {"name": name, "fields": fields}


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


def make_zip(
    entries: dict[str, bytes | str],
    *,
    extra: tuple[tuple[zipfile.ZipInfo, bytes | str], ...] = (),
    compression: int = zipfile.ZIP_DEFLATED,
) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        for info, content in extra:
            archive.writestr(info, content)
    return buffer.getvalue()


def refusal(data: bytes, limits: Limits | None = None) -> PackageError:
    with pytest.raises(PackageError) as caught:
        if limits is None:
            read_package_bytes(data)
        else:
            read_package_bytes(data, limits=limits)
    return caught.value


def write_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    for name, content in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)
    return root


# --- layouts -------------------------------------------------------------------------------


@pytest.fixture
def split_package(tmp_path: Path) -> Path:
    """app.json, then objects/ with one file holding a list and one holding a single object.

    The files are written out of order to show that merging follows file names.
    """
    return write_tree(
        tmp_path / "people",
        {
            "objects/b_more.json": dumps([obj("position"), obj("review", "text", "date")]),
            "objects/a_employee.json": dumps(obj("employee", "text", "integer")),
            "app.json": dumps(MANIFEST),
            "README.md": "not part of the definition",
            ".git/config.json": "{ hidden folders are skipped",
        },
    )


def test_directory_merges_section_files_in_file_name_order(split_package: Path) -> None:
    package = read_package(split_package)

    assert package.origin == "people"
    assert [o["name"] for o in package.definition["objects"]] == [
        "employee",
        "position",
        "review",
    ]
    assert package.definition["name"] == "people"
    assert package.definition["objects"][2]["fields"][1] == {"name": "f1", "type": "date"}


@pytest.mark.parametrize(
    ("pointer", "file", "in_file"),
    [
        ("/objects/0/fields/1/type", "objects/a_employee.json", "/fields/1/type"),
        ("/objects/0", "objects/a_employee.json", ""),
        ("/objects/1/fields/0/type", "objects/b_more.json", "/0/fields/0/type"),
        ("/objects/2/name", "objects/b_more.json", "/1/name"),
        ("/title/en", "app.json", "/title/en"),
        ("", "app.json", ""),
    ],
)
def test_locate_maps_merged_pointer_to_file(
    split_package: Path, pointer: str, file: str, in_file: str
) -> None:
    package = read_package(split_package)

    located = package.locate(Issue(pointer, "is wrong", "BAD"))

    assert (located.file, located.file_path) == (file, in_file)
    assert (located.path, located.message, located.code) == (pointer, "is wrong", "BAD")
    assert located.location() == f"{file}#{in_file}"


def test_objects_in_app_json_come_before_section_files(tmp_path: Path) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "app.json": dumps({**MANIFEST, "objects": [obj("inline")]}),
            "objects/x.json": dumps(obj("from_file")),
        },
    )
    package = read_package(root)

    assert [o["name"] for o in package.definition["objects"]] == ["inline", "from_file"]
    inline = package.locate(Issue("/objects/0/name", "m"))
    from_file = package.locate(Issue("/objects/1/name", "m"))
    assert (inline.file, inline.file_path) == ("app.json", "/objects/0/name")
    assert (from_file.file, from_file.file_path) == ("objects/x.json", "/name")


def test_single_json_file_loads_and_locate_leaves_issues_alone(tmp_path: Path) -> None:
    definition = {**MANIFEST, "objects": [obj("employee")]}
    path = tmp_path / "people.json"
    path.write_bytes(dumps(definition))

    package = read_package(path)

    assert package.definition == definition
    assert package.origin == "people.json"
    issue = Issue("/objects/0/name", "m")
    assert package.locate(issue) == issue


def test_json_bytes_load() -> None:
    definition = {**MANIFEST, "objects": [obj("employee")]}
    assert read_package_bytes(dumps(definition)).definition == definition


def test_utf8_bom_is_accepted() -> None:
    assert read_package_bytes(b"\xef\xbb\xbf" + dumps(MANIFEST)).definition == MANIFEST


def test_zip_file_loads(tmp_path: Path) -> None:
    path = tmp_path / "people.zip"
    path.write_bytes(
        make_zip(
            {
                "app.json": dumps(MANIFEST),
                "objects/01.json": dumps(obj("employee")),
                "roles/admin.json": dumps({"name": "admin"}),
            }
        )
    )

    package = read_package(path)

    assert package.origin == "people.zip"
    assert package.definition == {
        **MANIFEST,
        "objects": [obj("employee")],
        "roles": [{"name": "admin"}],
    }


def test_zip_wrapped_in_one_top_folder_loads() -> None:
    data = make_zip(
        {
            "people-1.0.0/": "",
            "people-1.0.0/app.json": dumps(MANIFEST),
            "people-1.0.0/objects/employee.json": dumps(obj("employee")),
            "people-1.0.0/README.md": "hello",
        }
    )

    package = read_package_bytes(data)

    assert package.definition == {**MANIFEST, "objects": [obj("employee")]}
    located = package.locate(Issue("/objects/0/name", "m"))
    assert (located.file, located.file_path) == ("objects/employee.json", "/name")


# --- refusals: archive safety -------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["../evil.json", "/abs.json", "a\\b.json", "objects/../../evil.json", "C:/evil.json"],
)
def test_zip_slip_entries_are_refused(name: str) -> None:
    error = refusal(make_zip({"app.json": dumps(MANIFEST), name: b"{}"}))

    assert error.code == "INVALID_PACKAGE"
    assert error.status == 422
    assert len(error.details) == 1
    assert "outside the package" in error.details[0].message
    assert repr(name) in error.details[0].message


def test_symlink_entry_is_refused() -> None:
    link = zipfile.ZipInfo("objects/link.json")
    link.external_attr = 0o120777 << 16

    error = refusal(make_zip({"app.json": dumps(MANIFEST)}, extra=((link, "/etc/passwd"),)))

    assert "symbolic link" in error.details[0].message
    assert "objects/link.json" in error.details[0].message


def test_zip_bomb_is_refused_by_measured_size() -> None:
    zeros = bytes(4 * 1024 * 1024)
    data = make_zip({"app.json": dumps(MANIFEST), "objects/bomb.json": zeros})
    assert len(data) < 100_000  # really a highly compressible entry

    error = refusal(data)

    assert "zip bomb" in error.details[0].message
    assert "objects/bomb.json" in error.details[0].message


def test_too_many_entries_are_refused() -> None:
    entries = {"app.json": dumps(MANIFEST)}
    entries |= {f"objects/{i}.json": dumps(obj("o")) for i in range(3)}

    error = refusal(make_zip(entries), Limits(files=3))

    assert "more than 3 entries" in error.details[0].message


def test_entry_over_the_file_limit_is_refused() -> None:
    entries = {"app.json": dumps(MANIFEST), "objects/big.json": dumps([obj("o")] * 100)}

    error = refusal(make_zip(entries), Limits(file_bytes=1000))

    assert "objects/big.json is larger than" in error.details[0].message


def test_package_over_the_total_limit_is_refused() -> None:
    entries = {
        "app.json": dumps(MANIFEST),
        "objects/a.json": dumps([obj("a")] * 15),
        "objects/b.json": dumps([obj("b")] * 15),
    }
    assert all(len(content) < 1000 for content in entries.values())

    error = refusal(
        make_zip(entries, compression=zipfile.ZIP_STORED),
        Limits(file_bytes=1000, total_bytes=1500),
    )

    assert "expands to more than" in error.details[0].message


def test_archive_over_the_package_limit_is_refused() -> None:
    data = make_zip({"app.json": dumps(MANIFEST)})

    error = refusal(data, Limits(package_bytes=len(data) - 1))

    assert "the package is larger than" in error.details[0].message


def test_zip_without_app_json_is_refused() -> None:
    error = refusal(make_zip({"objects/employee.json": dumps(obj("employee"))}))

    assert "no app.json" in error.details[0].message


def test_two_top_folders_are_not_stripped() -> None:
    data = make_zip({"a/app.json": dumps(MANIFEST), "b/objects/x.json": dumps(obj("x"))})

    assert "no app.json" in refusal(data).details[0].message


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"this is not a package", "is not valid JSON"),
        (b"PK\x03\x04 but not really a zip", "not a readable .zip archive"),
        (b"", "is not valid JSON"),
    ],
)
def test_bytes_that_are_neither_zip_nor_json_are_refused(data: bytes, message: str) -> None:
    error = refusal(data)

    assert len(error.details) == 1
    assert message in error.details[0].message


def test_json_document_over_the_file_limit_is_refused() -> None:
    error = refusal(dumps(MANIFEST), Limits(file_bytes=10))

    assert "larger than" in error.details[0].message


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(PackageError, match="no such file"):
        read_package(tmp_path / "nothing.zip")


# --- refusals: JSON problems --------------------------------------------------------------

BAD_JSON: list[tuple[str, bytes, str]] = [
    ("duplicate key", b'{"name": "a", "name": "b"}', "has the key 'name' twice"),
    ("NaN", b'{"name": "a", "size": NaN}', "NaN is not allowed"),
    ("Infinity", b'{"name": "a", "size": -Infinity}', "-Infinity is not allowed"),
    ("syntax", b'{"name": "a",\n  "fields": ]}', "line 2, column 13"),
    ("deep nesting", b"[" * 200 + b"]" * 200, "nested more than 64 levels"),
    ("very deep nesting", b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ("not UTF-8", b'{"name": "caf\xe9"}', "is not UTF-8 text (byte 13)"),
]


@pytest.mark.parametrize(
    ("content", "message"),
    [pytest.param(content, message, id=case) for case, content, message in BAD_JSON],
)
def test_json_problem_is_reported_with_its_file(
    tmp_path: Path, content: bytes, message: str
) -> None:
    # a directory, since the 200 kB of brackets would trip the zip compression-ratio check
    root = write_tree(tmp_path, {"app.json": dumps(MANIFEST), "objects/employee.json": content})

    with pytest.raises(PackageError) as caught:
        read_package(root)

    assert len(caught.value.details) == 1
    detail = caught.value.details[0]
    assert (detail.code, detail.file, detail.file_path) == (
        "INVALID_JSON",
        "objects/employee.json",
        "",
    )
    assert message in detail.message


def test_deep_nesting_limit_is_configurable() -> None:
    content = b"[" * 10 + b"]" * 10
    data = make_zip({"app.json": dumps(MANIFEST), "objects/x.json": content})

    assert read_package_bytes(data).definition["objects"] == [[[[[[[[[[]]]]]]]]]]
    assert "more than 5 levels" in refusal(data, Limits(json_depth=5)).details[0].message


def test_unknown_json_file_is_reported() -> None:
    data = make_zip(
        {
            "app.json": dumps(MANIFEST),
            "extra.json": b"{}",
            "Objects/x.json": b"{}",
            "notes.txt": "ignored",
        }
    )

    error = refusal(data)

    assert [(d.code, d.file) for d in error.details] == [
        ("UNKNOWN_FILE", "Objects/x.json"),
        ("UNKNOWN_FILE", "extra.json"),
    ]
    assert "outside app.json and the section folders" in error.details[0].message


def test_manifest_must_be_an_object() -> None:
    error = refusal(b"[1, 2]")

    assert error.details[0].file == "app.json"
    assert "must hold a JSON object" in error.details[0].message


def test_section_in_app_json_must_be_a_list_when_files_add_to_it() -> None:
    data = make_zip(
        {"app.json": dumps({**MANIFEST, "objects": {}}), "objects/x.json": dumps(obj("x"))}
    )

    detail = refusal(data).details[0]

    assert (detail.path, detail.file, detail.file_path) == ("/objects", "app.json", "/objects")


def test_every_broken_file_is_reported_at_once() -> None:
    data = make_zip(
        {
            "app.json": b'{"name": "a", "name": "b"}',
            "objects/1.json": b'{"size": NaN}',
            "objects/2.json": b'{"name": ',
            "objects/3.json": dumps(obj("fine")),
            "forms/deep.json": b"[" * 200 + b"]" * 200,
            "views/latin1.json": b'"\xff"',
            "stray.json": b"{}",
        }
    )

    error = refusal(data)

    assert error.message.endswith("6 problems found")
    assert [(d.file, d.code) for d in error.details] == [
        ("app.json", "INVALID_JSON"),
        ("objects/1.json", "INVALID_JSON"),
        ("objects/2.json", "INVALID_JSON"),
        ("forms/deep.json", "INVALID_JSON"),
        ("views/latin1.json", "INVALID_JSON"),
        ("stray.json", "UNKNOWN_FILE"),
    ]
    assert error.body()["error"]["code"] == "INVALID_PACKAGE"
    assert len(error.body()["error"]["details"]) == 6


# --- directories --------------------------------------------------------------------------


def test_directory_with_a_symlinked_file_is_refused(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "pkg", {"app.json": dumps(MANIFEST), "objects/a.json": b"{}"})
    outside = tmp_path / "secret.json"
    outside.write_text("{}")
    os.symlink(outside, root / "objects" / "b.json")

    with pytest.raises(PackageError) as caught:
        read_package(root)

    assert "objects/b.json is a symbolic link" in caught.value.details[0].message


def test_directory_with_a_symlinked_folder_is_refused(tmp_path: Path) -> None:
    root = write_tree(tmp_path / "pkg", {"app.json": dumps(MANIFEST)})
    elsewhere = write_tree(tmp_path / "elsewhere", {"x.json": dumps(obj("x"))})
    os.symlink(elsewhere, root / "objects", target_is_directory=True)

    with pytest.raises(PackageError) as caught:
        read_package(root)

    assert "objects is a symbolic link" in caught.value.details[0].message


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        (Limits(files=2), "more than 2 files"),
        (Limits(file_bytes=100), "objects/b.json is larger than"),
        (Limits(total_bytes=250), "the package is larger than"),
    ],
)
def test_directory_limits(tmp_path: Path, limits: Limits, message: str) -> None:
    root = write_tree(
        tmp_path / "pkg",
        {
            "app.json": dumps(MANIFEST),
            "objects/a.json": dumps(obj("a")),
            "objects/b.json": dumps([obj("b")] * 4),
        },
    )

    with pytest.raises(PackageError) as caught:
        read_package(root, limits)

    assert message in caught.value.details[0].message


# --- writing ------------------------------------------------------------------------------


def test_write_then_read_round_trips() -> None:
    definition = {
        **MANIFEST,
        "title": {"en": "People", "zh": "人员"},
        "roles": [{"name": "hr_admin"}],
        "objects": [obj(f"object_{i}", "text", "decimal") for i in range(12)],
    }

    data = write_package(definition)
    package = read_package_bytes(data)

    assert package.definition == definition
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    assert names[0] == "app.json"
    assert names[1:3] == ["objects/01_object_0.json", "objects/02_object_1.json"]
    assert names[-1] == "objects/12_object_11.json"
    located = package.locate(Issue("/objects/11/fields/1/type", "m"))
    assert (located.file, located.file_path) == ("objects/12_object_11.json", "/fields/1/type")


def test_write_package_is_deterministic() -> None:
    definition = {**MANIFEST, "objects": [obj("employee"), obj("position")]}

    assert write_package(definition) == write_package(json.loads(json.dumps(definition)))


def test_write_package_without_objects_writes_only_app_json() -> None:
    data = write_package(MANIFEST)

    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.namelist() == ["app.json"]
    assert read_package_bytes(data).definition == MANIFEST


def test_macos_archive_metadata_and_hidden_files_are_ignored() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("people/app.json", json.dumps({"name": "people"}))
        archive.writestr("__MACOSX/people/._app.json", b"\x00\x05\x16\x07")
        archive.writestr("people/.hidden.json", b"{not json")
    package = read_package_bytes(buffer.getvalue(), "people.zip")
    assert package.definition == {"name": "people"}


def test_an_empty_object_list_survives_the_round_trip() -> None:
    definition = {"name": "empty", "version": "1.0.0", "title": "Empty", "objects": []}
    assert read_package_bytes(write_package(definition)).definition == definition


def test_small_limits_are_named_in_bytes() -> None:
    with pytest.raises(PackageError) as refused:
        read_package_bytes(b"{}" + b" " * 2000, limits=Limits(file_bytes=1000))
    assert "1,000 bytes" in refused.value.details[0].message
