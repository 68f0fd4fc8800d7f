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
