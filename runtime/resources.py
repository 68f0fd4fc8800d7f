"""Where the data shipped with Tenon lives: schemas/, migrations/, apps_catalog/.

In a source checkout (and an editable install) they sit at the repository root; a wheel
carries them under ``runtime/_data``.
"""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    for candidate in (_HERE / "_data" / name, _HERE.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"Tenon's {name}/ folder is missing from this installation")


def schema_path() -> Path:
    return resource_dir("schemas") / "app.schema.json"


def catalog_dir() -> Path:
    return resource_dir("apps_catalog")


def migrations_dir() -> Path:
    return resource_dir("migrations")
