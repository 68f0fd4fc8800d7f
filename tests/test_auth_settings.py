"""Security settings from the environment, and docs/security.md keeping up with them, the
audit events and the error codes."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from runtime.config import Settings
from runtime.errors import TenonError
from runtime.security.audit import EVENTS

DOCS = Path(__file__).parent.parent / "docs"
DOC = (DOCS / "security.md").read_text(encoding="utf-8")
OPERATIONS = (DOCS / "operations.md").read_text(encoding="utf-8")


def test_every_setting_is_documented() -> None:
    source = inspect.getsource(Settings.from_env)
    names = set(re.findall(r'"(TENON_[A-Z_]+)"', source))
    assert names
    documented = DOC + OPERATIONS
    assert sorted(n for n in names - {"TENON_DEBUG"} if n not in documented) == []


def test_every_security_event_and_error_code_is_documented() -> None:
    assert [e for e in EVENTS if f"`{e}`" not in DOC] == []
    codes = [
        "INVALID_CREDENTIALS",
        "TOO_MANY_REQUESTS",
        "INVALID_TOKEN",
        "TOKEN_IN_QUERY",
        "TOKEN_READ_ONLY",
        "CSRF_FAILED",
        "LAST_SYSTEM_ADMIN",
    ]
    assert [c for c in codes if c not in DOC] == []


def test_security_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "TENON_SECURE_COOKIES": "1",
            "TENON_SESSION_IDLE_MINUTES": "15",
            "TENON_SESSION_ABSOLUTE_HOURS": "8",
            "TENON_LOGIN_MAX_FAILURES_PER_USER": "3",
            "TENON_LOGIN_MAX_FAILURES_PER_IP": "50",
            "TENON_LOGIN_WINDOW_MINUTES": "30",
            "TENON_TRUSTED_ORIGINS": "https://hr.example.com/, https://hr2.example.com",
        }
    )
    assert settings.secure_cookies is True
    assert (settings.session_idle_minutes, settings.session_absolute_hours) == (15, 8)
    assert (settings.login_max_failures_per_user, settings.login_max_failures_per_ip) == (3, 50)
    assert settings.login_window_minutes == 30
    assert settings.trusted_origins == ("https://hr.example.com", "https://hr2.example.com")
    defaults = Settings.from_env({})
    assert (defaults.session_idle_minutes, defaults.secure_cookies) == (60, False)
    for bad in ("0", "-1", "ten", "²"):
        with pytest.raises(TenonError, match="TENON_SESSION_IDLE_MINUTES"):
            Settings.from_env({"TENON_SESSION_IDLE_MINUTES": bad})
