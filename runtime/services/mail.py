"""E-mail: the ``email`` jobs that notifications queue, sent through the SMTP server the
environment configures (``TENON_SMTP_*``; docs/automations.md).

One message per recipient who has an address (inactive users and people without one
are left out); an unreachable server is retried with backoff; a server that refuses a
recipient fails the job with the reason. Passwords are never logged.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from runtime.config import Settings
from runtime.services.jobs import JobContext, JobFailed, JobRetry
from runtime.storage.engine import read_connection
from runtime.storage.system import User

USERS: sa.Table = User.__table__  # type: ignore[assignment]
TIMEOUT = 10.0


def addresses(engine: Engine, user_ids: list[int]) -> list[str]:
    query = sa.select(USERS.c.email).where(
        USERS.c.id.in_(user_ids), USERS.c.is_active.is_(True), USERS.c.email.is_not(None)
    )
    with read_connection(engine) as conn:
        return sorted({str(e) for e in conn.execute(query).scalars()})


def handler(engine: Engine, settings: Settings) -> Callable[[JobContext], dict[str, Any]]:
    def send(context: JobContext) -> dict[str, Any]:
        if not settings.smtp_host:
            return {"skipped": "no SMTP server is configured (TENON_SMTP_HOST)"}
        payload = context.job.payload
        to = addresses(engine, [int(i) for i in payload["users"]])
        if not to:
            return {"skipped": "nobody has an e-mail address"}
        try:
            with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=TIMEOUT) as smtp:
                if settings.smtp_starttls:
                    smtp.starttls()
                if settings.smtp_user:
                    smtp.login(settings.smtp_user, settings.smtp_password or "")
                for address in to:
                    message = EmailMessage()
                    message["From"] = settings.smtp_from
                    message["To"] = address
                    message["Subject"] = str(payload["subject"])
                    message.set_content(f"{payload['text']}\n\n-- \nTenon ({payload['cause']})\n")
                    smtp.send_message(message)
        except smtplib.SMTPRecipientsRefused as refused:
            raise JobFailed(f"the server refused {', '.join(refused.recipients)}") from None
        except (OSError, smtplib.SMTPException) as error:
            raise JobRetry(f"the SMTP server: {type(error).__name__}") from None
        return {"sent": to}

    return send
