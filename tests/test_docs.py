"""Docs that a newcomer relies on stay in step with the code."""

from __future__ import annotations

import json
import re
from pathlib import Path

from runtime.metadata.fieldtypes import FIELD_TYPES

ROOT = Path(__file__).parent.parent


def test_every_field_type_is_documented() -> None:
    doc = (ROOT / "docs" / "app-definition.md").read_text(encoding="utf-8")
    doc = doc.split("### Fields", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"^\| `([a-z_]+)` \|", doc, re.MULTILINE))
    assert documented == set(FIELD_TYPES)


def test_schema_and_registry_agree_on_field_types() -> None:
    schema = json.loads((ROOT / "schemas" / "app.schema.json").read_text(encoding="utf-8"))
    assert set(schema["$defs"]["field_type"]["enum"]) == set(FIELD_TYPES)


def test_readme_quick_start_is_two_commands_and_ci_runs_the_test_command() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"```sh\n(.+?)\n```", quick)
    assert len(commands) == 2
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert commands[1] in ci


def test_every_error_code_of_the_write_path_is_documented() -> None:
    import re

    doc = (ROOT / "docs" / "records.md").read_text(encoding="utf-8")
    sources = [
        ROOT / "runtime" / "services" / name
        for name in ("records.py", "inputs.py", "permits.py", "write_checks.py", "rules.py")
    ] + [ROOT / "runtime" / "web" / "routes_writes.py"]
    codes: set[str] = set()
    for path in sources:
        codes |= set(re.findall(r'"([A-Z][A-Z_]{3,})"', path.read_text(encoding="utf-8")))
    codes -= {"NOW", "GET", "POST", "PATCH", "DELETE"}  # formula names, HTTP methods
    missing = sorted(c for c in codes if f"`{c}`" not in doc)
    assert not missing, f"document these error codes in docs/records.md: {missing}"


def test_every_error_code_of_workflow_actions_is_documented() -> None:
    doc = (ROOT / "docs" / "workflows.md").read_text(encoding="utf-8")
    doc += (ROOT / "docs" / "records.md").read_text(encoding="utf-8")
    codes: set[str] = set()
    for name in ("transitions.py", "approvals.py", "approval_steps.py", "deadlines.py"):
        source = (ROOT / "runtime" / "services" / name).read_text(encoding="utf-8")
        codes |= set(re.findall(r'"([A-Z][A-Z_]{3,})"', source))
    missing = sorted(c for c in codes if f"`{c}`" not in doc)
    assert not missing, f"document these error codes in docs/workflows.md: {missing}"


def test_every_error_code_of_automations_is_documented() -> None:
    doc = (ROOT / "docs" / "automations.md").read_text(encoding="utf-8")
    codes: set[str] = set()
    for name in ("automations.py", "effects.py", "webhooks.py", "outbox.py"):
        source = (ROOT / "runtime" / "services" / name).read_text(encoding="utf-8")
        codes |= set(re.findall(r'"([A-Z][A-Z_]{3,})"', source))
    codes -= {"INVALID_TRANSITION", "INVALID_VALUE", "TRUE"}  # passed on; a formula word
    missing = sorted(c for c in codes if f"`{c}`" not in doc)
    assert not missing, f"document these error codes in docs/automations.md: {missing}"
