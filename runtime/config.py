"""Settings, read from the environment only at the entry point (``Settings.from_env``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

DEFAULT_DATABASE_FILE = "tenon.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{DEFAULT_DATABASE_FILE}"
    test_clock: bool = False
    debug: bool = False

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        url = env.get("TENON_DATABASE_URL") or f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}"
        return cls(
            database_url=url,
            test_clock=env.get("TENON_TEST_CLOCK", "") == "1",
            debug=env.get("TENON_DEBUG", "") == "1",
        )
