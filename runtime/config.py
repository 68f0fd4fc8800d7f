"""Settings, read from the environment only at the entry point (``Settings.from_env``)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from runtime.errors import TenonError

DEFAULT_DATABASE_FILE = "tenon.db"


@dataclass(frozen=True)
class Settings:
    database_url: str = f"sqlite:///{DEFAULT_DATABASE_FILE}"
    test_clock: bool = False
    debug: bool = False
    # sign-in and sessions (docs/security.md)
    secure_cookies: bool = False  # also Secure whenever the request itself is https
    session_idle_minutes: int = 60
    session_absolute_hours: int = 12
    login_max_failures_per_user: int = 5
    login_max_failures_per_ip: int = 20
    login_window_minutes: int = 15
    # origins besides the server's own that may send mutating requests (behind a proxy)
    trusted_origins: tuple[str, ...] = ()
    # the job runner of each worker (docs/operations.md): off for web-only workers
    run_jobs: bool = True
    job_poll_seconds: int = 2
    # e-mail (docs/automations.md): no host, no e-mail
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_from: str = "tenon@localhost"
    smtp_user: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = True
    # stored files (docs/records.md, "Attachments and files")
    max_upload_mb: int = 10
    # dashboards (docs/dashboards.md): how long one widget's query may run
    dashboard_widget_timeout_ms: int = 10000

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        url = env.get("TENON_DATABASE_URL") or f"sqlite:///{Path.cwd() / DEFAULT_DATABASE_FILE}"
        defaults = cls()

        def number(name: str, default: int) -> int:
            raw = env.get(name, "").strip()
            if not raw:
                return default
            if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
                raise TenonError(
                    f"{name} must be a positive whole number, not {raw!r}", code="BAD_SETTING"
                )
            return int(raw)

        origins = tuple(
            o.strip().rstrip("/") for o in env.get("TENON_TRUSTED_ORIGINS", "").split(",")
        )
        return cls(
            database_url=url,
            test_clock=env.get("TENON_TEST_CLOCK", "") == "1",
            debug=env.get("TENON_DEBUG", "") == "1",
            secure_cookies=env.get("TENON_SECURE_COOKIES", "") == "1",
            session_idle_minutes=number(
                "TENON_SESSION_IDLE_MINUTES", defaults.session_idle_minutes
            ),
            session_absolute_hours=number(
                "TENON_SESSION_ABSOLUTE_HOURS", defaults.session_absolute_hours
            ),
            login_max_failures_per_user=number(
                "TENON_LOGIN_MAX_FAILURES_PER_USER", defaults.login_max_failures_per_user
            ),
            login_max_failures_per_ip=number(
                "TENON_LOGIN_MAX_FAILURES_PER_IP", defaults.login_max_failures_per_ip
            ),
            login_window_minutes=number(
                "TENON_LOGIN_WINDOW_MINUTES", defaults.login_window_minutes
            ),
            trusted_origins=tuple(o for o in origins if o),
            run_jobs=env.get("TENON_RUN_JOBS", "1") != "0",
            job_poll_seconds=number("TENON_JOB_POLL_SECONDS", defaults.job_poll_seconds),
            smtp_host=env.get("TENON_SMTP_HOST") or None,
            smtp_port=number("TENON_SMTP_PORT", defaults.smtp_port),
            smtp_from=env.get("TENON_SMTP_FROM") or defaults.smtp_from,
            smtp_user=env.get("TENON_SMTP_USER") or None,
            smtp_password=env.get("TENON_SMTP_PASSWORD") or None,
            smtp_starttls=env.get("TENON_SMTP_STARTTLS", "1") != "0",
            max_upload_mb=number("TENON_MAX_UPLOAD_MB", defaults.max_upload_mb),
            dashboard_widget_timeout_ms=number(
                "TENON_DASHBOARD_WIDGET_TIMEOUT_MS", defaults.dashboard_widget_timeout_ms
            ),
        )
