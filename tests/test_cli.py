"""The ``tenon`` command, called in-process (and once as the installed script)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from runtime.cli import main
from runtime.config import Settings

PACKAGES = Path(__file__).parent / "packages"


def run(*argv: str, db_url: str | None = None) -> tuple[int, str]:
    out = io.StringIO()
    settings = Settings(database_url=db_url) if db_url else Settings()
    code = main(list(argv), out=out, settings=settings)
    return code, out.getvalue()


def test_validate_reports_every_mistake_with_its_file_and_pointer() -> None:
    code, output = run("validate", str(PACKAGES / "broken"))
    assert code == 1
    expected = [
        "app.json#/colour: unknown key 'colour'",
        'app.json#/version: "1.0" must be a semantic version',
        "app.json#/requires/core_hr: '>>1' is not a version range",
        "objects/case.json#/fields/0/to: refers to object 'employe', which this app does not "
        "define (did you mean 'employee'?)",
        "objects/case.json#/fields/1/default: the default 'new' is not one of the options",
        "objects/case.json#/fields/1/options/2: option 'open' is listed twice",
        "objects/case.json#/fields/2/name: 'id' is reserved",
        "objects/case.json#/fields/3/scale: cannot exceed the precision (3)",
        "objects/case.json#/fields/4/name: field name 'score' is used twice",
        'objects/case.json#/fields/4/type: "strin" is not one of: text',
        "objects/employee.json#/fields/0/pattern: pattern refused",
        "objects/employee.json#/fields/1/formula: formula error: expected a value but found ','",
    ]
    for line in expected:
        assert line in output, line
    assert output.splitlines()[0] == f"broken: {len(expected)} problem(s)"


def test_validate_json_output_and_a_valid_package() -> None:
    code, output = run("validate", str(PACKAGES / "broken"), "--json")
    report = json.loads(output)
    assert code == 1 and report["valid"] is False
    assert {"path", "code", "message", "file", "file_path"} <= set(report["errors"][0])
    assert run("validate", str(PACKAGES / "people")) == (0, "people 1.0.0: valid\n")


def test_install_dry_run_then_install_export_and_list(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    code, output = run("install", str(PACKAGES / "people"), "--dry-run", db_url=db)
    assert code == 0
    assert output.splitlines() == [
        "Install people 1.0.0",
        "  create object department",
        "  create object employee",
        "dry run: nothing was changed",
    ]
    assert run("apps", db_url=db) == (0, "no apps installed\n")
    code, output = run("install", str(PACKAGES / "people"), "--as", "alice", db_url=db)
    assert (code, output.splitlines()[-1]) == (0, "installed people 1.0.0")
    code, output = run("apps", "--json", db_url=db)
    [app] = json.loads(output)
    assert (app["name"], app["version"], app["installed_by"]) == ("people", "1.0.0", "alice")
    target = tmp_path / "people.zip"
    assert run("export", "people", "-o", str(target), db_url=db)[0] == 0
    with zipfile.ZipFile(target) as archive:
        assert archive.namelist() == [
            "app.json",
            "objects/01_department.json",
            "objects/02_employee.json",
        ]
    assert run("install", str(target), db_url=db) == (
        0,
        "people 1.0.0 is already installed; nothing to do\n",
    )


def test_install_errors_are_reported_not_raised(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    code, output = run("install", str(PACKAGES / "broken"), db_url=db)
    assert code == 1
    assert output.startswith("error: App broken is not valid: ")
    code, output = run("install", "catalog:nope", db_url=db)
    assert code == 1 and "The catalog has no app 'nope'" in output
    code, output = run("export", "nope", "-o", str(tmp_path / "x.zip"), db_url=db)
    assert (code, output) == (1, "error: App 'nope' is not installed\n")
    code, output = run("install", str(tmp_path / "missing"), db_url=db)
    assert code == 1 and "no such file or directory" in output


def test_console_script_is_installed(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "runtime.cli", "validate", str(PACKAGES / "broken")],
        capture_output=True,
        text=True,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert "problem(s)" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("argv", [[], ["install"], ["frobnicate"]])
def test_usage_errors_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        run(*argv)
    assert exited.value.code == 2


def test_install_from_the_catalog_by_name(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import runtime.cli

    monkeypatch.setattr(runtime.cli, "catalog_dir", lambda: PACKAGES)
    db = f"sqlite:///{tmp_path / 'cli.db'}"
    assert run("validate", "catalog:people") == (0, "people 1.0.0: valid\n")
    code, output = run("install", "catalog:people", db_url=db)
    assert (code, output.splitlines()[-1]) == (0, "installed people 1.0.0")
